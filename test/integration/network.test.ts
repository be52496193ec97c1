/**
 * Networking end to end through the real docker CLI: the default bridge (address, MAC, route, NAT), published ports
 * on 127.0.0.1, user-defined networks with name resolution and isolation, none/host/container modes,
 * connect/disconnect, addresses across a berthd crash, and nothing left behind (links, chains, netns mounts).
 *
 * Safety: traffic goes only to 127.0.0.1 and to this daemon's containers on this daemon's bridges; every bridge and
 * chain name carries the test daemon's tag (derived from its temp data root).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { mountsUnder, networkLeftovers, run, sleep, startDaemon, TestDaemon, importBusybox } from '../harness.js';
import { networkNaming } from '../../src/daemon/services/network-service.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let live: TestDaemon;
let tornDown = false;
const IMG = 'nettest/busybox:1';
/**
 * The host ends of veths this daemon attached to its own bridges, sampled while the tests run: other daemons on the
 * machine make veths with the same `bveth` prefix, so "nothing left behind" must look at ours only.
 */
const ourVeths = new Set<string>();
let vethSampler: NodeJS.Timeout | undefined;

function links(): string[] {
  return fs.readdirSync('/sys/class/net');
}

function sampleOurVeths(bridgePrefix: string): void {
  for (const l of links()) {
    if (!l.startsWith(bridgePrefix)) continue;
    try {
      for (const port of fs.readdirSync(`/sys/class/net/${l}/brif`)) ourVeths.add(port);
    } catch {
      // the bridge went away between the two reads
    }
  }
}

before(async () => {
  d = await startDaemon();
  live = d;
  const { bridgePrefix } = networkNaming(d.dataRoot);
  vethSampler = setInterval(() => sampleOurVeths(bridgePrefix), 50);
  await importBusybox(d, IMG);
});

after(async () => {
  clearInterval(vethSampler);
  if (!tornDown) await d?.teardown();
});

const docker = (args: string[], opts?: { input?: string }) => live.docker(args, opts);

async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function curl(url: string, tries = 40): Promise<{ code: number; stdout: string }> {
  let r = { code: 1, stdout: '' };
  for (let i = 0; i < tries; i++) {
    r = await run('curl', ['-s', '--max-time', '2', url]);
    if (r.code === 0) return r;
    await sleep(100);
  }
  return r;
}

