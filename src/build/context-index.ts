/**
 * The build context of one `POST /build`, indexed in memory as its tar streams in, so a build never extracts it to
 * disk unless something needs a real directory (`RUN --mount=type=bind` from the context: `extractTo`).
 *
 * Terms:
 * - *context tar*: the request body (already decompressed): ustar/PAX/GNU, as the docker CLI or `berth build` sends it.
 * - *node*: one path of the context with the metadata of its tar header (type, mode, uid/gid, mtime, link target,
 *   xattrs); a directory node holds its children by name. A tar hardlink entry is the *same* node under a second
 *   name, so the two names stay one file (an `extractTo` writes a hard link again).
 * - *components*: a path as names below the context root, symlink-free when `resolve` produced them.
 * - *in memory* / *spilled*: a file's bytes are kept in memory when it is small (≤ SMALL_FILE) and the memory budget
 *   (MEMORY_BUDGET in all) is not used up; any other file's bytes are appended to one *spill file* in the build's work
 *   dir and read back from their offset there. Every file's sha256 is taken as it streams in, so a COPY cache key never
 *   reads the context again.
 *
 * Safety: entry names are confined to the context root as dockerd's chrooted extraction confines them (a leading `/`
 * is dropped, `..` stops at the root); a parent that is a symlink in the tar is followed inside the context, never on
 * the host. A tar that ends early, has a bad header or a hardlink to nothing is refused as an InvalidArgument (400)
 * with dockerd's `Error processing tar file` wording; nothing is written outside the work dir.
 */
import { createHash, hash, type Hash } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { invalidArgument } from '../errdefs/index.js';
import { applyLayer } from '../pkg/archive/apply-layer.js';
import { resolveWithSync, SymlinkLoopError, type Lookup } from '../pkg/securejoin/securejoin.js';
import { TarPushReader, type TarSink } from '../pkg/tar/push-reader.js';
import { TarFormatError, type EntryType, type TarHeader } from '../pkg/tar/header.js';
import { tarFromEntries, type TarBody } from '../pkg/tar/writer.js';

/** Files up to this size are kept in memory (while the budget lasts). */
export const SMALL_FILE = 64 * 1024;
/** Bytes of file content one context keeps in memory; the rest is spilled. */
export const MEMORY_BUDGET = 64 << 20;
/** Bytes of one slab small files are copied into. */
const SLAB = 1 << 20;
const EMPTY = Buffer.alloc(0);
/** moby's FollowSymlinkInScope limit (the classic builder's, not Linux's 40). */
const MAX_SYMLINKS = 255;

export type NodeType = Exclude<EntryType, 'hardlink'>;

export interface ContextNode {
  type: NodeType;
  /** Permission bits with setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** A file's byte count (0 for the rest). */
  size: number;
  /** A symlink's target. */
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
  /** sha256 of a file's bytes. */
  digest?: Buffer;
  /** A file's bytes, when in memory. */
  data?: Buffer;
  /** Where a spilled file's bytes start in the spill file. */
  offset?: number;
  /** A directory's entries. */
  children?: Map<string, ContextNode>;
}

export interface ContextIndexOptions {
  /** Directory the spill file goes to (the build's private work dir; removed with it). */
  spillDir: string;
  signal?: AbortSignal;
  /** Overrides for tests. */
  smallFile?: number;
  memoryBudget?: number;
}

const dirNode = (mtime: Date): ContextNode => ({ type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0, linkname: '', devmajor: 0, devminor: 0, xattrs: new Map(), children: new Map() });

/** Splits a tar name (or hardlink target) into components confined to the root: `/a` → a, `../a` → a. */
export function confinedComponents(name: string): string[] {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out;
}

const tarError = (detail: string) => invalidArgument(`Error processing tar file: ${detail}`);

export class ContextIndex {
  readonly root: ContextNode;
  private spillFile: string | undefined;
  private spillFd: number | undefined;
  private spillSize = 0;
  private inMemory = 0;

