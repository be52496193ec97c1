/**
 * Applying an OCI/Docker layer tar to a directory.
 *
 * Terms:
 * - *root*: the directory the layer is applied to (an overlay upper dir for image layers, any directory for
 *   `docker cp`). Nothing outside it is ever created or modified.
 * - *whiteout*: an entry `<dir>/.wh.<name>` meaning "<name> was deleted"; *opaque marker*: `<dir>/.wh..wh..opq`
 *   meaning "hide everything lower layers had in <dir>".
 * - *whiteouts mode*: 'overlay' turns them into overlayfs's own encoding (a 0/0 char device; the xattr
 *   `trusted.overlay.opaque=y`); 'none' performs the deletion in root itself (plain extraction, `docker cp`).
 * - *diffID*: sha256 of the uncompressed tar, computed on the fly.
 *
 * Safety: entry names are normalised lexically (a leading '/' is dropped; a '..' that climbs above root rejects the
 * entry with "invalid tar entry: <name> escapes the layer root"). Parent directories are resolved one component at a
 * time by pkg/securejoin; a symlink met on the way is resolved *inside root* (absolute targets are relative to root,
 * '..' stops at root), as Docker's chrooted extraction does, so only symlink-free paths ever reach the kernel. The final
 * component is never followed: an existing entry there is replaced, and files are opened O_EXCL|O_NOFOLLOW.
 *
 * Two implementations keep these rules: `berth-untar` (native/untar, see native-untar.ts), used for plain and gzip
 * layers when it is built, and the JavaScript one below, used for zstd layers and when the program is missing. The
 * same test cases run against both (apply-layer.test.ts).
 */
import { createHash } from 'node:crypto';
import fs, { constants as fsc, promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';
import { resolveWith, SymlinkLoopError, type Lookup } from '../securejoin/securejoin.js';
import { readTar } from '../tar/reader.js';
import type { TarHeader } from '../tar/header.js';
import { FileType, makedev } from '../../core/kernel/index.js';
import { hostKernel as kernel } from '../../sys/kernel.js';
import { decompress, detectCompression } from './compression.js';
import { applyNative, nativeUntarPath } from './native-untar.js';
import { drained } from '../stream/drained.js';

export interface ApplyLayerOptions {
  /** How whiteouts and opaque markers are materialised (default 'overlay'). */
  whiteouts?: 'overlay' | 'none';
  signal?: AbortSignal;
  /**
   * Write small files with synchronous calls (open, write, metadata, close) instead of concurrent asynchronous ones:
   * for archives of many small files each asynchronous call's round trip through the thread pool costs more than the
   * call itself, most of all on a loaded machine. Each file blocks the event loop for a few tens of microseconds.
   */
  syncSmallFiles?: boolean;
  /**
   * Which applier: 'native' (berth-untar; fails when it is not built; zstd layers still take the JS path), 'js', or
   * by default native when it is built and the layer is not tiny (BERTH_UNTAR=js in the environment picks 'js').
   */
  engine?: 'native' | 'js';
  /**
   * Record the layer's *tar split* (native/untar/split.h: the stream without the contents of the files written, from
   * which pkg/tar/split joinTar rebuilds the exact tar out of root) into the new file `split`, so the tar itself need
   * not be kept. When the split cannot rebuild it (a later entry removes or replaces one the layer wrote; or the JS
   * applier ran, which records none) the whole tar is written to the new file `blob` instead. Both files are
   * created; the result's `split` says which one holds the layer.
   */
  split?: { split: string; blob: string };
}

export interface ApplyLayerResult {
  /** `sha256:<hex>` of the uncompressed tar stream. */
  diffID: string;
  /** Bytes of regular-file content written to disk. */
  size: number;
  /** With ApplyLayerOptions.split: clean (the split file rebuilds the tar) or not (the blob file holds it). */
  split?: { clean: boolean; why?: string };
}

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
/** Files up to this size are buffered and written concurrently with parsing the rest of the stream. */
const SMALL_FILE = 1 << 20;
const MAX_INFLIGHT = 32;
const IS_ROOT = process.getuid?.() === 0;

/** The process umask, read without changing it (process.umask() with no argument is deprecated). */
const UMASK = (() => {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(fs.readFileSync('/proc/self/status', 'latin1'));
    if (m) return parseInt(m[1]!, 8);
  } catch {
    /* not Linux procfs */
  }
  return 0o022;
})();

