/**
 * Decoding one real entry's header from its ustar block and the extension pseudo-entries before it, shared by the
 * pull reader (reader.ts) and the push reader (push-reader.ts).
 *
 * Terms:
 * - *extension*: a pseudo-entry that modifies the next real entry: a PAX extended header ('x') or a GNU long name /
 *   long link ('L' / 'K'). Its body is read whole and folded into `Extensions` until the next real entry.
 * - *ignored entry*: a PAX global header ('g') or a volume label ('V'), skipped with its body.
 */
import { BLOCK_SIZE, type EntryType, type TarHeader, TarFormatError, checksumOK, decodeNumeric, decodeString, parsePax } from './header.js';

/** Extensions seen since the last real entry. */
export interface Extensions {
  pax?: Map<string, Buffer>;
  longName?: string;
  longLink?: string;
}

/** Padding after a body of `size` bytes up to the next block. */
export const padOf = (size: number): number => (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;

export const isExtension = (flag: string): boolean => flag === 'x' || flag === 'L' || flag === 'K';
export const isIgnoredEntry = (flag: string): boolean => flag === 'g' || flag === 'V';
export const hasExtensions = (ext: Extensions): boolean => !!(ext.pax || ext.longName !== undefined || ext.longLink !== undefined);

/** A (non-zero) header block's type flag and size field; a bad checksum or a negative size is a TarFormatError. */
export function blockKind(block: Buffer): { flag: string; size: number } {
  if (!checksumOK(block)) throw new TarFormatError('invalid tar header checksum');
  const size = decodeNumeric(block, 124, 12);
  if (size < 0) throw new TarFormatError('negative tar entry size');
  return { flag: String.fromCharCode(block[156]!), size };
}

/** Refuses an extension body larger than `max` bytes before it is read. */
export function checkMetaSize(size: number, max: number): void {
  if (size > max) throw new TarFormatError(`tar extended header of ${size} bytes exceeds the limit`);
}

/** Folds one extension pseudo-entry's body (`flag` 'x', 'L' or 'K') into `ext`. */
export function applyExtension(ext: Extensions, flag: string, data: Buffer): void {
  if (flag === 'x') {
    const recs = parsePax(data);
    ext.pax = ext.pax ? new Map([...ext.pax, ...recs]) : recs;
    return;
  }
  const end = data.indexOf(0);
  const s = data.toString('utf8', 0, end < 0 ? data.length : end);
  if (flag === 'L') ext.longName = s;
  else ext.longLink = s;
}

/**
 * The header of the real entry in `block` (type flag `flag`, size field `size`), with `ext` applied; `ext` is cleared.
 * Every type but regular files gets size 0 (as Go's archive/tar: a size field there is informational).
 */
export function decodeEntryHeader(block: Buffer, flag: string, size: number, ext: Extensions): TarHeader {
  const isUstar = block.toString('latin1', 257, 263) === 'ustar\0';
  let name = decodeString(block, 0, 100);
  if (isUstar) {
    const prefix = decodeString(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  if (ext.longName !== undefined) name = ext.longName;
  const header: TarHeader = {
    name,
    type: 'file',
    mode: decodeNumeric(block, 100, 8) & 0o7777,
    uid: decodeNumeric(block, 108, 8),
    gid: decodeNumeric(block, 116, 8),
    uname: decodeString(block, 265, 32),
    gname: decodeString(block, 297, 32),
    size,
    mtime: new Date(decodeNumeric(block, 136, 12) * 1000),
    linkname: ext.longLink ?? decodeString(block, 157, 100),
    devmajor: decodeNumeric(block, 329, 8),
    devminor: decodeNumeric(block, 337, 8),
    xattrs: new Map(),
  };
  if (ext.pax) {
    for (const [k, v] of ext.pax) {
      if (k === 'path') header.name = v.toString('utf8');
      else if (k === 'linkpath') header.linkname = v.toString('utf8');
      else if (k === 'size') header.size = paxNumber(k, v);
      else if (k === 'uid') header.uid = paxNumber(k, v);
      else if (k === 'gid') header.gid = paxNumber(k, v);
      else if (k === 'uname') header.uname = v.toString('utf8');
      else if (k === 'gname') header.gname = v.toString('utf8');
      else if (k === 'mtime') header.mtime = paxTime(v.toString('latin1'));
      else if (k.startsWith('SCHILY.xattr.')) header.xattrs.set(k.slice(13), v);
      else if (k.startsWith('LIBARCHIVE.xattr.')) {
        // libarchive: URL-encoded name, base64 value.
        header.xattrs.set(decodeURIComponent(k.slice(17)), Buffer.from(v.toString('latin1'), 'base64'));
      }
    }
  }
  ext.pax = undefined;
  ext.longName = undefined;
  ext.longLink = undefined;
  const type = typeOf(flag, header.name);
  if (!type) {
    if (flag === 'S') throw new TarFormatError(`GNU sparse tar entries are not supported: ${header.name}`);
    throw new TarFormatError(`unsupported tar entry type ${JSON.stringify(flag)}: ${header.name}`);
  }
  header.type = type;
  if (type !== 'file') header.size = 0;
  return header;
}

function typeOf(flag: string, name: string): EntryType | undefined {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return name.endsWith('/') ? 'dir' : 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'dir';
    case '6':
      return 'fifo';
    default:
      return undefined;
  }
}

function paxTime(s: string): Date {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw new TarFormatError(`invalid PAX mtime ${JSON.stringify(s)}`);
  const ms = Number(m[2]) * 1000 + Number((m[3] ?? '').padEnd(3, '0').slice(0, 3));
  return new Date(m[1] ? -ms : ms);
}

function paxNumber(key: string, v: Buffer): number {
  const s = v.toString('latin1');
  if (!/^\d+$/.test(s)) throw new TarFormatError(`invalid PAX ${key} ${JSON.stringify(s)}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new TarFormatError(`PAX ${key} out of range`);
  return n;
}
