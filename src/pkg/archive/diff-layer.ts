/**
 * Producing tars from directories: OCI layers from overlay upper dirs (`diffLayer`), `docker diff` change lists
 * (`changes`), and plain directory tars (`tarDirectory`, for export / cp / save).
 *
 * Entry names carry no leading './' or '/': `etc/`, `etc/passwd`. Directories are walked in sorted (byte) order, so
 * the same tree always gives the same bytes. Files with several links inside the tree become one file entry plus
 * hardlink entries, detected by (dev, ino).
 */
import { createReadStream, promises as fsp, type BigIntStats } from 'node:fs';
import type { Readable } from 'node:stream';
import { TarWriter } from '../tar/writer.js';
import type { EntryType, TarHeader } from '../tar/header.js';
import { splitDev } from '../../core/kernel/index.js';
import { hostKernel as kernel } from '../../sys/kernel.js';

export interface DiffLayerOptions {
  signal?: AbortSignal;
}

export interface TarDirectoryOptions {
  /** Name of the top entry instead of its contents at the archive root (e.g. `hosts` for `docker cp c:/etc/hosts -`). */
  rebaseName?: string;
  /** Only these root-relative paths (and what is below them) are archived. */
  include?: string[];
  signal?: AbortSignal;
}

/** One `docker diff` line: Kind 0 = modified (C), 1 = added (A), 2 = deleted (D). Path is absolute ('/etc'). */
export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

const OPAQUE_XATTR = 'trusted.overlay.opaque';
/** Files up to this size are read at once rather than streamed. */
const SMALL_FILE = 64 * 1024;

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function sortedDir(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).sort(byteCompare);
}

function readXattrs(path: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of kernel.llistxattr(path).sort()) {
    if (name.startsWith('trusted.overlay.')) continue; // overlay's bookkeeping, never part of a layer
    const v = kernel.lgetxattr(path, name);
    if (v !== undefined) out.set(name, v);
  }
  return out;
}

function isWhiteout(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

function typeOf(st: BigIntStats): EntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets are not archived (as in Docker)
}

/** Linux dev_t → (major, minor). */
function devParts(rdev: bigint): [number, number] {
  const { major, minor } = splitDev(rdev);
  return [major, minor];
}

/** Shared walker: emits entries for `abs` (archived as `name`) and, for directories, everything below. */
class TreeTar {
  readonly w = new TarWriter();
  private readonly links = new Map<string, string>();
  constructor(
    private readonly layer: boolean,
    private readonly signal?: AbortSignal,
  ) {}

  async entry(abs: string, name: string): Promise<void> {
    this.signal?.throwIfAborted();
    const st = await fsp.lstat(abs, { bigint: true });
    if (this.layer && isWhiteout(st)) {
      const slash = name.lastIndexOf('/');
      await this.w.add({ name: `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`, mtime: new Date(Number(st.mtimeMs)) }, Buffer.alloc(0));
      return;
    }
    const type = typeOf(st);
    if (!type) return;
    const h: Partial<TarHeader> & { name: string } = {
      name: type === 'dir' ? `${name}/` : name,
      type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtime: new Date(Number(st.mtimeMs)),
      xattrs: readXattrs(abs),
    };
    if (type === 'symlink') h.linkname = await fsp.readlink(abs);
    if (type === 'char' || type === 'block') [h.devmajor, h.devminor] = devParts(st.rdev);
    if (type === 'file' && st.nlink > 1n) {
      const id = `${st.dev}:${st.ino}`;
      const first = this.links.get(id);
      if (first !== undefined) {
        await this.w.add({ ...h, type: 'hardlink', linkname: first, xattrs: new Map() });
        return;
      }
      this.links.set(id, name);
    }
    if (type === 'file') {
      h.size = Number(st.size);
      if (h.size <= SMALL_FILE) {
        // one read for a small file: a 1 MiB stream buffer per file dominated layers of many small files
        const body = h.size > 0 ? await fsp.readFile(abs) : Buffer.alloc(0);
        h.size = body.length;
        await this.w.add(h, body);
      } else await this.w.add(h, createReadStream(abs, { highWaterMark: 1 << 20 }));
      return;
    }
    await this.w.add(h);
    if (type !== 'dir') return;
    if (this.layer && kernel.lgetxattr(abs, OPAQUE_XATTR)?.toString() === 'y') {
      await this.w.add({ name: `${name}/.wh..wh..opq`, mtime: new Date(Number(st.mtimeMs)) }, Buffer.alloc(0));
    }
    await this.children(abs, `${name}/`);
  }

