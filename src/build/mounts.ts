/**
 * `RUN --mount=…` (BuildKit's run mounts), for the classic build container.
 *
 * Terms:
 * - a *run mount* is mounted into one RUN step's container only; nothing under its target ends up in the step's
 *   layer, and its content is not in the history.
 * - `type=cache`: a directory kept by the daemon across builds under `<data-root>/build/cache-mounts/`, keyed by
 *   `id` (default: the target); `sharing=shared` (default) lets parallel steps use it at once, `locked` makes them
 *   take turns, `private` gives a concurrent user a fresh directory. `builder prune` deletes these.
 * - `type=bind`: a path of the build context, or of another stage or image (`from=`), read-only unless `rw` (then
 *   the step writes to a throw-away copy).
 * - `type=tmpfs`: an empty tmpfs (`size=` bytes).
 * - `type=secret`: a secret the client sent with the build (`berth build --secret id=…,src=…`), as a file (default
 *   `/run/secrets/<id>`, mode 0400) or an environment variable (`env=`); it is never written under the data root.
 * - *mount stubs*: the empty files and directories runc creates in the container's writable layer as mount points;
 *   they are removed before the layer is committed (BuildKit does the same), so the image holds no trace of a mount.
 */
import { createHash } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '../errdefs/index.js';
import { hostKernel } from '../sys/kernel.js';
import { BuildError } from './errors.js';

export type RunMountType = 'bind' | 'cache' | 'tmpfs' | 'secret';

/** One parsed `--mount` flag. */
export interface RunMount {
  type: RunMountType;
  target: string;
  /** bind/cache: path in the source (default `/`); secret: unused. */
  source?: string;
  /** bind/cache: stage name, stage index or image. */
  from?: string;
  readonly: boolean;
  /** cache/secret id. */
  id?: string;
  sharing: 'shared' | 'private' | 'locked';
  mode?: number;
  uid?: number;
  gid?: number;
  /** secret: fail when the client did not send it (default false, as BuildKit). */
  required: boolean;
  /** tmpfs size in bytes. */
  size?: number;
  /** secret as an environment variable. */
  env?: string;
}

const bool = (v: string | undefined) => v === undefined || v === '' || v === 'true' || v === '1';

/** Parses one `--mount` value (`type=cache,target=/root/.cache,sharing=locked`). */
export function parseRunMount(value: string): RunMount {
  const kv = new Map<string, string | undefined>();
  for (const part of splitCsv(value)) {
    if (!part) continue;
    const i = part.indexOf('=');
    const k = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase();
    kv.set(k, i < 0 ? undefined : part.slice(i + 1));
  }
  const type = (kv.get('type') ?? 'bind') as RunMountType;
  if (!['bind', 'cache', 'tmpfs', 'secret'].includes(type)) {
    if ((type as string) === 'ssh') throw invalidArgument('RUN --mount=type=ssh is not supported by berth (no SSH agent forwarding over the classic build API)');
    throw invalidArgument(`unsupported mount type "${type}"`);
  }
  const m: RunMount = { type, target: '', readonly: type === 'bind', sharing: 'shared', required: false };
  for (const [k, v] of kv) {
    switch (k) {
      case 'type':
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = v ?? '';
        break;
      case 'source':
      case 'src':
        m.source = v;
        break;
      case 'from':
        m.from = v;
        break;
      case 'id':
        m.id = v;
        break;
      case 'ro':
      case 'readonly':
        m.readonly = bool(v);
        break;
      case 'rw':
      case 'readwrite':
        m.readonly = !bool(v);
        break;
      case 'sharing':
        if (v !== 'shared' && v !== 'private' && v !== 'locked') throw invalidArgument(`unsupported sharing value "${v}"`);
        m.sharing = v;
        break;
      case 'mode': {
        const n = parseInt(v ?? '', 8);
        if (Number.isNaN(n) || n > 0o7777) throw invalidArgument(`invalid value for mode: ${v}`);
        m.mode = n;
        break;
      }
      case 'uid':
      case 'gid': {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw invalidArgument(`invalid value for ${k}: ${v}`);
        m[k] = n;
        break;
      }
      case 'required':
        m.required = bool(v);
        break;
      case 'size': {
        const n = parseSize(v ?? '');
        if (n === undefined) throw invalidArgument(`invalid value for size: ${v}`);
        m.size = n;
        break;
      }
      case 'env':
        m.env = v;
        break;
      default:
        throw invalidArgument(`unexpected key '${k}' in '${value}'`);
    }
  }
  if (type === 'secret') {
    // id defaults to the target's base name, the target to /run/secrets/<id> (BuildKit's rules).
    m.id ??= m.target ? path.posix.basename(m.target) : undefined;
    if (!m.id) throw invalidArgument('secret ID missing from mount options');
    if (!m.target && !m.env) m.target = `/run/secrets/${m.id}`;
    m.readonly = true;
  }
  if (!m.target && type !== 'secret') throw invalidArgument('mount target is required');
  if (m.target && !m.target.startsWith('/')) m.target = '/' + m.target;
  if (type === 'cache') m.id ??= m.target;
  return m;
}

