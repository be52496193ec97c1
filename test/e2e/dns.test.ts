/**
 * The embedded DNS server (issue 13) end to end through the docker CLI: resolv.conf on user-defined networks,
 * busybox nslookup of names, aliases with two members, late and removed containers, other networks, PTR, glibc's
 * getent, a TCP query from a test client in the container's namespace, forwarding to an upstream server on the
 * host's loopback, and answers while berthd is down (kill -9) and after it restarted.
 *
 * Safety: the upstream server listens on 127.0.0.153 (host loopback); everything else talks to this daemon's
 * containers only.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importBusybox, run, sleep, startDaemon, TestDaemon } from '../harness.js';
import { startUpstream } from '../dns-probe.js';

const probe = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dns-probe.js');
let d: Awaited<ReturnType<typeof startDaemon>>;
let live: TestDaemon;
const IMG = 'dnstest/busybox:1';
const GLIBC = 'dnstest/getent:1';

before(async () => {
  d = await startDaemon();
  live = d;
  await importBusybox(d, IMG);
  await importGetent(d, GLIBC);
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

/** An image with glibc's getent (the host's binary and libc): the resolver most images use. */
async function importGetent(t: TestDaemon, tag: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-getent-'));
  try {
    const root = path.join(dir, 'rootfs');
    const files = ['/usr/bin/getent', ...execFileSync('ldd', ['/usr/bin/getent'], { encoding: 'utf8' }).split('\n').map((l) => /(\/\S+)/.exec(l)?.[1]).filter((x): x is string => Boolean(x))];
    for (const f of files) {
      fs.mkdirSync(path.join(root, path.dirname(f)), { recursive: true });
      fs.copyFileSync(fs.realpathSync(f), path.join(root, f));
      fs.chmodSync(path.join(root, f), 0o755);
    }
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/nsswitch.conf'), 'hosts: files dns\n');
    const tar = path.join(dir, 'rootfs.tar');
    execFileSync('tar', ['-C', root, '-cf', tar, '.']);
    const r = await t.docker(['import', tar, tag]);
    if (r.code !== 0) throw new Error(`import of ${tag} failed: ${r.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function ipOf(name: string, network: string): Promise<string> {
  return JSON.parse(await ok(['inspect', name]))[0].NetworkSettings.Networks[network].IPAddress;
}

/** busybox nslookup in a container: the addresses it printed for the name (server lines left out). */
async function nslookup(container: string, name: string): Promise<{ code: number; addrs: string[]; out: string }> {
  const r = await docker(['exec', container, 'busybox', 'nslookup', name]);
  const out = r.stdout + r.stderr;
  const body = out.split(/\n\s*\n/).slice(1).join('\n');
  const addrs = [...body.matchAll(/Address:\s*(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]);
  return { code: r.code, addrs, out };
}

/** A query from a test client inside the container's network namespace (no docker exec, no berthd needed). */
async function probeIn(container: string, sandboxKey: string, args: string[]): Promise<{ rcode: number; answers: string[]; tc: boolean; qps: number; p99Ms: number; error?: string }> {
  void container;
  const r = await run('nsenter', [`--net=${sandboxKey}`, process.execPath, probe, ...args]);
  return JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
}

test('user-defined network: resolv.conf names 127.0.0.11 with ndots:0; the default bridge keeps the host resolvers', async () => {
  await ok(['network', 'create', 'dn1']);
  await ok(['run', '-d', '--name', 'asker', '--network', 'dn1', IMG, 'sleep', '600']);
  const conf = await ok(['exec', 'asker', 'cat', '/etc/resolv.conf']);
  assert.match(conf, /^nameserver 127\.0\.0\.11$/m);
  assert.match(conf, /^options .*ndots:0/m);
  assert.doesNotMatch(conf, /nameserver (?!127\.0\.0\.11)/);
  const plain = await ok(['run', '--rm', IMG, 'cat', '/etc/resolv.conf']);
  assert.doesNotMatch(plain, /127\.0\.0\.11/);
});

test('names, aliases with two members (both, rotated), late and removed containers, other networks, PTR', async () => {
  await ok(['run', '-d', '--name', 'web1', '--network', 'dn1', '--network-alias', 'svc', IMG, 'sleep', '600']);
  await ok(['run', '-d', '--name', 'web2', '--network', 'dn1', '--network-alias', 'svc', IMG, 'sleep', '600']);
  const [ip1, ip2] = [await ipOf('web1', 'dn1'), await ipOf('web2', 'dn1')];

  const byName = await nslookup('asker', 'web1');
  assert.equal(byName.code, 0, byName.out);
  assert.deepEqual(byName.addrs, [ip1]);
  const id12 = (await ok(['inspect', '-f', '{{.Id}}', 'web2'])).trim().slice(0, 12);
  assert.deepEqual((await nslookup('asker', id12)).addrs, [ip2]);
  // name.network resolves too, as with Docker
  assert.deepEqual((await nslookup('asker', 'web1.dn1')).addrs, [ip1]);

  const alias = await nslookup('asker', 'svc');
  assert.deepEqual([...alias.addrs].sort(), [ip1, ip2].sort(), alias.out);
  const firsts = new Set<string>();
  for (let i = 0; i < 4; i++) firsts.add((await nslookup('asker', 'svc')).addrs[0]);
  assert.equal(firsts.size, 2, 'the answer order rotates');

  // A container started after the asking one is found at once; a removed one is gone at once.
  await ok(['run', '-d', '--name', 'late', '--network', 'dn1', IMG, 'sleep', '600']);
  const lateIp = await ipOf('late', 'dn1');
  assert.deepEqual((await nslookup('asker', 'late')).addrs, [lateIp]);
  await ok(['rm', '-f', 'late']);
  const gone = await nslookup('asker', 'late');
  assert.notEqual(gone.code, 0);
  assert.match(gone.out, /NXDOMAIN/);

  // A name on another network is not visible; after connecting, it is.
  await ok(['network', 'create', 'dn2']);
  await ok(['run', '-d', '--name', 'elsewhere', '--network', 'dn2', IMG, 'sleep', '600']);
  const hidden = await nslookup('asker', 'elsewhere');
  assert.match(hidden.out, /NXDOMAIN/);
  await ok(['network', 'connect', 'dn2', 'asker']);
  assert.deepEqual((await nslookup('asker', 'elsewhere')).addrs, [await ipOf('elsewhere', 'dn2')]);
  await ok(['network', 'disconnect', 'dn2', 'asker']);
  assert.match((await nslookup('asker', 'elsewhere')).out, /NXDOMAIN/);

  // PTR: <container>.<network>
  const ptr = await docker(['exec', 'asker', 'busybox', 'nslookup', ip1]);
  assert.match(ptr.stdout, /name = web1\.dn1/, ptr.stdout + ptr.stderr);

  // /etc/hosts has the container's own names only (peers come from DNS, as with Docker)
  const hosts = await ok(['exec', 'asker', 'cat', '/etc/hosts']);
  assert.doesNotMatch(hosts, /\bweb1\b/);
});

test('glibc getent hosts, and a TCP query from a test client in the namespace', async () => {
  const ip1 = await ipOf('web1', 'dn1');
  const g = await ok(['run', '--rm', '--network', 'dn1', GLIBC, 'getent', 'hosts', 'web1']);
  assert.match(g, new RegExp(`^${ip1.replace(/\./g, '\\.')}\\s+web1`));
  const key = JSON.parse(await ok(['inspect', 'asker']))[0].NetworkSettings.SandboxKey;
  const tcp = await probeIn('asker', key, ['--name', 'svc', '--tcp']);
  assert.equal(tcp.rcode, 0, JSON.stringify(tcp));
  assert.equal(tcp.answers.length, 2);
  const aaaa = await probeIn('asker', key, ['--name', 'web1', '--type', 'AAAA']);
  assert.deepEqual([aaaa.rcode, aaaa.answers], [0, []], 'a known name without IPv6: empty NOERROR');
  const single = await probeIn('asker', key, ['--name', 'nosuchname']);
  assert.equal(single.rcode, 3);
});

test('forwarding: other names go to the container\'s --dns server, reached from the host side (loopback)', async () => {
  const up = await startUpstream('127.0.0.153', 53, { 'ext.example': '10.1.2.3' });
  try {
    const r = await ok(['run', '--rm', '--network', 'dn1', '--dns', '127.0.0.153', IMG, 'busybox', 'nslookup', 'ext.example']);
    assert.match(r, /Address:\s*10\.1\.2\.3/);
    assert.ok(up.queries.includes('ext.example'));
    // local names are still answered locally
    const local = await ok(['run', '--rm', '--network', 'dn1', '--dns', '127.0.0.153', IMG, 'busybox', 'nslookup', 'web1']);
    assert.match(local, new RegExp(`Address:\\s*${(await ipOf('web1', 'dn1')).replace(/\./g, '\\.')}`));
    const conf = await ok(['run', '--rm', '--network', 'dn1', '--dns', '127.0.0.153', IMG, 'cat', '/etc/resolv.conf']);
    assert.match(conf, /^nameserver 127\.0\.0\.11$/m);
    const nx = await docker(['run', '--rm', '--network', 'dn1', '--dns', '127.0.0.153', IMG, 'busybox', 'nslookup', 'missing.example']);
    assert.match(nx.stdout + nx.stderr, /NXDOMAIN/);
  } finally {
    up.close();
  }
});

test('kill -9 of berthd: names still resolve while it is down and after it restarted', async () => {
  const key = JSON.parse(await ok(['inspect', 'asker']))[0].NetworkSettings.SandboxKey;
  const ip1 = await ipOf('web1', 'dn1');
  const last = live;
  await last.stop('SIGKILL');
  const down = await probeIn('asker', key, ['--name', 'web1']);
  assert.deepEqual(down.answers, [ip1], JSON.stringify(down));
  const tcpDown = await probeIn('asker', key, ['--name', 'svc', '--tcp']);
  assert.equal(tcpDown.answers.length, 2);
  live = await d.restart('SIGKILL'); // already stopped: starts a new berthd on the same root
  assert.deepEqual((await nslookup('asker', 'web1')).addrs, [ip1]);
  await ok(['run', '-d', '--name', 'after', '--network', 'dn1', IMG, 'sleep', '600']);
  const started = Date.now();
  const afterIp = await ipOf('after', 'dn1');
  let seen: string[] = [];
  while (Date.now() - started < 2000) {
    seen = (await probeIn('asker', key, ['--name', 'after'])).answers;
    if (seen.length) break;
    await sleep(20);
  }
  assert.deepEqual(seen, [afterIp]);
  await ok(['rm', '-f', 'asker', 'web1', 'web2', 'elsewhere', 'after']);
  await ok(['network', 'rm', 'dn1', 'dn2']);
  assert.deepEqual(fs.readdirSync(path.join(d.execRoot, 'dns')), [], 'no name table or resolver config left');
});
