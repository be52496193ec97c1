/**
 * COPY/ADD sources on the daemon side: `.dockerignore` (Docker's pattern rules) over the context index, sources
 * collected from a SourceTree — the context (context-index.ts) or a directory on the host — with wildcards and
 * symlinks followed in the tree's scope, their content checksum (the cache key part: names, types, modes, sizes and
 * bytes, never mtimes), and writing them into a layer (tar with owner and mode).
 */
import { createHash } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { tarFromEntries, type TarBody } from '../pkg/tar/writer.js';
import type { TarHeader } from '../pkg/tar/header.js';
import { ScopedFS } from '../pkg/securejoin/scoped.js';
import { parseGroup, parsePasswd, readFileInRoot } from '../pkg/idtools/passwd.js';
import { BuildError } from './errors.js';
import { FileLinks } from './file-links.js';
import type { ContextIndex } from './context-index.js';
import type { Usage } from '../core/snapshots/types.js';
import { hostKernel as kernel } from '../sys/kernel.js';

/** Files up to this size are read in one call rather than streamed. */
const SMALL_FILE = 64 * 1024;

/**
 * One entry of a COPY/ADD source, wherever it lives: the context index, a stage's or image's view on the host, a
 * heredoc's or a download's temp file.
 */
export interface SourceEntry {
  /** Its name relative to what the instruction named ('' for the named path itself). */
  rel: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits with setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** A file's byte count (0 for the rest). */
  size: number;
  mtime: Date;
  /** A symlink's target. */
  linkname: string;
  /** A file's bytes, whole (used for small files). */
  read(): Buffer;
  /** A file's bytes as a stream. */
  stream(): Readable;
  /** sha256 of a file's bytes when known without reading them (the context index hashes as it reads). */
  digest?: Buffer;
  /** The host file behind it, which a layer may hard-link instead of copying (entries of a directory on the host). */
  host?: string;
  /** Entries with the same identity are one file under two names (a hard link in the context). */
  identity?: object;
}

export interface Source {
  /** The matched path (for error messages) and its base name. */
  base: string;
  isDir: boolean;
  entries: SourceEntry[];
  /** ADD of a local archive: extracted rather than copied. */
  archive?: boolean;
  /** The matched path relative to the source root (`a/b.txt`), for `--parents` and `--exclude`. */
  rel?: string;
}

/** What COPY/ADD sources are collected from: the build context (its index) or a directory on the host. */
export interface SourceTree {
  /** `p`'s symlink-free components, symlinks followed in the tree's scope (the last only when `followFinal`). */
  resolve(p: string, followFinal: boolean): Promise<string[]>;
  /** The entry at symlink-free `comps`, nothing followed; undefined when missing. */
  entry(comps: string[], rel: string): SourceEntry | undefined;
  /** A directory's entry names, sorted; [] for anything else. */
  list(comps: string[]): string[];
}

/** The build context as a SourceTree (read from its index; nothing on disk). */
export class ContextTree implements SourceTree {
  constructor(readonly index: ContextIndex) {}
  async resolve(p: string, followFinal: boolean): Promise<string[]> {
    return this.index.resolve(p, followFinal);
  }
  entry(comps: string[], rel: string): SourceEntry | undefined {
    const n = this.index.node(comps);
    if (!n) return undefined;
    const ix = this.index;
    const type = n.type === 'file' || n.type === 'dir' || n.type === 'symlink' ? n.type : 'other';
    return { rel, type, mode: n.mode, uid: n.uid, gid: n.gid, size: n.size, mtime: n.mtime, linkname: n.linkname, digest: n.digest, identity: n, read: () => ix.read(n), stream: () => ix.stream(n) };
  }
  list(comps: string[]): string[] {
    return this.index.list(comps);
  }
}

/** A directory on the host as a SourceTree (a stage's or image's view), symlinks resolved in its scope. */
export class DiskTree implements SourceTree {
  readonly fsys: ScopedFS;
  constructor(root: string) {
    this.fsys = new ScopedFS(root);
  }
  resolve(p: string, followFinal: boolean): Promise<string[]> {
    return this.fsys.resolve(p, followFinal);
  }
  entry(comps: string[], rel: string): SourceEntry | undefined {
    const host = this.fsys.hostPath(comps);
    let st: fs.Stats;
    try {
      // synchronous lstat: one round trip per entry of a large tree costs more than the call
      st = fs.lstatSync(host);
    } catch {
      return undefined;
    }
    return diskEntry(host, rel, st);
  }
  list(comps: string[]): string[] {
    try {
      return fs.readdirSync(this.fsys.hostPath(comps)).sort();
    } catch {
      return [];
    }
  }
}