function fdOpen(path: string, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

function fdWrite(fd: number, b: Buffer): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, b, 0, b.length, null, (err, n) => (err ? reject(err) : resolve(n))));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function fdCall<A extends unknown[]>(fn: (...args: [...A, (err: NodeJS.ErrnoException | null) => void]) => void, ...args: A): Promise<void> {
  return new Promise((resolve, reject) => fn(...args, (err) => (err ? reject(err) : resolve())));
}

/** Splits an entry name into safe components, or throws when it climbs above the root. */
export function normalizeEntryName(name: string): string[] {
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length === 0) throw new Error(`invalid tar entry: ${name} escapes the layer root`);
      parts.pop();
    } else parts.push(c);
  }
  return parts;
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Below this many bytes a layer is applied by the JS applier unless `engine: 'native'` is asked for: spawning
 * berth-untar costs more (~5–10 ms) than the JS applier spends on a few files (docker cp, small build layers).
 */
const NATIVE_MIN_BYTES = 256 * 1024;

/**
 * The first bytes of a stream (at least `want` unless it is shorter: `ended`) and the whole stream again, those
 * bytes included.
 */
async function peek(input: Readable | AsyncIterable<Buffer>, want: number): Promise<{ head: Buffer; ended: boolean; all: AsyncGenerator<Buffer> }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | Uint8Array>;
  const first: Buffer[] = [];
  let len = 0;
  let ended = false;
  while (len < want) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    first.push(b);
    len += b.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    try {
      yield* first;
      while (!ended) {
        const r = await it.next();
        if (r.done) return;
        yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      }
    } finally {
      if (!ended) await it.return?.();
    }
  }
  return { head: first.length === 1 ? first[0]! : Buffer.concat(first), ended, all: all() };
}

/** Applies one layer tar (plain, gzip or zstd) to `root`. See the module comment for semantics and safety. */
export async function applyLayer(input: Readable, root: string, opts: ApplyLayerOptions = {}): Promise<ApplyLayerResult> {
  const mode = opts.whiteouts ?? 'overlay';
  const rootReal = await fsp.realpath(root);
  if (!(await fsp.stat(rootReal)).isDirectory()) throw new Error(`apply layer: ${root} is not a directory`);
  const engine = opts.engine ?? (process.env.BERTH_UNTAR === 'js' ? 'js' : undefined);
  const bin = engine === 'js' ? undefined : nativeUntarPath();
  if (engine === 'native' && !bin) throw new Error('apply layer: native/build/berth-untar is not built (npm run build)');
  if (!bin) return applyLayerJS(input, rootReal, mode, opts);
  opts.signal?.throwIfAborted();
  // a split is only recorded by berth-untar: small layers take it too
  const { head, ended, all } = await peek(input, engine === 'native' || opts.split ? 6 : NATIVE_MIN_BYTES);
  if (detectCompression(head) === 'zstd' || (ended && engine !== 'native' && !opts.split)) {
    return applyLayerJS(Readable.from(all, { objectMode: false }), rootReal, mode, opts);
  }
  return applyNative(bin, all, input, rootReal, mode, opts.signal, opts.split);
}

/** The JS applier with ApplyLayerOptions.split asked for: no split, the layer's bytes go to the blob file as read. */
async function applyLayerJSKeepingBlob(input: Readable, rootReal: string, mode: 'overlay' | 'none', opts: ApplyLayerOptions & { split: { split: string; blob: string } }): Promise<ApplyLayerResult> {
  await fsp.writeFile(opts.split.split, '', { flag: 'wx', mode: 0o600 });
  const out = fs.createWriteStream(opts.split.blob, { flags: 'wx', mode: 0o600 });
  const closed = new Promise<void>((resolve, reject) => out.once('close', resolve).once('error', reject));
  closed.catch(() => {});
  async function* copied(): AsyncGenerator<Buffer> {
    for await (const chunk of input) {
      if (!out.write(chunk)) await drained(out);
      yield chunk as Buffer;
    }
  }
  try {
    const res = await applyLayerJS(Readable.from(copied(), { objectMode: false }), rootReal, mode, { ...opts, split: undefined });
    out.end();
    await closed;
    return { ...res, split: { clean: false, why: 'the JS applier records no tar split' } };
  } finally {
    out.destroy();
  }
}

