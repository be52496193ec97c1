import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Logger } from '../../logger.js';
import { RootfsOwner } from './rootfs.js';
import type { Mount } from '../../../core/mount/types.js';
import { MountFlags, UnmountFlags } from '../../../core/kernel/index.js';
import { RecordingKernel } from '../../../sys/fake-kernel.js';

// Real mounts (a tmpfs stands in for the container's overlay): needs root, as berthd does.
const skip = process.getuid?.() !== 0 ? 'needs root (mounts)' : false;
let tmp: string;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rootfs-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function mountedAt(dir: string): number {
  return fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.split(' ')[1] === dir).length;
}

function owner(calls: string[]): RootfsOwner {
  return new RootfsOwner({
    layerMounts: async (key) => {
      calls.push(key);
      return [{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }];
    },
    path: (id) => path.join(tmp, 'containers', id, 'rootfs'),
    logger: new Logger('error'),
  });
}

test('one mount per container however many hold it; the last release unmounts', { skip }, async () => {
  const calls: string[] = [];
  const o = owner(calls);
  const [a, b] = await Promise.all([o.acquire('c1', 'k1'), o.acquire('c1', 'k1')]);
  assert.equal(a.root, path.join(tmp, 'containers/c1/rootfs'));
  assert.equal(mountedAt(a.root), 1);
  assert.deepEqual(calls, ['k1']);
  fs.writeFileSync(path.join(a.root, 'f'), 'x');
  a.release();
  a.release(); // idempotent: does not drop b's reference
  assert.equal(mountedAt(b.root), 1);
  assert.equal(fs.readFileSync(path.join(b.root, 'f'), 'utf8'), 'x');
  b.release();
  assert.equal(mountedAt(b.root), 0);
  assert.equal(fs.existsSync(b.root), false);
  assert.equal(o.held('c1'), false);
});

test('adopt counts a mount kept across a restart without mounting again; a crash leftover is replaced', { skip }, async () => {
  const calls: string[] = [];
  const first = owner(calls);
  const kept = await first.acquire('c2', 'k2'); // "the previous berthd" mounted it and died
  const o = owner(calls);
  const adopted = o.adopt('c2');
  const cp = await o.acquire('c2', 'k2');
  assert.equal(mountedAt(kept.root), 1);
  assert.deepEqual(calls, ['k2']);
  cp.release();
  assert.equal(mountedAt(kept.root), 1, 'the task still holds it');
  adopted.release();
  assert.equal(mountedAt(kept.root), 0);

  // a stopped container's mount left by a crash: the next acquire replaces it (no stacking)
  const leftover = await owner([]).acquire('c3', 'k3');
  const again = await owner([]).acquire('c3', 'k3');
  assert.equal(mountedAt(again.root), 1);
  again.release();
  assert.equal(mountedAt(leftover.root), 0);
  // clear() on removal: nothing held, nothing left
  const o2 = owner([]);
  await owner([]).acquire('c4', 'k4');
  o2.clear('c4');
  assert.equal(mountedAt(path.join(tmp, 'containers/c4/rootfs')), 0);
});

// The same rules against the recording kernel (no root needed): what is mounted and unmounted, in which order.

function fakeOwner(kernel: RecordingKernel, mounts: Mount[] = [{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }]): RootfsOwner {
  return new RootfsOwner({
    layerMounts: async () => mounts,
    path: (id) => path.join(tmp, 'fake', id, 'rootfs'),
    logger: new Logger('error'),
    kernel,
  });
}

test('recording kernel: concurrent acquires mount once, the last release unmounts once', async () => {
  const k = new RecordingKernel();
  const o = fakeOwner(k);
  const root = path.join(tmp, 'fake/f1/rootfs');
  const [a, b, c] = await Promise.all([o.acquire('f1', 'k'), o.acquire('f1', 'k'), o.acquire('f1', 'k')]);
  assert.equal(k.callsOf('mount').length, 1);
  assert.deepEqual(k.callsOf('mount')[0], ['tmpfs', root, 'tmpfs', 0, 'size=1m']);
  assert.equal(k.depth(root), 1);
  a.release();
  b.release();
  b.release();
  assert.equal(k.depth(root), 1, 'c still holds it');
  const umountsBefore = k.callsOf('umount2').length;
  c.release();
  assert.equal(k.depth(root), 0);
  // the release unmounts with MNT_DETACH until EINVAL (nothing left)
  assert.deepEqual(k.callsOf('umount2').slice(umountsBefore), [[root, UnmountFlags.DETACH], [root, UnmountFlags.DETACH]]);
  assert.equal(o.held('f1'), false);
});

test('recording kernel: a failed mount drops the reference and the next acquire mounts afresh', async () => {
  const k = new RecordingKernel().failOn('mount', 'EBUSY');
  const o = fakeOwner(k);
  await assert.rejects(o.acquire('f2', 'k'), { code: 'EBUSY' });
  assert.equal(o.held('f2'), false);
  const lease = await o.acquire('f2', 'k');
  assert.equal(k.callsOf('mount').length, 2);
  assert.equal(k.depth(lease.root), 1);
  lease.release();
  assert.equal(k.depth(lease.root), 0);
});

test('recording kernel: adopt mounts nothing; a read-only bind whose remount fails is undone', async () => {
  const k = new RecordingKernel();
  const adopted = fakeOwner(k).adopt('f3');
  assert.equal(k.callsOf('mount').length, 0);
  adopted.release();

  const k2 = new RecordingKernel().failOn('mount', 'EPERM', (args) => ((args[3] as number) & MountFlags.REMOUNT) !== 0);
  const o = fakeOwner(k2, [{ type: 'bind', source: '/src', options: ['ro', 'rbind'] }]);
  await assert.rejects(o.acquire('f4', 'k'), { code: 'EPERM' });
  const root = path.join(tmp, 'fake/f4/rootfs');
  assert.equal(k2.depth(root), 0, 'the bind mount made before the failed remount is gone');
  assert.deepEqual(k2.callsOf('mount')[0], ['/src', root, null, MountFlags.BIND | MountFlags.REC, null]);
});