function splitCsv(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (const c of s) {
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function parseSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}

/** The part of a run mount that belongs in the step's cache key (never a secret's value). */
export function mountCacheText(m: RunMount): string {
  return JSON.stringify([m.type, m.target, m.source ?? '', m.from ?? '', m.readonly, m.id ?? '', m.mode ?? '', m.uid ?? '', m.gid ?? '', m.env ?? '']);
}

// ------------------------------------------------------------------------------------------------ cache mounts

/** The daemon's cache-mount directories: create, share/lock, measure, delete. */
export class CacheMounts {
  private readonly locks = new Map<string, Promise<void>>();
  private readonly inUse = new Map<string, number>();

  constructor(readonly root: string) {}

  dirOf(id: string): string {
    return path.join(this.root, createHash('sha256').update(id).digest('hex').slice(0, 32));
  }

  /**
   * Takes the cache directory for `m`; resolves with its host path and a release function. `seed` fills a newly made
   * directory (cache mounts with `from=`).
   */
  async acquire(m: RunMount, tmpDir: string): Promise<{ dir: string; release: () => void }> {
    const id = m.id!;
    const dir = this.dirOf(id);
    if (m.sharing === 'locked') {
      for (;;) {
        const held = this.locks.get(id);
        if (!held) break;
        await held;
      }
      let unlock!: () => void;
      this.locks.set(id, new Promise<void>((r) => (unlock = r)));
      await this.ensure(dir, m, id);
      return {
        dir,
        release: () => {
          this.locks.delete(id);
          unlock();
        },
      };
    }
    if (m.sharing === 'private' && (this.inUse.get(id) ?? 0) > 0) {
      const priv = fs.mkdtempSync(path.join(tmpDir, 'cache-private-'));
      this.applyOwner(priv, m);
      return { dir: priv, release: () => fs.rmSync(priv, { recursive: true, force: true }) };
    }
    await this.ensure(dir, m, id);
    this.inUse.set(id, (this.inUse.get(id) ?? 0) + 1);
    return { dir, release: () => this.inUse.set(id, (this.inUse.get(id) ?? 1) - 1) };
  }

  private async ensure(dir: string, m: RunMount, id: string): Promise<void> {
    try {
      await fsp.mkdir(dir, { recursive: false, mode: 0o755 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return this.touch(dir);
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
      await fsp.mkdir(dir, { mode: 0o755 });
    }
    this.applyOwner(dir, m);
    await fsp.writeFile(`${dir}.json`, JSON.stringify({ id, created: new Date().toISOString() }));
    await this.touch(dir);
  }

  private applyOwner(dir: string, m: RunMount): void {
    if (m.mode !== undefined) fs.chmodSync(dir, m.mode);
    if (m.uid !== undefined || m.gid !== undefined) fs.chownSync(dir, m.uid ?? 0, m.gid ?? 0);
  }

  private async touch(dir: string): Promise<void> {
    const now = new Date();
    await fsp.utimes(`${dir}.json`, now, now).catch(() => {});
  }

  /** Every cache mount: id, host dir, size in bytes, creation and last use. */
  async list(): Promise<Array<{ id: string; dir: string; size: number; created: Date; lastUsed: Date; inUse: boolean }>> {
    let names: string[];
    try {
      names = await fsp.readdir(this.root);
    } catch {
      return [];
    }
    const out = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      const dir = path.join(this.root, n.slice(0, -5));
      try {
        const meta = JSON.parse(await fsp.readFile(path.join(this.root, n), 'utf8')) as { id: string; created: string };
        const st = await fsp.stat(path.join(this.root, n));
        out.push({ id: meta.id, dir, size: await duBytes(dir), created: new Date(meta.created), lastUsed: st.mtime, inUse: (this.inUse.get(meta.id) ?? 0) > 0 || this.locks.has(meta.id) });
      } catch {
        /* half-written entry */
      }
    }
    return out;
  }

  /** Deletes one cache mount (not while a step uses it). */
  async remove(dir: string): Promise<void> {
    await fsp.rm(`${dir}.json`, { force: true });
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Disk usage of a tree (allocated bytes, as `du`), not following symlinks. */
export async function duBytes(p: string): Promise<number> {
  let st: fs.Stats;
  try {
    st = await fsp.lstat(p);
  } catch {
    return 0;
  }
  let n = st.blocks * 512;
  if (st.isDirectory()) for (const e of await fsp.readdir(p)) n += await duBytes(path.join(p, e));
  return n;
}

// ------------------------------------------------------------------------------------------------ stubs

/**
 * Removes the mount stubs runc left in a container's writable dir (`upper`): walking up from each target, an empty
 * file or empty directory goes; an opaque directory (one that hides the lower layers) or anything with content stays.
 * A directory copied up only because a stub was created in it is unchanged once the stub is gone, so dropping it from
 * the upper dir is exact.
 */
export async function removeMountStubs(upper: string, targets: string[]): Promise<void> {
  for (const t of targets) {
    let rel = path.posix.normalize(t).replace(/^\/+/, '');
    while (rel && rel !== '.') {
      const host = path.join(upper, rel);
      let st: fs.Stats;
      try {
        st = await fsp.lstat(host);
      } catch {
        break;
      }
      if (st.isDirectory()) {
        if ((await fsp.readdir(host)).length) break;
        if (isOpaque(host)) break;
        await fsp.rmdir(host);
      } else if (st.isFile() && st.size === 0) {
        await fsp.rm(host);
      } else break;
      rel = path.posix.dirname(rel);
    }
  }
}

/** overlayfs marks a directory that replaces the lower one with trusted.overlay.opaque=y. */
function isOpaque(dir: string): boolean {
  try {
    return hostKernel.lgetxattr(dir, 'trusted.overlay.opaque')?.toString() === 'y';
  } catch {
    return false;
  }
}

/** Writes a secret for one step: a 0400 file in a private temp dir (tmpfs-backed when possible). */
export async function secretFile(dir: string, m: RunMount, value: Buffer): Promise<string> {
  const file = path.join(dir, `secret-${createHash('sha256').update(m.id!).digest('hex').slice(0, 16)}-${process.hrtime.bigint()}`);
  await fsp.writeFile(file, value, { mode: m.mode ?? 0o400 });
  await fsp.chmod(file, m.mode ?? 0o400);
  if (m.uid !== undefined || m.gid !== undefined) await fsp.chown(file, m.uid ?? 0, m.gid ?? 0);
  return file;
}

export function secretMissing(id: string): BuildError {
  return new BuildError(`secret ${id}: not found`);
}
