import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Logger } from '../../logger.js';
import { RootfsOwner } from './rootfs.js';

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
