/**
 * Tar split: a layer tar without its file contents, and the tar again from that plus the extracted files.
 *
 * dockerd keeps a loaded layer only unpacked; `docker save` and `docker push` get the exact tar back from the files
 * and a record of everything else in the stream (headers, pax records, padding, the end blocks). This module does
 * the same for berth (issue 11 item 8: a 200 MB `docker load` kept 404 MB):
 *
 * - `TarSplitter` reads the raw bytes of a layer tar and writes *records*: `R` + u32 length + raw bytes, or `F` +
 *   u16 name length + the entry's normalised name + u64 size (a regular file's content, left out). It also tells
 *   whether the tar can be rebuilt from the extracted directory alone (`clean`): every entry's path is unique and no
 *   entry lies below a symlink of the same layer (then the file at each name holds that entry's content). Sparse
 *   files and anything it does not understand make it unclean; the caller then keeps the tar.
 * - `joinTar(records, root)` yields the tar again, reading each `F` from `<root>/<name>` (never following a symlink:
 *   O_NOFOLLOW, and each directory on the way is checked to be a real directory inside root). The caller checks the
 *   result's digest (the diffID) — a changed file fails the stream rather than giving a different tar.
 */
import fs, { constants as fsc, promises as fsp } from 'node:fs';

const BLOCK = 512;

/** An entry name as apply-layer stores it: components without '', '.', and '..' resolved (undefined: escapes). */
function normalize(name: string): string | undefined {
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (!parts.length) return undefined;
      parts.pop();
    } else parts.push(c);
  }
  return parts.join('/');
}

