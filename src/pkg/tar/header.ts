/**
 * Tar header model and the block-level codec shared by the reader and the writer.
 *
 * Terms:
 * - *block*: the 512-byte unit of a tar archive; headers take one block, bodies are padded to whole blocks.
 * - *ustar header*: the POSIX.1-1988 header block (name, mode, ids, size, mtime, type, link name, user/group names,
 *   device numbers, name prefix).
 * - *PAX extended header*: a pseudo-entry (type 'x') whose body holds `"<len> <key>=<value>\n"` records that override
 *   fields of the next entry; `<len>` counts bytes of the whole record, so values may hold any bytes (binary xattrs).
 * - *base-256 numeric field*: the GNU extension for numbers that do not fit in octal: the first byte has its high bit
 *   set and the remaining bytes are a big-endian two's complement integer.
 */

export const BLOCK_SIZE = 512;

/** The kinds of entries berth understands; tar type flags map onto these. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One archive entry's metadata, with PAX and GNU extensions already folded in. */
export interface TarHeader {
  /** Path inside the archive, exactly as stored (directories usually end in '/'). */
  name: string;
  type: EntryType;
  /** Permission bits plus setuid (0o4000), setgid (0o2000) and sticky (0o1000); no file-type bits. */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Body length in bytes; 0 for everything but regular files. */
  size: number;
  mtime: Date;
  /** Symlink target or, for hardlinks, the archive path of the entry linked to. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes by full name (e.g. `security.capability`); values are raw bytes. */
  xattrs: Map<string, Buffer>;
}

/** The xattrs of a header that has none (shared: never add to it). */
const NO_XATTRS: Map<string, Buffer> = new Map();

/** Fills the optional fields of a header with their neutral values (a header without xattrs shares one empty map). */
export function makeHeader(h: Partial<TarHeader> & { name: string }): TarHeader {
  return {
    name: h.name,
    type: h.type ?? 'file',
    mode: h.mode ?? (h.type === 'dir' ? 0o755 : h.type === 'symlink' ? 0o777 : 0o644),
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    uname: h.uname ?? '',
    gname: h.gname ?? '',
    size: h.type === undefined || h.type === 'file' ? (h.size ?? 0) : 0,
    mtime: h.mtime ?? new Date(0),
    linkname: h.linkname ?? '',
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
    xattrs: h.xattrs ?? NO_XATTRS,
  };
}

export const TYPE_FLAGS: Record<EntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

export class TarFormatError extends Error {
  readonly code = 'ETARFORMAT';
}

// ---- field decoding -------------------------------------------------------------------------------------------

/** Reads a NUL-terminated string field. */
export function decodeString(b: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && b[end] !== 0) end++;
  return b.toString('utf8', off, end);
}

/** Reads an octal or base-256 numeric field. */
export function decodeNumeric(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) {
    // base-256: big-endian, two's complement with the marker bit stripped from the first byte.
    const negative = (b[off]! & 0x40) !== 0;
    let v = 0n;
    for (let i = 0; i < len; i++) {
      let byte = b[off + i]!;
      if (i === 0) byte &= 0x7f;
      if (negative) byte ^= i === 0 ? 0x7f : 0xff;
      v = (v << 8n) | BigInt(byte);
    }
    const n = negative ? -Number(v + 1n) : Number(v);
    if (!Number.isSafeInteger(n)) throw new TarFormatError('tar numeric field out of range');
    return n;
  }
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++; // leading spaces/NULs seen in old archives
  let v = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw new TarFormatError(`invalid octal digit in tar header field at offset ${off}`);
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** True when the block's checksum field matches (unsigned or, as some old tars wrote, signed byte sum). */
export function checksumOK(b: Buffer): boolean {
  const stored = decodeNumeric(b, 148, 8);
  if (stored === computeChecksum(b)) return true;
  let signed = 8 * 0x20;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    if (i >= 148 && i < 156) continue;
    const c = b[i]!;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === signed;
}

export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK_SIZE; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses PAX records into a map; values stay as raw bytes so binary xattrs survive. */
export function parsePax(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // some writers pad the body with NULs
    let sp = pos;
    while (sp < body.length && body[sp] !== 0x20) sp++;
    const len = Number(body.toString('latin1', pos, sp));
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length || body[pos + len - 1] !== 0x0a) {
      throw new TarFormatError('invalid PAX extended header record');
    }
    const rec = body.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError('invalid PAX extended header record');
    // Copy so the value does not pin the (possibly large) body buffer.
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

/** Encodes one PAX record; the length prefix counts its own digits. */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const k = Buffer.from(key, 'utf8');
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const base = k.length + v.length + 3; // ' ', '=', '\n'
  let len = base + String(base).length;
  if (String(len).length !== String(base).length) len = base + String(len).length;
  return Buffer.concat([Buffer.from(`${len} `, 'latin1'), k, Buffer.from('=', 'latin1'), v, Buffer.from('\n', 'latin1')]);
}

// ---- field encoding -------------------------------------------------------------------------------------------

/** Largest value an octal field of `len` bytes holds (len-1 digits plus the terminator). */
export function octalMax(len: number): number {
  return 8 ** (len - 1) - 1;
}

export function encodeOctal(b: Buffer, off: number, len: number, v: number): void {
  const s = v.toString(8).padStart(len - 1, '0');
  b.write(s, off, len - 1, 'latin1');
  b[off + len - 1] = 0;
}

export function encodeBase256(b: Buffer, off: number, len: number, v: number): void {
  let x = BigInt(v);
  for (let i = len - 1; i >= 0; i--) {
    b[off + i] = Number(x & 0xffn);
    x >>= 8n;
  }
  b[off] = b[off]! | 0x80;
}

/** Writes a numeric field as octal when it fits, else as base-256. */
export function encodeNumeric(b: Buffer, off: number, len: number, v: number): void {
  if (v >= 0 && v <= octalMax(len)) encodeOctal(b, off, len, v);
  else encodeBase256(b, off, len, v);
}

export function computeChecksum(b: Buffer): number {
  // the checksum field itself counts as eight spaces
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += b[i]!;
  for (let i = 156; i < BLOCK_SIZE; i++) sum += b[i]!;
  return sum;
}

export function isASCII(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
