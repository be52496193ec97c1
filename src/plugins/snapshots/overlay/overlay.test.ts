import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, mkdir, readdir, access } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OverlaySnapshotter, overlaySupported } from './index.js';
import { NativeSnapshotter } from '../native/index.js';
import { mountAll, unmount } from '../../../core/mount/index.js';
import { mknod, FileType, lsetxattr } from '../../../sys/linux.js';
import type { Snapshotter } from '../../../core/snapshots/types.js';

function mountedUnder(prefix: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(prefix));
}

async function withRoot(fn: (root: string) => Promise<void>) {
  const root = await mkdtemp(path.join(tmpdir(), 'berth-snap-'));
  try {
    await fn(root);
  } finally {
    for (const m of mountedUnder(root).reverse()) unmount(m, { detach: true });
    await rm(root, { recursive: true, force: true });
    assert.deepEqual(mountedUnder(root), []);
  }
}

/** Prepares `key` on `parent`, lets `fill` write its diff, commits as `name`. */
async function layer(s: Snapshotter, name: string, parent: string | undefined, fill: (dir: string) => Promise<void>) {
  const key = `extract-${name}`;
  await s.prepare(key, parent);
  await fill(await s.writableDir(key));
  await s.commit(name, key);
}

const overlayOK = await overlaySupported(path.join(tmpdir(), 'berth-overlay-probe'));
await rm(path.join(tmpdir(), 'berth-overlay-probe'), { recursive: true, force: true });

test('overlay: 128-layer chain mounts and reads correctly', { skip: !overlayOK && 'no overlayfs' }, () =>
  withRoot(async (root) => {
    const s = await OverlaySnapshotter.open(path.join(root, 'overlay'));
    let parent: string | undefined;
    for (let i = 0; i < 128; i++) {
      const name = `sha256:${String(i).padStart(64, '0')}`;
      await layer(s, name, parent, async (d) => {
        await writeFile(path.join(d, `f${i}`), `layer ${i}`);
        await writeFile(path.join(d, 'top'), `${i}`);
      });
      parent = name;
    }
    const mounts = await s.prepare('container', parent);
    assert.equal(mounts[0]!.type, 'overlay');
    const lower = mounts[0]!.options.find((o) => o.startsWith('lowerdir='))!;
    assert.equal(lower.split(':').length, 128);
    assert.ok(mounts[0]!.options.join(',').length > 4096, 'absolute option string exceeds a page; compaction is exercised');
    const target = path.join(root, 'merged');
    await mkdir(target);
    mountAll(mounts, target);
    try {
      assert.equal(await readFile(path.join(target, 'f0'), 'utf8'), 'layer 0');
      assert.equal(await readFile(path.join(target, 'f77'), 'utf8'), 'layer 77');
      assert.equal(await readFile(path.join(target, 'top'), 'utf8'), '127');
      assert.equal((await readdir(target)).length, 129);
      await writeFile(path.join(target, 'new'), 'rw');
      assert.equal(process.cwd(), process.cwd());
    } finally {
      unmount(target);
    }
    assert.deepEqual(mountedUnder(target), []);
    assert.equal(await readFile(path.join(await s.writableDir('container'), 'new'), 'utf8'), 'rw');
    const v = await s.view('view', parent);
    const vt = path.join(root, 'view');
    await mkdir(vt);
    mountAll(v, vt);
    try {
      assert.equal(await readFile(path.join(vt, 'f5'), 'utf8'), 'layer 5');
      await assert.rejects(writeFile(path.join(vt, 'x'), 'x'), /EROFS/);
    } finally {
      unmount(vt);
    }
  }));

