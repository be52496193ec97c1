/** Small stream helpers for the image paths (no temp files: tee a stream to several consumers with back-pressure). */
import { PassThrough, type Readable } from 'node:stream';
import { drained } from '../../pkg/stream/drained.js';

/**
 * Splits one readable into `n` branches that each see every byte. Reading proceeds at the pace of the slowest
 * branch. When a branch is destroyed (its consumer failed) the others are destroyed with the same error.
 */
export function tee(input: Readable | AsyncIterable<Buffer>, n = 2): PassThrough[] {
  const outs = Array.from({ length: n }, () => new PassThrough({ highWaterMark: 1 << 20 }));
  let failed: Error | undefined;
  const fail = (e: Error) => {
    if (failed) return;
    failed = e;
    for (const o of outs) if (!o.destroyed) o.destroy(e);
    (input as Readable).destroy?.(e);
  };
  for (const o of outs) o.on('error', (e) => fail(e));
  for (const o of outs) o.on('close', () => {
    if (!o.writableFinished && !failed) fail(new Error('stream consumer stopped early'));
  });
  void (async () => {
    try {
      for await (const chunk of input) {
        if (failed) return;
        for (const o of outs) o.write(chunk);
        await Promise.all(outs.map(drained));
      }
      for (const o of outs) o.end();
    } catch (e) {
      fail(e as Error);
    }
  })();
  return outs;
}

/** Reads a stream fully into a buffer, refusing more than `limit` bytes. */
export async function readAllLimited(input: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of input) {
    n += c.length;
    if (n > limit) throw new Error(`content larger than ${limit} bytes`);
    parts.push(c);
  }
  return Buffer.concat(parts);
}