/** The JavaScript applier (zstd layers, and where berth-untar is not built). */
async function applyLayerJS(input: Readable, rootReal: string, mode: 'overlay' | 'none', opts: ApplyLayerOptions): Promise<ApplyLayerResult> {
  if (opts.split) return applyLayerJSKeepingBlob(input, rootReal, mode, { ...opts, split: opts.split });
  const stream = decompress(input);
  const onAbort = () => stream.destroy(opts.signal?.reason as Error);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const hash = createHash('sha256');
  async function* tap(): AsyncGenerator<Buffer> {
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      yield chunk as Buffer;
    }
  }

  const st = new ApplyState(rootReal, mode, opts);
  try {
    opts.signal?.throwIfAborted();
    for await (const { header, body } of readTar(tap(), { signal: opts.signal })) {
      await st.apply(header, body);
      st.throwIfFailed();
    }
    await st.settle();
    st.throwIfFailed();
    await st.finishDirs();
  } catch (err) {
    stream.destroy();
    await st.settle();
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return { diffID: `sha256:${hash.digest('hex')}`, size: st.size };
}

class ApplyState {
  size = 0;
  /** Keys (root-relative, symlink-free) of paths known to be real directories. */
  private readonly dirs = new Set<string>(['']);
  /** Keys of everything this layer created, so its own whiteouts never delete its own entries. */
  private readonly created = new Set<string>();
  /** Directory metadata applied at the end, after their contents are in place. */
  private readonly dirMeta = new Map<string, TarHeader>();
  private readonly inflight = new Map<string, Promise<void>>();
  /** Keys of pre-existing directories with the setgid bit (their new children inherit the group). */
  private readonly setgidDirs = new Set<string>();
  private failure: unknown;

  constructor(
    private readonly root: string,
    private readonly mode: 'overlay' | 'none',
    private readonly opts: ApplyLayerOptions = {},
  ) {}

