/**
 * A full disk (issue 11 item 4): berthd's data root on a ~300 MB ext4 loop mount this test makes and removes,
 * filled to the last block. A pull is a client error in Docker's words, a container exiting while the disk is full
 * is recorded in memory and berthd stays up, the daemon starts on a full disk, commit leaves the container running
 * (not frozen), a failed rename keeps the old name, create says "no space left on device", a failed volume create
 * leaves no temp directory.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { haveRegistry, TestRegistries } from '../registry.js';
import { importBusybox, sleep, startDaemon, TestDaemon } from '../harness.js';

const IMG = 'e2e/busybox:1';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fulldisk-'));
const img = `${root}.img`;
const dataRoot = path.join(root, 'data');
let d: Awaited<ReturnType<typeof startDaemon>>;
let live: TestDaemon;
let registries: TestRegistries | undefined;
let reg = '';
let mounted = false;

const ENOSPC = /no space left on device/;

/** Writes until the filesystem refuses (root may use every block: the fs is made with -m 0). */
function fill(): void {
  const big = path.join(dataRoot, 'filler');
  const st = fs.statfsSync(dataRoot);
  const free = st.bavail * st.bsize;
  if (free > 4 << 20) execFileSync('fallocate', ['-l', String(free - (2 << 20)), big]);
  const fd = fs.openSync(path.join(dataRoot, 'filler2'), 'w');
  const block = Buffer.alloc(4096, 1);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
  // and the inodes' worth of small directories a mkdir would use up are gone too: a block per directory
}

function unfill(): void {
  fs.rmSync(path.join(dataRoot, 'filler'), { force: true });
  fs.rmSync(path.join(dataRoot, 'filler2'), { force: true });
}

before(async () => {
  execFileSync('truncate', ['-s', '300M', img]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', img]);
  fs.mkdirSync(dataRoot);
  execFileSync('mount', ['-o', 'loop', img, dataRoot]);
  mounted = true;
  d = await startDaemon({ root });
  live = d;
  await importBusybox(d, IMG);
  if (haveRegistry) {
    registries = new TestRegistries(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fulldisk-reg-')));
    reg = await registries.start('r');
    assert.equal((await live.docker(['tag', IMG, `${reg}/full/bb:1`])).code, 0);
    const p = await live.docker(['push', `${reg}/full/bb:1`]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal((await live.docker(['rmi', `${reg}/full/bb:1`])).code, 0);
  }
});

after(async () => {
  unfill();
  await d?.teardown();
  await registries?.stopAll();
  // teardown unmounts what is under the root; the loop mount too unless it is still there
  if (mounted && fs.readFileSync('/proc/mounts', 'utf8').includes(` ${dataRoot} `)) execFileSync('umount', ['-l', dataRoot]);
  fs.rmSync(img, { force: true });
  fs.rmSync(root, { recursive: true, force: true });
});

const docker = (args: string[]) => live.docker(args, { timeoutMs: 120_000 });
const inspect = async (name: string, fmt: string) => (await docker(['inspect', '-f', fmt, name])).stdout.trim();

test('a full disk: every operation fails in Docker words, nothing is left half-done, berthd stays up and restarts', async () => {
  assert.equal((await docker(['run', '-d', '--name', 'runner', IMG, 'sh', '-c', 'sleep 4; exit 7'])).code, 0);
  assert.equal((await docker(['create', '--name', 'named', IMG, 'true'])).code, 0);
  assert.equal((await docker(['run', '-d', '--name', 'committer', IMG, 'sh', '-c', 'echo x > /f; sleep 300'])).code, 0);
  await sleep(300);
  fill();

  // create: ENOSPC, not ENOENT, and no container left
  const c = await docker(['create', '--name', 'nospace', IMG, 'true']);
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, ENOSPC, c.stderr);
  assert.doesNotMatch(c.stderr, /no such file or directory/);
  assert.notEqual((await docker(['inspect', 'nospace'])).code, 0);

  // rename: refused, the old name stays (and the new one is free)
  const r = await docker(['rename', 'named', 'renamed']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, ENOSPC);
  assert.equal(await inspect('named', '{{.Name}}'), '/named');
  assert.notEqual((await docker(['inspect', 'renamed'])).code, 0);

  // commit: fails, the container is running and not frozen
  const cm = await docker(['commit', 'committer', 'full/committed:1']);
  assert.notEqual(cm.code, 0);
  assert.match(cm.stderr, ENOSPC, cm.stderr);
  assert.equal(await inspect('committer', '{{.State.Status}} {{.State.Paused}}'), 'running false');
  const ex = await docker(['exec', 'committer', 'cat', '/f']);
  assert.equal(ex.stdout.trim(), 'x', `a frozen container would not answer: ${ex.stderr}`);

  // volume create: refused, no temp directory left behind
  const v = await docker(['volume', 'create', 'fullvol']);
  assert.notEqual(v.code, 0);
  assert.match(v.stderr, ENOSPC);
  assert.deepEqual(fs.readdirSync(path.join(dataRoot, 'volumes')).filter((n) => n.startsWith('.tmp-')), []);

  // pull: a client error in Docker's words, berthd stays up
  if (reg) {
    const p = await docker(['pull', `${reg}/full/bb:1`]);
    assert.notEqual(p.code, 0);
    assert.match(p.stderr + p.stdout, ENOSPC);
  }

  // a container exits while the disk is full: recorded (in memory), berthd up
  assert.equal((await docker(['wait', 'runner'])).stdout.trim(), '7');
  assert.equal(await inspect('runner', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 7');
  assert.equal((await docker(['version', '--format', '{{.Server.Version}}'])).code, 0);

  // the daemon starts on a full disk
  await docker(['rm', '-f', 'committer']);
  live = await d.restart('SIGTERM');
  assert.equal((await docker(['version', '--format', '{{.Server.Version}}'])).code, 0);
  assert.match(await inspect('named', '{{.Name}}'), /^\/named$/);

  unfill();
  assert.equal((await docker(['rename', 'named', 'renamed'])).code, 0, 'with space again it works');
  await docker(['rm', '-f', 'renamed', 'runner']);
});