/** The entry for host file `host` (lstat'ed as `st`). */
export function diskEntry(host: string, rel: string, st: fs.Stats): SourceEntry {
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  return {
    rel,
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: type === 'file' ? st.size : 0,
    mtime: st.mtime,
    linkname: type === 'symlink' ? fs.readlinkSync(host) : '',
    read: () => readSmall(host, st.size),
    stream: () => fs.createReadStream(host),
    host,
  };
}

/** The Dockerfile (or another context file), symlinks followed inside the context. */
export function readContextFile(index: ContextIndex, name: string): string {
  const b = index.readFile('/' + name);
  if (!b) throw new BuildError(`${name}: not found in the build context`);
  return b.toString('utf8');
}

/** Docker's .dockerignore pattern → RegExp (`**` any depth, `*`/`?` within a component). */
export function ignorePatternRegex(pattern: string): RegExp {
  let p = path.posix.normalize(pattern.trim()).replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '.') p = '';
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        i++;
        if (p[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + p.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else if (c === '\\' && i + 1 < p.length) re += '\\' + p[++i];
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Parses .dockerignore text into ordered (regex, exclusion) rules. */
export function parseDockerignore(text: string): Array<{ re: RegExp; negate: boolean }> {
  const out: Array<{ re: RegExp; negate: boolean }> = [];
  for (let line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (!line) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    if (!line) continue;
    out.push({ re: ignorePatternRegex(line), negate });
  }
  return out;
}

/** True when `rel` (or one of its parent directories) is excluded by the rules (last match wins). */
export function isIgnored(rules: Array<{ re: RegExp; negate: boolean }>, rel: string): boolean {
  const comps = rel.split('/').filter(Boolean);
  let ignored = false;
  for (const r of rules) {
    let hit = false;
    for (let n = 1; n <= comps.length && !hit; n++) hit = r.re.test(comps.slice(0, n).join('/'));
    if (hit) ignored = !r.negate;
  }
  return ignored;
}

/**
 * Removes what the ignore file excludes from the context (the CLI usually did this already):
 * `<Dockerfile>.dockerignore` when it exists, else `.dockerignore`.
 */
export function applyDockerignore(index: ContextIndex, dockerfile = 'Dockerfile'): void {
  let text: string | undefined;
  for (const f of [`${dockerfile}.dockerignore`, '.dockerignore']) {
    const b = index.readFile('/' + f);
    if (b) {
      text = b.toString('utf8');
      break;
    }
  }
  if (text === undefined) return;
  const rules = parseDockerignore(text);
  if (!rules.length) return;
  const reinclude = rules.some((x) => x.negate);
  const walk = (comps: string[]): void => {
    for (const name of index.list(comps)) {
      const c = [...comps, name];
      const r = c.join('/');
      const isDir = index.node(c)?.type === 'dir';
      if (isIgnored(rules, r)) {
        // A later `!` rule may re-include something below an ignored directory: keep walking those.
        if (isDir && reinclude) walk(c);
        else index.remove(c);
      } else if (isDir) walk(c);
    }
  };
  walk([]);
}

const hasWildcard = (s: string) => /[*?[]/.test(s);

/** Resolves one COPY/ADD source in `tree` (wildcards match over the tree). */
export async function collectSources(tree: SourceTree, src: string, addArchives: boolean): Promise<Source[]> {
  const clean = path.posix.normalize('/' + src);
  const found: Array<{ comps: string[]; base: string; rel: string }> = [];
  const notFound = () => new BuildError(`COPY failed: file not found in build context or excluded by .dockerignore: stat ${src.replace(/^\/+/, '')}: file does not exist`);
  if (hasWildcard(clean)) {
    const re = ignorePatternRegex(clean);
    const walk = async (comps: string[]): Promise<void> => {
      for (const name of tree.list(comps)) {
        const c = [...comps, name];
        const r = c.join('/');
        // A matched symlink is followed in the tree's scope (moby's FollowSymlinkInScope), never on the host.
        if (re.test(r)) found.push({ comps: await tree.resolve('/' + r, true), base: name, rel: r });
        else if (tree.entry(c, '')?.type === 'dir') await walk(c);
      }
    };
    await walk([]);
    if (!found.length) throw new BuildError(`COPY failed: no source files were specified`);
  } else {
    const comps = await tree.resolve(clean, true);
    if (!tree.entry(comps, '')) throw notFound();
    found.push({ comps, base: path.posix.basename(clean) || '/', rel: clean.replace(/^\/+/, '') });
  }
  const out: Source[] = [];
  for (const f of found) {
    // resolved with the last symlink followed: a dangling one is missing
    const top = tree.entry(f.comps, '');
    if (!top) throw notFound();
    if (top.type === 'dir') {
      const entries: SourceEntry[] = [];
      const walk = (comps: string[], rel: string): void => {
        for (const n of tree.list(comps)) {
          const c = [...comps, n];
          const e = tree.entry(c, rel ? `${rel}/${n}` : n);
          if (!e) continue;
          entries.push(e);
          if (e.type === 'dir') walk(c, e.rel);
        }
      };
      walk(f.comps, '');
      out.push({ base: f.base, isDir: true, entries, rel: f.rel });
    } else {
      const archive = addArchives && top.type === 'file' && (await isTarArchive(top));
      out.push({ base: f.base, isDir: false, entries: [top], archive, rel: f.rel });
    }
  }
  return out;
}

/** A local file ADD extracts: a plain tar or a gzip-compressed one. */
async function isTarArchive(e: SourceEntry): Promise<boolean> {
  const head = await firstBytes(e.size <= SMALL_FILE ? Readable.from([e.read()]) : e.stream(), 512);
  const isUstar = (b: Buffer) => b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
  if (isUstar(head)) return true;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gz = createGunzip();
    const inner = firstBytes(gz, 512);
    const rs = e.size <= SMALL_FILE ? Readable.from([e.read()]) : e.stream();
    rs.pipe(gz);
    const b = await inner;
    rs.destroy();
    return isUstar(b);
  }
  return false;
}

/** Up to the first `n` bytes of `rs` (fewer when it ends first, or on an error); `rs` is destroyed after. */
function firstBytes(rs: Readable, n: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const done = () => {
      rs.destroy();
      resolve(Buffer.concat(chunks).subarray(0, n));
    };
    rs.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= n) done();
    });
    rs.on('end', done);
    rs.on('error', done);
  });
}

