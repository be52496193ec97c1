import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, mkdir } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ImageService, ProgressMessage } from './service.js';
import { openImageService } from '../../bootstrap.js';
import { tarFromEntries } from '../../../pkg/tar/writer.js';
import { readTar } from '../../../pkg/tar/reader.js';
import { mountAll, unmount } from '../../../core/mount/index.js';

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function layer(files: Record<string, string>): Promise<Buffer> {
  return collect(tarFromEntries(Object.entries(files).map(([name, body]) => ({ header: { name, mode: 0o644, mtime: new Date(0) }, body }))));
}

/** A docker-save archive (manifest.json last, as Docker writes it) of images given as lists of layer blobs. */
async function saveArchive(images: Array<{ tag: string; layers: Array<{ blob: Buffer; diff: Buffer }> }>): Promise<Buffer> {
  const files = new Map<string, Buffer>();
  const manifest: unknown[] = [];
  for (const im of images) {
    for (const l of im.layers) files.set(`blobs/sha256/${sha(l.blob)}`, l.blob);
    const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: im.layers.map((l) => `sha256:${sha(l.diff)}`) } }));
    files.set(`blobs/sha256/${sha(cfg)}`, cfg);
    manifest.push({ Config: `blobs/sha256/${sha(cfg)}`, RepoTags: [im.tag], Layers: im.layers.map((l) => `blobs/sha256/${sha(l.blob)}`) });
  }
  files.set('manifest.json', Buffer.from(JSON.stringify(manifest)));
  return collect(tarFromEntries([...files].map(([name, body]) => ({ header: { name, mode: 0o644, mtime: new Date(0) }, body }))));
}

async function withService(snapshotter: string | undefined, fn: (svc: ImageService, root: string) => Promise<void>) {
  const root = await mkdtemp(path.join(tmpdir(), 'berth-sload-'));
  try {
    await fn(await openImageService({ dataRoot: root, snapshotter }), root);
  } finally {
    for (const m of readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(root)).reverse()) unmount(m, { detach: true });
    await rm(root, { recursive: true, force: true });
  }
}

for (const snap of [undefined, 'native']) {
  test(`load (${snap ?? 'default'} snapshotter): shared and repeated layers, gzip, re-based chains, no extract snapshots left`, () =>
    withService(snap, async (svc, root) => {
      const a = await layer({ 'a.txt': 'A', 'shared/x': 'from a' });
      const b = await layer({ 'b.txt': 'B', 'shared/x': 'from b' });
      const bz = gzipSync(b);
      const L = (d: Buffer, blob = d) => ({ blob, diff: d });
      const arch = await saveArchive([
        { tag: 'one:1', layers: [L(a), L(b, bz)] },
        { tag: 'two:1', layers: [L(b, bz), L(a)] },
        { tag: 'three:1', layers: [L(a), L(b, bz), L(a)] },
      ]);
      const msgs: ProgressMessage[] = [];
      await svc.load(Readable.from([arch]), (m) => msgs.push(m));
      for (const t of ['one:1', 'two:1', 'three:1']) assert.ok(msgs.some((m) => m.stream === `Loaded image: ${t}\n`), t);
      // five distinct chains: a, a|b, b, b|a, a|b|a — each extracted once
      assert.equal(msgs.filter((m) => m.status === 'Loading layer').length, 5);
      const names: string[] = [];
      await svc.snapshots.walk((i) => {
        names.push(i.name);
      });
      assert.ok(!names.some((n) => n.startsWith('extract-')), names.join(','));
      assert.equal(names.length, 5);
      const expect: Record<string, string> = { 'one:1': 'from b', 'two:1': 'from a', 'three:1': 'from a' };
      for (const [t, want] of Object.entries(expect)) {
        const target = path.join(root, `rootfs-${t.replace(':', '-')}`);
        await mkdir(target);
        mountAll(await svc.rootfsMounts(t, `ctr-${t.replace(':', '-')}`), target);
        try {
          assert.equal(await readFile(path.join(target, 'shared/x'), 'utf8'), want, t);
          assert.equal(await readFile(path.join(target, 'a.txt'), 'utf8'), 'A');
          assert.equal(await readFile(path.join(target, 'b.txt'), 'utf8'), 'B');
        } finally {
          unmount(target);
        }
        await svc.removeContainerLayer(`ctr-${t.replace(':', '-')}`);
      }
      // loading again: every chain exists, nothing is extracted, nothing is left behind
      const again: ProgressMessage[] = [];
      await svc.load(Readable.from([arch]), (m) => again.push(m));
      assert.equal(again.filter((m) => m.status === 'Loading layer').length, 0);
      // a load whose config names a wrong diffID is refused and leaves no extract snapshot
      await svc.remove('one:1');
      await svc.remove('two:1');
      await svc.remove('three:1');
      await svc.gc();
      const bad = await saveArchive([{ tag: 'bad:1', layers: [{ blob: a, diff: b }] }]);
      await assert.rejects(svc.load(Readable.from([bad]), () => {}), /diffID/);
      await svc.gc();
      const left: string[] = [];
      await svc.snapshots.walk((i) => {
        left.push(i.name);
      });
      assert.deepEqual(left, []);
      assert.equal(svc.count(), 0);
    }));
}

test('load: an uncompressed layer is kept only unpacked with its tar split, and save gives it back byte for byte; a tar the split cannot rebuild is stored', () =>
  withService(undefined, async (svc, root) => {
    const big = Buffer.alloc(600_000, 5);
    const entry = (name: string, body: string | Buffer) => ({ header: { name, mode: 0o644, mtime: new Date(0) }, body });
    const clean = await collect(tarFromEntries([entry('etc/big', big), entry('etc/small', 'small'), entry('empty', '')]));
    // the same path twice: the first body is gone from the tree, so only the tar itself can give it back
    const twice = await collect(tarFromEntries([entry('f', big), entry('f', 'second')]));
    const blobPath = (b: Buffer) => path.join(root, 'content', 'blobs', 'sha256', sha(b));
    const L = (d: Buffer) => ({ blob: d, diff: d });
    await svc.load(Readable.from([await saveArchive([{ tag: 'clean:1', layers: [L(clean)] }, { tag: 'twice:1', layers: [L(twice)] }])]), () => {});
    const layerOf = (t: string) => svc.resolve(t).layers[0]!;
    assert.ok(layerOf('clean:1').tarSplit, 'a tar split is recorded');
    assert.equal(existsSync(blobPath(clean)), false, 'no blob of the clean layer');
    assert.equal(layerOf('twice:1').tarSplit, undefined);
    assert.ok(existsSync(blobPath(twice)), 'the blob of the layer the split cannot rebuild');
    for (const [t, want] of [['clean:1', clean], ['twice:1', twice]] as const) {
      const saved = await collect(svc.save([t]));
      const files = new Map<string, Buffer>();
      for await (const { header, body } of readTar(Readable.from([saved]))) files.set(header.name, await collect(body as Readable));
      assert.ok(files.get(`blobs/sha256/${sha(want)}`)?.equals(want), `${t}: save gives the layer tar back`);
    }
  }));
