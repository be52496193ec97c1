/**
 * The kernel seam: every call into the Linux kernel that Node.js does not expose (mount, umount2, mknod, xattrs on
 * symlinks, flock, a socket's peer state) and the few kernel-level tool runs berth makes (`cp -a` for copy-up and
 * the copying snapshotter, `umount -l` as the fallback of a lazy unmount, `ps` for docker top), behind one interface.
 * (runc and the monitor are spawned by the runtime plugin only; `ip`/`iptables` by the network plugin's `NetOps`.)
 *
 * - `sys/kernel.ts` `LinuxKernel` implements it over `sys/linux.ts` (the native addon) and child processes;
 *   `hostKernel` is the daemon's one instance.
 * - `sys/fake-kernel.ts` `RecordingKernel` records every call and keeps a mount table and xattrs in memory, so unit
 *   tests check mount/unmount order, ref counting and rollback without root (youki's pattern).
 *
 * Callers take a `Kernel` (injected, or `hostKernel` by default); nothing outside `src/sys/` calls the addon.
 * The plain data beside it (flag values, makedev) lives here so the fake and the real kernel share it.
 */

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

/** S_IF* file type bits for mknod. */
export const FileType = { S_IFCHR: 0o020000, S_IFBLK: 0o060000, S_IFIFO: 0o010000 } as const;

/** flock(2) operations. */
export const FlockOp = { SH: 1, EX: 2, NB: 4, UN: 8 } as const;

/** Linux's makedev: combines a major and minor number into a dev_t. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

/** The inverse of makedev: glibc's dev_t split back into major and minor. */
export function splitDev(dev: bigint): { major: number; minor: number } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major & 0xffffffffn), minor: Number(minor & 0xffffffffn) };
}

/** Options of `Kernel.copyTree` (`cp -a`). */
export interface CopyTreeOptions {
  /** Copy what is inside `src` into the existing directory `dst` (`cp -a src/. dst/`); else `dst` becomes the copy. */
  contents?: boolean;
  /** Share extents where the filesystem can (`--reflink=auto`). */
  reflink?: boolean;
}

/**
 * The kernel calls berth makes. The synchronous ones throw an error whose `code` is the errno name (`ENOENT`,
 * `EBUSY`, `EINVAL`...), as `node:fs` errors do.
 */
export interface Kernel {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags?: number): void;
  mknod(path: string, mode: number, dev?: bigint): void;
  /** Sets an extended attribute on `path` itself (never following a symlink). */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** Reads an extended attribute of `path` itself; undefined when it is absent or unsupported. */
  lgetxattr(path: string, name: string): Buffer | undefined;
  /** The extended attribute names of `path` itself ([] where unsupported). */
  llistxattr(path: string): string[];
  /** flock(2) on an open descriptor; EWOULDBLOCK/EAGAIN when NB and held. */
  flock(fd: number, op: number): void;
  /** Whether the peer of a connected unix socket closed it entirely (not a half-close). */
  peerClosed(fd: number): boolean;
  /** A connected unix stream socket's fd; `@name` is an abstract socket addressed as Go does (exact length). */
  connectUnix(path: string): number;
  /** glibc's malloc_trim(0): gives malloc's free arena memory back to the kernel; true when some was released. */
  mallocTrim(): boolean;
  /**
   * V8's LowMemoryNotification for this process's isolate (not a syscall, but the same addon): full collections
   * that compact fragmented pages for size and return the empty ones, and the compilation cache dropped. Synchronous
   * (~30–80 ms for berthd's heap).
   */
  lowMemoryNotification(): void;
  /**
   * Marks a directory as the top of a hierarchy (FS_TOPDIR_FL, `chattr +T`): ext4 then spreads its new
   * subdirectories over block groups with free inodes instead of packing them beside it. Throws with the errno
   * (ENOTTY, EOPNOTSUPP, EINVAL) where the file system has no such flag.
   */
  setTopDir(path: string): void;
  /** `cp -a` (owners, modes, hardlinks, xattrs, devices); rejects with cp's message on failure. */
  copyTree(src: string, dst: string, opts?: CopyTreeOptions): Promise<void>;
  /** `umount -l` through the umount program, for a path umount2 refused; never rejects. */
  lazyUnmountTool(path: string): Promise<void>;
  /** The host's process table as `ps <args>` prints it (docker top); rejects with ps's message. */
  ps(args: string[]): Promise<string>;
}

/** A character or block device node on the host. */
export interface HostDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** A host's cgroup hierarchies (from /proc/self/mountinfo). */
export interface CgroupMounts {
  version: 1 | 2;
  /** v1: controller → hierarchy mount point; v2: '' → the unified mount. */
  roots: Map<string, string>;
}

/**
 * Facts about the host, read once per daemon (`readHostFacts` in plugins/runtime/oci/host.ts, called by bootstrap)
 * and shared by system info, the spec builder, the container service's create rules and the runtime's stats. `boundingCaps` is the set the daemon may grant (CapBnd ∩ known names); `effectiveCaps`
 * decides whether rlimits may be raised above the daemon's own hard limits (needs CAP_SYS_RESOURCE).
 */
export interface HostFacts {
  /** cgroup v2 when /sys/fs/cgroup is the unified hierarchy (cgroup.controllers at its root); else v1/hybrid. */
  cgroupVersion: 1 | 2;
  /** berth manages cgroups through the filesystem (no systemd driver). */
  cgroupDriver: 'cgroupfs';
  /** Where the cgroup hierarchies are mounted (stats and top read a container's counters below them). */
  cgroupMounts: CgroupMounts;
  /** The cpu controller has real-time group scheduling (cgroup v1 `cpu.rt_period_us`; never on v2). */
  cpuRealtime: boolean;
  boundingCaps: string[];
  effectiveCaps: string[];
  /** Kernel release as major.minor, for seccomp `minKernel` filters. */
  kernel: { major: number; minor: number };
  /** moby's native arch name: amd64, arm64, x86, arm, ppc64le, s390x, mips64, … */
  arch: string;
  /** Character and block devices under /dev, for --privileged and --device lookups. */
  devices: HostDevice[];
  /** The daemon's own RLIMIT_NOFILE, the ceiling when the host lacks CAP_SYS_RESOURCE. */
  nofile: { soft: number; hard: number };
  /** Whether the memory cgroup accounts swap (memsw on v1, memory controller on v2). */
  swapLimit: boolean;
  /** Namespaced sysctls that exist on this kernel (Docker only sets its defaults when they exist). */
  sysctls: { pingGroupRange: boolean; unprivilegedPortStart: boolean };
  hostname: string;
}
