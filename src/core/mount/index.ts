/**
 * Performs mounts described as data (see types.ts) through the kernel seam (core/kernel `Kernel`; the host's
 * `hostKernel` unless a caller passes another, as unit tests pass a `RecordingKernel`).
 *
 * Overlay mount data is limited to one page (4096 bytes). When the lowerdir list would exceed it, `mountAll` mounts
 * with lowerdir paths relative to their common parent directory, changing the process's working directory around the
 * synchronous mount(2) call. berthd's JavaScript is single-threaded and never uses relative paths, so nothing else
 * observes the temporary working directory; the directory is restored before the call returns.
 */
import path from 'node:path';
import { MountFlags, UnmountFlags, type Kernel } from '../kernel/index.js';
import { hostKernel } from '../../sys/kernel.js';
import type { Mount } from './types.js';

export type { Mount } from './types.js';

const PAGE_SIZE = 4096;

const flagOptions: Record<string, { set?: number; clear?: number }> = {
  ro: { set: MountFlags.RDONLY },
  rw: { clear: MountFlags.RDONLY },
  nosuid: { set: MountFlags.NOSUID },
  nodev: { set: MountFlags.NODEV },
  noexec: { set: MountFlags.NOEXEC },
  bind: { set: MountFlags.BIND },
  rbind: { set: MountFlags.BIND | MountFlags.REC },
  suid: {},
  dev: {},
  exec: {},
  defaults: {},
};

function parseOptions(options: string[]): { flags: number; data: string[] } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    const f = flagOptions[o];
    if (f) {
      if (f.set) flags |= f.set;
      if (f.clear) flags &= ~f.clear;
    } else data.push(o);
  }
  return { flags, data };
}

/** Rewrites an overlay's lowerdir list relative to the lowers' common parent; returns that dir and the new data. */
function compactLowerdirs(data: string[]): { cwd: string; data: string[] } | undefined {
  const i = data.findIndex((o) => o.startsWith('lowerdir='));
  if (i < 0) return undefined;
  const lowers = data[i]!.slice('lowerdir='.length).split(':');
  let common = path.dirname(lowers[0]!);
  for (const l of lowers) {
    while (!(l === common || l.startsWith(common.endsWith('/') ? common : `${common}/`))) common = path.dirname(common);
  }
  const rel = lowers.map((l) => path.relative(common, l) || '.');
  const out = [...data];
  out[i] = `lowerdir=${rel.join(':')}`;
  return { cwd: common, data: out };
}

/** Mounts one Mount at `target`. */
export function mountOne(m: Mount, target: string, kernel: Kernel = hostKernel): void {
  const { flags, data } = parseOptions(m.options);
  if (m.type === 'bind' || (flags & MountFlags.BIND) !== 0) {
    const bindFlags = MountFlags.BIND | (flags & MountFlags.REC);
    kernel.mount(m.source, target, null, bindFlags, null);
    const extra = flags & (MountFlags.RDONLY | MountFlags.NOSUID | MountFlags.NODEV | MountFlags.NOEXEC);
    if (extra) {
      try {
        kernel.mount(null, target, null, MountFlags.BIND | MountFlags.REMOUNT | extra, null);
      } catch (e) {
        kernel.umount2(target, UnmountFlags.DETACH);
        throw e;
      }
    }
    return;
  }
  let joined = data.join(',');
  if (m.type === 'overlay' && joined.length >= PAGE_SIZE) {
    const c = compactLowerdirs(data);
    joined = c ? c.data.join(',') : joined;
    if (c && joined.length < PAGE_SIZE) {
      const prev = process.cwd();
      process.chdir(c.cwd);
      try {
        kernel.mount(m.source, target, m.type, flags, joined);
      } finally {
        process.chdir(prev);
      }
      return;
    }
  }
  kernel.mount(m.source, target, m.type, flags, joined || null);
}

/** Mounts every entry in order at `target` (later ones on top); on failure, undoes what it mounted. */
export function mountAll(mounts: Mount[], target: string, kernel: Kernel = hostKernel): void {
  let done = 0;
  try {
    for (const m of mounts) {
      mountOne(m, target, kernel);
      done++;
    }
  } catch (e) {
    for (; done > 0; done--) {
      try {
        kernel.umount2(target, UnmountFlags.DETACH);
      } catch {
        /* best effort */
      }
    }
    throw e;
  }
}

/** Unmounts everything stacked at `target` (EINVAL = not a mount point ends the loop). */
export function unmount(target: string, opts: { detach?: boolean } = {}, kernel: Kernel = hostKernel): void {
  for (let i = 0; i < 64; i++) {
    try {
      kernel.umount2(target, opts.detach ? UnmountFlags.DETACH : 0);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'EINVAL' || code === 'ENOENT') return;
      throw e;
    }
  }
}

/** Mounts, runs `fn`, unmounts — for short-lived access to a snapshot's tree. */
export async function withMounts<T>(mounts: Mount[], target: string, fn: (root: string) => Promise<T>, kernel: Kernel = hostKernel): Promise<T> {
  mountAll(mounts, target, kernel);
  try {
    return await fn(target);
  } finally {
    unmount(target, {}, kernel);
  }
}
