/** Back-pressure for a writable: resolves once it wants more data (its 'drain'), or at once when it is gone. */
import type { Writable } from 'node:stream';

export function drained(s: Writable): Promise<void> {
  if (!s.writableNeedDrain || s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}