/** The COPY cache key part of `sources`: names, types, modes, sizes and bytes (as digests), never mtimes. */
export async function hashSources(sources: Source[]): Promise<string> {
  const h = createHash('sha256');
  for (const s of sources) {
    h.update(`source ${s.base} ${s.isDir} ${!!s.archive}\n`);
    for (const e of s.entries) {
      const type = e.type === 'dir' ? 'd' : e.type === 'symlink' ? 'l' : e.type === 'file' ? 'f' : 'o';
      h.update(`${e.rel}\0${type}\0${e.mode}\0${e.size}\0`);
      if (type === 'l') h.update(e.linkname);
      if (type === 'f') {
        // a file's bytes enter as their own digest, so a digest noted as the context was read stands for them
        if (e.digest) h.update(e.digest);
        else if (e.size <= SMALL_FILE) h.update(createHash('sha256').update(e.read()).digest());
        else {
          const fh = createHash('sha256');
          for await (const chunk of e.stream()) fh.update(chunk as Buffer);
          h.update(fh.digest());
        }
      }
    }
  }
  return h.digest('hex');
}

export function tarOf(entries: SourceEntry[], name: (rel: string) => string, owner: { uid: number; gid: number }, chmod: number | undefined): Readable {
  return new LayerPlan([], [{ entries, name }], owner, chmod).tar();
}

type DirHeader = Partial<TarHeader> & { name: string };

/**
 * A COPY layer known without looking at a snapshot: `dirs` (the destination's directories, headers as they are)
 * followed by each part's entries, named by `name`, owned by `owner`, mode `chmod` when given.
 *
 * `tar()` is the layer tar; `materialize(upper)` writes the same tree into an empty overlay upper dir. Small files are
 * read (or taken from the context index's memory) and written with synchronous calls: for contexts of many small files
 * the thread-pool round trip of an asynchronous call costs far more than the call. A file an earlier layer holds with
 * the same bytes and metadata is hard-linked from there (`links`, file-links.ts). A host file whose owner, mode and
 * xattrs are already what the layer wants is hard-linked rather than copied (layers are never written), and so is a
 * second name of one context file.
 */
export class LayerPlan {
  constructor(
    readonly dirs: DirHeader[],
    readonly parts: Array<{ entries: SourceEntry[]; name: (rel: string) => string }>,
    readonly owner: { uid: number; gid: number },
    readonly chmod: number | undefined,
    /** Where `materialize` finds files of earlier layers to hard-link (none: every file is created). */
    readonly links?: FileLinks,
  ) {}

  /** Hard links from a host file into a snapshot work while both are on one filesystem (both are below the data root). */
  private linkOk = true;

