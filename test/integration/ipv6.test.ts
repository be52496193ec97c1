/**
 * IPv6 (issue 19 item 8) through the docker CLI, with berth's own bridges and containers only: a dual-stack user
 * network (`network create --ipv6 --subnet <v4> --subnet fd42:…/64`), the default bridge with `--ipv6
 * --fixed-cidr-v6`, `--ip6`, addresses in inspect (per endpoint and, for the default bridge, at the top level),
 * ping and HTTP between two containers over the ULA subnet, AAAA answers of the embedded DNS server, ports published
 * on `::` (docker port's `[::]:P` line) reached through the bridge's IPv6 gateway address (::1 needs a userland
 * proxy, which berth does not run: see bridge/iptables.ts), ip6tables rules
 * in berth's chains, and nothing left (bridges, addresses, ip6tables chains) after a clean stop.
 *
 * Subnets derive from the daemon's data-root tag, so parallel test daemons never share one; fd42::/16 is clear of
 * the host's own fd00::/64.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { busyboxRootfsTar, eventually, importBusybox, networkLeftovers, sleep, startDaemon, type TestDaemon } from '../harness.js';
import { DOCKERD, startComparisonDockerd } from '../dockerd.js';
import { networkNaming } from '../../src/daemon/services/network-service.js';
import { chainNames } from '../../src/plugins/network/bridge/iptables.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-'));
const naming = networkNaming(path.join(root, 'data'));
const tag = naming.tag;
/** The tag as an IPv6 group: without leading zeros, as the daemon prints addresses (fd42:b24:…, not fd42:0b24:…). */
const group = tag.replace(/^0+(?=.)/, '');
const FIXED = `fd42:${group}:1::/64`;
const SUB6 = `fd42:${group}:2::/64`;
const SUB4 = `10.233.${parseInt(tag.slice(0, 2), 16)}.0/24`;
const chains = chainNames(tag, naming.bridgePrefix);
const IMG = 'ipv6/busybox:1';
let d: Awaited<ReturnType<typeof startDaemon>>;
/** The daemon now running (a new one after the restart test). */
let cur: TestDaemon;
let stopped = false;

before(async () => {
  d = await startDaemon({ root, args: ['--ipv6', '--fixed-cidr-v6', FIXED] });
  cur = d;
  await importBusybox(d, IMG);
});

after(async () => {
  await d?.teardown();
});

