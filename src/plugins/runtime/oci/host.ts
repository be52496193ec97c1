/**
 * Host facts (core/kernel `HostFacts`), read once per daemon and shared by system info, the spec builder and stats: cgroup mode, the capabilities the daemon really
 * holds, kernel version, device nodes, rlimit ceilings. Everything here does I/O; spec.ts stays pure.
 */
import { promises as fs, constants as fsc } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { splitDev } from '../../../core/kernel/index.js';
import { parseCgroupMounts } from '../runc/cgroups.js';
import { capsFromMask } from './capabilities.js';
import type { HostDevice, HostFacts } from './types.js';

/** Directories under /dev that runc's HostDevices skips (other mounts or per-container instances). */
const SKIP_DEV_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** Linux dev_t → major/minor (glibc's gnu_dev_major/minor encoding). */
export { splitDev };

/** The device node at `p` (not following a final symlink), or undefined when it is not a char/block device. */
export async function deviceFromPath(p: string): Promise<HostDevice | undefined> {
  let st;
  try {
    st = await fs.lstat(p, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const fmt = st.mode & BigInt(fsc.S_IFMT);
  let type: 'c' | 'b';
  if (fmt === BigInt(fsc.S_IFCHR)) type = 'c';
  else if (fmt === BigInt(fsc.S_IFBLK)) type = 'b';
  else return undefined;
  return {
    path: p,
    type,
    ...splitDev(st.rdev),
    fileMode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
  };
}

/** All char/block devices below `dir`, walked like runc's GetDevices (skipping pts, shm, mqueue… and console). */
export async function scanDevices(dir = '/dev'): Promise<HostDevice[]> {
  const out: HostDevice[] = [];
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw e;
  }
  for (const ent of entries) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) {
      if (!SKIP_DEV_DIRS.has(ent.name)) out.push(...(await scanDevices(p)));
      continue;
    }
    if (ent.name === 'console') continue;
    const d = await deviceFromPath(p);
    if (d) out.push(d);
  }
  return out;
}

/**
 * Devices for a `--device` path: the node itself (symlinks resolved, as Docker does) or every device below a
 * directory. Empty when the path holds no device.
 */
export async function devicesAtPath(p: string): Promise<HostDevice[]> {
  const real = await fs.realpath(p);
  const st = await fs.stat(real);
  if (st.isDirectory()) return scanDevices(real);
  const d = await deviceFromPath(real);
  return d ? [{ ...d, path: p }] : [];
}

/** Value of a `Name:\tvalue` line of /proc/<pid>/status. */
export function statusField(status: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status);
  return m?.[1];
}

/** Soft/hard RLIMIT_NOFILE from /proc/<pid>/limits text ("unlimited" → 2^64-1 is clamped to Number.MAX_SAFE_INTEGER). */
export function parseNofile(limits: string): { soft: number; hard: number } {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const num = (s: string | undefined) => (s === undefined || s === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s));
  return { soft: num(m?.[1]), hard: num(m?.[2]) };
}

/** Kernel major.minor from a release string such as "6.1.0-18-amd64". */
export function parseKernelRelease(release: string): { major: number; minor: number } {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) throw new Error(`cannot parse kernel release ${JSON.stringify(release)}`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** Node's process.arch → moby's native arch name (the vocabulary of seccomp profile `arches`). */
export function nativeArch(nodeArch: string = process.arch, littleEndian = os.endianness() === 'LE'): string {
  switch (nodeArch) {
    case 'x64': return 'amd64';
    case 'ia32': return 'x86';
    case 'arm': return 'arm';
    case 'arm64': return 'arm64';
    case 'ppc64': return littleEndian ? 'ppc64le' : 'ppc64';
    case 'ppc': return 'ppc';
    case 's390x': return 's390x';
    case 's390': return 's390';
    case 'mips': return 'mips';
    case 'mipsel': return 'mipsel';
    case 'mips64': return 'mips64';
    case 'mips64el': return 'mipsel64';
    default: return nodeArch;
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

/** cgroup v2 when /sys/fs/cgroup itself is the unified hierarchy (cgroup.controllers at its root); else v1/hybrid. */
export async function cgroupVersion(root = '/sys/fs/cgroup'): Promise<1 | 2> {
  return (await exists(path.join(root, 'cgroup.controllers'))) ? 2 : 1;
}

async function swapLimitSupported(version: 1 | 2, root = '/sys/fs/cgroup'): Promise<boolean> {
  if (version === 1) return exists(path.join(root, 'memory', 'memory.memsw.limit_in_bytes'));
  // Like Docker on v2: swap limits follow the memory controller.
  const controllers = await fs.readFile(path.join(root, 'cgroup.controllers'), 'utf8').catch(() => '');
  return controllers.split(/\s+/).includes('memory');
}

/** Read every host fact once (bootstrap shares the result with every service that needs one). */
export async function readHostFacts(): Promise<HostFacts> {
  const [status, limits, version, devices, mountinfo] = await Promise.all([
    fs.readFile('/proc/self/status', 'utf8'),
    fs.readFile('/proc/self/limits', 'utf8'),
    cgroupVersion(),
    scanDevices('/dev'),
    fs.readFile('/proc/self/mountinfo', 'utf8'),
  ]);
  const [swapLimit, pingGroupRange, unprivilegedPortStart] = await Promise.all([
    swapLimitSupported(version),
    exists('/proc/sys/net/ipv4/ping_group_range'),
    exists('/proc/sys/net/ipv4/ip_unprivileged_port_start'),
  ]);
  const cgroupMounts = parseCgroupMounts(mountinfo);
  const cpuRoot = version === 1 ? cgroupMounts.roots.get('cpu') : undefined;
  return {
    cgroupVersion: version,
    cgroupDriver: 'cgroupfs',
    cgroupMounts,
    cpuRealtime: cpuRoot ? await exists(`${cpuRoot}/cpu.rt_period_us`) : false,
    boundingCaps: capsFromMask(statusField(status, 'CapBnd') ?? '0'),
    effectiveCaps: capsFromMask(statusField(status, 'CapEff') ?? '0'),
    kernel: parseKernelRelease(os.release()),
    arch: nativeArch(),
    devices,
    nofile: parseNofile(limits),
    swapLimit,
    sysctls: { pingGroupRange, unprivilegedPortStart },
    hostname: os.hostname(),
  };
}
