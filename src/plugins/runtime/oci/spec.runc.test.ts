// Integration: a spec from buildSpec runs under the real runc, and the container sees what Docker's would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readHostFacts } from './host.js';
import { buildSpec } from './spec.js';
import type { HostFacts } from './types.js';
import { resolveUser } from './user.js';

const haveRunc = spawnSync('runc', ['--version']).status === 0 && process.getuid?.() === 0 && existsSync('/bin/busybox');
const skip = haveRunc ? false : 'needs root, runc and a static /bin/busybox';

let tmp = '';
let rootfs = '';
let facts: HostFacts;
const run = randomBytes(4).toString('hex');
const cgroupParent = `/berth-test-${run}`;
const created: string[] = [];

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-runc-'));
  rootfs = path.join(tmp, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(path.join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  for (const tool of ['sh', 'grep', 'cat', 'head', 'wc', 'hostname', 'id', 'echo']) {
    symlinkSync('busybox', path.join(rootfs, 'bin', tool));
  }
  writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/tmp:/bin/sh\n');
  writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\naudio:x:29:app\n');
  facts = await readHostFacts();
});

after(() => {
  if (skip) return;
  for (const id of created) spawnSync('runc', ['--root', path.join(tmp, 'state'), 'delete', '-f', id]);
  // runc removes each container's cgroup; the parent it created per controller is ours to remove.
  const roots = facts.cgroupVersion === 2 ? ['/sys/fs/cgroup'] : readdirSync('/sys/fs/cgroup').map((c) => path.join('/sys/fs/cgroup', c));
  for (const r of roots) {
    for (const id of created) try { rmdirSync(path.join(r, cgroupParent, id)); } catch { /* already gone */ }
    try { rmdirSync(path.join(r, cgroupParent)); } catch { /* not created in this hierarchy */ }
  }
  rmSync(tmp, { recursive: true, force: true });
});

/** Write a bundle for `script` and `runc run` it in the foreground; resolves with its stdout. */
async function runContainer(script: string, user: string, hostConfig: Parameters<typeof buildSpec>[0]['hostConfig']) {
  const id = `berth-test-${run}-${created.length}`;
  created.push(id);
  const bundle = path.join(tmp, id);
  mkdirSync(bundle);
  const spec = buildSpec({
    id: randomBytes(32).toString('hex'),
    rootfsPath: rootfs,
    config: { Hostname: 'berthbox', Cmd: ['sh', '-c', script] },
    hostConfig,
    user: await resolveUser(rootfs, user, []),
    cgroupsPath: `${cgroupParent}/${id}`,
    hostFacts: facts,
  });
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
  const child = spawn('runc', ['--root', path.join(tmp, 'state'), 'run', '--bundle', bundle, id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `runc failed: ${err}`);
  return out;
}

test('busybox under runc sees Docker\'s defaults', { skip }, async () => {
  const memFile = facts.cgroupVersion === 2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
  const out = await runContainer(
    // /proc/kcore is absent on some kernels; /proc/timer_list exists everywhere and is masked too.
    `grep CapEff /proc/self/status; cat /proc/kcore 2>/dev/null | head -c 1 | wc -c; hostname; id; cat ${memFile}; ` +
      'cat /proc/timer_list | wc -c; echo x > /proc/sys/kernel/hostname 2>/dev/null || echo ro-sys',
    '',
    { Memory: 64 * 1024 * 1024 },
  );
  const lines = out.trim().split('\n');
  assert.equal(lines[0], 'CapEff:\t00000000a80425fb');
  assert.equal(lines[1]!.trim(), '0'); // /proc/kcore is masked
  assert.equal(lines[2], 'berthbox');
  assert.match(lines[3]!, /^uid=0\(root\) gid=0\(root\)/);
  assert.equal(lines[4], String(64 * 1024 * 1024));
  assert.equal(lines[5]!.trim(), '0'); // masked: reads as /dev/null
  assert.equal(lines[6], 'ro-sys'); // /proc/sys is read-only
});

test('a non-root user keeps no effective capabilities', { skip }, async () => {
  const out = await runContainer('id -u; id -G; grep CapEff /proc/self/status', 'app', {});
  assert.deepEqual(out.trim().split('\n'), ['1000', '1000 29', 'CapEff:\t0000000000000000']);
});

test('--privileged gets exactly the host bounding set and runc accepts it', { skip }, async () => {
  const out = await runContainer('grep CapEff /proc/self/status; grep -c . /proc/timer_list', '', { Privileged: true });
  const bnd = /^CapBnd:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
  const [capEff, timerLines] = out.trim().split('\n');
  assert.equal(capEff, `CapEff:\t${bnd}`);
  assert.ok(Number(timerLines) > 0); // not masked when privileged
});
