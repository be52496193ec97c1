/**
 * Streaming tar writer.
 *
 * `new TarWriter()` exposes `readable`, the archive bytes. `add(header, body)` appends one entry and resolves once its
 * bytes are handed to `readable` (waiting while the consumer applies backpressure); `finish()` writes the
 * end-of-archive marker. Calls must be sequential (await each one).
 *
 * Like Go's archive/tar, the writer emits plain ustar and adds a PAX extended header only when a field needs it:
 * names or link names that do not fit ustar (or are not ASCII), uid/gid/size/device numbers beyond octal range,
 * user/group names too long or not ASCII, and xattrs (as `SCHILY.xattr.<name>`, values written as raw bytes).
 * Out-of-range numbers are also written base-256 in the ustar field for readers that skip PAX.
 * Modification times are truncated to whole seconds, as Docker does for layers.
 */
import { Readable } from 'node:stream';
import {
  BLOCK_SIZE,
  type TarHeader,
  TYPE_FLAGS,
  computeChecksum,
  encodeNumeric,
  encodeOctal,
  isASCII,
  makeHeader,
  octalMax,
  paxRecord,
} from './header.js';

export type TarBody = Buffer | Uint8Array | string | AsyncIterable<Buffer | Uint8Array | string>;

const ZERO = Buffer.alloc(BLOCK_SIZE * 2);
/** Pieces smaller than this are gathered into chunks of about this size (see TarWriter.pending). */
const COALESCE = 64 * 1024;

/** Splits a long name into ustar prefix (≤155 bytes) and name (≤100 bytes) at a '/', if possible. */
function splitUstarPath(name: string): [string, string] | undefined {
  const len = Buffer.byteLength(name);
  if (len <= 100) return ['', name];
  if (len > 256 || !isASCII(name)) return undefined;
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (rest.length === 0 || rest.length > 100) return undefined;
    if (prefix.length <= 155) return [prefix, rest];
  }
  return undefined;
}

function fitsString(s: string, len: number): boolean {
  return isASCII(s) && s.length <= len;
}

export class TarWriter {
  /** The archive bytes. */
  readonly readable: Readable;
  private wake: (() => void) | undefined;
  private finished = false;

  constructor(opts: { highWaterMark?: number } = {}) {
    this.readable = new Readable({
      highWaterMark: opts.highWaterMark ?? 256 * 1024,
      read: () => {
        const w = this.wake;
        this.wake = undefined;
        w?.();
      },
      destroy: (err, cb) => {
        const w = this.wake;
        this.wake = undefined;
        w?.();
        cb(err);
      },
    });
  }

  /**
   * Small pieces (headers, small bodies, padding) waiting to go out as one chunk: an archive of many small files is
   * otherwise three tiny chunks per file, and each chunk costs every stream stage downstream (hash, write) far more
   * than its bytes. Flushed at COALESCE bytes, before a streamed body is waited for, and at the end.
   */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  private async push(b: Buffer): Promise<void> {
    if (b.length < COALESCE) {
      this.pending.push(b);
      this.pendingBytes += b.length;
      if (this.pendingBytes >= COALESCE) await this.flush();
      return;
    }
    await this.flush();
    await this.emit(b);
  }

  private async flush(): Promise<void> {
    if (!this.pending.length) return;
    const b = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.emit(b);
  }

