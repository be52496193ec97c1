/**
 * Network details as dockerd answers them (issue 19 items 9/10, issue 11 item 5): names dockerd accepts ("test 01",
 * a leading "_"), IPAM auxiliary addresses kept and never handed out, a missing network failing the start (not the
 * create), and a torn network record reported with its bridge removed instead of silently dropped.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, startDaemon, TestDaemon } from '../harness.js';
import { networkNaming } from '../../src/daemon/services/network-service.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let live: TestDaemon;
const IMG = 'netdetail/busybox:1';

before(async () => {
  d = await startDaemon();
  live = d;
  await importBusybox(d, IMG);
});

after(async () => {
  await d?.teardown();
});

const docker = (args: string[]) => live.docker(args);

async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A raw Engine API call (any status comes back). */
function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ socketPath: live.socket, method, path: p, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

test('names as dockerd takes them: "test 01" and a leading underscore', async () => {
  await ok(['network', 'create', 'test 01']);
  await ok(['network', 'create', '_under']);
  const names = (await ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n');
  assert.ok(names.includes('test 01') && names.includes('_under'), names.join(','));
  await ok(['run', '--rm', '--network', 'test 01', IMG, 'true']);
  await ok(['network', 'rm', 'test 01', '_under']);
});

test('IPAM AuxiliaryAddresses are kept in inspect and never given to a container; outside the subnet is a 400', async () => {
  const r = await api('POST', '/networks/create', { Name: 'auxnet', IPAM: { Config: [{ Subnet: '10.231.7.0/24', AuxiliaryAddresses: { router: '10.231.7.2' } }] } });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const ins = JSON.parse(await ok(['network', 'inspect', 'auxnet']))[0];
  assert.deepEqual(ins.IPAM.Config[0].AuxiliaryAddresses, { router: '10.231.7.2' });
  await ok(['run', '-d', '--name', 'aux1', '--network', 'auxnet', IMG, 'sleep', '60']);
  const ip = JSON.parse(await ok(['inspect', 'aux1']))[0].NetworkSettings.Networks.auxnet.IPAddress;
  assert.equal(ip, '10.231.7.3', 'the first free address after the gateway and the auxiliary one');
  const taken = await docker(['run', '--rm', '--network', 'auxnet', '--ip', '10.231.7.2', IMG, 'true']);
  assert.notEqual(taken.code, 0);
  assert.match(taken.stderr, /Address already in use/);
  await ok(['rm', '-f', 'aux1']);
  await ok(['network', 'rm', 'auxnet']);
  const bad = await api('POST', '/networks/create', { Name: 'auxbad', IPAM: { Config: [{ Subnet: '10.231.8.0/24', AuxiliaryAddresses: { x: '10.9.9.9' } }] } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.message, /no matching subnet for aux-address 10\.9\.9\.9/);
  assert.equal((await docker(['network', 'inspect', 'auxbad'])).code, 1);
});

test('a create naming a missing network succeeds; the start fails with dockerd\'s message', async () => {
  const id = (await ok(['create', '--name', 'orphan', '--network', 'nosuchnet', IMG, 'true'])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const st = await docker(['start', 'orphan']);
  assert.notEqual(st.code, 0);
  assert.match(st.stderr, /network nosuchnet not found/);
  assert.equal((await ok(['inspect', '-f', '{{.State.Status}}', 'orphan'])).trim(), 'created');
  // once the network exists, the same container starts
  await ok(['network', 'create', 'nosuchnet']);
  await ok(['start', '-a', 'orphan']);
  await ok(['rm', '-f', 'orphan']);
  await ok(['network', 'rm', 'nosuchnet']);
});

test('a torn network record is reported and its bridge removed; the daemon starts and the rest works', async () => {
  const id = (await ok(['network', 'create', 'torn'])).trim();
  await ok(['run', '-d', '--name', 'on-torn', '--network', 'torn', IMG, 'sleep', '600']);
  const bridge = `${networkNaming(d.dataRoot).bridgePrefix}-${id.slice(0, 5)}`;
  assert.ok(fs.existsSync(`/sys/class/net/${bridge}`));
  await live.stop('SIGKILL');
  const file = path.join(d.dataRoot, 'network', `${id}.json`);
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
  live = await d.restart('SIGKILL');
  assert.ok(!fs.existsSync(`/sys/class/net/${bridge}`), 'the bridge of the unreadable record is gone');
  assert.ok(fs.existsSync(`${file}.corrupt`), 'the record is kept for inspection');
  assert.match(fs.readFileSync(live.logPath, 'utf8'), new RegExp(`network ${id}: unreadable record`));
  const names = (await ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n');
  assert.ok(!names.includes('torn'));
  await ok(['rm', '-f', 'on-torn']);
  await ok(['run', '--rm', IMG, 'true']);
});

test('MAC per endpoint: --mac-address (EndpointsConfig.MacAddress, API 1.44+) and the legacy Config.MacAddress; kept across stop/start', async () => {
  await ok(['run', '-d', '--name', 'macd', '--mac-address', '02:AA:bb:cc:dd:01', IMG, 'sleep', '600']);
  const link = await ok(['exec', 'macd', 'cat', '/sys/class/net/eth0/address']);
  assert.equal(link.trim(), '02:aa:bb:cc:dd:01');
  const mac = () => ok(['inspect', '-f', '{{.NetworkSettings.Networks.bridge.MacAddress}}', 'macd']).then((x) => x.trim());
  assert.equal(await mac(), '02:aa:bb:cc:dd:01');
  await ok(['stop', '-t', '0', 'macd']);
  assert.equal(await mac(), '02:aa:bb:cc:dd:01', 'a configured MAC stays on a stopped container');
  await ok(['start', 'macd']);
  assert.equal((await ok(['exec', 'macd', 'cat', '/sys/class/net/eth0/address'])).trim(), '02:aa:bb:cc:dd:01');
  await ok(['rm', '-f', 'macd']);
  // legacy: Config.MacAddress through API 1.43
  const c = await api('POST', '/v1.43/containers/create?name=macl', { Image: IMG, Cmd: ['sleep', '600'], MacAddress: '02:aa:bb:cc:dd:02' });
  assert.equal(c.status, 201, JSON.stringify(c.json));
  await ok(['start', 'macl']);
  assert.equal((await ok(['exec', 'macl', 'cat', '/sys/class/net/eth0/address'])).trim(), '02:aa:bb:cc:dd:02');
  await ok(['rm', '-f', 'macl']);
  // an automatic MAC is still Docker's 02:42:<address>
  await ok(['run', '-d', '--name', 'maca', IMG, 'sleep', '600']);
  const ip = (await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'maca'])).trim();
  const want = `02:42:${ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join(':')}`;
  assert.equal((await ok(['exec', 'maca', 'cat', '/sys/class/net/eth0/address'])).trim(), want);
  await ok(['rm', '-f', 'maca']);
  const bad = await api('POST', '/containers/create', { Image: IMG, NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: 'zz:1' } } } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.message, /invalid MAC address: zz:1/);
});