  private header(e: SourceEntry, name: string): DirHeader {
    return { name, mode: this.chmod ?? e.mode, uid: this.owner.uid, gid: this.owner.gid, mtime: e.mtime };
  }

  tar(): Readable {
    const self = this;
    // a plain generator with one header object per entry: this runs once per file of the context
    function* gen(): Generator<{ header: DirHeader; body?: TarBody }> {
      for (const d of self.dirs) yield { header: d };
      const { uid, gid } = self.owner;
      for (const { entries, name } of self.parts) {
        for (const e of entries) {
          const mode = self.chmod ?? e.mode;
          if (e.type === 'dir') yield { header: { name: name(e.rel), type: 'dir', mode, uid, gid, mtime: e.mtime } };
          else if (e.type === 'symlink') yield { header: { name: name(e.rel), type: 'symlink', mode, uid, gid, mtime: e.mtime, linkname: e.linkname } };
          else if (e.type === 'file') {
            const body = e.size > SMALL_FILE ? (e.stream() as AsyncIterable<Buffer>) : e.read();
            yield { header: { name: name(e.rel), type: 'file', mode, uid, gid, mtime: e.mtime, size: e.size > SMALL_FILE ? e.size : (body as Buffer).length }, body };
          }
        }
      }
    }
    return tarFromEntries(gen());
  }

  /**
   * Whether `materialize` may be used: entries of several sources could meet at one name, and one source's symlink
   * must never be a directory another source's entries are written through.
   */
  get materializable(): boolean {
    return this.parts.length === 1 || !this.parts.some((p) => p.entries.some((e) => e.type === 'symlink'));
  }

