import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { decompress, detectCompression } from './compression.js';

const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(700_000, 'a')]);
const chunked = (b: Buffer) => Readable.from(Array.from({ length: Math.ceil(b.length / 4096) }, (_, i) => b.subarray(i * 4096, (i + 1) * 4096)));

test('plain passes through', async () => {
  assert.deepEqual(await buffer(decompress(chunked(data))), data);
  assert.deepEqual(await buffer(decompress(Readable.from([Buffer.from('ab')]))), Buffer.from('ab'));
  assert.deepEqual(await buffer(decompress(Readable.from([]))), Buffer.alloc(0));
});

test('gzip (multi-member) is decoded', async () => {
  const gz = Buffer.concat([gzipSync(data.subarray(0, 1000)), gzipSync(data.subarray(1000))]);
  assert.equal(detectCompression(gz), 'gzip');
  assert.deepEqual(await buffer(decompress(chunked(gz))), data);
});

test('zstd from the zstd CLI is decoded', async () => {
  const zst = execFileSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 26 });
  assert.equal(detectCompression(zst), 'zstd');
  assert.deepEqual(await buffer(decompress(chunked(zst))), data);
});

test('corrupt gzip surfaces an error', async () => {
  const gz = gzipSync(data);
  gz[100] ^= 0xff;
  gz[200] ^= 0xff;
  await assert.rejects(buffer(decompress(chunked(gz))));
});
