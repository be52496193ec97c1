/**
 * Conformance suite for the ContentStore contract (types.ts), as containerd's content/testsuite: every
 * implementation registers it from its own test file with a factory and must pass it unchanged.
 *
 * The cases: ingest → info/exists/read/readStream ranges/walk/delete with NotFound where the contract says; digest
 * and size checks that store nothing on failure; a failing input stream storing nothing; concurrent writers of one
 * blob all succeeding; `put`; leases recording the blobs ingested under them; blobs surviving a reopen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { digestOf, type Digest } from '../../pkg/digest/index.js';
import type { ContentStore, LeaseManager } from './types.js';

export interface ContentStoreFactory {
  /** Opens (creating) the store under `root`; opening the same root again must see the same blobs. */
  open(root: string, opts: { leases?: LeaseManager }): Promise<ContentStore>;
  leases(root: string): Promise<LeaseManager>;
}

const kind = (k: string) => (e: unknown) => (e as { kind?: string }).kind === k;

function chunked(buf: Buffer, size = 4096): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

async function all(cs: ContentStore): Promise<Digest[]> {
  const out: Digest[] = [];
  await cs.walk((i) => {
    out.push(i.digest);
  });
  return out.sort();
}

async function drain(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export function contentStoreSuite(label: string, f: ContentStoreFactory): void {
  const t = (name: string, fn: (root: string) => Promise<void>) =>
    test(`content store conformance (${label}): ${name}`, async () => {
      const root = await mkdtemp(path.join(tmpdir(), 'berth-contentsuite-'));
      try {
        await fn(root);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

  t('ingest, info, exists, read, ranges, walk, delete', async (root) => {
    const cs = await f.open(root, {});
    const data = randomBytes(300_000);
    const d = digestOf(data);
    const info = await cs.ingest(chunked(data), { expected: d, expectedSize: data.length });
    assert.equal(info.digest, d);
    assert.equal(info.size, data.length);
    assert.ok(info.createdAt instanceof Date);
    assert.equal((await cs.info(d)).size, data.length);
    assert.equal(await cs.exists(d), true);
    assert.deepEqual(await cs.readAll(d), data);
    assert.deepEqual(await drain(await cs.readStream(d)), data);
    assert.deepEqual(await drain(await cs.readStream(d, { start: 10, end: 19 })), data.subarray(10, 20), 'end is inclusive');
    assert.deepEqual(await drain(await cs.readStream(d, { start: 299_990 })), data.subarray(299_990));
    assert.deepEqual(await all(cs), [d]);
    await cs.delete(d);
    assert.equal(await cs.exists(d), false);
    await assert.rejects(cs.info(d), kind('NotFound'));
    await assert.rejects(cs.readAll(d), kind('NotFound'));
    await assert.rejects(cs.readStream(d), kind('NotFound'));
    await assert.rejects(cs.delete(d), kind('NotFound'));
    assert.deepEqual(await all(cs), []);
  });

  t('an ingest without an expected digest commits under the digest it computed', async (root) => {
    const cs = await f.open(root, {});
    const data = Buffer.from('computed');
    const info = await cs.ingest(chunked(data, 3));
    assert.equal(info.digest, digestOf(data));
    assert.deepEqual(await cs.readAll(info.digest), data);
    const p = await cs.put(Buffer.from('put'));
    assert.equal(p.digest, digestOf('put'));
    assert.equal(p.size, 3);
  });

  t('a digest or size mismatch is refused and stores nothing', async (root) => {
    const cs = await f.open(root, {});
    const data = Buffer.from('some data');
    await assert.rejects(cs.ingest(chunked(data), { expected: digestOf('other') }), /digest mismatch/);
    await assert.rejects(cs.ingest(chunked(data), { expected: digestOf(data), expectedSize: 3 }), /size mismatch/);
    await assert.rejects(cs.ingest(chunked(data), { expected: 'sha256:nope' as Digest }), /invalid checksum digest/);
    assert.deepEqual(await all(cs), []);
    assert.equal(await cs.exists(digestOf(data)), false);
  });

  t('a failing or aborted input stores nothing', async (root) => {
    const cs = await f.open(root, {});
    async function* broken() {
      yield Buffer.alloc(1000);
      throw new Error('connection reset');
    }
    await assert.rejects(cs.ingest(Readable.from(broken())), /connection reset/);
    const ac = new AbortController();
    async function* slow() {
      yield Buffer.alloc(1000);
      ac.abort();
      yield Buffer.alloc(1000);
    }
    await assert.rejects(cs.ingest(Readable.from(slow()), { signal: ac.signal }), /abort/i);
    assert.deepEqual(await all(cs), []);
  });

  t('concurrent writers of the same blob all succeed', async (root) => {
    const cs = await f.open(root, {});
    const data = randomBytes(2_000_000);
    const d = digestOf(data);
    const results = await Promise.all(Array.from({ length: 8 }, () => cs.ingest(chunked(data, 65536), { expected: d })));
    for (const r of results) assert.equal(r.digest, d);
    assert.deepEqual(await cs.readAll(d), data);
    assert.deepEqual(await all(cs), [d]);
  });

  t('a lease records the blobs ingested under it', async (root) => {
    const leases = await f.leases(root);
    const cs = await f.open(root, { leases });
    const l = await leases.create();
    const a = await cs.put(Buffer.from('a'), { lease: l.id });
    const b = await cs.ingest(chunked(Buffer.from('bb')), { lease: l.id, expected: digestOf('bb') });
    const prot = await leases.protectedResources();
    assert.ok(prot.content.has(a.digest));
    assert.ok(prot.content.has(b.digest));
    await leases.delete(l.id);
    assert.equal((await leases.protectedResources()).content.size, 0);
    assert.equal(await cs.exists(a.digest), true, 'ending a lease does not delete; GC does');
  });

  t('blobs survive a reopen', async (root) => {
    const cs = await f.open(root, {});
    const info = await cs.put(Buffer.from('kept'));
    const cs2 = await f.open(root, {});
    assert.deepEqual(await cs2.readAll(info.digest), Buffer.from('kept'));
    assert.deepEqual(await all(cs2), [info.digest]);
  });
}
