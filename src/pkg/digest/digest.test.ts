import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { isDigest, validateDigest, digestOf, digestStream, DigestingStream, chainID, chainIDs, encoded } from './index.js';

test('digest: validate', () => {
  const d = 'sha256:' + '0'.repeat(64);
  assert.ok(isDigest(d));
  assert.equal(validateDigest(d), d);
  assert.equal(encoded(d), '0'.repeat(64));
  for (const s of ['sha256:' + '0'.repeat(63), 'sha256:' + 'A'.repeat(64), '0'.repeat(64), 'sha512:' + '0'.repeat(64), '']) {
    assert.ok(!isDigest(s), s);
    assert.throws(() => validateDigest(s), (e: { kind?: string }) => e.kind === 'InvalidArgument');
  }
});

test('digest: hashing buffers and streams agree', async () => {
  const data = Buffer.from('hello world');
  const want = 'sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9';
  assert.equal(digestOf(data), want);
  assert.deepEqual(await digestStream(Readable.from([data.subarray(0, 3), data.subarray(3)])), { digest: want, size: 11 });
  const ds = new DigestingStream();
  await pipeline(Readable.from([data]), ds, new Writable({ write(_c, _e, cb) { cb(); } }));
  assert.equal(ds.digest(), want);
  assert.equal(ds.size, 11);
});

test('digest: chain IDs', () => {
  const a = 'sha256:' + '1'.repeat(64);
  const b = 'sha256:' + '2'.repeat(64);
  assert.equal(chainID([a]), a);
  assert.equal(chainID([a, b]), digestOf(`${a} ${b}`));
  assert.deepEqual(chainIDs([a, b]), [a, digestOf(`${a} ${b}`)]);
});
