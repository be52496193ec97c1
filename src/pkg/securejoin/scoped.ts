/**
 * A container's filesystem view on the host: its root plus mounts (volumes, binds, runc's /etc files) grafted at
 * their destinations. Runc mounts those inside the container's mount namespace only, so the host rootfs does not show
 * them; a container path under a mount point maps to the mount's host source instead. Paths resolve with securejoin's
 * rules over that view, so a symlink inside a volume is read in the container's scope, never the host's.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '../../errdefs/index.js';
import { constants as fsc } from 'node:fs';
import { openBeneath, resolveWith, SymlinkLoopError, type Lookup } from './securejoin.js';

/** A mount point inside the container mapped to a host path. */
export interface MappedMount {
  /** Absolute container path components. */
  dest: string[];
  source: string;
  rw: boolean;
}

/** moby's FollowSymlinkInScope limit, which `docker cp` and the classic builder have always had (not Linux's 40). */
const SCOPED_MAX_SYMLINKS = 255;

export class ScopedFS {
  private readonly mounts: MappedMount[];
  constructor(
    readonly root: string,
    mounts: MappedMount[] = [],
  ) {
    // Longest destination first, so nested mounts win.
    this.mounts = [...mounts].sort((a, b) => b.dest.length - a.dest.length);
  }

  /** The mount a container path lies in (undefined: the rootfs). */
  mountOf(comps: string[]): MappedMount | undefined {
    return this.mounts.find((m) => m.dest.length <= comps.length && m.dest.every((c, i) => comps[i] === c));
  }

  /** The host path of symlink-free container path components. */
  hostPath(comps: string[]): string {
    const m = this.mountOf(comps);
    if (m) return comps.length === m.dest.length ? m.source : path.join(m.source, ...comps.slice(m.dest.length));
    return comps.length ? path.join(this.root, ...comps) : this.root;
  }

  private isMountPoint(comps: string[]): boolean {
    return this.mounts.some((m) => m.dest.length === comps.length && m.dest.every((c, i) => comps[i] === c));
  }

  /** Mount points are directories whatever the rootfs has underneath; everything else is lstat'ed where it maps. */
  private readonly lookup = async (comps: string[]): Promise<Lookup> => {
    if (this.isMountPoint(comps)) return { kind: 'present' };
    const host = this.hostPath(comps);
    try {
      const st = await fsp.lstat(host);
      if (!st.isSymbolicLink()) return { kind: 'present' };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
      throw e;
    }
    return { kind: 'symlink', target: await fsp.readlink(host) };
  };

  /**
   * Resolves a container path in scope, returning its symlink-free components. The last component is followed only
   * when `followFinal` (Docker's ResolvePath: a trailing `/` or `/.`). Missing components are kept lexically (the
   * caller's lstat reports them).
   */
  async resolve(p: string, followFinal: boolean): Promise<string[]> {
    try {
      return (await resolveWith(p, this.lookup, { followFinal, maxSymlinks: SCOPED_MAX_SYMLINKS })).components;
    } catch (e) {
      if (e instanceof SymlinkLoopError) throw invalidArgument(`too many links in ${p}`);
      throw e;
    }
  }

  /** Reads a container file (symlinks resolved in scope) with openBeneath's race checks against its mount or root. */
  async readFile(p: string): Promise<string> {
    const comps = await this.resolve(p, true);
    const fh = await openBeneath(this.mountOf(comps)?.source ?? this.root, this.hostPath(comps), fsc.O_RDONLY | fsc.O_NONBLOCK);
    try {
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  }
}