/** An HTTP GET with busybox nc (busybox wget crashes in a minimal rootfs). */
const get = (host: string) => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} 80 | tail -n 1`;
const HTTPD = ['sh', '-c', 'mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www'];

test('predefined networks: bridge/host/none, berth-owned bridge name, not 172.17, errors in Docker wording', async () => {
  const ls = await ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
  assert.deepEqual(ls.trim().split('\n').sort(), ['bridge bridge local', 'host host local', 'none null local']);
  const br = await ok(['network', 'inspect', 'bridge', '--format', '{{index .Options "com.docker.network.bridge.name"}} {{(index .IPAM.Config 0).Subnet}}']);
  const [name, subnet] = br.trim().split(' ');
  assert.match(name, /^berth[0-9a-f]{4}0$/);
  assert.notEqual(subnet, '172.17.0.0/16');
  assert.ok(links().includes(name));
  const rm = await docker(['network', 'rm', 'bridge']);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /bridge is a pre-defined network and cannot be removed/);
  const nf = await docker(['network', 'inspect', 'nope']);
  assert.equal(nf.code, 1);
  assert.match(nf.stderr, /network nope not found/);
  const api = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--unix-socket', live.socket, 'http://x/v1.41/networks/nope']);
  assert.equal(api.stdout, '404');
});

test('network create/inspect/ls filters/rm/prune, duplicate name 409', async () => {
  const id = (await ok(['network', 'create', '--subnet', '10.231.0.0/24', '--gateway', '10.231.0.254', '--ip-range', '10.231.0.128/25', '--label', 'k=v', 'nt-a'])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const dup = await docker(['network', 'create', 'nt-a']);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /network with name nt-a already exists/);
  const code = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--unix-socket', live.socket, '-H', 'Content-Type: application/json', '-d', '{"Name":"nt-a"}', 'http://x/v1.41/networks/create']);
  assert.equal(code.stdout, '409');
  const ins = JSON.parse(await ok(['network', 'inspect', 'nt-a']))[0];
  assert.equal(ins.Id, id);
  assert.equal(ins.Driver, 'bridge');
  assert.deepEqual(ins.IPAM.Config, [{ Subnet: '10.231.0.0/24', Gateway: '10.231.0.254', IPRange: '10.231.0.128/25' }]);
  assert.deepEqual(ins.Labels, { k: 'v' });
  await ok(['network', 'create', '--internal', 'nt-b']);
  assert.equal((await ok(['network', 'ls', '-q', '--filter', 'label=k=v'])).trim(), id.slice(0, 12));
  assert.deepEqual((await ok(['network', 'ls', '--format', '{{.Name}}', '--filter', 'type=custom'])).trim().split('\n').sort(), ['nt-a', 'nt-b']);
  const table = await ok(['network', 'ls', '--filter', 'name=nt-a']);
  assert.match(table, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE\n[0-9a-f]{12}\s+nt-a\s+bridge\s+local\n$/);
  assert.equal((await ok(['network', 'rm', 'nt-b'])).trim(), 'nt-b');
  const pr = await ok(['network', 'prune', '-f']);
  assert.match(pr, /Deleted Networks:\nnt-a\n/);
  assert.equal((await ok(['network', 'ls', '-q', '--filter', 'type=custom'])).trim(), '');
});

test('default bridge: eth0 with the inspected address, Docker MAC, default route; none has only lo', async () => {
  const out = await ok(['run', '--rm', IMG, 'sh', '-c', 'ip -o -4 addr show eth0; cat /sys/class/net/eth0/address; ip route | grep default; ls /sys/class/net']);
  const [addr, mac, route, ...ifs] = out.trim().split('\n');
  const m = /inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(addr);
  assert.ok(m, addr);
  const ip = m![1];
  const o = ip.split('.').map(Number);
  assert.equal(mac, `02:42:${o.map((x) => x.toString(16).padStart(2, '0')).join(':')}`);
  const gw = JSON.parse(await ok(['network', 'inspect', 'bridge']))[0].IPAM.Config[0].Gateway;
  assert.match(route, new RegExp(`default via ${gw.replace(/\./g, '\\.')}`));
  assert.deepEqual(ifs.join(' ').trim().split(/\s+/).sort(), ['eth0', 'lo']);
  const none = await ok(['run', '--rm', '--network', 'none', IMG, 'ls', '/sys/class/net']);
  assert.equal(none.trim(), 'lo');
  const host = (await ok(['run', '--rm', '--network', 'host', IMG, 'ls', '/sys/class/net'])).trim().split(/\s+/);
  const bridgeName = JSON.parse(await ok(['network', 'inspect', 'bridge']))[0].Options['com.docker.network.bridge.name'];
  assert.ok(host.includes(bridgeName) && host.includes('lo') && host.length > 2, host.join(' '));
});

test('running container: inspect shows IPAddress and Networks; gateway reachable; published port answers on 127.0.0.1', async () => {
  const port = await freePort();
  const id = (await ok(['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:80`, '--expose', '8081', IMG, ...HTTPD])).trim();
  const ins = JSON.parse(await ok(['inspect', id]))[0];
  const ns = ins.NetworkSettings;
  assert.match(ns.IPAddress, /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(ns.Networks.bridge.IPAddress, ns.IPAddress);
  assert.ok(ns.SandboxKey.startsWith(live.execRoot));
  assert.deepEqual(ns.Ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(port) }]);
  assert.equal(ns.Ports['8081/tcp'], null);
  assert.equal((await ok(['port', 'web'])).trim(), `80/tcp -> 127.0.0.1:${port}`);
  const r = await curl(`http://127.0.0.1:${port}/`);
  assert.equal(r.code, 0, 'curl to the published port failed');
  assert.equal(r.stdout.trim(), `hello-from-${id.slice(0, 12)}`);
  // The same host port again: a clear error, and the first container keeps its port.
  const again = await docker(['run', '-d', '--name', 'web2', '-p', `127.0.0.1:${port}:80`, IMG, ...HTTPD]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, new RegExp(`Bind for 127.0.0.1:${port} failed: port is already allocated`));
  await ok(['rm', '-f', 'web2']);
  // A host process on a port: refused as docker-proxy would be.
  const busy = net.createServer().listen(0, '127.0.0.1');
  await new Promise((res) => busy.once('listening', res));
  const bport = (busy.address() as net.AddressInfo).port;
  const taken = await docker(['run', '--rm', '-p', `127.0.0.1:${bport}:80`, IMG, 'true']);
  busy.close();
  assert.notEqual(taken.code, 0);
  assert.match(taken.stderr, /address already in use/);
  // -P publishes EXPOSEd ports on ephemeral host ports.
  const pid = (await ok(['run', '-d', '-P', '--expose', '80', IMG, ...HTTPD])).trim();
  const mapped = (await ok(['port', pid, '80/tcp'])).trim().split('\n')[0];
  const eport = Number(mapped.split(':').pop());
  const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  assert.ok(eport >= lo && eport <= hi, `${mapped} is in ip_local_port_range`);
  assert.equal((await curl(`http://127.0.0.1:${eport}/`)).code, 0);
  await ok(['rm', '-f', pid]);
  // Stop releases the port: nothing answers any more, and the DNAT rule is gone.
  await ok(['stop', '-t', '1', 'web']);
  assert.notEqual((await run('curl', ['-s', '--max-time', '1', `http://127.0.0.1:${port}/`])).code, 0);
  const save = await run('iptables-save', ['-t', 'nat']);
  assert.doesNotMatch(save.stdout, new RegExp(`--dport ${port} `));
  const stopped = JSON.parse(await ok(['inspect', 'web']))[0].NetworkSettings;
  assert.equal(stopped.IPAddress, '');
  assert.deepEqual(stopped.Ports, {});
  await ok(['rm', 'web']);
});

