/**
 * The one seam between berth and the Linux kernel calls Node.js does not expose.
 *
 * Everything here is a thin, synchronous wrapper over libc through `berth-sys.node`, a tiny N-API addon of our own
 * (native/sys/sys.c, built by setup with the system compiler against Node's headers; 17 KB, where an FFI library
 * cost ~6 MB of daemon memory). Each call throws a `SyscallError` carrying the errno name (`ENOENT`, `EBUSY`, ...) so
 * callers can branch on `err.code` exactly as they do for `node:fs` errors. Nothing here keeps state beyond the
 * loaded addon.
 *
 * Keep this file small: only calls that Node truly lacks belong here (mount, umount2, mknod, xattrs on symlinks,
 * flock). Anything `node:fs` can do stays in `node:fs`.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** An error from a failed libc call, shaped like Node's own system errors (`code` is the errno name). */
export class SyscallError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  constructor(syscall: string, errno: number, detail?: string) {
    const code = errnoName(errno);
    super(`${syscall}${detail ? ` ${detail}` : ''}: ${code} (${errno})`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return `E${errno}`;
}

/** The addon's functions: each returns a negative errno on failure. */
interface SysAddon {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): number;
  umount2(target: string, flags: number): number;
  mknod(path: string, mode: number, major: number, minor: number): number;
  lsetxattr(path: string, name: string, value: Buffer): number;
  lgetxattr(path: string, name: string): Buffer | number;
  llistxattr(path: string): Buffer | number;
  flock(fd: number, op: number): number;
  peerClosed(fd: number): number;
}

let addon: SysAddon | undefined;

/** Loads native/build/berth-sys.node of this checkout (from src/ under tsx or from dist/), or $BERTH_SYS_ADDON. */
function load(): SysAddon {
  if (addon) return addon;
  let file = process.env.BERTH_SYS_ADDON;
  if (!file) {
    let dir = path.dirname(fileURLToPath(import.meta.url));
    while (!fs.existsSync(path.join(dir, 'package.json')) && dir !== '/') dir = path.dirname(dir);
    file = path.join(dir, 'native/build/berth-sys.node');
  }
  try {
    addon = require(file) as SysAddon;
  } catch (e) {
    throw new Error(`cannot load ${file}: ${(e as Error).message} (run \`npm run build\`)`);
  }
  return addon;
}

function check(syscall: string, rc: number, detail?: string): number {
  if (rc < 0) throw new SyscallError(syscall, -rc, detail);
  return rc;
}

/** mount(2) flags berth uses. */
export const MountFlags = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  REMOUNT: 0x20,
  BIND: 0x1000,
  REC: 0x4000,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
} as const;

/** umount2(2) flags. */
export const UnmountFlags = { FORCE: 1, DETACH: 2, NOFOLLOW: 8 } as const;

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  check('mount', load().mount(source, target, fstype, flags, data), target);
}

export function umount2(target: string, flags = 0): void {
  check('umount2', load().umount2(target, flags), target);
}

/** S_IF* file type bits for mknod. */
export const FileType = { S_IFCHR: 0o020000, S_IFBLK: 0o060000, S_IFIFO: 0o010000 } as const;

/** Linux's makedev: combines a major and minor number into a dev_t. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

export function mknod(path: string, mode: number, dev: bigint = 0n): void {
  // The inverse of makedev: glibc's dev_t split back into major and minor.
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  check('mknod', load().mknod(path, mode, major, minor), path);
}

/** Sets an extended attribute on `path` itself (never following a symlink). */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  check('lsetxattr', load().lsetxattr(path, name, value), `${path} ${name}`);
}

/** Reads an extended attribute of `path` itself; undefined when the attribute is absent. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const r = load().lgetxattr(path, name);
  if (typeof r !== 'number') return r;
  if (-r === osConstants.errno.ENODATA || -r === osConstants.errno.ENOTSUP) return undefined;
  throw new SyscallError('lgetxattr', -r, `${path} ${name}`);
}

/** Lists the extended attribute names of `path` itself. */
export function llistxattr(path: string): string[] {
  const r = load().llistxattr(path);
  if (typeof r === 'number') {
    if (-r === osConstants.errno.ENOTSUP) return [];
    throw new SyscallError('llistxattr', -r, path);
  }
  return r.toString('latin1').split('\0').filter(Boolean);
}

export const FlockOp = { SH: 1, EX: 2, NB: 4, UN: 8 } as const;

/** flock(2) on an open file descriptor; throws SyscallError with code EWOULDBLOCK/EAGAIN when NB and held. */
export function flock(fd: number, op: number): void {
  check('flock', load().flock(fd, op));
}

/**
 * Whether the peer of a connected socket (by fd) closed it entirely, as opposed to a half-close (it shut down its
 * write side and still reads). Both arrive as end-of-file; only a unix socket tells them apart without a write.
 */
export function peerClosed(fd: number): boolean {
  const r = load().peerClosed(fd);
  check('poll', r < 0 ? r : 0);
  return r === 1;
}