  private constructor(private readonly opts: ContextIndexOptions) {
    this.root = dirNode(new Date());
  }

  /** Reads the whole context tar into an index. Bad input is an InvalidArgument (see the module comment). */
  static async read(input: AsyncIterable<Buffer>, opts: ContextIndexOptions): Promise<ContextIndex> {
    const ix = new ContextIndex(opts);
    const parser = new TarPushReader(ix.sink);
    try {
      for await (const chunk of input) {
        opts.signal?.throwIfAborted();
        if (parser.finished) continue; // read to the end all the same (the request body)
        parser.push(chunk);
        // spilled bytes are written between chunks, off the main thread
        for (const w of ix.spillWrites.splice(0)) await writeAll(ix.spillFd!, w.data, w.position);
      }
      opts.signal?.throwIfAborted();
      parser.end();
    } catch (e) {
      ix.close();
      if (e instanceof TarFormatError) {
        const msg = (e as Error).message;
        throw tarError(/unexpected end/.test(msg) ? 'unexpected EOF' : msg);
      }
      throw e;
    }
    return ix;
  }

  /** Bytes of file content held in memory / in the spill file. */
  get memoryBytes(): number {
    return this.inMemory;
  }
  get spilledBytes(): number {
    return this.spillSize;
  }

  /** Removes the spill file (the work dir goes anyway; this frees it early). */
  close(): void {
    if (this.spillFd !== undefined) fs.closeSync(this.spillFd);
    this.spillFd = undefined;
    if (this.spillFile) fs.rmSync(this.spillFile, { force: true });
  }

  // ------------------------------------------------------------------------------------------ reading the tar

  /** Spilled body pieces not yet written: (subarrays of the input's chunks, written before the next one is read). */
  private readonly spillWrites: Array<{ data: Buffer; position: number }> = [];
  /** The file entry whose body is arriving. */
  private current: { node: ContextNode; inMemory: boolean; pieces: Buffer[]; got: number; hash?: Hash } | undefined;
  /** The slab small files' bytes are copied into (one allocation for many files; see `keep`). */
  private slab = Buffer.alloc(0);
  private slabUsed = 0;

  private readonly sink: TarSink = {
    entry: (h) => this.add(h),
    data: (piece) => this.bodyPiece(piece),
    entryEnd: () => this.endBody(),
  };

  private add(h: TarHeader): void {
    const comps = confinedComponents(h.name);
    if (comps.length === 0) {
      // the root itself: only its metadata
      if (h.type === 'dir') Object.assign(this.root, { mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime, xattrs: h.xattrs });
      return;
    }
    const parent = this.mkdirs(comps.slice(0, -1), h.name);
    const base = comps[comps.length - 1]!;
    if (h.type === 'hardlink') {
      const target = this.hardlinkTarget(h.linkname);
      if (!target) throw tarError(`link ${h.linkname} ${h.name}: no such file or directory`);
      parent.children!.set(base, target);
      return;
    }
    const existing = parent.children!.get(base);
    if (h.type === 'dir' && existing?.type === 'dir') {
      // a later header for a directory changes its metadata, never its entries
      Object.assign(existing, { mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime, xattrs: h.xattrs });
      return;
    }
    const node: ContextNode = { type: h.type, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime, size: 0, linkname: h.type === 'symlink' ? h.linkname : '', devmajor: h.devmajor, devminor: h.devminor, xattrs: h.xattrs };
    if (h.type === 'dir') node.children = new Map();
    if (h.type === 'file') this.startBody(node, h.size);
    parent.children!.set(base, node);
  }

