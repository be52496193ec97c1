/**
 * Streaming tar reader.
 *
 * `readTar(input)` is an async generator of entries. Each entry carries its header and a `body` Readable that streams
 * exactly `header.size` bytes straight from the input (no copies, no whole-archive buffering). The body must be
 * consumed before asking for the next entry, or it is skipped (read and discarded) when the generator resumes.
 * Backpressure is natural: nothing is read from the input until the consumer reads a body or asks for the next entry.
 *
 * Understood: ustar (with name prefix), PAX extended headers (path, linkpath, size, uid, gid, uname, gname, mtime
 * with fractions, SCHILY.xattr.* and LIBARCHIVE.xattr.*), GNU long names/links ('L'/'K'), base-256 numbers, old-style
 * directories (type '0' with a trailing '/'). PAX global headers and volume labels are ignored.
 */
import { Readable } from 'node:stream';
import { BLOCK_SIZE, type TarHeader, TarFormatError, isZeroBlock } from './header.js';
import { applyExtension, blockKind, checkMetaSize, decodeEntryHeader, type Extensions, hasExtensions, isExtension, isIgnoredEntry, padOf } from './entry-header.js';

/** One archive entry: its header and a stream of its body bytes. */
export interface TarEntry {
  header: TarHeader;
  /** Streams header.size bytes; consume it (or leave it, and it is skipped) before the next entry. */
  body: Readable;
}

export interface ReadTarOptions {
  /** After the end-of-archive marker, read the input to its end (default true) so a hash tap upstream sees it all. */
  drain?: boolean;
  signal?: AbortSignal;
  /** Largest PAX / GNU long-name body accepted, in bytes (default 16 MiB). */
  maxMetaSize?: number;
}

/** Pulls exact byte counts out of a chunked async source without copying when a chunk already holds them. */
class ByteSource {
  private chunk: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer | Uint8Array | string>;

  constructor(input: AsyncIterable<Buffer | Uint8Array | string>) {
    this.it = input[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      const v = r.value;
      this.chunk = Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      this.pos = 0;
    }
    return true;
  }

  /** Up to `n` bytes (at least 1), or null at end of input. */
  async readSome(n: number): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    const take = Math.min(n, this.chunk.length - this.pos);
    const out = this.chunk.subarray(this.pos, this.pos + take);
    this.pos += take;
    return out;
  }

  /** Exactly `n` bytes, or null if the input ends first (a partial read is an error for the caller). */
  async readExact(n: number): Promise<Buffer | null> {
    const first = await this.readSome(n);
    if (!first || first.length === n) return first;
    const parts = [first];
    let got = first.length;
    while (got < n) {
      const more = await this.readSome(n - got);
      if (!more) throw new TarFormatError('unexpected end of tar archive');
      parts.push(more);
      got += more.length;
    }
    return Buffer.concat(parts, n);
  }

  async skip(n: number): Promise<void> {
    if ((await this.skipUpTo(n)) < n) throw new TarFormatError('unexpected end of tar archive');
  }

  /** Skips up to `n` bytes; returns how many were skipped (fewer only at the end of the input). */
  async skipUpTo(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      const b = await this.readSome(n - skipped);
      if (!b) break;
      skipped += b.length;
    }
    return skipped;
  }

  async drain(): Promise<void> {
    while (await this.readSome(Infinity)) {
      /* discard */
    }
  }

  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }
}

interface PendingBody {
  remaining: number;
  pad: number;
  body: Readable;
  inflight: Promise<void> | undefined;
}

/** Iterates the entries of a tar stream. See the module comment for the body contract. */
export async function* readTar(
  input: AsyncIterable<Buffer | Uint8Array | string>,
  opts: ReadTarOptions = {},
): AsyncGenerator<TarEntry, void, undefined> {
  const src = new ByteSource(input);
  const maxMeta = opts.maxMetaSize ?? 16 << 20;
  const ext: Extensions = {};
  let pending: PendingBody | undefined;

  const readMeta = async (size: number): Promise<Buffer> => {
    const data = size === 0 ? Buffer.alloc(0) : await src.readExact(size);
    if (!data) throw new TarFormatError('unexpected end of tar archive');
    await src.skip(padOf(size));
    return data;
  };

  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      if (pending) {
        // Skip what the consumer left unread, then the padding.
        const p = pending;
        pending = undefined;
        // A body read may still be in flight if the consumer abandoned the body mid-way; let it land first.
        await p.inflight;
        if (p.remaining > 0) {
          if (!p.body.destroyed) p.body.destroy();
          await src.skip(p.remaining);
        }
        // The last entry's padding may be missing (Go's tar writers used by `docker build -f -` stop right after the
        // data, and dockerd reads such archives): running out of input here is the end of the archive.
        if ((await src.skipUpTo(p.pad)) < p.pad) return;
      }

      const block = await src.readExact(BLOCK_SIZE);
      if (!block) {
        if (hasExtensions(ext)) throw new TarFormatError('unexpected end of tar archive');
        return; // tolerate archives without the end-of-archive marker
      }
      if (isZeroBlock(block)) {
        if (opts.drain !== false) await src.drain();
        return;
      }
      const { flag, size } = blockKind(block);

      // Extension pseudo-entries modify the next real entry.
      if (isExtension(flag)) {
        checkMetaSize(size, maxMeta);
        applyExtension(ext, flag, await readMeta(size));
        continue;
      }
      if (isIgnoredEntry(flag)) {
        await src.skip(size + padOf(size));
        continue;
      }

      const header = decodeEntryHeader(block, flag, size, ext);
      const state: PendingBody = {
        remaining: header.size,
        pad: padOf(header.size),
        body: undefined as unknown as Readable,
        inflight: undefined,
      };
      state.body = new Readable({
        highWaterMark: 0,
        read() {
          if (state.remaining === 0) {
            this.push(null);
            return;
          }
          state.inflight = src.readSome(state.remaining).then(
            (b) => {
              if (!b) {
                this.destroy(new TarFormatError('unexpected end of tar archive'));
                return;
              }
              state.remaining -= b.length;
              this.push(b);
              if (state.remaining === 0) this.push(null);
            },
            (err: Error) => {
              this.destroy(err);
            },
          );
        },
      });
      pending = state;
      yield { header, body: state.body };
    }
  } finally {
    await src.close();
  }
}