  /**
   * Writes the layer's tree into `upper` (an empty overlay upper dir), as applying `tar()` there would; returns its
   * usage as the snapshotter's walk would count it (directories, files and symlinks, a hard link once).
   */
  async materialize(upper: string): Promise<Usage> {
    /** By path: whether it is another name of an inode counted already, and its apparent size. */
    const placed = new Map<string, { twin: boolean; size: number }>();
    // by path: a directory two sources both hold gets the later one's metadata, as applying the tar would give it
    const dirMeta = new Map<string, DirHeader>();
    const sameOwner = (uid: number, gid: number) => uid === this.owner.uid && gid === this.owner.gid;
    const myUid = process.getuid?.() ?? 0;
    const myGid = process.getgid?.() ?? 0;
    const mine = (h: DirHeader) => (h.uid ?? 0) === myUid && (h.gid ?? 0) === myGid;
    /** Runs `create`; where something is in the way already (an earlier source's entry), clears it and retries. */
    const place = (abs: string, create: () => void, keepDir = false): void => {
      try {
        create();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (keepDir && fs.lstatSync(abs).isDirectory()) return;
      fs.rmSync(abs, { recursive: true, force: true });
      create();
    };
    const mkdir = (abs: string, h: DirHeader) => {
      place(abs, () => fs.mkdirSync(abs, 0o700), true);
      if (!mine(h)) fs.lchownSync(abs, h.uid ?? 0, h.gid ?? 0);
      for (const [k, v] of h.xattrs ?? []) {
        try {
          kernel.lsetxattr(abs, k, v);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
        }
      }
      dirMeta.set(abs, h);
      placed.set(abs, { twin: false, size: 0 });
    };
    for (const d of this.dirs) mkdir(path.join(upper, d.name), d);
    /** Where each context file (by identity) was written first. */
    const written = new Map<object, string>();
    let n = 0;
    for (const { entries, name } of this.parts) {
      for (const e of entries) {
        // a breath for the event loop now and then: each entry is a few synchronous calls
        if (++n % 256 === 0) await new Promise((r) => setImmediate(r));
        const h = this.header(e, name(e.rel));
        const abs = path.join(upper, h.name);
        if (e.type === 'dir') mkdir(abs, h);
        else if (e.type === 'symlink') {
          place(abs, () => fs.symlinkSync(e.linkname, abs));
          placed.set(abs, { twin: false, size: Buffer.byteLength(e.linkname) });
          if (!mine(h)) fs.lchownSync(abs, h.uid!, h.gid!);
          fs.lutimesSync(abs, h.mtime!, h.mtime!);
        } else if (e.type === 'file') {
          const twin = e.identity && written.get(e.identity);
          if (twin) {
            // a second name of one context file: one inode, as the context had it
            place(abs, () => fs.linkSync(twin, abs));
            placed.set(abs, { twin: true, size: 0 });
            continue;
          }
          if (e.identity) written.set(e.identity, abs);
          placed.set(abs, { twin: false, size: e.size });
          if (e.host && this.linkOk && sameOwner(e.uid, e.gid) && h.mode === e.mode && kernel.llistxattr(e.host).length === 0) {
            try {
              const host = e.host;
              place(abs, () => fs.linkSync(host, abs));
              continue;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
              this.linkOk = false;
            }
          }
          // the same file in a layer written before (a rebuild of the same context): one more name, no new inode
          const meta = { mode: h.mode!, uid: h.uid!, gid: h.gid!, size: e.size, mtime: h.mtime! };
          const key = e.digest ? FileLinks.key(e.digest, meta) : undefined;
          if (key && this.links?.link(key, abs, meta)) continue;
          let fd = -1;
          place(abs, () => {
            fd = fs.openSync(abs, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
          });
          try {
            if (e.size > SMALL_FILE) {
              for await (const c of e.stream()) {
                const b = c as Buffer;
                let off = 0;
                while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
              }
            } else {
              const b = e.read();
              let off = 0;
              while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
            }
            if (!mine(h)) fs.fchownSync(fd, h.uid!, h.gid!);
            fs.fchmodSync(fd, h.mode!);
            fs.futimesSync(fd, h.mtime!, h.mtime!);
          } finally {
            fs.closeSync(fd);
          }
          if (key) this.links?.remember(key, abs);
        }
      }
    }
    // directory modes and mtimes last, deepest first, once nothing more is written into them
    const metas = [...dirMeta];
    for (let i = metas.length - 1; i >= 0; i--) {
      const [abs, h] = metas[i]!;
      fs.chmodSync(abs, h.mode ?? 0o755);
      fs.utimesSync(abs, h.mtime ?? new Date(), h.mtime ?? new Date());
    }
    // the upper dir itself is one inode too
    const usage = { size: 0, inodes: 1 };
    for (const p of placed.values()) {
      if (p.twin) continue;
      usage.inodes++;
      usage.size += p.size;
    }
    return usage;
  }
}

/** A small file in one synchronous call; a file that changed size since its stat must not make a short entry. */
function readSmall(file: string, size: number): Buffer {
  const b = size === 0 ? Buffer.alloc(0) : fs.readFileSync(file);
  if (b.length !== size) throw new BuildError(`${file}: file changed while it was copied`);
  return b;
}

export async function isDirScoped(fsys: ScopedFS, p: string): Promise<boolean> {
  try {
    return (await fsp.stat(fsys.hostPath(await fsys.resolve(p, true)))).isDirectory();
  } catch {
    return false;
  }
}

/** mkdir -p inside the scoped root; returns the host path. New directories get `owner` when given. */
export async function mkdirScoped(fsys: ScopedFS, p: string, owner: { uid: number; gid: number } | undefined): Promise<string> {
  const comps = await fsys.resolve(p, true);
  let cur = fsys.root;
  for (const c of comps) {
    cur = path.join(cur, c);
    try {
      await fsp.mkdir(cur, { mode: 0o755 });
      if (owner) await fsp.chown(cur, owner.uid, owner.gid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!(await fsp.stat(cur)).isDirectory()) throw new BuildError(`mkdir ${p}: not a directory`);
    }
  }
  return cur;
}

/** `--chown=user[:group]` looked up in the image's /etc/passwd and /etc/group (numbers pass through). */
export async function lookupOwner(root: string, spec: string): Promise<{ uid: number; gid: number }> {
  const [user, group] = spec.split(':') as [string, string | undefined];
  // the image's own /etc/passwd and /etc/group, read confined to its root (pkg/idtools); unreadable = absent
  const passwd = async () => parsePasswd((await readFileInRoot(root, '/etc/passwd').catch(() => undefined)) ?? '');
  const groups = async () => parseGroup((await readFileInRoot(root, '/etc/group').catch(() => undefined)) ?? '');
  let uid: number;
  let gid: number;
  if (/^\d+$/.test(user)) {
    uid = Number(user);
    gid = group === undefined ? uid : NaN;
  } else {
    const pw = (await passwd()).find((e) => e.name === user);
    if (!pw) throw new BuildError(`unable to convert uid/gid chown string to host mapping: can't find uid for user ${user}: no such user: ${user}`);
    uid = pw.uid;
    gid = pw.gid;
  }
  if (group !== undefined) {
    if (/^\d+$/.test(group)) gid = Number(group);
    else {
      const gr = (await groups()).find((e) => e.name === group);
      if (!gr) throw new BuildError(`unable to convert uid/gid chown string to host mapping: can't find gid for group ${group}: no such group: ${group}`);
      gid = gr.gid;
    }
  }
  return { uid, gid };
}

