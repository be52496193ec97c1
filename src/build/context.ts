/**
 * The build context on the daemon side: the extracted context directory, `.dockerignore` (Docker's pattern rules),
 * COPY/ADD sources (wildcards, symlinks followed in the context's scope), their content checksum (the cache key part:
 * names, types, modes, sizes and bytes, never mtimes), and writing them into a layer (tar with owner and mode).
 */
import { createHash } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { tarFromEntries } from '../pkg/tar/writer.js';
import type { TarHeader } from '../pkg/tar/header.js';
import { ScopedFS } from '../pkg/securejoin/scoped.js';
import { parseGroup, parsePasswd, readFileInRoot } from '../pkg/idtools/passwd.js';
import { BuildError } from './errors.js';
import { hostKernel as kernel } from '../sys/kernel.js';

/** Files up to this size are read in one call rather than streamed. */
const SMALL_FILE = 64 * 1024;

/** A source entry for COPY: a host path and its name relative to what was named in the instruction. */
export interface SourceEntry {
  host: string;
  rel: string;
  st: fs.Stats;
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

export async function readContextFile(ctxDir: string, name: string): Promise<string> {
  const fsys = new ScopedFS(ctxDir);
  const comps = await fsys.resolve('/' + name, true);
  return fsp.readFile(fsys.hostPath(comps), 'utf8');
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
 * Removes what the ignore file excludes from the extracted context (the CLI usually did this already):
 * `<Dockerfile>.dockerignore` when it exists, else `.dockerignore`.
 */
export async function applyDockerignore(ctxDir: string, dockerfile = 'Dockerfile'): Promise<void> {
  let text: string | undefined;
  for (const f of [`${dockerfile}.dockerignore`, '.dockerignore']) {
    try {
      text = await readContextFile(ctxDir, f);
      break;
    } catch {
      /* next */
    }
  }
  if (text === undefined) return;
  const rules = parseDockerignore(text);
  if (!rules.length) return;
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fsp.readdir(path.join(ctxDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (isIgnored(rules, r)) {
        // A later `!` rule may re-include something below an ignored directory: keep walking those.
        if (e.isDirectory() && rules.some((x) => x.negate)) await walk(r);
        else await fsp.rm(path.join(ctxDir, r), { recursive: true, force: true });
      } else if (e.isDirectory()) await walk(r);
    }
  };
  await walk('');
}

const hasWildcard = (s: string) => /[*?[]/.test(s);

/** Resolves one COPY/ADD source in `fsys` (wildcards match over the tree). */
export async function collectSources(fsys: ScopedFS, src: string, addArchives: boolean): Promise<Source[]> {
  const clean = path.posix.normalize('/' + src);
  const hosts: Array<{ host: string; base: string; rel: string }> = [];
  if (hasWildcard(clean)) {
    const re = ignorePatternRegex(clean);
    const walk = async (rel: string): Promise<void> => {
      let list: fs.Dirent[];
      try {
        list = await fsp.readdir(path.join(fsys.root, rel), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of list) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        // A matched symlink is followed in the context's scope (moby's FollowSymlinkInScope), never on the host.
        if (re.test(r)) hosts.push({ host: fsys.hostPath(await fsys.resolve('/' + r, true)), base: e.name, rel: r });
        else if (e.isDirectory()) await walk(r);
      }
    };
    await walk('');
    if (!hosts.length) throw new BuildError(`COPY failed: no source files were specified`);
  } else {
    const comps = await fsys.resolve(clean, true);
    const host = fsys.hostPath(comps);
    try {
      await fsp.lstat(host);
    } catch {
      throw new BuildError(`COPY failed: file not found in build context or excluded by .dockerignore: stat ${src.replace(/^\/+/, '')}: file does not exist`);
    }
    hosts.push({ host, base: path.posix.basename(clean) || '/', rel: clean.replace(/^\/+/, '') });
  }
  const out: Source[] = [];
  for (const h of hosts) {
    const st = await fsp.stat(h.host);
    if (st.isDirectory()) {
      const entries: SourceEntry[] = [];
      // synchronous lstat: one round trip per entry of a large context costs more than the call
      const walk = async (dir: string, rel: string): Promise<void> => {
        const names = (await fsp.readdir(dir)).sort();
        for (const n of names) {
          const p = path.join(dir, n);
          const r = rel ? `${rel}/${n}` : n;
          const s = fs.lstatSync(p);
          entries.push({ host: p, rel: r, st: s });
          if (s.isDirectory()) await walk(p, r);
        }
      };
      await walk(h.host, '');
      out.push({ base: h.base, isDir: true, entries, rel: h.rel });
    } else {
      const archive = addArchives && st.isFile() && (await isTarArchive(h.host));
      out.push({ base: h.base, isDir: false, entries: [{ host: h.host, rel: '', st }], archive, rel: h.rel });
    }
  }
  return out;
}

/** A local file ADD extracts: a plain tar or a gzip/zstd-compressed one. */
async function isTarArchive(file: string): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const isUstar = (b: Buffer) => b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
  if (isUstar(head)) return true;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const inner = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      let n = 0;
      const gz = createGunzip();
      const rs = fs.createReadStream(file);
      const done = () => {
        rs.destroy();
        gz.destroy();
        resolve(Buffer.concat(chunks));
      };
      gz.on('data', (c: Buffer) => {
        chunks.push(c);
        n += c.length;
        if (n >= 512) done();
      });
      gz.on('end', done);
      gz.on('error', done);
      rs.pipe(gz);
    });
    return isUstar(inner);
  }
  return false;
}

