/**
 * Conformance suite for the Snapshotter contract (types.ts), as containerd's snapshots/testsuite: every
 * implementation registers it from its own test file with a factory, and must pass it unchanged. It mounts what the
 * snapshotter returns (root only), so it checks the mounts as data *and* what the kernel makes of them.
 *
 * The cases: the active → committed lifecycle with its error kinds, parent content seen through mounts, views being
 * read-only, usage recorded at commit, labels, persistence across a reopen, removal order (children first), leases
 * recording what they protect, and a layer chain deep enough to matter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mountAll, unmount } from '../mount/index.js';
import type { LeaseManager } from '../content/types.js';
import type { Snapshotter } from './types.js';

export interface SnapshotterFactory {
  /** Opens (creating) the implementation under `root`; opening the same root again must see the same snapshots. */
  open(root: string, opts: { leases?: LeaseManager }): Promise<Snapshotter>;
  /** Opens a lease manager under `root` (for the lease case). */
  leases(root: string): Promise<LeaseManager>;
  /** Why the suite cannot run here (e.g. no overlayfs); undefined to run. */
  skip?: string | false;
}

const kind = (k: string) => (e: unknown) => (e as { kind?: string }).kind === k;

function mountedUnder(prefix: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(prefix));
}

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'berth-snapsuite-'));
  try {
    await fn(root);
  } finally {
    for (const m of mountedUnder(root).reverse()) unmount(m, { detach: true });
    await rm(root, { recursive: true, force: true });
  }
  assert.deepEqual(mountedUnder(root), [], 'the suite leaves no mount behind');
}

/** Mounts `s.mounts(key)` (or given mounts) at a fresh dir, runs `fn` on it, unmounts. */
async function withMounted<T>(root: string, mounts: Parameters<typeof mountAll>[0], fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(root, 'mnt-'));
  mountAll(mounts, dir);
  try {
    return await fn(dir);
  } finally {
    unmount(dir);
  }
}

/** prepare → write the diff → commit, as a layer extraction does. */
async function layer(s: Snapshotter, name: string, parent: string | undefined, files: Record<string, string>): Promise<void> {
  const key = `extract-${name}`;
  await s.prepare(key, parent);
  const dir = await s.writableDir(key);
  for (const [f, v] of Object.entries(files)) await writeFile(path.join(dir, f), v);
  await s.commit(name, key);
}