test('overlay: whiteouts and opaque dirs hide lower files through a real mount', { skip: !overlayOK && 'no overlayfs' }, () =>
  withRoot(async (root) => {
    const s = await OverlaySnapshotter.open(path.join(root, 'overlay'));
    await layer(s, 'L1', undefined, async (d) => {
      await writeFile(path.join(d, 'gone'), 'x');
      await writeFile(path.join(d, 'kept'), 'x');
      await mkdir(path.join(d, 'dir'));
      await writeFile(path.join(d, 'dir', 'old'), 'x');
    });
    await layer(s, 'L2', 'L1', async (d) => {
      mknod(path.join(d, 'gone'), FileType.S_IFCHR, 0n);
      await mkdir(path.join(d, 'dir'));
      lsetxattr(path.join(d, 'dir'), 'trusted.overlay.opaque', Buffer.from('y'));
      await writeFile(path.join(d, 'dir', 'new'), 'y');
    });
    const target = path.join(root, 'm');
    await mkdir(target);
    mountAll(await s.prepare('c', 'L2'), target);
    try {
      assert.deepEqual((await readdir(target)).sort(), ['dir', 'kept']);
      assert.deepEqual(await readdir(path.join(target, 'dir')), ['new']);
    } finally {
      unmount(target);
    }
  }));

async function lifecycle(s: Snapshotter, root: string) {
  await layer(s, 'base', undefined, async (d) => writeFile(path.join(d, 'a'), 'hello'));
  const info = await s.stat('base');
  assert.equal(info.kind, 'committed');
  assert.equal((await s.usage('base')).size, 5);
  await s.prepare('act', 'base');
  assert.equal((await s.stat('act')).parent, 'base');
  await assert.rejects(s.prepare('act', 'base'), (e: { kind?: string }) => e.kind === 'AlreadyExists');
  await assert.rejects(s.prepare('x', 'nope'), (e: { kind?: string }) => e.kind === 'NotFound');
  await assert.rejects(s.remove('base'), (e: { kind?: string }) => e.kind === 'Conflict');
  await assert.rejects(s.commit('z', 'base'), (e: { kind?: string }) => e.kind === 'FailedPrecondition');
  const t = path.join(root, 't');
  await mkdir(t, { recursive: true });
  mountAll(await s.mounts('act'), t);
  try {
    assert.equal(await readFile(path.join(t, 'a'), 'utf8'), 'hello');
  } finally {
    unmount(t);
  }
  const names: string[] = [];
  await s.walk((i) => {
    names.push(i.name);
  });
  assert.deepEqual(names.sort(), ['act', 'base']);
  await s.remove('act');
  await s.remove('base');
  await assert.rejects(s.stat('base'), (e: { kind?: string }) => e.kind === 'NotFound');
}

test('overlay: lifecycle, errors, persistence, orphan clean-up', { skip: !overlayOK && 'no overlayfs' }, () =>
  withRoot(async (root) => {
    const dir = path.join(root, 'overlay');
    const s = await OverlaySnapshotter.open(dir);
    await lifecycle(s, root);
    await layer(s, 'keep', undefined, async (d) => writeFile(path.join(d, 'k'), 'k'));
    await mkdir(path.join(dir, 'snapshots', '999', 'fs'), { recursive: true });
    const s2 = await OverlaySnapshotter.open(dir);
    assert.equal((await s2.stat('keep')).kind, 'committed');
    await assert.rejects(access(path.join(dir, 'snapshots', '999')));
    // parent-independent diffs can be re-based at commit
    await s2.prepare('ex', undefined);
    await writeFile(path.join(await s2.writableDir('ex'), 'up'), 'u');
    await s2.commit('rebased', 'ex', { parent: 'keep' });
    assert.equal((await s2.stat('rebased')).parent, 'keep');
  }));

test('native: lifecycle (copying fallback)', () =>
  withRoot(async (root) => {
    const s = await NativeSnapshotter.open(path.join(root, 'native'));
    await lifecycle(s, root);
  }));

test('both snapshotters mark their snapshots directory as a top directory on ext4 (placement.ts)', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const fsType = execFileSync('stat', ['-f', '-c', '%T', tmpdir()], { encoding: 'utf8' }).trim();
  if (fsType !== 'ext2/ext3') return t.skip(`${tmpdir()} is ${fsType}, not ext4`);
  for (const open of [OverlaySnapshotter.open, NativeSnapshotter.open]) {
    await withRoot(async (root) => {
      await open(root);
      const attrs = execFileSync('lsattr', ['-d', path.join(root, 'snapshots')], { encoding: 'utf8' }).split(' ')[0]!;
      assert.match(attrs, /T/, `lsattr: ${attrs}`);
      await open(root); // again: already set, no error
    });
  }
});
