/**
 * The one seam between berth and the Linux kernel calls Node.js does not expose.
 *
 * Everything here is a thin, synchronous wrapper over libc through `berth-sys.node`, a tiny N-API addon of our own
 * (native/sys/sys.c and heap.cc, built by setup with the system compiler against Node's headers; 22 KB, where an FFI library
 * cost ~6 MB of daemon memory). Each call throws a `SyscallError` carrying the errno name (`ENOENT`, `EBUSY`, ...) so
 * callers can branch on `err.code` exactly as they do for `node:fs` errors. Nothing here keeps state beyond the
 * loaded addon.
 *
 * Keep this file small: only calls that Node truly lacks belong here (mount, umount2, mknod, xattrs on symlinks,
 * flock, a unix socket connect with Go's abstract-name length, V8's low-memory notification that N-API lacks).
 * Anything `node:fs` can do stays in `node:fs`. Only `sys/kernel.ts` (`LinuxKernel`, the `Kernel` of core/kernel)
 * and tests that build fixtures call these functions; everything else goes through a `Kernel` — except connectUnix,
 * a client-side call of the compose CLI plugin.
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { splitDev } from '../core/kernel/index.js';
import { nativeArtifact } from '../pkg/native/artifact.js';

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
  mallocTrim(): number;
  lowMemoryNotification(): void;
  setTopDir(path: string): number;
  connectUnix(path: string): number;
}

let addon: SysAddon | undefined;

/** Loads native/build/berth-sys.node of this checkout (from src/ under tsx or from dist/), or $BERTH_SYS_ADDON. */
function load(): SysAddon {
  if (addon) return addon;
  let file = process.env.BERTH_SYS_ADDON;
  file ??= nativeArtifact('berth-sys.node');
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

export { MountFlags, UnmountFlags, FileType, FlockOp, makedev } from '../core/kernel/index.js';

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  check('mount', load().mount(source, target, fstype, flags, data), target);
}

export function umount2(target: string, flags = 0): void {
  check('umount2', load().umount2(target, flags), target);
}

export function mknod(path: string, mode: number, dev: bigint = 0n): void {
  const { major, minor } = splitDev(dev);
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

/** glibc's malloc_trim(0): returns the free memory of malloc's arenas to the kernel; true when some was released. */
export function mallocTrim(): boolean {
  return load().mallocTrim() === 1;
}

/** V8's LowMemoryNotification (memory-reducing full GCs that compact and return empty pages); see Kernel. */
export function lowMemoryNotification(): void {
  load().lowMemoryNotification();
}

/** Sets FS_TOPDIR_FL (`chattr +T`) on a directory; see Kernel.setTopDir. */
export function setTopDir(p: string): void {
  check('ioctl', load().setTopDir(p), p);
}

/** A connected unix stream socket's fd; `@name` is an abstract socket addressed as Go does (exact length). */
export function connectUnix(p: string): number {
  return check('connect', load().connectUnix(p), p);
}
