import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { LocalContentStore } from './store.js';
import { FileLeaseManager } from './leases.js';
import { digestOf } from '../../../pkg/digest/index.js';

async function withRoot(fn: (root: string) => Promise<void>) {
  const root = await mkdtemp(path.join(tmpdir(), 'berth-content-'));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function chunked(buf: Buffer, size = 4096): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

test('content: ingest, info, read, walk, delete', () =>
  withRoot(async (root) => {
    const leases = await FileLeaseManager.open(root);
    const cs = await LocalContentStore.open(root, { leases });
    const data = randomBytes(300_000);
    const d = digestOf(data);
    const info = await cs.ingest(chunked(data), { expected: d, expectedSize: data.length });
    assert.equal(info.digest, d);
    assert.equal(info.size, data.length);
    assert.deepEqual((await cs.info(d)).size, data.length);
    assert.ok(await cs.exists(d));
    assert.deepEqual(await cs.readAll(d), data);
    const parts: Buffer[] = [];
    for await (const c of await cs.readStream(d, { start: 10, end: 19 })) parts.push(c as Buffer);
    assert.deepEqual(Buffer.concat(parts), data.subarray(10, 20));
    const seen: string[] = [];
    await cs.walk((i) => {
      seen.push(i.digest);
    });
    assert.deepEqual(seen, [d]);
    await cs.delete(d);
    assert.equal(await cs.exists(d), false);
    await assert.rejects(cs.info(d), (e: { kind?: string }) => e.kind === 'NotFound');
    await assert.rejects(cs.delete(d), (e: { kind?: string }) => e.kind === 'NotFound');
    assert.deepEqual(await readdir(cs.ingestDir), []);
  }));

test('content: digest or size mismatch is rejected and leaves nothing', () =>
  withRoot(async (root) => {
    const cs = await LocalContentStore.open(root);
    const data = Buffer.from('some data');
    const wrong = digestOf('other');
    await assert.rejects(cs.ingest(chunked(data), { expected: wrong }), /digest mismatch/);
    await assert.rejects(cs.ingest(chunked(data), { expected: digestOf(data), expectedSize: 3 }), /size mismatch/);
    assert.deepEqual(await readdir(cs.blobsDir), []);
    assert.deepEqual(await readdir(cs.ingestDir), []);
    await assert.rejects(cs.ingest(chunked(data), { expected: 'sha256:nope' }), /invalid checksum digest/);
  }));

test('content: a failing input stream leaves nothing', () =>
  withRoot(async (root) => {
    const cs = await LocalContentStore.open(root);
    async function* broken() {
      yield Buffer.alloc(1000);
      throw new Error('connection reset');
    }
    await assert.rejects(cs.ingest(Readable.from(broken())), /connection reset/);
    assert.deepEqual(await readdir(cs.blobsDir), []);
    assert.deepEqual(await readdir(cs.ingestDir), []);
  }));

test('content: concurrent writers of the same blob both succeed', () =>
  withRoot(async (root) => {
    const cs = await LocalContentStore.open(root);
    const data = randomBytes(2_000_000);
    const d = digestOf(data);
    const results = await Promise.all(Array.from({ length: 8 }, () => cs.ingest(chunked(data, 65536), { expected: d })));
    for (const r of results) assert.equal(r.digest, d);
    assert.deepEqual(await cs.readAll(d), data);
    assert.deepEqual(await readdir(cs.blobsDir), [d.slice(7)]);
    assert.deepEqual(await readdir(cs.ingestDir), []);
  }));

test('content: start-up removes stale ingests', () =>
  withRoot(async (root) => {
    await mkdir(path.join(root, 'content', 'ingest'), { recursive: true });
    await writeFile(path.join(root, 'content', 'ingest', 'stale'), 'half');
    const cs = await LocalContentStore.open(root);
    assert.deepEqual(await readdir(cs.ingestDir), []);
  }));

test('leases: recorded, protect resources, dead ones dropped at start-up', () =>
  withRoot(async (root) => {
    const m1 = await FileLeaseManager.open(root, 'boot1');
    const cs = await LocalContentStore.open(root, { leases: m1 });
    const l = await m1.create();
    const keep = await m1.create({ expiresInMs: 60_000 });
    const gone = await m1.create({ expiresInMs: -1 });
    const info = await cs.put(Buffer.from('x'), { lease: l.id });
    await m1.addResource(keep.id, { type: 'snapshot', id: 'snap1' });
    const prot = await m1.protectedResources();
    assert.ok(prot.content.has(info.digest));
    assert.ok(prot.snapshots.has('snap1'));
    assert.ok(!(await m1.list()).some((x) => x.id === gone.id));
    // same boot reopening keeps it; a new boot drops the boot-bound lease but keeps the unexpired one
    const m2 = await FileLeaseManager.open(root, 'boot1');
    assert.ok((await m2.list()).some((x) => x.id === l.id));
    const m3 = await FileLeaseManager.open(root, 'boot2');
    const ids = (await m3.list()).map((x) => x.id);
    assert.deepEqual(ids, [keep.id]);
    await m3.delete(keep.id);
    assert.deepEqual(await readdir(path.join(root, 'leases')), []);
  }));
