/**
 * Push-style tar reader: the caller hands it the archive's chunks (`push`) and it calls the sink synchronously for
 * every entry and body piece in them. No promise, stream or iterator per entry, so an archive of many small files
 * costs a few calls per entry rather than several event-loop turns (readTar's per-entry body stream).
 *
 * Sink calls, per real entry: `entry(header)`, then `data(piece)` for its body bytes (subarrays of the pushed chunks,
 * valid as long as the caller keeps those; none for an empty body), then `entryEnd()`. Extensions and ignored entries
 * (entry-header.ts) never reach the sink.
 *
 * The same formats and refusals as readTar (ustar, PAX, GNU long names, base-256; a bad checksum, a truncated header
 * or body is a TarFormatError), and the same leniency: input may end without the end-of-archive marker or without the
 * last body's padding. Anything after the end-of-archive marker is ignored.
 */
import { BLOCK_SIZE, type TarHeader, TarFormatError, isZeroBlock } from './header.js';
import { applyExtension, blockKind, checkMetaSize, decodeEntryHeader, type Extensions, hasExtensions, isExtension, isIgnoredEntry, padOf } from './entry-header.js';

export interface TarSink {
  entry(header: TarHeader): void;
  data(piece: Buffer): void;
  entryEnd(): void;
}

type State = 'header' | 'body' | 'meta' | 'skip' | 'pad' | 'done';

export class TarPushReader {
  private state: State = 'header';
  /** A header block split across chunks. */
  private readonly block = Buffer.alloc(BLOCK_SIZE);
  private blockFill = 0;
  /** Bytes left of the current body, extension body or skipped region (padding included for the last two). */
  private remaining = 0;
  /** Padding after the current body. */
  private pad = 0;
  private metaFlag = '';
  private meta: Buffer[] = [];
  private metaSize = 0;
  private readonly ext: Extensions = {};

  constructor(
    private readonly sink: TarSink,
    private readonly opts: { /** Largest PAX / GNU long-name body accepted, in bytes (default 16 MiB). */ maxMetaSize?: number } = {},
  ) {}

  /** True once the end-of-archive marker was read. */
  get finished(): boolean {
    return this.state === 'done';
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      switch (this.state) {
        case 'done':
          return;
        case 'header': {
          let b: Buffer;
          if (this.blockFill === 0 && len - pos >= BLOCK_SIZE) {
            b = chunk.subarray(pos, pos + BLOCK_SIZE);
            pos += BLOCK_SIZE;
          } else {
            const take = Math.min(BLOCK_SIZE - this.blockFill, len - pos);
            chunk.copy(this.block, this.blockFill, pos, pos + take);
            this.blockFill += take;
            pos += take;
            if (this.blockFill < BLOCK_SIZE) return;
            this.blockFill = 0;
            b = this.block;
          }
          this.header(b);
          break;
        }
        case 'body': {
          const take = Math.min(this.remaining, len - pos);
          this.sink.data(chunk.subarray(pos, pos + take));
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.endBody();
          break;
        }
        case 'meta': {
          const take = Math.min(this.metaSize - this.metaFill(), len - pos);
          this.meta.push(chunk.subarray(pos, pos + take));
          pos += take;
          if (this.metaFill() === this.metaSize) {
            const data = Buffer.concat(this.meta, this.metaSize);
            this.meta = [];
            applyExtension(this.ext, this.metaFlag, data);
            this.skipThen(padOf(this.metaSize));
          }
          break;
        }
        case 'skip':
        case 'pad': {
          const take = Math.min(this.remaining, len - pos);
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = 'header';
          break;
        }
      }
    }
  }

  /** The input ended: throws when it ended inside a header, an extension or a body. */
  end(): void {
    const truncated =
      (this.state === 'header' && (this.blockFill > 0 || hasExtensions(this.ext))) ||
      this.state === 'body' ||
      this.state === 'meta' ||
      this.state === 'skip' ||
      // the last body's padding may be missing (Go's tar writers used by `docker build -f -` stop after the data)
      (this.state === 'pad' && hasExtensions(this.ext));
    if (truncated) throw new TarFormatError('unexpected end of tar archive');
  }

  private metaFill(): number {
    let n = 0;
    for (const m of this.meta) n += m.length;
    return n;
  }

  private skipThen(n: number): void {
    this.remaining = n;
    this.state = n > 0 ? 'skip' : 'header';
  }

  private header(block: Buffer): void {
    if (isZeroBlock(block)) {
      this.state = 'done';
      return;
    }
    const { flag, size } = blockKind(block);
    if (isExtension(flag)) {
      checkMetaSize(size, this.opts.maxMetaSize ?? 16 << 20);
      this.metaFlag = flag;
      this.metaSize = size;
      if (size === 0) {
        applyExtension(this.ext, flag, Buffer.alloc(0));
        this.state = 'header';
      } else this.state = 'meta';
      return;
    }
    if (isIgnoredEntry(flag)) {
      this.skipThen(size + padOf(size));
      return;
    }
    const h = decodeEntryHeader(block, flag, size, this.ext);
    this.sink.entry(h);
    this.remaining = h.size;
    this.pad = padOf(h.size);
    if (h.size === 0) this.endBody();
    else this.state = 'body';
  }

  private endBody(): void {
    this.sink.entryEnd();
    this.remaining = this.pad;
    this.state = this.pad > 0 ? 'pad' : 'header';
  }
}