  private async emit(b: Buffer): Promise<void> {
    if (this.readable.destroyed) throw new Error('tar writer: output stream was destroyed');
    if (!this.readable.push(b)) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Encodes the header blocks (PAX header first when needed) for `h`. */
  static encodeHeader(input: Partial<TarHeader> & { name: string }): Buffer {
    const h = makeHeader(input);
    let name = h.name;
    if (h.type === 'dir' && !name.endsWith('/')) name += '/';
    const pax: Buffer[] = [];
    // from Node's shared pool (one ArrayBuffer per header is most of the cost of a small file's entry), zeroed
    const block = Buffer.allocUnsafe(BLOCK_SIZE).fill(0);

    const split = isASCII(name) ? splitUstarPath(name) : undefined;
    if (split) {
      block.write(split[1], 0, 100, 'utf8');
      block.write(split[0], 345, 155, 'utf8');
    } else {
      pax.push(paxRecord('path', name));
      block.write(asciiTruncate(name, 100), 0, 100, 'latin1');
    }
    if (h.linkname) {
      if (fitsString(h.linkname, 100)) block.write(h.linkname, 157, 100, 'latin1');
      else {
        pax.push(paxRecord('linkpath', h.linkname));
        block.write(asciiTruncate(h.linkname, 100), 157, 100, 'latin1');
      }
    }
    encodeOctal(block, 100, 8, h.mode & 0o7777);
    numberField(block, pax, 'uid', 108, 8, h.uid);
    numberField(block, pax, 'gid', 116, 8, h.gid);
    numberField(block, pax, 'size', 124, 12, h.size);
    encodeNumeric(block, 136, 12, Math.max(0, Math.floor(h.mtime.getTime() / 1000)));
    block.write(TYPE_FLAGS[h.type], 156, 1, 'latin1');
    block.write('ustar\u000000', 257, 8, 'latin1');
    ownerNameField(block, pax, 'uname', 265, h.uname);
    ownerNameField(block, pax, 'gname', 297, h.gname);
    if (h.type === 'char' || h.type === 'block') {
      encodeNumeric(block, 329, 8, h.devmajor);
      encodeNumeric(block, 337, 8, h.devminor);
    }
    if (h.xattrs.size) {
      for (const [k, v] of [...h.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
    }
    finishBlock(block);
    if (pax.length === 0) return block;

    const data = Buffer.concat(pax);
    const xh = Buffer.alloc(BLOCK_SIZE);
    // Go's convention for the PAX pseudo-entry's name: <dir>/PaxHeaders.0/<base>.
    const trimmed = name.replace(/\/+$/, '');
    const slash = trimmed.lastIndexOf('/');
    const paxName = `${slash >= 0 ? trimmed.slice(0, slash) + '/' : ''}PaxHeaders.0/${trimmed.slice(slash + 1)}`;
    xh.write(asciiTruncate(paxName, 100), 0, 100, 'latin1');
    encodeOctal(xh, 100, 8, 0o644);
    encodeOctal(xh, 108, 8, 0);
    encodeOctal(xh, 116, 8, 0);
    encodeNumeric(xh, 124, 12, data.length);
    encodeNumeric(xh, 136, 12, Math.max(0, Math.floor(h.mtime.getTime() / 1000)));
    xh.write('x', 156, 1, 'latin1');
    xh.write('ustar\u000000', 257, 8, 'latin1');
    finishBlock(xh);
    const pad = (BLOCK_SIZE - (data.length % BLOCK_SIZE)) % BLOCK_SIZE;
    return Buffer.concat([xh, data, Buffer.alloc(pad), block]);
  }

  /**
   * Appends an entry. For files, `body` must supply exactly `header.size` bytes (a Buffer body may leave size unset).
   */
  async add(input: Partial<TarHeader> & { name: string }, body?: TarBody): Promise<void> {
    if (this.finished) throw new Error('tar writer: add after finish');
    const type = input.type ?? 'file';
    let h = input;
    let bodyBuf: Buffer | undefined;
    if (body !== undefined && (typeof body === 'string' || body instanceof Uint8Array)) {
      bodyBuf = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      if (input.size === undefined) h = { ...input, size: bodyBuf.length };
    }
    const size = type === 'file' ? (h.size ?? 0) : 0;
    if (type !== 'file' && body !== undefined) throw new Error(`tar writer: ${type} entry ${input.name} cannot have a body`);
    await this.push(TarWriter.encodeHeader(h));
    if (type !== 'file') return;

    let written = 0;
    if (bodyBuf) {
      if (bodyBuf.length !== size) throw new Error(`tar writer: body of ${input.name} is ${bodyBuf.length} bytes, header says ${size}`);
      if (size > 0) await this.push(bodyBuf);
      written = size;
    } else if (body !== undefined) {
      // what is ready goes out before the body's source is waited for
      await this.flush();
      for await (const c of body as AsyncIterable<Buffer | Uint8Array | string>) {
        const chunk = typeof c === 'string' ? Buffer.from(c) : Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
        written += chunk.length;
        if (written > size) throw new Error(`tar writer: body of ${input.name} is longer than its size ${size}`);
        await this.emit(chunk);
      }
    }
    if (written !== size) throw new Error(`tar writer: body of ${input.name} is ${written} bytes, header says ${size}`);
    const pad = (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
    if (pad) await this.push(ZERO.subarray(0, pad));
  }

  /** Writes the end-of-archive marker (two zero blocks) and ends `readable`. */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.push(Buffer.alloc(BLOCK_SIZE * 2));
    await this.flush();
    this.readable.push(null);
  }

  /** Fails the output stream (e.g. when the producer hit an error), so consumers see the error instead of a short tar. */
  destroy(err?: Error): void {
    this.finished = true;
    this.readable.destroy(err);
  }
}

/** A numeric field; beyond its octal range also a PAX record (the field gets base-256). */
function numberField(block: Buffer, pax: Buffer[], key: string, off: number, len: number, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`tar header ${key} must be a non-negative integer`);
  if (v > octalMax(len)) pax.push(paxRecord(key, String(v)));
  encodeNumeric(block, off, len, v);
}

/** uname / gname; a PAX record when it is too long or not ASCII. */
function ownerNameField(block: Buffer, pax: Buffer[], key: string, off: number, v: string): void {
  if (!v) return; // the block is zeroed already
  if (fitsString(v, 32)) block.write(v, off, 32, 'latin1');
  else {
    pax.push(paxRecord(key, v));
    block.write(asciiTruncate(v, 32), off, 32, 'latin1');
  }
}

function finishBlock(b: Buffer): void {
  const sum = computeChecksum(b);
  b.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  b[154] = 0;
  b[155] = 0x20;
}

/** A best-effort ASCII stand-in for the ustar field when the real value lives in a PAX record. */
function asciiTruncate(s: string, len: number): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[^\x00-\x7f]/g, '_').slice(0, len);
}

/** Convenience: builds an archive from a list of entries. */
export function tarFromEntries(entries: Iterable<{ header: Partial<TarHeader> & { name: string }; body?: TarBody }> | AsyncIterable<{ header: Partial<TarHeader> & { name: string }; body?: TarBody }>): Readable {
  const w = new TarWriter();
  (async () => {
    for await (const e of entries as AsyncIterable<{ header: Partial<TarHeader> & { name: string }; body?: TarBody }>) {
      await w.add(e.header, e.body);
    }
    await w.finish();
  })().catch((err: Error) => w.destroy(err));
  return w.readable;
}