  /** A file's bytes are about to arrive: kept in memory (small, within the budget) or appended to the spill file. */
  private startBody(node: ContextNode, size: number): void {
    node.size = size;
    const small = this.opts.smallFile ?? SMALL_FILE;
    const budget = this.opts.memoryBudget ?? MEMORY_BUDGET;
    if (size <= small && this.inMemory + size <= budget) {
      this.inMemory += size;
      this.current = { node, inMemory: true, pieces: [], got: 0 };
      return;
    }
    if (this.spillFd === undefined) {
      this.spillFile = path.join(this.opts.spillDir, `context-spill-${process.pid}-${Date.now()}`);
      this.spillFd = fs.openSync(this.spillFile, 'wx+', 0o600);
    }
    node.offset = this.spillSize;
    this.current = { node, inMemory: false, pieces: [], got: 0, hash: createHash('sha256') };
  }

  private bodyPiece(b: Buffer): void {
    const cur = this.current!;
    cur.got += b.length;
    if (cur.inMemory) cur.pieces.push(b);
    else {
      cur.hash!.update(b);
      this.spillWrites.push({ data: b, position: this.spillSize });
      this.spillSize += b.length;
    }
  }

  private endBody(): void {
    const cur = this.current;
    if (!cur) return; // not a file
    this.current = undefined;
    if (cur.inMemory) {
      const data = this.keep(cur.pieces, cur.got);
      cur.node.data = data;
      cur.node.digest = hash('sha256', data, 'buffer') as unknown as Buffer;
    } else cur.node.digest = cur.hash!.digest();
  }

  /**
   * A small file's bytes, copied out of the input's chunks into the current slab: holding the chunks instead would
   * keep every header and padding block of the context in memory too (a 10-byte file takes 1 KiB of tar).
   */
  private keep(pieces: Buffer[], size: number): Buffer {
    if (size === 0) return EMPTY;
    if (this.slab.length - this.slabUsed < size) {
      this.slab = Buffer.allocUnsafe(Math.max(SLAB, size));
      this.slabUsed = 0;
    }
    const out = this.slab.subarray(this.slabUsed, this.slabUsed + size);
    let off = 0;
    for (const p of pieces) off += p.copy(out, off);
    this.slabUsed += size;
    return out;
  }

  /** The directory at `comps` (a tar's parents, followed through symlinks in scope), created as needed. */
  private mkdirs(comps: string[], name: string): ContextNode {
    let cur = this.root;
    if (comps.length === 0) return cur;
    for (const c of this.resolveComps(comps, true)) {
      let next = cur.children!.get(c);
      if (!next) {
        next = dirNode(new Date());
        cur.children!.set(c, next);
      } else if (next.type !== 'dir') throw tarError(`${name}: not a directory`);
      cur = next;
    }
    return cur;
  }

  private hardlinkTarget(linkname: string): ContextNode | undefined {
    const comps = confinedComponents(linkname);
    if (!comps.length) return undefined;
    const parent = this.resolveComps(comps.slice(0, -1), true);
    const n = this.node([...parent, comps[comps.length - 1]!]);
    return n && n.type !== 'dir' ? n : undefined;
  }

  // ------------------------------------------------------------------------------------------ looking things up

  /** The node at symlink-free `comps` (nothing followed), undefined when missing. */
  node(comps: readonly string[]): ContextNode | undefined {
    let cur: ContextNode | undefined = this.root;
    for (const c of comps) {
      cur = cur.children?.get(c);
      if (!cur) return undefined;
    }
    return cur;
  }

  private readonly lookup = (comps: string[]): Lookup => {
    const n = this.node(comps);
    if (!n) return { kind: 'missing' };
    return n.type === 'symlink' ? { kind: 'symlink', target: n.linkname } : { kind: 'present' };
  };

  private resolveComps(comps: string[], followFinal: boolean): string[] {
    return this.resolve('/' + comps.join('/'), followFinal);
  }

