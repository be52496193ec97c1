/**
 * Container filesystem access for `docker cp` (archive GET/HEAD/PUT), `docker export` and `docker diff`.
 *
 * Terms:
 * - *container root*: the container's root filesystem as seen on the host: its one mount (rootfs.ts), held by the
 *   running task, or taken for the duration of the operation when the container is stopped.
 * - *container mounts*: volumes and binds (rec.Mounts) and, while running, the /etc/hosts, /etc/hostname and
 *   /etc/resolv.conf files. runc mounts them inside the container's mount namespace only, so the host rootfs does not
 *   show them; paths under a mount point are mapped to the mount's host Source instead.
 * - *resolving a path in scope*: pkg/securejoin's ScopedFS over the container root and mounts (absolute symlink
 *   targets start again at the container's `/`, `..` stops at `/`), so no path ever leaves the container root or its
 *   mounts. The last component is followed only when the path ends in `/` or `/.` (Docker's ResolvePath).
 */
import type { PathStat } from '../../../api/types/container.js';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ContainerRecord } from '../../../core/containers/container.js';
import type { Snapshotter } from '../../../core/snapshots/types.js';
import { EngineError, invalidArgument, notFound, notImplemented } from '../../../errdefs/index.js';
import { applyLayer } from '../../../pkg/archive/apply-layer.js';
import { decompress } from '../../../pkg/archive/compression.js';
import { changes as layerChanges, tarDirectory, type Change } from '../../../pkg/archive/diff-layer.js';
import { readTar } from '../../../pkg/tar/reader.js';
import { tarFromEntries } from '../../../pkg/tar/writer.js';
import { ScopedFS, type MappedMount } from '../../../pkg/securejoin/scoped.js';
import type { RootfsLease, RootfsOwner } from './rootfs.js';
import type { ContainerStore } from './store.js';

export { ScopedFS, type MappedMount };

/** Docker's `ContainerPathStat`, sent base64-encoded in `X-Docker-Container-Path-Stat`. */
/** `X-Docker-Container-Path-Stat` (mode: Go os.FileMode bits); the wire type lives in src/api/types. */
export type { PathStat };

export interface ContainerFilesOptions {
  store: ContainerStore;
  /** For `docker diff`: the snapshot's upper directory. */
  snapshots: Pick<Snapshotter, 'name' | 'mounts' | 'writableDir'>;
  rootfs: Pick<RootfsOwner, 'acquire'>;
}

/** Go's os.FileMode type bits. */
export const GoMode = {
  Dir: 2 ** 31,
  Symlink: 2 ** 27,
  Device: 2 ** 26,
  NamedPipe: 2 ** 25,
  Socket: 2 ** 24,
  Setuid: 2 ** 23,
  Setgid: 2 ** 22,
  CharDevice: 2 ** 21,
  Sticky: 2 ** 20,
} as const;