test('user-defined network: containers reach each other by name, alias and short ID; other networks are isolated', async () => {
  await ok(['network', 'create', 'nt-u']);
  await ok(['network', 'create', 'nt-v']);
  const a = (await ok(['run', '-d', '--name', 'alpha', '--network', 'nt-u', '--network-alias', 'db', IMG, ...HTTPD])).trim();
  const out = await ok(['run', '--rm', '--network', 'nt-u', IMG, 'sh', '-c', `${get('alpha')} && ${get('db')} && ${get(a.slice(0, 12))}`]);
  assert.equal(out, `hello-from-${a.slice(0, 12)}\n`.repeat(3));
  // A container started after alpha is known to alpha (its hosts file is updated in place).
  const b = (await ok(['run', '-d', '--name', 'beta', '--network', 'nt-u', IMG, 'sleep', '60'])).trim();
  const seen = await ok(['exec', 'alpha', 'ping', '-c', '1', '-W', '2', 'beta']);
  assert.match(seen, /1 packets received/);
  const aIp = JSON.parse(await ok(['inspect', 'alpha']))[0].NetworkSettings.Networks['nt-u'].IPAddress;
  // Isolation: a container on another network (and on the default bridge) cannot reach alpha.
  for (const other of ['nt-v', 'bridge']) {
    const r = await docker(['run', '--rm', '--network', other, IMG, 'sh', '-c', get(aIp)]);
    assert.doesNotMatch(r.stdout, /hello-from/, `reached ${aIp} from ${other}`);
  }
  const inspect = JSON.parse(await ok(['network', 'inspect', 'nt-u']))[0];
  assert.deepEqual(Object.keys(inspect.Containers).sort(), [a, b].sort());
  assert.equal(inspect.Containers[a].Name, 'alpha');
  assert.match(inspect.Containers[a].IPv4Address, /^\d+\.\d+\.\d+\.\d+\/16$/);
  const rm = await docker(['network', 'rm', 'nt-u']);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /has active endpoints/);
  // connect/disconnect on a running container, with --ip and --alias.
  await ok(['network', 'create', '--subnet', '10.232.0.0/24', 'nt-w']);
  await ok(['network', 'connect', '--ip', '10.232.0.50', '--alias', 'bee', 'nt-w', 'beta']);
  const ifs = await ok(['exec', 'beta', 'ip', '-o', '-4', 'addr']);
  assert.match(ifs, /eth1\s+inet 10\.232\.0\.50\/24/);
  const w = await ok(['run', '--rm', '--network', 'nt-w', IMG, 'ping', '-c', '1', '-W', '2', 'bee']);
  assert.match(w, /10\.232\.0\.50/);
  await ok(['network', 'disconnect', 'nt-w', 'beta']);
  assert.doesNotMatch(await ok(['exec', 'beta', 'ip', '-o', 'link']), /eth1/);
  await ok(['rm', '-f', 'alpha', 'beta']);
  await ok(['network', 'rm', 'nt-u', 'nt-v', 'nt-w']);
});

