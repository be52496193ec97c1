/**
 * Layer (de)compression detection.
 *
 * `decompress(input)` sniffs the first bytes of a stream and returns the uncompressed bytes: plain tar passes
 * through, gzip goes through node:zlib, zstd through fzstd (pure JS; Node 20's zlib has no zstd).
 */
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createRequire } from 'node:module';
import type { Decompress as ZstdDecompress } from 'fzstd';

// fzstd is loaded on first use: most layers are gzip, and the daemon's idle memory matters.
const requireLazy = createRequire(import.meta.url);
let zstdCtor: typeof ZstdDecompress | undefined;
function zstdDecompressCtor(): typeof ZstdDecompress {
  zstdCtor ??= (requireLazy('fzstd') as typeof import('fzstd')).Decompress;
  return zstdCtor;
}

/** The compression a stream's magic bytes announce. */
export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return 'none';
}

/** A Transform that decodes a zstd stream (all frames) with fzstd. */
export function createZstdDecompress(): Transform {
  let decoder: ZstdDecompress;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        decoder.push(chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        decoder.push(new Uint8Array(0), true);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  decoder = new (zstdDecompressCtor())((data) => {
    t.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  return t;
}

/** Returns the uncompressed bytes of `input`, whatever of plain/gzip/zstd it is. Errors surface on the result. */
export function decompress(input: Readable): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const it = input[Symbol.asyncIterator]();
  (async () => {
    const head: Buffer[] = [];
    let len = 0;
    while (len < 6) {
      const r = await it.next();
      if (r.done) break;
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      head.push(b);
      len += b.length;
    }
    const first = Buffer.concat(head);
    const kind = detectCompression(first);
    async function* rest(): AsyncGenerator<Buffer> {
      if (first.length) yield first;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      }
    }
    if (kind === 'bzip2' || kind === 'xz') throw new Error(`unsupported layer compression: ${kind}`);
    const src = Readable.from(rest(), { objectMode: false, highWaterMark: 1 << 16 });
    const done = (err?: Error | null) => {
      if (err) out.destroy(err);
    };
    if (kind === 'gzip') pipeline(src, createGunzip({ chunkSize: 1 << 16 }), out, done);
    else if (kind === 'zstd') pipeline(src, createZstdDecompress(), out, done);
    else pipeline(src, out, done);
  })().catch((err: Error) => {
    input.destroy();
    out.destroy(err);
  });
  // Tearing down the result tears down the source.
  out.on('close', () => {
    if (!out.readableEnded && !input.destroyed) input.destroy();
  });
  return out;
}