/** Converts a Unix st_mode into Go's os.FileMode (as Docker's stat header carries it). */
export function goFileMode(st: { mode: number; isDirectory(): boolean; isSymbolicLink(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean; isSocket(): boolean }): number {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m += GoMode.Dir;
  else if (st.isSymbolicLink()) m += GoMode.Symlink;
  else if (st.isCharacterDevice()) m += GoMode.Device + GoMode.CharDevice;
  else if (st.isBlockDevice()) m += GoMode.Device;
  else if (st.isFIFO()) m += GoMode.NamedPipe;
  else if (st.isSocket()) m += GoMode.Socket;
  if (st.mode & 0o4000) m += GoMode.Setuid;
  if (st.mode & 0o2000) m += GoMode.Setgid;
  if (st.mode & 0o1000) m += GoMode.Sticky;
  return m;
}

/** Go's RFC3339Nano in UTC (trailing zeros of the fraction dropped). */
export function rfc3339Nano(sec: bigint, nsec: bigint): string {
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  const frac = nsec === 0n ? '' : `.${nsec.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${frac}Z`;
}

function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** How `docker cp` names a path: Docker keeps a trailing `/.` or `/` (they mean "the directory's contents"). */
export function archiveName(p: string): { clean: string; base: string; followFinal: boolean } {
  const abs = `/${p}`;
  const trailingDot = /\/\.$/.test(abs) || abs === '/.';
  const trailingSep = abs.endsWith('/');
  const clean = '/' + splitPath(abs).join('/');
  let base = clean === '/' ? '/' : clean.slice(clean.lastIndexOf('/') + 1);
  if (trailingDot) base = '.';
  return { clean, base, followFinal: trailingDot || trailingSep };
}

/** Paths `docker diff` never shows: runc's mount points for Docker's /etc files and the kernel filesystems. */
const HIDDEN_CHANGES = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/dev', '/proc', '/sys']);

/**
 * Drops runc's mount-point artefacts from a change list: the hidden paths, anything below /dev, /proc and /sys,
 * and a directory marked changed only because a hidden entry was created in it.
 */
export function filterChanges(list: Change[]): Change[] {
  const hidden = (p: string) => HIDDEN_CHANGES.has(p) || /^\/(dev|proc|sys)\//.test(p);
  const kept = list.filter((c) => !hidden(c.Path));
  const hiddenParents = new Set(list.filter((c) => hidden(c.Path) && c.Kind === 1).map((c) => c.Path.slice(0, c.Path.lastIndexOf('/'))));
  return kept.filter((c) => {
    if (c.Kind !== 0 || !hiddenParents.has(c.Path)) return true;
    // keep the parent only if something visible below it changed
    return kept.some((o) => o.Path.startsWith(`${c.Path}/`));
  });
}

export class ContainerFiles {
  constructor(private readonly o: ContainerFilesOptions) {}

  /** The container root on the host (the one rootfs mount, see rootfs.ts) and its release. */
  acquireRoot(rec: ContainerRecord): Promise<RootfsLease> {
    return this.o.rootfs.acquire(rec.Id, rec.Berth.snapshotKey);
  }

  /** The container's mounts as host paths. */
  mappedMounts(rec: ContainerRecord): MappedMount[] {
    const out: MappedMount[] = [];
    if (rec.State.Running) {
      const ro = !!rec.HostConfig.ReadonlyRootfs;
      for (const [dest, src] of [
        ['/etc/resolv.conf', rec.ResolvConfPath],
        ['/etc/hostname', rec.HostnamePath],
        ['/etc/hosts', rec.HostsPath],
      ] as const) {
        if (src && fs.existsSync(src)) out.push({ dest: splitPath(dest), source: src, rw: !ro });
      }
    }
    for (const m of rec.Mounts ?? []) {
      if (!m.Source || (m.Type !== 'bind' && m.Type !== 'volume')) continue;
      out.push({ dest: splitPath(m.Destination), source: m.Source, rw: m.RW !== false });
    }
    return out;
  }

  private async scoped<T>(rec: ContainerRecord, fn: (fsys: ScopedFS, release: () => void) => Promise<T>, keep = false): Promise<T> {
    const { root, release } = await this.acquireRoot(rec);
    try {
      return await fn(new ScopedFS(root, this.mappedMounts(rec)), release);
    } finally {
      if (!keep) release();
    }
  }

  private async statIn(fsys: ScopedFS, ref: string, p: string): Promise<{ stat: PathStat; host: string; comps: string[]; isDir: boolean }> {
    const { clean, base, followFinal } = archiveName(p);
    const comps = await fsys.resolve(clean, followFinal);
    const host = fsys.hostPath(comps);
    let st: fs.BigIntStats;
    try {
      st = await fsp.lstat(followFinal ? `${host}/` : host, { bigint: true });
    } catch (e) {
      if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') throw notFound(`Could not find the file ${p} in container ${ref}`);
      throw e;
    }
    let linkTarget = '';
    if (st.isSymbolicLink()) linkTarget = '/' + (await fsys.resolve(clean, true)).join('/');
    const stat: PathStat = {
      name: base,
      size: Number(st.size),
      mode: goFileMode({
        mode: Number(st.mode),
        isDirectory: () => st.isDirectory(),
        isSymbolicLink: () => st.isSymbolicLink(),
        isCharacterDevice: () => st.isCharacterDevice(),
        isBlockDevice: () => st.isBlockDevice(),
        isFIFO: () => st.isFIFO(),
        isSocket: () => st.isSocket(),
      }),
      mtime: rfc3339Nano(st.mtimeNs / 1_000_000_000n, st.mtimeNs % 1_000_000_000n),
      linkTarget,
    };
    return { stat, host, comps, isDir: st.isDirectory() };
  }

  /** HEAD /containers/{id}/archive. */
  async statPath(ref: string, p: string): Promise<PathStat> {
    if (!p) throw invalidArgument('Path cannot be empty');
    const rec = this.o.store.get(ref);
    return this.scoped(rec, async (fsys) => (await this.statIn(fsys, ref, p)).stat);
  }

  /** GET /containers/{id}/archive: the stat and a tar of the path (named by its base name, Docker's rebase). */
  async archivePath(ref: string, p: string, signal?: AbortSignal): Promise<{ stat: PathStat; tar: Readable }> {
    if (!p) throw invalidArgument('Path cannot be empty');
    const rec = this.o.store.get(ref);
    return this.scoped(
      rec,
      async (fsys, release) => {
        try {
          const { stat, host } = await this.statIn(fsys, ref, p);
          const tar = tarDirectory(host, { rebaseName: stat.name === '/' ? '.' : stat.name, signal });
          tar.once('close', release);
          tar.once('end', release);
          tar.once('error', release);
          return { stat, tar };
        } catch (e) {
          release();
          throw e;
        }
      },
      true,
    );
  }

  /** PUT /containers/{id}/archive: extracts a (possibly compressed) tar into the directory at `p`. */
  async extractToDir(
    ref: string,
    p: string,
    input: Readable,
    opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    if (!p) throw invalidArgument('Path cannot be empty');
    const rec = this.o.store.get(ref);
    await this.scoped(rec, async (fsys) => {
      const clean = '/' + splitPath(p).join('/');
      const comps = await fsys.resolve(clean, true);
      const mount = fsys.mountOf(comps);
      if (mount && !mount.rw) throw new EngineError('Forbidden', 'mounted volume is marked read-only');
      if (!mount && rec.HostConfig.ReadonlyRootfs) throw new EngineError('Forbidden', 'container rootfs is marked read-only');
      const host = fsys.hostPath(comps);
      let st: fs.Stats;
      try {
        st = await fsp.stat(host);
      } catch (e) {
        if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') throw notFound(`Could not find the file ${p} in container ${ref}`);
        throw e;
      }
      if (!st.isDirectory()) throw invalidArgument('extraction point is not a directory');
      let owner: { uid: number; gid: number } | undefined;
      if (opts.copyUIDGID && rec.Config.User) owner = await lookupUser(fsys, rec.Config.User);
      let stream: Readable = input;
      let failure: () => unknown = () => undefined;
      if (opts.noOverwriteDirNonDir || owner) ({ stream, failure } = checkedTar(decompress(input), host, { noOverwriteDirNonDir: !!opts.noOverwriteDirNonDir, owner }));
      await applyLayer(stream, host, { whiteouts: 'none', signal: opts.signal }).catch((e: Error) => {
        throw failure() ?? (e instanceof EngineError ? e : invalidArgument(e.message, e));
      });
      if (failure()) throw failure();
    });
  }

  /** GET /containers/{id}/export: a tar of the whole root filesystem (without volumes, as Docker's). */
  async export(ref: string, signal?: AbortSignal): Promise<Readable> {
    const rec = this.o.store.get(ref);
    const { root, release } = await this.acquireRoot(rec);
    const tar = tarDirectory(root, { signal });
    tar.once('close', release);
    tar.once('end', release);
    tar.once('error', release);
    return tar;
  }

  /** GET /containers/{id}/changes: the writable layer against the image's layers. */
  async changes(ref: string): Promise<Change[]> {
    const rec = this.o.store.get(ref);
    const mounts = await this.o.snapshots.mounts(rec.Berth.snapshotKey);
    const ov = mounts.find((m) => m.type === 'overlay');
    if (!ov) {
      if (this.o.snapshots.name === 'overlayfs') return []; // no parent layers: nothing to compare with
      throw notImplemented(`changes are not supported by the ${this.o.snapshots.name} snapshotter`);
    }
    const opt = (k: string) => ov.options.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
    const upper = opt('upperdir') ?? (await this.o.snapshots.writableDir(rec.Berth.snapshotKey));
    const lowers = (opt('lowerdir') ?? '').split(':').filter(Boolean);
    return filterChanges(await layerChanges(upper, lowers));
  }
}

/** Looks a `user[:group]` up in the container's /etc/passwd and /etc/group (numeric ids pass through). */
async function lookupUser(fsys: ScopedFS, spec: string): Promise<{ uid: number; gid: number }> {
  const [user, group] = spec.split(':') as [string, string | undefined];
  const read = async (file: string) => {
    try {
      return (await fsys.readFile(file)).split('\n').map((l) => l.split(':'));
    } catch {
      return [];
    }
  };
  let uid: number | undefined;
  let gid: number | undefined;
  if (/^\d+$/.test(user)) uid = Number(user);
  const passwd = await read('/etc/passwd');
  const pw = passwd.find((f) => (uid !== undefined ? Number(f[2]) === uid : f[0] === user));
  if (uid === undefined) {
    if (!pw) throw notFound(`unable to find user ${user}: no matching entries in passwd file`);
    uid = Number(pw[2]);
  }
  gid = pw ? Number(pw[3]) : 0;
  if (group) {
    if (/^\d+$/.test(group)) gid = Number(group);
    else {
      const gr = (await read('/etc/group')).find((f) => f[0] === group);
      if (!gr) throw notFound(`unable to find group ${group}: no matching entries in group file`);
      gid = Number(gr[2]);
    }
  }
  return { uid, gid };
}

/**
 * Re-streams a tar, enforcing Docker's `noOverwriteDirNonDir` (an existing directory is never replaced by a
 * non-directory, nor the reverse) and optionally rewriting ownership. A violation ends the stream cleanly (what was
 * extracted before stays, as with Docker) and is reported by `failure()` once the consumer is done.
 */
export function checkedTar(
  input: Readable,
  dest: string,
  o: { noOverwriteDirNonDir: boolean; owner?: { uid: number; gid: number } },
): { stream: Readable; failure: () => unknown } {
  let failure: unknown;
  async function* entries() {
    try {
      for await (const { header, body } of readTar(input)) {
        if (o.noOverwriteDirNonDir) {
          const rel = splitPath(header.name);
          let st: fs.Stats | undefined;
          if (rel.length) st = await fsp.lstat(path.join(dest, ...rel)).catch(() => undefined);
          if (st?.isDirectory() && header.type !== 'dir') {
            failure = invalidArgument(`cannot overwrite directory "/${rel.join('/')}" with non-directory "${header.name}"`);
            return;
          }
          if (st && !st.isDirectory() && header.type === 'dir') {
            failure = invalidArgument(`cannot overwrite non-directory "/${rel.join('/')}" with directory "${header.name}"`);
            return;
          }
        }
        const h = o.owner ? { ...header, uid: o.owner.uid, gid: o.owner.gid, uname: '', gname: '' } : header;
        yield { header: h, body: h.type === 'file' ? body : undefined };
      }
    } catch (e) {
      failure = e instanceof EngineError ? e : invalidArgument((e as Error).message, e);
    }
  }
  return { stream: tarFromEntries(entries()), failure: () => failure };
}
