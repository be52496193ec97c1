import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ImageService, ProgressMessage } from './service.js';
import { openImageService } from '../../bootstrap.js';
import { tarFromEntries } from '../../../pkg/tar/writer.js';
import { Filters } from '../../../pkg/filters/filters.js';
import { mountAll, unmount } from '../../../core/mount/index.js';

function layerTar(files: Record<string, string>): Readable {
  return tarFromEntries(Object.entries(files).map(([name, body]) => ({ header: { name, mode: 0o644, mtime: new Date(0) }, body })));
}

async function withService(fn: (svc: ImageService, root: string) => Promise<void>) {
  const root = await mkdtemp(path.join(tmpdir(), 'berth-images-'));
  try {
    const svc = await openImageService({ dataRoot: root });
    await fn(svc, root);
  } finally {
    for (const m of readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(root)).reverse()) unmount(m, { detach: true });
    await rm(root, { recursive: true, force: true });
  }
}

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('images: import, list, inspect, history', () =>
  withService(async (svc) => {
    const id = await svc.importImage(layerTar({ 'hello.txt': 'hi' }), { repo: 'test/app', tag: 'v1', changes: ['CMD ["sh"]', 'ENV A=b C=d', 'EXPOSE 80', 'LABEL x=y', 'WORKDIR /w', 'USER nobody', 'VOLUME /data', 'ENTRYPOINT ["/bin/e"]'] });
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const ins = (await svc.inspect('test/app:v1')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(ins.Id, id);
    assert.deepEqual(ins.RepoTags, ['test/app:v1']);
    assert.deepEqual(ins.Config.Cmd, ['sh']);
    assert.deepEqual(ins.Config.Env, ['A=b', 'C=d']);
    assert.deepEqual(ins.Config.ExposedPorts, { '80/tcp': {} });
    assert.deepEqual(ins.Config.Labels, { x: 'y' });
    assert.equal(ins.Config.WorkingDir, '/w');
    assert.equal(ins.Config.User, 'nobody');
    assert.deepEqual(ins.Config.Volumes, { '/data': {} });
    assert.deepEqual(ins.Config.Entrypoint, ['/bin/e']);
    assert.equal(ins.Comment, 'Imported from -');
    assert.equal(ins.Size, 2);
    assert.equal(ins.RootFS.Layers.length, 1);
    assert.ok(ins.Metadata.LastTagTime);
    // by short ID and full ID
    assert.equal((svc.resolve(id.slice(7, 19))).id, id);
    assert.equal(svc.resolve(id).id, id);
    const list = await svc.list();
    assert.equal(list.length, 1);
    assert.deepEqual(list[0]!.RepoTags, ['test/app:v1']);
    assert.equal((await svc.list({ filters: new Filters([['label', ['x=y']]]) })).length, 1);
    assert.equal((await svc.list({ filters: new Filters([['label', ['x=z']]]) })).length, 0);
    assert.equal((await svc.list({ filters: new Filters([['reference', ['test/*']]]) })).length, 1);
    assert.equal((await svc.list({ filters: new Filters([['dangling', ['true']]]) })).length, 0);
    const h = await svc.history(id);
    assert.equal(h.length, 1);
    assert.equal(h[0]!.Id, id);
    assert.equal(h[0]!.Size, 2);
    await assert.rejects(svc.inspect('nope:1'), { message: 'No such image: nope:1' });
    await assert.rejects(svc.importImage(layerTar({}), { changes: ['RUN x'] }), /run is not a valid change command/);
  }));

test('images: tag, untag, delete semantics and conflicts', () =>
  withService(async (svc) => {
    const id = await svc.importImage(layerTar({ a: '1' }), { repo: 'one' });
    await svc.tag('one', 'two', 'x');
    await svc.tag(id, 'localhost:5000/three');
    assert.deepEqual(svc.resolve('two:x').repoTags.sort(), ['docker.io/library/one:latest', 'docker.io/library/two:x', 'localhost:5000/three:latest']);
    await assert.rejects(svc.tag('one', 'Bad'), { message: 'invalid reference format: repository name must be lowercase' });
    // untag by name: the image stays while other tags remain
    assert.deepEqual(await svc.remove('two:x'), [{ Untagged: 'two:x' }]);
    // by ID with several references: must be forced
    await assert.rejects(svc.remove(id.slice(7, 19)), (e: Error & { kind?: string }) => e.kind === 'Conflict' && /\(must be forced\) - image is referenced in multiple repositories/.test(e.message));
    // used by a stopped container: removing the last tag only untags
    svc.setUsageProvider((i) => (i === id ? { running: false, containerId: 'c'.repeat(64) } : undefined));
    await svc.remove('localhost:5000/three');
    assert.deepEqual(await svc.remove('one'), [{ Untagged: 'one:latest' }]);
    assert.ok(svc.resolve(id));
    await assert.rejects(svc.remove(id), { message: `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is being used by stopped container cccccccccccc` });
    svc.setUsageProvider((i) => (i === id ? { running: true, containerId: 'd'.repeat(64) } : undefined));
    await assert.rejects(svc.remove(id, { force: true }), { message: `conflict: unable to delete ${id.slice(7, 19)} (cannot be forced) - image is being used by running container dddddddddddd` });
    svc.setUsageProvider(() => undefined);
    const res = await svc.remove(id);
    assert.deepEqual(res[0], { Deleted: id });
    assert.equal(res.length, 2, 'the layer is deleted too');
    await assert.rejects(svc.remove(id), (e: { kind?: string }) => e.kind === 'NotFound');
    await svc.gc();
    assert.equal(svc.count(), 0);
  }));

test('images: retag makes the old image dangling; prune removes it; force delete untags all', () =>
  withService(async (svc) => {
    const a = await svc.importImage(layerTar({ a: '1' }), { repo: 'app' });
    const b = await svc.importImage(layerTar({ b: '2' }), { repo: 'app' });
    assert.notEqual(a, b);
    const dangling = await svc.list({ filters: new Filters([['dangling', ['true']]]) });
    assert.deepEqual(dangling.map((i) => i.Id), [a]);
    assert.deepEqual(dangling[0]!.RepoTags, ['<none>:<none>']);
    const pr = await svc.prune(new Filters());
    assert.deepEqual(pr.ImagesDeleted?.[0], { Deleted: a });
    assert.ok(pr.SpaceReclaimed > 0);
    await svc.tag(b, 'other');
    const res = await svc.remove(b.slice(7), { force: true });
    assert.deepEqual(res.slice(0, 2).map((r) => r.Untagged).sort(), ['app:latest', 'other:latest']);
    assert.equal(svc.count(), 0);
  }));

test('images: save then load round trip, persistence across reopen, container rootfs', () =>
  withService(async (svc, root) => {
    const id = await svc.importImage(layerTar({ 'etc/x': 'content' }), { repo: 'rt', tag: '1' });
    const tar = await collect(svc.save(['rt:1']));
    await svc.remove('rt:1');
    assert.equal(svc.count(), 0);
    await svc.gc();
    assert.deepEqual(await readdir(path.join(root, 'content', 'blobs', 'sha256')), []);
    const msgs: ProgressMessage[] = [];
    await svc.load(Readable.from([tar]), (m) => msgs.push(m));
    assert.ok(msgs.some((m) => m.stream === 'Loaded image: rt:1\n'));
    assert.equal(svc.resolve('rt:1').id, id);
    // a reopened service sees the same state
    const svc2 = await openImageService({ dataRoot: root });
    assert.equal(svc2.resolve('rt:1').id, id);
    const target = path.join(root, 'rootfs');
    await mkdir(target);
    mountAll(await svc2.rootfsMounts('rt:1', 'ctr1'), target);
    try {
      assert.equal(await readFile(path.join(target, 'etc/x'), 'utf8'), 'content');
    } finally {
      unmount(target);
    }
    // GC keeps container layers and the image layers under them
    await svc2.gc();
    await svc2.removeContainerLayer('ctr1');
    await svc2.removeContainerLayer('ctr1');
  }));

test('images: a load with a corrupt layer leaves nothing behind', () =>
  withService(async (svc, root) => {
    await svc.importImage(layerTar({ f: 'x' }), { repo: 'c' });
    const good = await collect(svc.save(['c']));
    await svc.remove('c');
    await svc.gc();
    // Flip bytes of the layer blob inside the archive: the blob path names its digest, so ingest must refuse it.
    // The layer's header for `f` starts a 512-byte block (the layer tar sits block-aligned inside the archive); a
    // plain search for "f\0" could land in another entry's name, e.g. a blob path whose digest ends in f.
    const bad = Buffer.from(good);
    let header = -1;
    for (let off = 0; off + 1024 <= bad.length; off += 512) {
      if (bad[off] === 0x66 && bad[off + 1] === 0) {
        header = off;
        break;
      }
    }
    assert.ok(header > 0, 'the layer entry for f is in the archive');
    assert.equal(bad[header + 512], 'x'.charCodeAt(0));
    bad[header + 512] = 'y'.charCodeAt(0);
    await assert.rejects(svc.load(Readable.from([bad]), () => {}), /digest mismatch|diffID/);
    await svc.gc();
    assert.equal(svc.count(), 0);
    assert.deepEqual(await readdir(path.join(root, 'content', 'blobs', 'sha256')), []);
    assert.deepEqual(await readdir(path.join(root, 'leases')), []);
  }));

test('images: a truncated db.json: the daemon still opens, the previous db or the content store give the images back', () =>
  withService(async (svc, root) => {
    const a = await svc.importImage(layerTar({ a: '1' }), { repo: 'keep', tag: '1' });
    const b = await svc.importImage(layerTar({ b: '2' }), { repo: 'later', tag: '1' });
    const db = path.join(root, 'images', 'db.json');
    const full = await readFile(db, 'utf8');
    // truncated mid-write by something outside berth: the .bak (the db before the last change) still knows `keep`
    await writeFile(db, full.slice(0, Math.floor(full.length / 2)));
    const svc2 = await openImageService({ dataRoot: root });
    assert.equal(svc2.resolve('keep:1').id, a);
    assert.equal(svc2.resolve(b).id, b, 'the image the .bak did not know is re-added from the content store, untagged');
    assert.deepEqual(svc2.resolve(b).repoTags, []);
    assert.ok((await readdir(path.join(root, 'images'))).some((n) => n.startsWith('db.json.damaged-')), 'the damaged file is kept');
    // both files garbage: every image comes back from disk, and a container can still be made from it
    await writeFile(db, '{"version":1,"ima');
    await writeFile(`${db}.bak`, '');
    const svc3 = await openImageService({ dataRoot: root });
    assert.deepEqual(svc3.all().map((i) => i.id).sort(), [a, b].sort());
    await svc3.rootfsMounts(a, 'ctr-after-rebuild');
    await svc3.removeContainerLayer('ctr-after-rebuild');
    // an ID prefix given as sha256:<short hex> resolves as dockerd's does
    assert.equal(svc3.resolve(`sha256:${a.slice(7, 19)}`).id, a);
    assert.throws(() => svc3.resolve('sha256:0000000000ff'), /No such image: sha256:0000000000ff/);
  }));