  private abs(key: string): string {
    return key ? `${this.root}/${key}` : this.root;
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  async settle(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()]);
  }

  private async waitFor(key: string): Promise<void> {
    const p = this.inflight.get(key);
    if (p) await p.catch(() => {});
  }

  /** Forgets cached directories at or below `key` (after it was removed or replaced). */
  private forget(key: string): void {
    if (!this.dirs.delete(key) && key !== '') return;
    const prefix = key ? `${key}/` : '';
    for (const d of this.dirs) if (d.startsWith(prefix) && d !== '') this.dirs.delete(d);
  }

  /**
   * Resolves directory components to a symlink-free key inside root, creating missing directories (0755).
   * Symlinks are followed inside root only.
   */
  private async resolveDir(parts: string[]): Promise<string> {
    const lookup = async (comps: string[]): Promise<Lookup> => {
      const key = comps.join('/');
      if (this.dirs.has(key)) return { kind: 'present' };
      const abs = this.abs(key);
      let st;
      try {
        st = await fsp.lstat(abs);
      } catch (err) {
        if (errCode(err) !== 'ENOENT') throw err;
        await this.waitFor(key);
        await fsp.mkdir(abs, 0o755);
        this.dirs.add(key);
        return { kind: 'present' };
      }
      if (st.isDirectory()) {
        this.dirs.add(key);
        if (st.mode & 0o2000) this.setgidDirs.add(key);
        return { kind: 'present' };
      }
      if (st.isSymbolicLink()) return { kind: 'symlink', target: await fsp.readlink(abs) };
      throw new Error(`apply layer: ${key} is not a directory`);
    };
    try {
      return (await resolveWith(parts.join('/'), lookup)).components.join('/');
    } catch (err) {
      if (err instanceof SymlinkLoopError) throw new Error(`apply layer: too many levels of symbolic links at ${err.at}`);
      throw err;
    }
  }

  /** Resolves an entry name to the key of its parent directory and its own key. */
  private async locate(name: string): Promise<{ parent: string; key: string; base: string } | undefined> {
    const parts = normalizeEntryName(name);
    if (parts.length === 0) return undefined;
    const base = parts.pop()!;
    const parent = await this.resolveDir(parts);
    return { parent, base, key: parent ? `${parent}/${base}` : base };
  }

  /** Removes whatever is at `key` (recursively, never following symlinks). */
  private async remove(key: string, fromInflight = false): Promise<void> {
    // An in-flight write may be below key. (From inside an in-flight write, apply() already settled: see there.)
    if (!fromInflight) await this.settle();
    await fsp.rm(this.abs(key), { recursive: true, force: true });
    this.forget(key);
    // Nothing recorded at or below key may be touched later: the path may soon be a symlink.
    const prefix = `${key}/`;
    for (const k of this.dirMeta.keys()) if (k === key || k.startsWith(prefix)) this.dirMeta.delete(k);
  }

  /** Runs `create`; when the path exists, clears it (keeping a directory if `keepDir`) and retries once. */
  private async createAt(key: string, keepDir: boolean, create: () => Promise<void>, fromInflight = false): Promise<'created' | 'kept'> {
    try {
      await create();
      return 'created';
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    if (!fromInflight) await this.waitFor(key);
    const st = await fsp.lstat(this.abs(key));
    if (keepDir && st.isDirectory()) return 'kept';
    if (st.isDirectory()) await this.remove(key, fromInflight);
    else await fsp.unlink(this.abs(key));
    await create();
    return 'created';
  }

  private setXattrs(abs: string, h: TarHeader): void {
    for (const [name, value] of h.xattrs) {
      if (name.startsWith('trusted.overlay.')) continue; // overlay's own bookkeeping is never taken from a tar
      try {
        kernel.lsetxattr(abs, name, value);
      } catch (err) {
        if (errCode(err) !== 'ENOTSUP' && errCode(err) !== 'EOPNOTSUPP') throw err;
      }
    }
  }

  private async chown(abs: string, h: TarHeader): Promise<void> {
    if (!IS_ROOT && h.uid === process.getuid?.() && h.gid === process.getgid?.()) return;
    await fsp.lchown(abs, h.uid, h.gid);
  }

  async apply(h: TarHeader, body: Readable): Promise<void> {
    const parts = normalizeEntryName(h.name);
    const base = parts[parts.length - 1];
    if (base === undefined) return; // the root itself ('./'): its metadata belongs to the snapshot, not the layer
    if (base.startsWith(WH_PREFIX)) return this.whiteout(h.name, parts);

    const loc = (await this.locate(h.name))!;
    const { key } = loc;
    const abs = this.abs(key);
    await this.waitFor(key);

    switch (h.type) {
      case 'dir': {
        if ((await this.createAt(key, true, () => fsp.mkdir(abs, 0o700))) === 'kept') {
          if ((await fsp.lstat(abs)).mode & 0o2000) this.setgidDirs.add(key);
        }
        this.dirs.add(key);
        await this.chown(abs, h);
        this.setXattrs(abs, h);
        this.dirMeta.set(key, h);
        break;
      }
      case 'file': {
        this.size += h.size;
        if (h.size <= SMALL_FILE) {
          const chunks: Buffer[] = [];
          for await (const c of body) chunks.push(c as Buffer);
          const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          if (this.opts.syncSmallFiles) {
            await this.writeFileSync(key, h, data);
            break;
          }
          // Writes below a directory this file replaces must land (and be removed) first.
          if (this.dirs.has(key)) await this.settle();
          if (this.inflight.size >= MAX_INFLIGHT) await Promise.race(this.inflight.values()).catch(() => {});
          const p = this.writeFile(key, h, data, true).then(
            () => {
              this.inflight.delete(key);
            },
            (err) => {
              this.inflight.delete(key);
              this.failure ??= err;
            },
          );
          this.inflight.set(key, p);
        } else {
          await this.writeFile(key, h, body);
        }
        break;
      }
      case 'symlink': {
        await this.createAt(key, false, () => fsp.symlink(h.linkname, abs));
        await this.chown(abs, h);
        this.setXattrs(abs, h);
        await fsp.lutimes(abs, h.mtime, h.mtime);
        break;
      }
      case 'hardlink': {
        const target = await this.locate(h.linkname);
        if (!target) throw new Error(`invalid tar entry: hardlink ${h.name} points at the layer root`);
        await this.waitFor(target.key);
        if (target.key === key) break;
        try {
          await fsp.lstat(this.abs(target.key));
        } catch {
          throw new Error(`invalid tar entry: hardlink ${h.name} -> ${h.linkname}: target not found in the layer root`);
        }
        await this.createAt(key, false, () => fsp.link(this.abs(target.key), abs));
        break;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        const kind = h.type === 'char' ? FileType.S_IFCHR : h.type === 'block' ? FileType.S_IFBLK : FileType.S_IFIFO;
        const dev = h.type === 'fifo' ? 0n : makedev(h.devmajor, h.devminor);
        await this.createAt(key, false, async () => kernel.mknod(abs, kind | (h.mode & 0o777), dev));
        await this.chown(abs, h);
        await fsp.chmod(abs, h.mode & 0o7777);
        this.setXattrs(abs, h);
        await fsp.lutimes(abs, h.mtime, h.mtime);
        break;
      }
    }
    if (h.type !== 'dir') this.forget(key);
    this.created.add(key);
  }

  private async writeFile(key: string, h: TarHeader, data: Buffer | Readable, fromInflight = false): Promise<void> {
    const abs = this.abs(key);
    const flags = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;
    const perm = h.mode & 0o7777;
    let fd = -1;
    // fd-based callback calls: measurably cheaper per call than FileHandle, which matters for many small files.
    await this.createAt(key, false, async () => {
      fd = await fdOpen(abs, flags, perm & 0o777);
    }, fromInflight);
    try {
      if (Buffer.isBuffer(data)) {
        let off = 0;
        while (off < data.length) off += await fdWrite(fd, data.subarray(off));
      } else {
        for await (const c of data) {
          const b = c as Buffer;
          let off = 0;
          while (off < b.length) off += await fdWrite(fd, b.subarray(off));
        }
      }
      // Order matters: chown clears setuid/setgid and file capabilities, so chmod and xattrs come after it.
      const chowned = this.needsChown(h, this.parentOf(key));
      if (chowned) await fdCall(fs.fchown, fd, h.uid, h.gid);
      // open() applied the umask and cannot set setuid/setgid/sticky; fix the mode only when that changed it.
      if (chowned || perm !== (perm & 0o777 & ~UMASK)) await fdCall(fs.fchmod, fd, perm);
      this.setXattrs(abs, h);
      await fdCall(fs.futimes, fd, h.mtime, h.mtime);
    } finally {
      await fdCall(fs.close, fd);
    }
  }

  /** writeFile with synchronous calls (see ApplyLayerOptions.syncSmallFiles); nothing is in flight in this mode. */
  private async writeFileSync(key: string, h: TarHeader, data: Buffer): Promise<void> {
    const abs = this.abs(key);
    const flags = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;
    const perm = h.mode & 0o7777;
    let fd = -1;
    await this.createAt(key, false, async () => {
      fd = fs.openSync(abs, flags, perm & 0o777);
    });
    try {
      let off = 0;
      while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
      const chowned = this.needsChown(h, this.parentOf(key));
      if (chowned) fs.fchownSync(fd, h.uid, h.gid);
      if (chowned || perm !== (perm & 0o777 & ~UMASK)) fs.fchmodSync(fd, perm);
      this.setXattrs(abs, h);
      fs.futimesSync(fd, h.mtime, h.mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  private parentOf(key: string): string {
    const i = key.lastIndexOf('/');
    return i < 0 ? '' : key.slice(0, i);
  }

  /** New files are owned by us, or by a setgid parent's group: chown only when that differs from the header. */
  private needsChown(h: TarHeader, parent: string): boolean {
    if (!IS_ROOT) return h.uid !== process.getuid?.() || h.gid !== process.getgid?.();
    return h.uid !== 0 || h.gid !== 0 || this.setgidDirs.has(parent);
  }

  private async whiteout(name: string, parts: string[]): Promise<void> {
    const base = parts.pop()!;
    const dir = await this.resolveDir(parts);
    if (base === WH_OPAQUE) {
      if (this.mode === 'overlay') {
        kernel.lsetxattr(this.abs(dir), 'trusted.overlay.opaque', Buffer.from('y'));
      } else {
        await this.settle();
        for (const child of await fsp.readdir(this.abs(dir))) {
          const ck = dir ? `${dir}/${child}` : child;
          if (!this.created.has(ck)) await this.remove(ck);
        }
      }
      return;
    }
    if (base.startsWith(WH_PREFIX + WH_PREFIX)) return; // other aufs metadata (.wh..wh.plnk etc.)
    const victim = base.slice(WH_PREFIX.length);
    if (victim === '' || victim === '.' || victim === '..' || victim.includes('/')) {
      throw new Error(`invalid tar entry: whiteout ${name}`);
    }
    const key = dir ? `${dir}/${victim}` : victim;
    if (this.created.has(key)) return; // a layer's whiteouts only hide lower layers
    await this.remove(key);
    if (this.mode === 'overlay') kernel.mknod(this.abs(key), FileType.S_IFCHR, 0n);
  }

  /** Applies directory ownership-independent metadata last: permissions, then mtimes. */
  async finishDirs(): Promise<void> {
    const items = [...this.dirMeta];
    for (let i = 0; i < items.length; i += 16) {
      await Promise.all(
        items.slice(i, i + 16).map(async ([key, h]) => {
          const abs = this.abs(key);
          await fsp.chmod(abs, h.mode & 0o7777);
          await fsp.utimes(abs, h.mtime, h.mtime);
        }),
      );
    }
  }
}