function cstr(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

function octal(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) {
    // base-256 (GNU): big-endian, the top bit of the first byte is the marker
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  const s = cstr(b, off, len).trim();
  return s ? parseInt(s, 8) : 0;
}

/** `key=value` records of a pax extended header body. */
function paxRecords(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(body.toString('latin1', i, sp), 10);
    if (!(len > 0) || i + len > body.length) break;
    const rec = body.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

export type SplitWrite = (b: Buffer) => Promise<void> | void;

/** Reads a tar's raw bytes (`push`, then `end`) and writes its split records through `write`. */
export class TarSplitter {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes still to pass through of the current entry's data: raw (metadata bodies, padding) or left out (file). */
  private rawLeft = 0;
  private skipLeft = 0;
  private padAfterSkip = 0;
  /** Body of a pax/GNU long-name header being collected. */
  private meta: { type: string; need: number; parts: Buffer[]; got: number } | undefined;
  private pax = new Map<string, string>();
  private longName: string | undefined;
  private ended = false;
  private readonly seen = new Set<string>();
  private readonly symlinks = new Set<string>();
  private unclean: string | undefined;
  private pending: Buffer[] = [];
  private pendingLen = 0;

  constructor(private readonly write: SplitWrite) {}

  /** Undefined when the tar can be rebuilt from the extracted files; otherwise why not. */
  get whyNotClean(): string | undefined {
    return this.unclean;
  }

  private taint(why: string): void {
    this.unclean ??= why;
  }

  private raw(b: Buffer): void {
    if (!b.length) return;
    this.pending.push(b);
    this.pendingLen += b.length;
  }

  private async flush(): Promise<void> {
    if (!this.pendingLen) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingLen = 0;
    for (let off = 0; off < data.length; off += 0xffff_0000) {
      const part = data.subarray(off, off + 0xffff_0000);
      const h = Buffer.alloc(5);
      h[0] = 0x52; // 'R'
      h.writeUInt32BE(part.length, 1);
      await this.write(h);
      await this.write(part);
    }
  }

  private async file(name: string, size: number): Promise<void> {
    await this.flush();
    const n = Buffer.from(name, 'utf8');
    const h = Buffer.alloc(1 + 2 + n.length + 8);
    h[0] = 0x46; // 'F'
    h.writeUInt16BE(n.length, 1);
    n.copy(h, 3);
    h.writeBigUInt64BE(BigInt(size), 3 + n.length);
    await this.write(h);
  }

  async push(chunk: Buffer): Promise<void> {
    let c = chunk;
    while (c.length) {
      if (this.ended) {
        this.raw(c);
        break;
      }
      if (this.skipLeft) {
        const n = Math.min(this.skipLeft, c.length);
        this.skipLeft -= n;
        c = c.subarray(n);
        if (!this.skipLeft) this.rawLeft = this.padAfterSkip;
        continue;
      }
      if (this.rawLeft) {
        const n = Math.min(this.rawLeft, c.length);
        const part = c.subarray(0, n);
        this.raw(Buffer.from(part));
        if (this.meta && this.meta.got < this.meta.need) {
          const take = part.subarray(0, Math.min(part.length, this.meta.need - this.meta.got));
          this.meta.parts.push(Buffer.from(take));
          this.meta.got += take.length;
        }
        this.rawLeft -= n;
        c = c.subarray(n);
        if (!this.rawLeft && this.meta) this.endMeta();
        continue;
      }
      // a header block
      const need = BLOCK - this.buf.length;
      const take = c.subarray(0, need);
      this.buf = this.buf.length ? Buffer.concat([this.buf, take]) : Buffer.from(take);
      c = c.subarray(take.length);
      if (this.buf.length < BLOCK) break;
      const h = this.buf;
      this.buf = Buffer.alloc(0);
      await this.header(h);
    }
    if (this.pendingLen >= 1 << 16) await this.flush();
  }

  private endMeta(): void {
    const m = this.meta!;
    this.meta = undefined;
    const body = Buffer.concat(m.parts);
    if (m.type === 'x') {
      for (const [k, v] of paxRecords(body)) this.pax.set(k, v);
    } else if (m.type === 'L') this.longName = cstr(body, 0, body.length);
    // 'g' (global) and 'K' (long link name) only pass through
  }

  private async header(h: Buffer): Promise<void> {
    this.raw(h);
    if (h.every((x) => x === 0)) {
      this.ended = true; // the end blocks and anything after them pass through as they are
      return;
    }
    const type = String.fromCharCode(h[156]!) === '\0' ? '0' : String.fromCharCode(h[156]!);
    let size = octal(h, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      this.meta = { type, need: size, parts: [], got: 0 };
      this.rawLeft = padded;
      if (!padded) this.endMeta();
      return;
    }
    if (type === 'S' || [...this.pax.keys()].some((k) => k.startsWith('GNU.sparse'))) this.taint('sparse file');
    let name = cstr(h, 0, 100);
    if (h.toString('latin1', 257, 262) === 'ustar') {
      const prefix = cstr(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (this.longName !== undefined) name = this.longName;
    if (this.pax.has('path')) name = this.pax.get('path')!;
    if (this.pax.has('size')) size = Number(this.pax.get('size'));
    this.pax.clear();
    this.longName = undefined;
    const bodyPadded = Math.ceil(size / BLOCK) * BLOCK;
    const key = normalize(name);
    if (key === undefined) this.taint(`entry ${name} escapes the root`);
    else if (key !== '') {
      if (this.seen.has(key)) this.taint(`${key} appears twice`);
      this.seen.add(key);
      for (let i = key.indexOf('/'); i >= 0; i = key.indexOf('/', i + 1)) {
        if (this.symlinks.has(key.slice(0, i))) this.taint(`${key} lies below a symlink`);
      }
      if (type === '2') this.symlinks.add(key);
    }
    const base = key?.slice(key.lastIndexOf('/') + 1) ?? '';
    if ((type === '0' || type === '7') && key && !base.startsWith('.wh.')) {
      await this.file(key, size);
      this.skipLeft = size;
      this.padAfterSkip = bodyPadded - size;
      if (!size) this.rawLeft = this.padAfterSkip;
    } else {
      if (size && type !== '0' && type !== '7') this.taint(`entry ${name} of type ${type} has data`);
      this.rawLeft = bodyPadded; // data of anything else (or a whiteout's) passes through raw
    }
  }

  /** Flushes what is left; a stream that ended inside an entry or without end blocks is not clean. */
  async end(): Promise<void> {
    if (this.buf.length) this.raw(this.buf);
    if (this.skipLeft || this.rawLeft || this.buf.length) this.taint('truncated tar');
    if (!this.ended) this.taint('no end-of-archive blocks');
    await this.flush();
  }
}

/** Reads split records from a stream of bytes (as written by TarSplitter). */
async function* records(input: AsyncIterable<Buffer>): AsyncGenerator<{ raw: Buffer } | { name: string; size: number }> {
  let buf: Buffer = Buffer.alloc(0);
  const it = input[Symbol.asyncIterator]();
  const need = async (n: number): Promise<boolean> => {
    while (buf.length < n) {
      const r = await it.next();
      if (r.done) return false;
      buf = buf.length ? Buffer.concat([buf, r.value as Buffer]) : (r.value as Buffer);
    }
    return true;
  };
  for (;;) {
    if (!(await need(1))) return;
    if (buf[0] === 0x52) {
      if (!(await need(5))) throw new Error('tar split: truncated record');
      const len = buf.readUInt32BE(1);
      buf = buf.subarray(5);
      let left = len;
      while (left) {
        if (!buf.length && !(await need(1))) throw new Error('tar split: truncated record');
        const part = buf.subarray(0, Math.min(left, buf.length));
        buf = buf.subarray(part.length);
        left -= part.length;
        yield { raw: part };
      }
    } else if (buf[0] === 0x46) {
      if (!(await need(3))) throw new Error('tar split: truncated record');
      const n = buf.readUInt16BE(1);
      if (!(await need(3 + n + 8))) throw new Error('tar split: truncated record');
      const name = buf.toString('utf8', 3, 3 + n);
      const size = Number(buf.readBigUInt64BE(3 + n));
      buf = buf.subarray(3 + n + 8);
      yield { name, size };
    } else throw new Error(`tar split: bad record type ${buf[0]}`);
  }
}

/**
 * The tar again: raw records as they are, each file's content read from `<root>/<name>` (exactly `size` bytes, or the
 * stream fails). Never leaves root: directories on the way must be real directories, the file is opened O_NOFOLLOW.
 */
export async function* joinTar(split: AsyncIterable<Buffer>, root: string): AsyncGenerator<Buffer> {
  const okDirs = new Set<string>(['']);
  const checkDir = async (dir: string): Promise<void> => {
    if (okDirs.has(dir)) return;
    const i = dir.lastIndexOf('/');
    await checkDir(i < 0 ? '' : dir.slice(0, i));
    const st = await fsp.lstat(`${root}/${dir}`);
    if (!st.isDirectory()) throw new Error(`tar split: ${dir} is no longer a directory`);
    okDirs.add(dir);
  };
  const chunk = Buffer.allocUnsafe(1 << 20);
  for await (const r of records(split)) {
    if ('raw' in r) {
      yield r.raw;
      continue;
    }
    const slash = r.name.lastIndexOf('/');
    await checkDir(slash < 0 ? '' : r.name.slice(0, slash));
    const fd = await new Promise<number>((res, rej) => fs.open(`${root}/${r.name}`, fsc.O_RDONLY | fsc.O_NOFOLLOW, (e, f) => (e ? rej(e) : res(f))));
    try {
      let left = r.size;
      while (left) {
        const n = await new Promise<number>((res, rej) => fs.read(fd, chunk, 0, Math.min(left, chunk.length), null, (e, k) => (e ? rej(e) : res(k))));
        if (!n) throw new Error(`tar split: ${r.name} is shorter than its tar entry`);
        left -= n;
        yield Buffer.from(chunk.subarray(0, n));
      }
    } finally {
      fs.close(fd, () => {});
    }
  }
}
