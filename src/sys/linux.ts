/**
 * The one seam between berth and the Linux kernel calls Node.js does not expose.
 *
 * Everything here is a thin, synchronous wrapper over libc through koffi (an FFI that ships its binary inside the npm
 * package). Each call throws a `SyscallError` carrying the errno name (`ENOENT`, `EBUSY`, ...) so callers can branch
 * on `err.code` exactly as they do for `node:fs` errors. Nothing in this module keeps state beyond the loaded symbols.
 *
 * Keep this file small: only calls that Node truly lacks belong here (mount, umount2, mknod, xattrs on symlinks,
 * flock). Anything `node:fs` can do stays in `node:fs`.
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';

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

interface Libc {
  mount: (source: string | null, target: string, fstype: string | null, flags: number, data: string | null) => number;
  umount2: (target: string, flags: number) => number;
  mknod: (path: string, mode: number, dev: bigint) => number;
  lsetxattr: (path: string, name: string, value: Buffer, size: number, flags: number) => number;
  lgetxattr: (path: string, name: string, value: Buffer | null, size: number) => number;
  llistxattr: (path: string, list: Buffer | null, size: number) => number;
  flock: (fd: number, op: number) => number;
  errno: () => number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const koffi = require('koffi');
  const lib = koffi.load('libc.so.6');
  const errnoLocation = lib.func('int *__errno_location()');
  libc = {
    mount: lib.func('int mount(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data)'),
    umount2: lib.func('int umount2(const char *target, int flags)'),
    mknod: lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
    lsetxattr: lib.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
    lgetxattr: lib.func('long lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)'),
    llistxattr: lib.func('long llistxattr(const char *path, _Out_ char *list, size_t size)'),
    flock: lib.func('int flock(int fd, int op)'),
    errno: () => koffi.decode(errnoLocation(), 'int') as number,
  };
  return libc;
}

function check(syscall: string, rc: number, detail?: string): number {
  if (rc < 0) throw new SyscallError(syscall, load().errno(), detail);
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
  check('mknod', load().mknod(path, mode, dev), path);
}

/** Sets an extended attribute on `path` itself (never following a symlink). */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  check('lsetxattr', load().lsetxattr(path, name, value, value.length, 0), `${path} ${name}`);
}

/** Reads an extended attribute of `path` itself; undefined when the attribute is absent. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const c = load();
  for (;;) {
    const size = c.lgetxattr(path, name, null, 0);
    if (size < 0) {
      const e = c.errno();
      if (e === osConstants.errno.ENODATA || e === osConstants.errno.ENOTSUP) return undefined;
      throw new SyscallError('lgetxattr', e, `${path} ${name}`);
    }
    const buf = Buffer.alloc(size);
    const got = c.lgetxattr(path, name, buf, size);
    if (got >= 0) return buf.subarray(0, got);
    if (c.errno() !== osConstants.errno.ERANGE) throw new SyscallError('lgetxattr', c.errno(), `${path} ${name}`);
  }
}

/** Lists the extended attribute names of `path` itself. */
export function llistxattr(path: string): string[] {
  const c = load();
  for (;;) {
    const size = c.llistxattr(path, null, 0);
    if (size < 0) {
      const e = c.errno();
      if (e === osConstants.errno.ENOTSUP) return [];
      throw new SyscallError('llistxattr', e, path);
    }
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const got = c.llistxattr(path, buf, size);
    if (got >= 0) return buf.subarray(0, got).toString('latin1').split('\0').filter(Boolean);
    if (c.errno() !== osConstants.errno.ERANGE) throw new SyscallError('llistxattr', c.errno(), path);
  }
}

export const FlockOp = { SH: 1, EX: 2, NB: 4, UN: 8 } as const;

/** flock(2) on an open file descriptor; throws SyscallError with code EWOULDBLOCK/EAGAIN when NB and held. */
export function flock(fd: number, op: number): void {
  check('flock', load().flock(fd, op));
}
