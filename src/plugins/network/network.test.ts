/** Pure parts of the network plugin: IPv4 arithmetic, IPAM, rule rendering, ip batches. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostEndpointLines, nsEndpointLines } from './bridge/links.js';
import { addPeer, extraHostEntries, peerNames, removePeer } from '../../daemon/services/network-hosts.js';
import { allocate, newAddressSpace, pickSubnet, release } from './ipam.js';
import { chainNames, renderRules } from './bridge/iptables.js';
import { formatIp, macFromIp, overlaps, parseCidr, parseIp } from '../../pkg/ipnet/ipv4.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('ipv4: parse/format, CIDR normalisation, overlap, Docker MAC', () => {
  assert.equal(formatIp(parseIp('172.18.0.2')), '172.18.0.2');
  assert.throws(() => parseIp('1.2.3.256'), /invalid IP address/);
  const p = parseCidr('172.18.5.9/16');
  assert.equal(formatIp(p.base), '172.18.0.0');
  assert.ok(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.1.0.0/16')));
  assert.ok(!overlaps(parseCidr('10.0.0.0/16'), parseCidr('10.1.0.0/16')));
  assert.equal(macFromIp(parseIp('172.21.0.2')), '02:42:ac:15:00:02');
});

test('ipam: sequential allocation skips gateway, network and broadcast; no reuse right after release', () => {
  const s = newAddressSpace('10.9.0.0/29');
  assert.equal(s.gateway, '10.9.0.1');
  const got = [allocate(s, 'a'), allocate(s, 'b'), allocate(s, 'c')];
  assert.deepEqual(got, ['10.9.0.2', '10.9.0.3', '10.9.0.4']);
  release(s, '10.9.0.2', 'a');
  assert.equal(allocate(s, 'd'), '10.9.0.5');
  assert.equal(allocate(s, 'e'), '10.9.0.6');
  assert.equal(allocate(s, 'f'), '10.9.0.2'); // wraps to the freed one
  assert.throws(() => allocate(s, 'g'), /no available IPv4 address/);
  release(s, '10.9.0.3', 'someone-else');
  assert.equal(s.allocated['10.9.0.3'], 'b');
});

test('ipam: requested address, ip-range, gateway checks', () => {
  const s = newAddressSpace('10.9.0.0/24', '10.9.0.254', '10.9.0.128/25');
  assert.equal(allocate(s, 'a'), '10.9.0.128');
  assert.equal(allocate(s, 'b', '10.9.0.7'), '10.9.0.7');
  assert.throws(() => allocate(s, 'c', '10.9.0.7'), /Address already in use/);
  assert.throws(() => allocate(s, 'c', '10.9.1.7'), /not in 10.9.0.0\/24/);
  assert.throws(() => newAddressSpace('10.9.0.0/24', '10.8.0.1'), /no matching subnet for gateway/);
});

test('pickSubnet avoids taken subnets, host routes and docker0', () => {
  const pools = [{ base: '172.17.0.0/16', size: 16 }, { base: '172.18.0.0/16', size: 16 }, { base: '172.20.0.0/14', size: 16 }];
  assert.equal(pickSubnet(pools, [], [], ['172.17.0.0/16']), '172.18.0.0/16');
  assert.equal(pickSubnet(pools, ['172.18.0.0/16'], ['172.20.0.0/24'], ['172.17.0.0/16']), '172.21.0.0/16');
});

test('renderRules: own chains only, masquerade, isolation, internal, DNAT with localhost', () => {
  const c = chainNames('ab12', 'berthab12');
  const text = renderRules(c, {
    bridges: [
      { bridge: 'berthab120', subnet: '172.18.0.0/16', internal: false, masquerade: true, icc: true },
      { bridge: 'berthab12-x', subnet: '172.19.0.0/16', internal: true, masquerade: true, icc: true },
    ],
    ports: [{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, containerIp: '172.18.0.2', containerPort: 80, bridge: 'berthab120' }],
  });
  for (const line of text.split('\n').filter((l) => l.startsWith('-A'))) assert.match(line, /^-A BERTH(-POSTROUTING|-FORWARD)?-ab12 /);
  assert.match(text, /-A BERTH-POSTROUTING-ab12 -s 172\.18\.0\.0\/16 ! -o berthab120 -j MASQUERADE/);
  assert.doesNotMatch(text, /-s 172\.19\.0\.0\/16 ! -o/); // internal: no NAT
  assert.match(text, /-A BERTH-FORWARD-ab12 -i berthab12-x -j DROP/);
  assert.match(text, /-A BERTH-FORWARD-ab12 -i berthab120 -o berthab12\+ -j DROP/);
  assert.match(text, /-A BERTH-ab12 -d 127\.0\.0\.1\/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172\.18\.0\.2:80/);
  assert.match(text, /-s 127\.0\.0\.0\/8 -o berthab120 -j MASQUERADE/);
  assert.deepEqual(chainNames('', 'berth'), { dnat: 'BERTH', postrouting: 'BERTH-POSTROUTING', forward: 'BERTH-FORWARD', bridgeWildcard: 'berth+' });
});

test('ip batches: veth made inside the namespace, host end attached to the bridge', () => {
  const ep = { hostVeth: 'bveth0123456789', ifName: 'eth0', mac: '02:42:ac:12:00:02', addressCidr: '172.18.0.2/16', defaultGateway: '172.18.0.1', bridge: 'berth0', mtu: 1500 };
  assert.deepEqual(nsEndpointLines([ep], true, '/proc/1/ns/net'), [
    'link set lo up',
    'link add eth0 mtu 1500 address 02:42:ac:12:00:02 type veth peer name bveth0123456789 mtu 1500 netns /proc/1/ns/net',
    'addr add 172.18.0.2/16 dev eth0',
    'link set eth0 up',
    'route replace default via 172.18.0.1 dev eth0',
  ]);
  assert.deepEqual(hostEndpointLines([ep]), ['link set bveth0123456789 master berth0 up']);
});

test('dns: peers in hosts files, updated in place (same inode)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-dns-'));
  const f = path.join(dir, 'hosts');
  fs.writeFileSync(f, '127.0.0.1\tlocalhost\n10.0.0.2\tme\n');
  const ino = fs.statSync(f).ino;
  assert.deepEqual(peerNames('/web', 'abcdef0123456789', ['w', 'web']), ['web', 'abcdef012345', 'w']);
  assert.deepEqual(extraHostEntries([{ ip: '10.0.0.3', names: ['a', 'b'] }]), ['a:10.0.0.3', 'b:10.0.0.3']);
  await addPeer(f, '10.0.0.3', ['db', 'abc']);
  await addPeer(f, '10.0.0.3', ['db2']);
  assert.equal(fs.readFileSync(f, 'utf8'), '127.0.0.1\tlocalhost\n10.0.0.2\tme\n10.0.0.3\tdb2\n');
  await removePeer(f, '10.0.0.3');
  await removePeer(f, '10.0.0.2', '10.0.0.2');
  assert.equal(fs.readFileSync(f, 'utf8'), '127.0.0.1\tlocalhost\n10.0.0.2\tme\n');
  assert.equal(fs.statSync(f).ino, ino);
  fs.rmSync(dir, { recursive: true });
});

test('ports: ephemeral from the given range, round robin; explicit bindings first; other engines\' DNAT ports skipped', async () => {
  const { HostPortAllocator, localPortRange } = await import('./ports.js');
  const [lo, hi] = localPortRange();
  assert.ok(lo > 1024 && hi >= lo);
  const a = new HostPortAllocator({ range: [61510, 61514], foreign: async () => new Set(['tcp/61512']) });
  const ep = { name: 'c', id: 'e' };
  // the ephemeral request comes first but must not take 61510, which the same container names explicitly
  const got = await a.allocate([
    { proto: 'tcp', containerPort: 81, hostIp: '127.0.0.1' },
    { proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', range: [61510, 61510] },
  ], new Set(), ep);
  assert.deepEqual(got.map((b) => [b.containerPort, b.hostPort]), [[81, 61511], [80, 61510]]);
  // round robin: the next ephemeral one skips the foreign 61512
  const next = await a.allocate([{ proto: 'tcp', containerPort: 82, hostIp: '127.0.0.1' }], new Set(), ep);
  assert.equal(next[0].hostPort, 61513);
  await assert.rejects(a.allocate([{ proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', range: [61510, 61510] }], new Set(['tcp/61510']), ep), /port is already allocated/);
});

test('ipv6: RFC 5952 text, CIDR, overlap; IPAM pools, sequential allocation, ULA /64 picking', async () => {
  const v6 = await import('../../pkg/ipnet/ipv6.js');
  assert.equal(v6.formatIp6(v6.parseIp6('FD00:0:0:0:0:0:0:1')), 'fd00::1');
  assert.equal(v6.formatIp6(v6.parseIp6('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
  assert.equal(v6.formatIp6(v6.parseIp6('::ffff:10.1.2.3')), '::ffff:a01:203');
  assert.equal(v6.formatIp6(v6.parseIp6('::')), '::');
  assert.throws(() => v6.parseIp6('fd00::1::2'), /invalid IP address/);
  assert.throws(() => v6.parseIp6('fd00:12345::'), /invalid IP address/);
  assert.equal(v6.formatPrefix6(v6.parseCidr6('fd42:1:2:3:4::9/64')), 'fd42:1:2:3::/64');
  assert.ok(v6.overlaps6(v6.parseCidr6('fd42:1::/48'), v6.parseCidr6('fd42:1:0:5::/64')));
  assert.ok(!v6.overlaps6(v6.parseCidr6('fd42:1::/64'), v6.parseCidr6('fd42:2::/64')));
  const s = newAddressSpace('fd42:7:7::/64');
  assert.equal(s.family, 6);
  assert.equal(s.gateway, 'fd42:7:7::1');
  assert.equal(allocate(s, 'a'), 'fd42:7:7::2');
  assert.equal(allocate(s, 'b', 'fd42:7:7::99'), 'fd42:7:7::99');
  assert.equal(allocate(s, 'c'), 'fd42:7:7::3');
  assert.throws(() => allocate(s, 'd', 'fd42:7:8::1'), /not in fd42:7:7::\/64/);
  assert.throws(() => allocate(s, 'd', 'fd42:7:7::1'), /Address already in use/);
  release(s, 'fd42:7:7::2', 'a');
  assert.equal(allocate(s, 'e'), 'fd42:7:7::4', 'sequential: a just-freed address is not reused at once');
  const { pickSubnet6 } = await import('./ipam.js');
  assert.equal(pickSubnet6('fd11:2233:4455::/48', []), 'fd11:2233:4455::/64');
  assert.equal(pickSubnet6('fd11:2233:4455::/48', ['fd11:2233:4455::/64'], ['fd11:2233:4455:1::/64']), 'fd11:2233:4455:2::/64');
});

test('ip6tables rules: masquerade, forwarding and DNAT of :: bindings only for bridges and endpoints with IPv6', async () => {
  const { renderRules6 } = await import('./bridge/iptables.js');
  const c = chainNames('ab12', 'berthab12');
  const text = renderRules6(c, {
    bridges: [
      { bridge: 'berthab12-1', subnet: '10.1.0.0/24', subnet6: 'fd42:1::/64', internal: false, masquerade: true, icc: true },
      { bridge: 'berthab12-2', subnet: '10.2.0.0/24', internal: false, masquerade: true, icc: true },
    ],
    ports: [
      { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '10.1.0.2', containerIp6: 'fd42:1::2', containerPort: 80, bridge: 'berthab12-1' },
      { proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: '10.1.0.2', containerIp6: 'fd42:1::2', containerPort: 80, bridge: 'berthab12-1' },
    ],
  });
  assert.match(text, /-A BERTH-POSTROUTING-ab12 -s fd42:1::\/64 ! -o berthab12-1 -j MASQUERADE/);
  assert.match(text, /-A BERTH-ab12 -p tcp -m tcp --dport 8080 -j DNAT --to-destination \[fd42:1::2\]:80/);
  assert.equal((text.match(/-j DNAT/g) ?? []).length, 1, 'the 0.0.0.0 binding is IPv4 only');
  assert.doesNotMatch(text, /berthab12-2/, 'a bridge without IPv6 has no ip6tables rules');
  assert.match(text, /-A BERTH-FORWARD-ab12 -i berthab12-1 -o berthab12\+ -j DROP/);
  const v4 = renderRules(c, { bridges: [], ports: [{ proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: '10.1.0.2', containerPort: 80, bridge: 'b' }] });
  assert.doesNotMatch(v4, /-j DNAT/, 'a :: binding has no iptables rule');
});

test('endpoint lines with IPv6: the address (nodad) and the IPv6 default route', () => {
  const lines = nsEndpointLines([{ hostVeth: 'bv1', ifName: 'eth0', mac: '02:42:0a:00:00:02', addressCidr: '10.0.0.2/24', defaultGateway: '10.0.0.1', address6Cidr: 'fd42:1::2/64', defaultGateway6: 'fd42:1::1', bridge: 'br', mtu: 1500 }], false);
  assert.ok(lines.includes('addr add fd42:1::2/64 dev eth0 nodad'));
  assert.ok(lines.includes('route replace ::/0 via fd42:1::1 dev eth0'));
});