  async children(absDir: string, prefix: string): Promise<void> {
    for (const child of await sortedDir(absDir || '/')) await this.entry(`${absDir}/${child}`, `${prefix}${child}`);
  }

  run(body: () => Promise<void>): Readable {
    body()
      .then(() => this.w.finish())
      .catch((err: Error) => this.w.destroy(err));
    return this.w.readable;
  }
}

/**
 * An OCI layer tar of an overlay upper dir: overlay whiteouts (char 0/0) become `.wh.<name>`, opaque directories get
 * a `<dir>/.wh..wh..opq` entry after the directory's own, `trusted.overlay.*` xattrs are dropped.
 */
export function diffLayer(upperDir: string, opts: DiffLayerOptions = {}): Readable {
  const t = new TreeTar(true, opts.signal);
  return t.run(async () => {
    if (upperDir.endsWith('/') && upperDir !== '/') upperDir = upperDir.replace(/\/+$/, '');
    if (kernel.lgetxattr(upperDir, OPAQUE_XATTR)?.toString() === 'y') await t.w.add({ name: '.wh..wh..opq' }, Buffer.alloc(0));
    await t.children(upperDir, '');
  });
}

/** A plain tar of a directory tree (or of a single file when `dir` is one). See TarDirectoryOptions. */
export function tarDirectory(dir: string, opts: TarDirectoryOptions = {}): Readable {
  const t = new TreeTar(false, opts.signal);
  return t.run(async () => {
    const base = dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
    const prefix = base === '/' ? '' : base;
    if (opts.include?.length) {
      for (const inc of opts.include) {
        const rel = inc.split('/').filter((c) => c && c !== '.');
        if (rel.includes('..')) throw new Error(`tar directory: include path ${inc} escapes ${dir}`);
        const name = rel.join('/');
        await t.entry(`${prefix}/${name}`, opts.rebaseName ? `${opts.rebaseName}/${name}` : name);
      }
      return;
    }
    if (opts.rebaseName) {
      await t.entry(base, opts.rebaseName.replace(/\/+$/, ''));
      return;
    }
    const st = await fsp.lstat(base);
    if (st.isDirectory()) await t.children(base === '/' ? '' : base, '');
    else await t.entry(base, base.slice(base.lastIndexOf('/') + 1));
  });
}

async function lstatOrUndefined(path: string) {
  try {
    return await fsp.lstat(path);
  } catch {
    return undefined;
  }
}

/**
 * What an overlay upper dir changed relative to its lower dirs (highest first), as `docker diff` lists it: whiteouts
 * are D; entries absent from every lower dir are A; others C, except directories whose mode and mtime match the
 * lower one (merely traversed). Parents of A/D entries are listed as C. Sorted by path.
 */
export async function changes(upperDir: string, lowerDirs: string[]): Promise<Change[]> {
  const out = new Map<string, 0 | 1 | 2>();
  const markParent = (path: string) => {
    const parent = path.slice(0, path.lastIndexOf('/'));
    if (parent && !out.has(parent)) out.set(parent, 0);
  };
  const walk = async (rel: string, hidden: boolean): Promise<void> => {
    for (const child of await sortedDir(`${upperDir}${rel}`)) {
      const path = `${rel}/${child}`;
      const st = await fsp.lstat(`${upperDir}${path}`, { bigint: true });
      if (isWhiteout(st)) {
        out.set(path, 2);
        markParent(path);
        continue;
      }
      let lower;
      if (!hidden) {
        for (const l of lowerDirs) if ((lower = await lstatOrUndefined(`${l}${path}`))) break;
      }
      const opaque = st.isDirectory() && kernel.lgetxattr(`${upperDir}${path}`, OPAQUE_XATTR)?.toString() === 'y';
      if (!lower) {
        out.set(path, 1);
        markParent(path);
      } else if (
        !st.isDirectory() ||
        !lower.isDirectory() ||
        opaque ||
        Number(st.mode) !== lower.mode ||
        Math.floor(Number(st.mtimeMs) / 1000) !== Math.floor(lower.mtimeMs / 1000)
      ) {
        out.set(path, 0);
      }
      if (st.isDirectory()) await walk(path, hidden || opaque);
    }
  };
  await walk('', false);
  return [...out]
    .sort(([a], [b]) => byteCompare(a, b))
    .map(([Path, Kind]) => ({ Path, Kind }));
}