/**
 * Context files as the extraction wrote them, by host path: each small file's digest (so the COPY cache key does not
 * read the context again) and, up to a total of CONTEXT_MEMORY bytes, its bytes (so a COPY layer's tar does not read
 * them again either), and whether its tar entry had xattrs. An entry counts only while the file's size, mtime and
 * inode are what they were.
 */
export class ContextFiles {
  private readonly m = new Map<string, { size: number; mtimeMs: number; ino: number; digest: Buffer; data?: Buffer; xattrs: boolean }>();
  private kept = 0;
  set(host: string, st: { size: number; mtimeMs: number; ino: number }, data: Buffer, xattrs: boolean): void {
    const keep = this.kept + data.length <= CONTEXT_MEMORY;
    if (keep) this.kept += data.length;
    this.m.set(host, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, digest: createHash('sha256').update(data).digest(), data: keep ? data : undefined, xattrs });
  }
  get(host: string, st: fs.Stats): { digest: Buffer; data?: Buffer; xattrs: boolean } | undefined {
    const r = this.m.get(host);
    return r && r.size === st.size && r.mtimeMs === st.mtimeMs && r.ino === st.ino ? r : undefined;
  }
}

/** Bytes of small context files kept in memory for the build (see ContextFiles). */
const CONTEXT_MEMORY = 64 << 20;