async function ok(args: string[]): Promise<string> {
  const r = await cur.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const inspect = async (name: string) => JSON.parse(await ok(['inspect', name]))[0];

function ip6tables(table: string, chain: string): string {
  try {
    return execFileSync('ip6tables', ['-w', '-t', table, '-S', chain]).toString();
  } catch {
    return '';
  }
}

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

test('dual-stack network: inspect shapes, --ip6, ping/HTTP/DNS over IPv6 between two containers', async () => {
  await ok(['network', 'create', '--ipv6', '--subnet', SUB4, '--subnet', SUB6, 'v6net']);
  const net = JSON.parse(await ok(['network', 'inspect', 'v6net']))[0];
  assert.equal(net.EnableIPv6, true);
  assert.deepEqual(net.IPAM.Config.map((c: { Subnet: string }) => c.Subnet), [SUB4, SUB6]);
  assert.equal(net.IPAM.Config[1].Gateway, `fd42:${group}:2::1`);

  const web6 = `fd42:${group}:2::99`;
  await ok(['run', '-d', '--name', 'web', '--network', 'v6net', '--ip6', web6, IMG, 'sh', '-c', 'mkdir /www && echo hello-v6 > /www/index.html && exec httpd -f -p 8080 -h /www']);
  const w = await inspect('web');
  const ep = w.NetworkSettings.Networks.v6net;
  assert.equal(ep.GlobalIPv6Address, web6);
  assert.equal(ep.GlobalIPv6PrefixLen, 64);
  assert.equal(ep.IPv6Gateway, `fd42:${group}:2::1`);
  assert.deepEqual(ep.IPAMConfig, { IPv6Address: web6 });
  assert.match(ep.IPAddress, /^10\.233\./);
  // not the default bridge: the top-level fields stay empty, as with dockerd
  assert.equal(w.NetworkSettings.GlobalIPv6Address, '');
  const members = JSON.parse(await ok(['network', 'inspect', 'v6net']))[0].Containers;
  assert.equal(members[w.Id].IPv6Address, `${web6}/64`);

  // the kernel side in the container: the address, the route, IPv6 switched on
  const addrs = await ok(['exec', 'web', 'ip', '-6', 'addr', 'show', 'eth0']);
  assert.match(addrs, new RegExp(`inet6 ${web6}/64`));
  assert.match(await ok(['exec', 'web', 'ip', '-6', 'route']), new RegExp(`default via fd42:${group}:2::1 dev eth0`));
  assert.equal((await ok(['exec', 'web', 'cat', '/proc/sys/net/ipv6/conf/all/disable_ipv6'])).trim(), '0');
  assert.match(await ok(['exec', 'web', 'cat', '/etc/hosts']), new RegExp(`${web6}\\t`));

  // a second container: the next address of the pool; ping, HTTP and DNS (AAAA) over fd42:…
  await ok(['run', '-d', '--name', 'cli', '--network', 'v6net', IMG, 'sleep', '120']);
  assert.equal((await inspect('cli')).NetworkSettings.Networks.v6net.GlobalIPv6Address, `fd42:${group}:2::2`);
  await ok(['exec', 'cli', 'ping', '-6', '-c', '1', '-W', '5', web6]);
  // (the static busybox's wget crashes on IPv6 URLs; its nc speaks HTTP well enough)
  const page = await eventually(async () => {
    const out = await ok(['exec', 'cli', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${web6} 8080`]);
    assert.match(out, /hello-v6/);
    return out;
  });
  assert.match(page, /^HTTP\/1\.[01] 200/);
  const aaaa = await ok(['exec', 'cli', 'busybox', 'nslookup', '-type=AAAA', 'web']);
  assert.match(aaaa, new RegExp(web6));
  await ok(['rm', '-f', 'web', 'cli']);
  await ok(['network', 'rm', 'v6net']);
});

test('published on 0.0.0.0 and ::, reached through the bridge\'s IPv6 gateway; rules in berth\'s ip6tables chains', async () => {
  await ok(['network', 'create', '--ipv6', '--subnet', SUB4, '--subnet', SUB6, 'v6pub']);
  await ok(['run', '-d', '--name', 'pub', '--network', 'v6pub', '-p', '8080', IMG, 'sh', '-c', 'mkdir /www && echo pub-v6 > /www/index.html && exec httpd -f -p 8080 -h /www']);
  const pub = await inspect('pub');
  const bindings = pub.NetworkSettings.Ports['8080/tcp'];
  assert.equal(bindings.length, 2, JSON.stringify(bindings));
  assert.equal(bindings[0].HostIp, '0.0.0.0');
  assert.equal(bindings[1].HostIp, '::');
  assert.equal(bindings[0].HostPort, bindings[1].HostPort, 'one port for both families, as dockerd');
  const port = Number(bindings[0].HostPort);
  const lines = (await ok(['port', 'pub'])).trim().split('\n');
  assert.deepEqual(lines, [`8080/tcp -> 0.0.0.0:${port}`, `8080/tcp -> [::]:${port}`]);
  const ip6 = pub.NetworkSettings.Networks.v6pub.GlobalIPv6Address;
  const nat = ip6tables('nat', chains.dnat);
  assert.match(nat, new RegExp(`--dport ${port} -j DNAT --to-destination \\[${ip6}\\]:8080`));
  assert.match(ip6tables('nat', chains.postrouting), new RegExp(`-s ${SUB6.replace('/', '\\/')} ! -o \\S+ -j MASQUERADE`));
  assert.match(ip6tables('filter', chains.forward), /-j ACCEPT/);
  // the bridge's own IPv6 address is local: the OUTPUT DNAT takes the host's connection to the container
  assert.equal((await eventually(() => httpGet(`fd42:${group}:2::1`, port))).trim(), 'pub-v6');
  assert.equal((await eventually(() => httpGet('127.0.0.1', port))).trim(), 'pub-v6');
  await ok(['rm', '-f', 'pub']);
  assert.doesNotMatch(ip6tables('nat', chains.dnat), /DNAT/);
  await ok(['network', 'rm', 'v6pub']);
  assert.equal(ip6tables('nat', chains.postrouting).includes(SUB6), false);
});

test('default bridge with --ipv6 --fixed-cidr-v6: addresses at the top level too; --ip6 there is refused as by dockerd', async () => {
  const def = JSON.parse(await ok(['network', 'inspect', 'bridge']))[0];
  assert.equal(def.EnableIPv6, true);
  assert.equal(def.IPAM.Config[1].Subnet, FIXED);
  await ok(['run', '-d', '--name', 'b1', IMG, 'sh', '-c', 'mkdir /www && echo bridge-v6 > /www/index.html && exec httpd -f -p 8080 -h /www']);
  const ns = (await inspect('b1')).NetworkSettings;
  assert.match(ns.GlobalIPv6Address, new RegExp(`^fd42:${group}:1::`));
  assert.equal(ns.GlobalIPv6PrefixLen, 64);
  assert.equal(ns.IPv6Gateway, `fd42:${group}:1::1`);
  assert.equal(ns.Networks.bridge.GlobalIPv6Address, ns.GlobalIPv6Address);
  assert.match(await ok(['exec', 'b1', 'ip', '-6', 'route']), new RegExp(`default via fd42:${group}:1::1`));
  // the host reaches it over the bridge (no forwarding needed: same link)
  assert.equal((await eventually(() => httpGet(ns.GlobalIPv6Address, 8080))).trim(), 'bridge-v6');
  const r = await cur.docker(['run', '--rm', '--ip6', `fd42:${group}:1::77`, IMG, 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /user specified IP address is supported on user defined networks only/);
  await ok(['rm', '-f', 'b1']);
});

test('bad input: --ip6 outside the subnets, overlapping IPv6 pools; --ipv6 without a subnet gets a ULA /64', async () => {
  await ok(['network', 'create', '--ipv6', '--subnet', SUB6, 'v6a']);
  const outside = await cur.docker(['run', '--rm', '--network', 'v6a', '--ip6', 'fd42:ffff::1', IMG, 'true']);
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /no configured subnet or ip-range contain the IP address fd42:ffff::1/);
  const dup = await cur.docker(['network', 'create', '--ipv6', '--subnet', SUB6.replace('::/64', ':0:1::/80'), 'v6b']);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /Pool overlaps with other one on this address space/);
  await ok(['network', 'create', '--ipv6', 'v6auto']);
  const auto = JSON.parse(await ok(['network', 'inspect', 'v6auto']))[0];
  assert.equal(auto.IPAM.Config.length, 2);
  assert.match(auto.IPAM.Config[1].Subnet, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
  await ok(['run', '--rm', '--network', 'v6auto', IMG, 'true']);
  await ok(['network', 'rm', 'v6a', 'v6auto']);
});

/** `GET path` on a daemon's socket, parsed. */
function apiGet(socket: string, p: string): Promise<any> {
  return new Promise((resolve, reject) => {
    http.get({ socketPath: socket, path: p }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(JSON.parse(text)));
    }).on('error', reject);
  });
}

test('side by side with dockerd: the same dual-stack network and container give the same IPv6 inspect shapes', { timeout: 180_000 }, async (t) => {
  if (!fs.existsSync(DOCKERD)) return t.skip('dockerd not installed');
  const dockerd = await startComparisonDockerd();
  if (!dockerd) return t.skip('dockerd did not start');
  const engines = [
    { name: 'dockerd', docker: (a: string[]) => dockerd.docker(a), socket: dockerd.host.slice('unix://'.length), sub6: `fd42:${group}:d::/64` },
    { name: 'berth', docker: (a: string[]) => cur.docker(a), socket: cur.socket, sub6: SUB6 },
  ];
  const seen: Record<string, { net: any; ep: any; top: any; ports: string[] }> = {};
  try {
    const tmp = fs.mkdtempSync(path.join(dockerd.root, 'rootfs-'));
    assert.equal((await dockerd.docker(['import', '-c', 'CMD ["sh"]', busyboxRootfsTar(tmp), IMG])).code, 0);
    for (const e of engines) {
      const run = async (a: string[]) => {
        const r = await e.docker(a);
        assert.equal(r.code, 0, `${e.name}: docker ${a.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      await run(['network', 'create', '--ipv6', '--subnet', e.sub6, 'v6cmp']);
      const id = (await run(['run', '-d', '--name', 'cmp1', '--network', 'v6cmp', '-p', '8080:80', IMG, 'sleep', '60'])).trim();
      const c = await apiGet(e.socket, `/containers/${id}/json`);
      const net = await apiGet(e.socket, '/networks/v6cmp');
      const ports = (await run(['port', 'cmp1'])).trim().split('\n');
      seen[e.name] = { net, ep: c.NetworkSettings.Networks.v6cmp, top: c.NetworkSettings, ports };
      await run(['rm', '-f', 'cmp1']);
      await run(['network', 'rm', 'v6cmp']);
    }
  } finally {
    await dockerd.stop();
  }
  const [dk, b] = [seen.dockerd, seen.berth];
  const sub = (x: string) => x.replace(`fd42:${group}:d::`, 'SUB::').replace(`fd42:${group}:2::`, 'SUB::');
  assert.equal(b.net.EnableIPv6, dk.net.EnableIPv6);
  assert.equal(sub(b.net.IPAM.Config[1].Subnet), sub(dk.net.IPAM.Config[1].Subnet));
  assert.deepEqual(Object.values(b.net.Containers).map((m: any) => sub(m.IPv6Address)), Object.values(dk.net.Containers).map((m: any) => sub(m.IPv6Address)));
  for (const k of ['GlobalIPv6Address', 'IPv6Gateway']) assert.equal(sub(b.ep[k]), sub(dk.ep[k]), k);
  assert.equal(b.ep.GlobalIPv6PrefixLen, dk.ep.GlobalIPv6PrefixLen);
  for (const k of Object.keys(dk.ep)) assert.ok(k in b.ep, `endpoint field ${k} (dockerd has it)`);
  for (const k of ['GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'IPv6Gateway']) assert.deepEqual(b.top[k], dk.top[k], `top-level ${k} (not the default bridge)`);
  assert.deepEqual(b.ports, dk.ports, 'docker port: a 0.0.0.0 and a [::] line');
});

test('after a berthd crash and restart a running IPv6 container keeps its address and its published port; the rules are re-made', async () => {
  await ok(['network', 'create', '--ipv6', '--subnet', SUB4, '--subnet', SUB6, 'v6r']);
  await ok(['run', '-d', '--name', 'r1', '--network', 'v6r', '-p', '8080', IMG, 'sh', '-c', 'mkdir /www && echo restart-v6 > /www/index.html && exec httpd -f -p 8080 -h /www']);
  const before = await inspect('r1');
  const port = Number(before.NetworkSettings.Ports['8080/tcp'][1].HostPort);
  assert.equal((await eventually(() => httpGet(`fd42:${group}:2::1`, port))).trim(), 'restart-v6');
  await cur.stop('SIGKILL');
  // while berthd is down, its IPv6 DNAT chain loses its rules (only berth's own chain is touched)
  execFileSync('ip6tables', ['-w', '-t', 'nat', '-F', chains.dnat]);
  cur = await d.restart('SIGKILL');
  const after = await inspect('r1');
  assert.equal(after.State.Running, true);
  assert.equal(after.NetworkSettings.Networks.v6r.GlobalIPv6Address, before.NetworkSettings.Networks.v6r.GlobalIPv6Address);
  assert.match(ip6tables('nat', chains.dnat), new RegExp(`--dport ${port} -j DNAT`));
  assert.equal((await eventually(() => httpGet(`fd42:${group}:2::1`, port))).trim(), 'restart-v6');
  // the next container does not get r1's address
  await ok(['run', '-d', '--name', 'r2', '--network', 'v6r', IMG, 'sleep', '60']);
  assert.notEqual((await inspect('r2')).NetworkSettings.Networks.v6r.GlobalIPv6Address, after.NetworkSettings.Networks.v6r.GlobalIPv6Address);
  await ok(['rm', '-f', 'r1', 'r2']);
  await ok(['network', 'rm', 'v6r']);
});

test('a clean stop leaves no bridge, address or ip6tables chain of this daemon', async () => {
  assert.ok(ip6tables('filter', chains.forward), 'the IPv6 chains existed while IPv6 networks did');
  await cur.stop('SIGTERM');
  stopped = true;
  assert.deepEqual(await networkLeftovers(cur.dataRoot), []);
  const addrs = execFileSync('ip', ['-6', 'addr']).toString();
  assert.equal(addrs.includes(`fd42:${group}:`), false, 'no IPv6 address of this daemon left on the host');
  assert.ok(stopped);
});