export function snapshotterSuite(label: string, f: SnapshotterFactory): void {
  const t = (name: string, fn: (root: string) => Promise<void>) => test(`snapshotter conformance (${label}): ${name}`, { skip: f.skip || false }, () => withRoot(fn));
  const open = (root: string, leases?: LeaseManager) => f.open(path.join(root, 'snap'), { leases });

  t('lifecycle: prepare, commit, stat, walk, remove, with the contract\'s error kinds', async (root) => {
    const s = await open(root);
    await layer(s, 'base', undefined, { a: 'hello' });
    const info = await s.stat('base');
    assert.equal(info.kind, 'committed');
    assert.equal(info.parent, undefined);
    await s.prepare('act', 'base');
    assert.equal((await s.stat('act')).kind, 'active');
    assert.equal((await s.stat('act')).parent, 'base');
    await assert.rejects(s.prepare('act', 'base'), kind('AlreadyExists'));
    await assert.rejects(s.prepare('base'), kind('AlreadyExists'), 'keys and names share one namespace');
    await assert.rejects(s.prepare('x', 'nope'), kind('NotFound'));
    await assert.rejects(s.prepare('x', 'act'), (e) => ['InvalidArgument', 'NotFound'].includes((e as { kind?: string }).kind ?? ''), 'a parent must be committed');
    await assert.rejects(s.prepare(''), kind('InvalidArgument'));
    await assert.rejects(s.commit('z', 'base'), kind('FailedPrecondition'), 'only active snapshots commit');
    await assert.rejects(s.commit('base', 'act'), kind('AlreadyExists'));
    await assert.rejects(s.writableDir('base'), kind('FailedPrecondition'));
    await assert.rejects(s.remove('base'), kind('Conflict'), 'a parent goes after its children');
    await assert.rejects(s.stat('nope'), kind('NotFound'));
    await assert.rejects(s.remove('nope'), kind('NotFound'));
    const names: string[] = [];
    await s.walk((i) => {
      names.push(`${i.name}:${i.kind}`);
    });
    assert.deepEqual(names.sort(), ['act:active', 'base:committed']);
    await s.remove('act');
    await s.remove('base');
    await assert.rejects(s.stat('base'), kind('NotFound'));
    const left: string[] = [];
    await s.walk((i) => {
      left.push(i.name);
    });
    assert.deepEqual(left, []);
  });

  t('an active snapshot shows its parents through its mounts and keeps its writes', async (root) => {
    const s = await open(root);
    await layer(s, 'l1', undefined, { a: '1', shared: 'from l1' });
    await layer(s, 'l2', 'l1', { b: '2', shared: 'from l2' });
    const mounts = await s.prepare('c', 'l2');
    assert.deepEqual(await s.mounts('c'), mounts, 'mounts(key) returns what prepare returned');
    await withMounted(root, mounts, async (dir) => {
      assert.deepEqual((await readdir(dir)).sort(), ['a', 'b', 'shared']);
      assert.equal(await readFile(path.join(dir, 'shared'), 'utf8'), 'from l2', 'the nearest layer wins');
      await writeFile(path.join(dir, 'new'), 'rw');
    });
    assert.equal(await readFile(path.join(await s.writableDir('c'), 'new'), 'utf8'), 'rw', 'writes land in the writable dir');
    await s.commit('l3', 'c');
    await withMounted(root, await s.view('v', 'l3'), async (dir) => {
      assert.equal(await readFile(path.join(dir, 'new'), 'utf8'), 'rw');
      assert.equal(await readFile(path.join(dir, 'a'), 'utf8'), '1');
    });
  });

  t('a view is read-only and cannot be committed', async (root) => {
    const s = await open(root);
    await layer(s, 'l1', undefined, { a: '1' });
    await layer(s, 'l2', 'l1', { b: '2' });
    for (const parent of ['l1', 'l2']) {
      const key = `view-${parent}`;
      const mounts = await s.view(key, parent);
      assert.equal((await s.stat(key)).kind, 'view');
      await withMounted(root, mounts, async (dir) => {
        assert.equal(await readFile(path.join(dir, 'a'), 'utf8'), '1');
        await assert.rejects(writeFile(path.join(dir, 'x'), 'x'), /EROFS/);
      });
      await assert.rejects(s.commit(`c-${key}`, key), kind('FailedPrecondition'));
      await s.remove(key);
    }
  });

  t('usage of a committed snapshot counts its own diff only', async (root) => {
    const s = await open(root);
    await layer(s, 'l1', undefined, { a: 'hello' });
    assert.equal((await s.usage('l1')).size, 5);
    assert.ok((await s.usage('l1')).inodes >= 2);
    await s.prepare('c', 'l1');
    await writeFile(path.join(await s.writableDir('c'), 'big'), Buffer.alloc(1000));
    await s.commit('l2', 'c');
    const u = await s.usage('l2');
    assert.ok(u.size >= 1000, `usage of l2 counts its file (${u.size})`);
    if (s.diffIsParentIndependent) assert.equal(u.size, 1000);
    await assert.rejects(s.usage('nope'), kind('NotFound'));
  });

  t('labels are kept and merged at commit', async (root) => {
    const s = await open(root);
    await s.prepare('k', undefined, { labels: { a: '1' } });
    assert.deepEqual((await s.stat('k')).labels, { a: '1' });
    await s.commit('n', 'k', { labels: { b: '2' } });
    assert.deepEqual((await s.stat('n')).labels, { a: '1', b: '2' });
  });

  t('state survives a reopen; directories no record owns are removed', async (root) => {
    const s = await open(root);
    await layer(s, 'keep', undefined, { k: 'k' });
    await s.prepare('active', 'keep');
    const s2 = await open(root);
    assert.equal((await s2.stat('keep')).kind, 'committed');
    assert.equal((await s2.stat('active')).parent, 'keep');
    assert.equal(await readFile(path.join(await s2.diffDir('keep'), 'k'), 'utf8'), 'k');
    await withMounted(root, await s2.mounts('active'), async (dir) => {
      assert.equal(await readFile(path.join(dir, 'k'), 'utf8'), 'k');
    });
  });

  t('a commit may re-base a parentless diff only where diffs are parent-independent', async (root) => {
    const s = await open(root);
    await layer(s, 'base', undefined, { a: '1' });
    await s.prepare('ex');
    await writeFile(path.join(await s.writableDir('ex'), 'up'), 'u');
    if (s.diffIsParentIndependent) {
      await s.commit('rebased', 'ex', { parent: 'base' });
      assert.equal((await s.stat('rebased')).parent, 'base');
      await withMounted(root, await s.view('v', 'rebased'), async (dir) => {
        assert.deepEqual((await readdir(dir)).sort(), ['a', 'up']);
      });
    } else {
      await assert.rejects(s.commit('rebased', 'ex', { parent: 'base' }), kind('InvalidArgument'));
      assert.equal((await s.stat('ex')).kind, 'active', 'a refused commit leaves the snapshot active');
    }
  });

  t('leases record the snapshots made under them', async (root) => {
    const leases = await f.leases(root);
    const s = await open(root, leases);
    const l = await leases.create();
    await s.prepare('ex', undefined, { lease: l.id });
    await s.commit('done', 'ex', { lease: l.id });
    const prot = await leases.protectedResources();
    assert.ok(prot.snapshots.has('ex'));
    assert.ok(prot.snapshots.has('done'));
    await leases.delete(l.id);
    assert.equal((await leases.protectedResources()).snapshots.size, 0);
  });

  t('a 40-layer chain mounts with every layer visible', async (root) => {
    const s = await open(root);
    let parent: string | undefined;
    for (let i = 0; i < 40; i++) {
      const name = `sha256:${String(i).padStart(64, '0')}`;
      await layer(s, name, parent, { [`f${i}`]: `layer ${i}`, top: String(i) });
      parent = name;
    }
    await withMounted(root, await s.prepare('c', parent), async (dir) => {
      assert.equal((await readdir(dir)).length, 41);
      assert.equal(await readFile(path.join(dir, 'f0'), 'utf8'), 'layer 0');
      assert.equal(await readFile(path.join(dir, 'top'), 'utf8'), '39');
    });
  });

  t('removal leaves nothing of the snapshot on disk', async (root) => {
    const s = await open(root);
    await layer(s, 'l1', undefined, { a: '1' });
    const dir = await s.diffDir('l1');
    await s.prepare('c', 'l1');
    const wdir = await s.writableDir('c');
    await s.remove('c');
    await s.remove('l1');
    await assert.rejects(readdir(dir), /ENOENT/);
    await assert.rejects(readdir(wdir), /ENOENT/);
  });
}