  /**
   * `p`'s symlink-free components, symlinks resolved inside the context (absolute targets from its root, `..` stops
   * there); the last component is followed only when `followFinal`. Missing components stay as named.
   */
  resolve(p: string, followFinal: boolean): string[] {
    try {
      return resolveWithSync(p, this.lookup, { followFinal, maxSymlinks: MAX_SYMLINKS }).components;
    } catch (e) {
      if (e instanceof SymlinkLoopError) throw invalidArgument(`too many links in ${p}`);
      throw e;
    }
  }

  /** A directory's entry names, sorted; [] for anything else. */
  list(comps: readonly string[]): string[] {
    const n = this.node(comps);
    return n?.children ? [...n.children.keys()].sort() : [];
  }

  /** Removes the entry at symlink-free `comps` (a directory with everything below it). */
  remove(comps: readonly string[]): void {
    if (!comps.length) return;
    this.node(comps.slice(0, -1))?.children?.delete(comps[comps.length - 1]!);
  }

  /** The bytes of the file at `p` (symlinks followed in scope); undefined when it is missing or not a file. */
  readFile(p: string): Buffer | undefined {
    const n = this.node(this.resolve(p, true));
    return n?.type === 'file' ? this.read(n) : undefined;
  }

  /** A file node's bytes, whole. */
  read(n: ContextNode): Buffer {
    if (n.data) return n.data;
    if (n.size === 0) return Buffer.alloc(0);
    const b = Buffer.allocUnsafe(n.size);
    let off = 0;
    while (off < n.size) {
      const got = fs.readSync(this.spillFd!, b, off, n.size - off, n.offset! + off);
      if (got === 0) throw new Error('context spill file is shorter than its index');
      off += got;
    }
    return b;
  }

  /** A file node's bytes as a stream. */
  stream(n: ContextNode): Readable {
    if (n.data || n.size === 0) return Readable.from([n.data ?? Buffer.alloc(0)]);
    return fs.createReadStream(this.spillFile!, { start: n.offset!, end: n.offset! + n.size - 1, highWaterMark: 1 << 20 });
  }

  // ------------------------------------------------------------------------------------------ writing it out

  /** The context as a tar (directories before their entries, names sorted; a node met again is a hard link). */
  tar(): Readable {
    const seen = new Map<ContextNode, string>();
    const self = this;
    function* walk(dir: ContextNode, prefix: string): Generator<{ header: Partial<TarHeader> & { name: string }; body?: TarBody }> {
      for (const name of [...dir.children!.keys()].sort()) {
        const n = dir.children!.get(name)!;
        const rel = prefix + name;
        const base = { name: rel, mode: n.mode, uid: n.uid, gid: n.gid, mtime: n.mtime, xattrs: n.xattrs };
        const first = seen.get(n);
        if (first !== undefined) {
          yield { header: { ...base, type: 'hardlink', linkname: first } };
          continue;
        }
        if (n.type !== 'dir') seen.set(n, rel);
        if (n.type === 'dir') {
          yield { header: { ...base, name: rel + '/', type: 'dir' } };
          yield* walk(n, rel + '/');
        } else if (n.type === 'file') yield { header: { ...base, type: 'file', size: n.size }, body: n.data ?? self.stream(n) };
        else yield { header: { ...base, type: n.type, linkname: n.linkname, devmajor: n.devmajor, devminor: n.devminor } };
      }
    }
    return tarFromEntries(walk(this.root, ''));
  }

  /** Writes the context into the empty directory `dir` (for what needs a real one); see `tar`. */
  async extractTo(dir: string, signal?: AbortSignal): Promise<void> {
    // applyLayer is the one safe extraction (confined paths, O_NOFOLLOW, devices, xattrs, hard links)
    await applyLayer(this.tar(), dir, { whiteouts: 'none', signal, syncSmallFiles: true });
    await fsp.chmod(dir, this.root.mode);
  }
}

async function writeAll(fd: number, b: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < b.length) {
    const n = await new Promise<number>((resolve, reject) => fs.write(fd, b, off, b.length - off, position + off, (err, w) => (err ? reject(err) : resolve(w))));
    off += n;
  }
}