test('--network container:<name> shares the namespace; --ip on the default bridge is refused', async () => {
  await ok(['run', '-d', '--name', 'ns-owner', IMG, 'sleep', '60']);
  const own = await ok(['exec', 'ns-owner', 'cat', '/sys/class/net/eth0/address']);
  const joined = await ok(['run', '--rm', '--network', 'container:ns-owner', IMG, 'cat', '/sys/class/net/eth0/address']);
  assert.equal(joined, own);
  const bad = await docker(['run', '--rm', '--ip', '172.30.0.5', IMG, 'true']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /user specified IP address is supported on user defined networks only/);
  await ok(['rm', '-f', 'ns-owner']);
});

test('addresses stay unique across a berthd crash; teardown of a container that exited while berthd was down', async () => {
  const netId = (await ok(['network', 'create', 'nt-r'])).trim();
  const bridge = `${networkNaming(d.dataRoot).bridgePrefix}-${netId.slice(0, 5)}`;
  const ports = () => fs.readdirSync(`/sys/class/net/${bridge}/brif`).filter((l) => l.startsWith('bveth'));
  const port = await freePort();
  await ok(['run', '-d', '--name', 'r1', '--network', 'nt-r', '-p', `127.0.0.1:${port}:80`, IMG, ...HTTPD]);
  await ok(['run', '-d', '--name', 'r2', '--network', 'nt-r', IMG, 'sleep', '60']);
  const ip1 = JSON.parse(await ok(['inspect', 'r1']))[0].NetworkSettings.Networks['nt-r'].IPAddress;
  live = await d.restart('SIGKILL');
  // The published port kept working while berthd was down and after (kernel rules, no proxy).
  assert.equal((await curl(`http://127.0.0.1:${port}/`)).code, 0);
  await ok(['run', '-d', '--name', 'r3', '--network', 'nt-r', IMG, 'sleep', '60']);
  const ips = await Promise.all(['r1', 'r2', 'r3'].map(async (n) => JSON.parse(await ok(['inspect', n]))[0].NetworkSettings.Networks['nt-r'].IPAddress));
  assert.equal(ips[0], ip1);
  assert.equal(new Set(ips).size, 3, `duplicate address: ${ips}`);
  // r3 (started by the new berthd) finds r1 through its embedded DNS server (peers are not in /etc/hosts).
  const r3dns = await ok(['exec', 'r3', 'busybox', 'nslookup', 'r1']);
  assert.match(r3dns, new RegExp(`Address:\\s*${ip1.replace(/\./g, '\\.')}`));
  // r2 dies while berthd is down; the next berthd releases its address and veth.
  const r2pid = JSON.parse(await ok(['inspect', 'r2']))[0].State.Pid;
  assert.equal(ports().length, 3);
  await live.stop('SIGKILL');
  process.kill(r2pid, 'SIGKILL');
  await sleep(300);
  live = await d.restart('SIGKILL');
  const st = JSON.parse(await ok(['inspect', 'r2']))[0];
  assert.equal(st.State.Running, false);
  assert.equal(st.NetworkSettings.Networks['nt-r'].IPAddress, '');
  const net = JSON.parse(await ok(['network', 'inspect', 'nt-r']))[0];
  assert.equal(Object.keys(net.Containers).length, 2);
  assert.equal(ports().length, 2);
  await ok(['rm', '-f', 'r1', 'r2', 'r3']);
  await ok(['network', 'rm', 'nt-r']);
  assert.ok(!links().includes(bridge));
});

test('nothing is left behind: bridges, veths, chains, netns mounts', async () => {
  const root = d.root;
  const dataRoot = d.dataRoot;
  assert.equal(mountsUnder(path.join(d.execRoot, 'netns')).length, 0, 'netns mounts left while daemon runs');
  await d.teardown();
  tornDown = true;
  assert.deepEqual(await networkLeftovers(dataRoot), []);
  clearInterval(vethSampler);
  assert.ok(ourVeths.size > 0, 'the sampler saw none of this daemon\'s veths');
  const present = new Set(links());
  assert.deepEqual([...ourVeths].filter((l) => present.has(l)), []);
  assert.deepEqual(mountsUnder(root), []);
});
