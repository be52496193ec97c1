import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { MountFlags, UnmountFlags } from '../kernel/index.js';
import { RecordingKernel } from '../../sys/fake-kernel.js';
import { mountAll, unmount, withMounts } from './index.js';

// core/mount against the recording kernel: the mount(2) calls made for each kind of Mount, and the undo on failure.

test('flags are translated, the rest is data; a read-only bind is a bind plus a remount', () => {
  const k = new RecordingKernel();
  mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=65536k', 'mode=755'] }], '/t', k);
  mountAll([{ type: 'bind', source: '/src', options: ['ro', 'rbind', 'noexec'] }], '/b', k);
  assert.deepEqual(k.callsOf('mount'), [
    ['tmpfs', '/t', 'tmpfs', MountFlags.NOSUID | MountFlags.NODEV, 'size=65536k,mode=755'],
    ['/src', '/b', null, MountFlags.BIND | MountFlags.REC, null],
    [null, '/b', null, MountFlags.BIND | MountFlags.REMOUNT | MountFlags.RDONLY | MountFlags.NOEXEC, null],
  ]);
  assert.equal(k.depth('/b'), 1, 'the remount changes the bind, it stacks nothing');
});

test('a failure midway undoes the mounts already stacked at the target, then rethrows', () => {
  const k = new RecordingKernel().failOn('mount', 'ENODEV', (args) => args[2] === 'bogusfs');
  const mounts = [
    { type: 'tmpfs', source: 'tmpfs', options: [] },
    { type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
    { type: 'bogusfs', source: 'x', options: [] },
  ];
  assert.throws(() => mountAll(mounts, '/r', k), { code: 'ENODEV' });
  assert.equal(k.depth('/r'), 0);
  assert.deepEqual(k.callsOf('umount2'), [['/r', UnmountFlags.DETACH], ['/r', UnmountFlags.DETACH]]);
});

test('unmount pops every stacked mount and stops at EINVAL; withMounts unmounts after its callback, even on error', async () => {
  const k = new RecordingKernel();
  mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }, { type: 'tmpfs', source: 'tmpfs', options: [] }], '/s', k);
  unmount('/s', {}, k);
  assert.equal(k.depth('/s'), 0);
  assert.equal(k.callsOf('umount2').length, 3, 'two pops and the EINVAL that ends the loop');
  unmount('/never-mounted', { detach: true }, k); // EINVAL at once: not an error

  const k2 = new RecordingKernel().failOn('umount2', 'EBUSY');
  mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }], '/busy', k2);
  assert.throws(() => unmount('/busy', {}, k2), { code: 'EBUSY' });

  const k3 = new RecordingKernel();
  await assert.rejects(
    withMounts([{ type: 'tmpfs', source: 'tmpfs', options: [] }], '/w', async (root) => {
      assert.equal(k3.depth(root), 1);
      throw new Error('inside');
    }, k3),
    /inside/,
  );
  assert.equal(k3.depth('/w'), 0);
});

test('an overlay whose lowerdir list exceeds a page is mounted with lowers relative to their common parent', () => {
  const k = new RecordingKernel();
  const cwd = process.cwd();
  let cwdAtMount: string | undefined;
  const real = k.mount.bind(k);
  k.mount = (...args) => {
    cwdAtMount = process.cwd();
    real(...args);
  };
  const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-mount-')));
  const lowers = Array.from({ length: 80 }, (_, i) => `${base}/${String(i).padStart(4, '0')}-layer-with-a-long-name/fs`);
  mountAll([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`, 'upperdir=/tmp/u', 'workdir=/tmp/w'] }], '/o', k);
  const [, , fstype, , data] = k.callsOf('mount')[0]!;
  assert.equal(fstype, 'overlay');
  assert.ok((data as string).length < 4096);
  assert.match(data as string, /^lowerdir=0000-layer-with-a-long-name\/fs:0001-/);
  assert.match(data as string, /,upperdir=\/tmp\/u,workdir=\/tmp\/w$/);
  assert.equal(cwdAtMount, base);
  fs.rmdirSync(base);
  assert.equal(process.cwd(), cwd, 'the working directory is restored');
});