export async function hashSources(sources: Source[], known?: ContextFiles): Promise<string> {
  const h = createHash('sha256');
  for (const s of sources) {
    h.update(`source ${s.base} ${s.isDir} ${!!s.archive}\n`);
    for (const e of s.entries) {
      const type = e.st.isDirectory() ? 'd' : e.st.isSymbolicLink() ? 'l' : e.st.isFile() ? 'f' : 'o';
      h.update(`${e.rel}\0${type}\0${e.st.mode & 0o7777}\0${e.st.size}\0`);
      if (type === 'l') h.update(fs.readlinkSync(e.host));
      if (type === 'f') {
        // a file's bytes enter as their own digest, so a digest noted at extraction stands for them
        const d = known?.get(e.host, e.st)?.digest;
        if (d) h.update(d);
        else if (e.st.size <= SMALL_FILE) h.update(createHash('sha256').update(readSmall(e.host, e.st.size)).digest());
        else {
          const fh = createHash('sha256');
          for await (const chunk of fs.createReadStream(e.host)) fh.update(chunk as Buffer);
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
 * read (or taken from `files`) with synchronous calls: for contexts of many small files the thread-pool round trip of
 * an asynchronous call costs far more than the call. A regular file whose owner, mode and xattrs are already what the
 * layer wants is hard-linked rather than copied (the context is private to the build and never written, layers are
 * never written either).
 */
export class LayerPlan {
  constructor(
    readonly dirs: DirHeader[],
    readonly parts: Array<{ entries: SourceEntry[]; name: (rel: string) => string }>,
    readonly owner: { uid: number; gid: number },
    readonly chmod: number | undefined,
    private readonly files?: ContextFiles,
  ) {}

  /** Hard links from the context into a snapshot work while both are on one filesystem (both are below the data root). */
  private linkOk = true;

  private header(e: SourceEntry, name: string): DirHeader {
    return { name, mode: this.chmod ?? e.st.mode & 0o7777, uid: this.owner.uid, gid: this.owner.gid, mtime: e.st.mtime };
  }

  private data(e: SourceEntry): Buffer {
    return this.files?.get(e.host, e.st)?.data ?? readSmall(e.host, e.st.size);
  }

  tar(): Readable {
    const self = this;
    async function* gen() {
      for (const d of self.dirs) yield { header: d };
      for (const { entries, name } of self.parts) {
        for (const e of entries) {
          const header = self.header(e, name(e.rel));
          const st = e.st;
          if (st.isDirectory()) yield { header: { ...header, type: 'dir' as const } };
          else if (st.isSymbolicLink()) yield { header: { ...header, type: 'symlink' as const, linkname: fs.readlinkSync(e.host) } };
          else if (st.isFile()) {
            if (st.size > SMALL_FILE) yield { header: { ...header, type: 'file' as const, size: st.size }, body: fs.createReadStream(e.host) as AsyncIterable<Buffer> };
            else {
              const body = self.data(e);
              yield { header: { ...header, type: 'file' as const, size: body.length }, body };
            }
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
    return this.parts.length === 1 || !this.parts.some((p) => p.entries.some((e) => e.st.isSymbolicLink()));
  }

  /** Writes the layer's tree into `upper` (an empty overlay upper dir), as applying `tar()` there would. */
  async materialize(upper: string): Promise<void> {
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
    };
    for (const d of this.dirs) mkdir(path.join(upper, d.name), d);
    let n = 0;
    for (const { entries, name } of this.parts) {
      for (const e of entries) {
        // a breath for the event loop now and then: each entry is a few synchronous calls
        if (++n % 256 === 0) await new Promise((r) => setImmediate(r));
        const h = this.header(e, name(e.rel));
        const abs = path.join(upper, h.name);
        const st = e.st;
        if (st.isDirectory()) mkdir(abs, h);
        else if (st.isSymbolicLink()) {
          const target = fs.readlinkSync(e.host);
          place(abs, () => fs.symlinkSync(target, abs));
          if (!mine(h)) fs.lchownSync(abs, h.uid!, h.gid!);
          fs.lutimesSync(abs, h.mtime!, h.mtime!);
        } else if (st.isFile()) {
          const noted = this.files?.get(e.host, st);
          const xattrs = noted ? noted.xattrs : kernel.llistxattr(e.host).length > 0;
          if (sameOwner(st.uid, st.gid) && h.mode === (st.mode & 0o7777) && !xattrs && this.linkOk) {
            try {
              place(abs, () => fs.linkSync(e.host, abs));
              continue;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
              this.linkOk = false;
            }
          }
          let fd = -1;
          place(abs, () => {
            fd = fs.openSync(abs, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
          });
          try {
            if (st.size > SMALL_FILE) {
              for await (const c of fs.createReadStream(e.host)) {
                const b = c as Buffer;
                let off = 0;
                while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
              }
            } else {
              const b = this.data(e);
              let off = 0;
              while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
            }
            if (!mine(h)) fs.fchownSync(fd, h.uid!, h.gid!);
            fs.fchmodSync(fd, h.mode!);
            fs.futimesSync(fd, h.mtime!, h.mtime!);
          } finally {
            fs.closeSync(fd);
          }
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