test('network create fields as a dockerd outside a swarm answers them: CheckDuplicate, Attachable, Scope, Ingress; overlapping pools', async () => {
  const a = await api('POST', '/networks/create', { Name: 'nd-att', CheckDuplicate: true, Attachable: true, Scope: 'local' });
  assert.equal(a.status, 201, JSON.stringify(a.json));
  const ins = JSON.parse(await ok(['network', 'inspect', 'nd-att']))[0];
  assert.equal(ins.Attachable, true);
  assert.equal(ins.Scope, 'local');
  assert.equal(ins.Ingress, false);
  // CheckDuplicate is deprecated (API 1.44): the name is checked either way
  for (const CheckDuplicate of [true, false]) {
    const dup = await api('POST', '/networks/create', { Name: 'nd-att', CheckDuplicate });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.message, 'network with name nd-att already exists');
  }
  const cases: Array<[Record<string, unknown>, number, string]> = [
    [{ Name: 'nd-ing', Ingress: true }, 403, 'Ingress network can only be global scope network'],
    [{ Name: 'nd-swarm', Scope: 'swarm' }, 403, 'cannot create a swarm scoped network when swarm is not active'],
    [{ Name: 'nd-global', Scope: 'global' }, 500, 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.'],
  ];
  for (const [body, status, message] of cases) {
    const r = await api('POST', '/networks/create', body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(r.json.message, message);
  }
  // overlapping IPv4 pools: 403 and libnetwork's wording, for a sub- and a super-net alike
  await ok(['network', 'create', '--subnet', '10.231.90.0/24', 'nd-pool']);
  for (const subnet of ['10.231.90.128/25', '10.231.0.0/16']) {
    const r = await api('POST', '/networks/create', { Name: 'nd-pool2', IPAM: { Config: [{ Subnet: subnet }] } });
    assert.equal(r.status, 403);
    assert.equal(r.json.message, 'Pool overlaps with other one on this address space');
  }
  await ok(['network', 'rm', 'nd-att', 'nd-pool']);
  const left = (await ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n');
  assert.ok(!left.some((n) => n.startsWith('nd-')), left.join(','));
});

test('link-local IPs (--link-local-ip): on the interface, in IPAMConfig.LinkLocalIPs; bad ones refused as dockerd; EndpointSettings.Links kept', async () => {
  await ok(['network', 'create', 'nd-ll']);
  await ok(['run', '-d', '--name', 'll1', '--network', 'nd-ll', '--link-local-ip', '169.254.8.8', '--link-local-ip', 'fe80::8', IMG, 'sleep', '600']);
  const addrs = await ok(['exec', 'll1', 'ip', 'addr', 'show', 'eth0']);
  assert.match(addrs, /inet 169\.254\.8\.8\/16 /);
  assert.match(addrs, /inet6 fe80::8\/64 /);
  const ep = JSON.parse(await ok(['inspect', 'll1']))[0].NetworkSettings.Networks['nd-ll'];
  assert.deepEqual(ep.IPAMConfig, { LinkLocalIPs: ['169.254.8.8', 'fe80::8'] });
  // not link-local: the create goes through, the start fails (libnetwork's check)
  const id = (await ok(['create', '--name', 'll2', '--network', 'nd-ll', '--link-local-ip', '10.9.9.9', IMG, 'true'])).trim();
  const st = await docker(['start', id]);
  assert.notEqual(st.code, 0);
  assert.match(st.stderr, /invalid link local IP address: 10\.9\.9\.9/);
  const bad = await api('POST', '/containers/create', { Image: IMG, HostConfig: { NetworkMode: 'nd-ll' }, NetworkingConfig: { EndpointsConfig: { 'nd-ll': { IPAMConfig: { LinkLocalIPs: ['nonsense'] } } } } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.message, 'Invalid link-local IP address: [nonsense]');
  // legacy links on a user-defined network are endpoint data (the docker CLI sends them there)
  const l = await api('POST', '/containers/create?name=ll3', { Image: IMG, HostConfig: { NetworkMode: 'nd-ll' }, NetworkingConfig: { EndpointsConfig: { 'nd-ll': { Links: ['ll1:al'] } } } });
  assert.equal(l.status, 201, JSON.stringify(l.json));
  const links = JSON.parse(await ok(['inspect', 'll3']))[0].NetworkSettings.Networks['nd-ll'].Links;
  assert.deepEqual(links, ['ll1:al']);
  await ok(['rm', '-f', 'll1', 'll2', 'll3']);
  await ok(['network', 'rm', 'nd-ll']);
});
