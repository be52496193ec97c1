/**
 * Docker container config → OCI runtime spec (the bundle's config.json), following dockerd's createSpec
 * (daemon/oci_linux.go + oci/defaults.go) rule for rule wherever the result is visible inside the container.
 *
 * buildSpec is pure: every host fact (cgroup mode, capabilities, devices, kernel) and every resolved value (user ids,
 * bind/volume mounts, netns path) comes in through SpecInput; the only exception is the bundled default seccomp
 * profile, read once from data/seccomp-default.json unless SpecInput.seccompDefault is given.
 */
import path from 'node:path';
import { failedPrecondition, invalidArgument } from '../../../errdefs/index.js';
import { validateCpuRealtime } from '../../../core/runtime/cpu-realtime.js';
import { resolveCapabilities } from './capabilities.js';
import { defaultSeccompProfile, parseSeccompProfile, toOciSeccomp, type SeccompProfile } from './seccomp.js';
import type {
  DockerConfig, DockerHostConfig, HostDevice, HostFacts, LinuxDevice, LinuxDeviceCgroup, LinuxMemory,
  LinuxCPU, LinuxNamespace, LinuxResources, Mount, POSIXRlimit, Spec, StrSlice,
} from './types.js';
import { mergeMountOptions, replaceOrAppendEnv, tmpfsMount, DEFAULT_SHM_SIZE, type ContainerSpecInput, type SpecBuilder } from '../../../core/runtime/spec-builder.js';
import { resolveUser } from './user.js';

// Docker rules the services share with the builder, defined beside its contract (core/runtime/spec-builder.ts).
export { DEFAULT_SHM_SIZE, mergeMountOptions, replaceOrAppendEnv, tmpfsMount } from '../../../core/runtime/spec-builder.js';

/** The OCI runtime-spec version runc 1.1 implements. */
export const OCI_VERSION = '1.0.2-dev';
/** PATH when neither the image nor -e sets one (Docker's system.DefaultPathEnv). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where --init's binary appears in the container. */
export const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';
/** Docker's default /dev/shm size: 64 MiB. */
/** RLIMIT_NOFILE dockerd's systemd unit gives containers (they inherit it); capped by what the host allows. */
export const DEFAULT_NOFILE = 1048576;
/** Docker's smallest accepted memory limit/reservation. */
const MIN_MEMORY = 6291456;

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger',
];

/** Everything buildSpec needs: the container service's input (core/runtime/spec-builder.ts) and a seccomp default. */
export interface SpecInput extends ContainerSpecInput {
  /** Docker's default seccomp profile (moby format); defaults to data/seccomp-default.json. */
  seccompDefault?: SeccompProfile;
}

// ---------------------------------------------------------------- config merge, args, env

function strSlice(v: StrSlice): string[] | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? [v] : v;
}

/** The process environment: PATH, HOSTNAME, TERM (with a tty) first, then the merged config env over them. */
export function containerEnv(env: readonly string[], hostname: string, tty: boolean): string[] {
  const base = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  if (tty) base.push('TERM=xterm');
  return replaceOrAppendEnv(base, env);
}

// ---------------------------------------------------------------- security options

/** Parsed HostConfig.SecurityOpt. `seccomp` is "unconfined", "builtin", or a profile's JSON text. */
export interface SecurityOptions {
  noNewPrivileges: boolean;
  seccomp?: string;
  apparmor?: string;
  labels: string[];
  unconfinedSystemPaths: boolean;
}

/** Parse `--security-opt` values as dockerd does (key=value; deprecated key:value; bare no-new-privileges). */
export function parseSecurityOpts(opts: readonly string[] | null | undefined): SecurityOptions {
  const r: SecurityOptions = { noNewPrivileges: false, labels: [], unconfinedSystemPaths: false };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') {
      r.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') {
      r.labels.push('disable');
      continue;
    }
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : '';
    if (!sep) throw invalidArgument(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const i = opt.indexOf(sep);
    const key = opt.slice(0, i);
    const value = opt.slice(i + 1);
    switch (key) {
      case 'label': r.labels.push(value); break;
      case 'apparmor': r.apparmor = value; break;
      case 'seccomp': r.seccomp = value; break;
      case 'no-new-privileges': {
        const b = parseGoBool(value);
        if (b === undefined) throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        r.noNewPrivileges = b;
        break;
      }
      // The docker CLI turns this into empty MaskedPaths/ReadonlyPaths; accepted here for other API clients.
      case 'systempaths':
        if (value !== 'unconfined') throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        r.unconfinedSystemPaths = true;
        break;
      default: throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return r;
}

function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

// ---------------------------------------------------------------- mounts

/** Docker's default mounts (oci/defaults.go), before ShmSize, IPC mode, user mounts and privilege adjust them. */
export function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts', type: 'devpts', source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev', 'relatime'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777'] },
  ];
}

const depth = (p: string) => path.posix.normalize(p).split('/').filter(Boolean).length;

// ---------------------------------------------------------------- devices

const c = (major: number | undefined, minor: number | undefined, access = 'rwm'): LinuxDeviceCgroup => ({
  allow: true, type: 'c', ...(major === undefined ? {} : { major }), ...(minor === undefined ? {} : { minor }), access,
});

/**
 * Device cgroup rules of an unprivileged container: Docker's list (deny all; null, zero, urandom, random, tty,
 * console; deny fuse) followed by the defaults runc appends anyway (mknod of any node, full, ptmx, pts, tun), spelt
 * out so any runtime yields the same set.
 */
export function defaultDeviceRules(): LinuxDeviceCgroup[] {
  return [
    { allow: false, access: 'rwm' },
    c(1, 5), c(1, 3), c(1, 9), c(1, 8), c(5, 0), c(5, 1),
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
    c(undefined, undefined, 'm'),
    { allow: true, type: 'b', access: 'm' },
    c(1, 7), c(5, 2), c(136, undefined), c(10, 200),
  ];
}

const DEVICE_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** `--device-cgroup-rule "c 42:* rwm"` → a cgroup rule. */
export function parseDeviceCgroupRule(rule: string): LinuxDeviceCgroup {
  const m = DEVICE_RULE.exec(rule);
  if (!m) throw invalidArgument(`invalid device cgroup rule format: '${rule}'`);
  const r: LinuxDeviceCgroup = { allow: true, type: m[1] as 'a' | 'c' | 'b', access: m[4] };
  if (m[2] !== '*') r.major = Number(m[2]);
  if (m[3] !== '*') r.minor = Number(m[3]);
  return r;
}

function lookupDevices(input: SpecInput, hostPath: string): HostDevice[] {
  const given = input.devices?.[hostPath];
  if (given) return given;
  const prefix = hostPath.endsWith('/') ? hostPath : hostPath + '/';
  const found = input.hostFacts.devices.filter((d) => d.path === hostPath || d.path.startsWith(prefix));
  if (found.length === 0) {
    throw invalidArgument(
      `error gathering device information while adding custom device ${JSON.stringify(hostPath)}: no such file or directory`,
    );
  }
  return found;
}

/** A host device as it appears at `dst` in the container (directory mappings keep the relative path). */
function mapDevice(d: HostDevice, src: string, dst: string): LinuxDevice {
  const p = d.path === src ? dst : d.path.replace(src, dst);
  return { path: p, type: d.type, major: d.major, minor: d.minor, fileMode: d.fileMode, uid: d.uid, gid: d.gid };
}

function buildDevices(input: SpecInput): { devices: LinuxDevice[]; rules: LinuxDeviceCgroup[] } {
  const hc = input.hostConfig;
  const devices: LinuxDevice[] = [];
  if (hc.Privileged) {
    for (const d of input.hostFacts.devices) devices.push(mapDevice(d, d.path, d.path));
    for (const m of hc.Devices ?? []) {
      const dst = m.PathInContainer || m.PathOnHost;
      if (dst === m.PathOnHost) continue; // already there with every host device
      for (const d of lookupDevices(input, m.PathOnHost)) devices.push(mapDevice(d, m.PathOnHost, dst));
    }
    return { devices, rules: [{ allow: true, access: 'rwm' }] };
  }
  const rules = defaultDeviceRules();
  for (const m of hc.Devices ?? []) {
    const dst = m.PathInContainer || m.PathOnHost;
    const access = m.CgroupPermissions || 'rwm';
    if (!/^[rwm]{1,3}$/.test(access)) throw invalidArgument(`invalid device mode: ${access}`);
    for (const d of lookupDevices(input, m.PathOnHost)) {
      devices.push(mapDevice(d, m.PathOnHost, dst));
      rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access });
    }
  }
  for (const r of hc.DeviceCgroupRules ?? []) rules.push(parseDeviceCgroupRule(r));
  return { devices, rules };
}

// ---------------------------------------------------------------- resources

function buildMemory(hc: DockerHostConfig, facts: HostFacts): LinuxMemory | undefined {
  const memory = hc.Memory ?? 0;
  let swap = hc.MemorySwap ?? 0;
  const reservation = hc.MemoryReservation ?? 0;
  if (memory < 0 || (memory !== 0 && memory < MIN_MEMORY)) throw invalidArgument('Minimum memory limit allowed is 6MB');
  if (memory > 0 && swap === 0) swap = memory * 2; // Docker's default: as much swap as memory
  if (memory > 0 && swap > 0 && swap < memory) {
    throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (memory === 0 && swap > 0) {
    throw invalidArgument('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if (reservation > 0 && reservation < MIN_MEMORY) throw invalidArgument('Minimum memory reservation allowed is 6MB');
  if (memory > 0 && reservation > memory) {
    throw invalidArgument('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  const m: LinuxMemory = {};
  if (memory > 0) m.limit = memory;
  if (reservation > 0) m.reservation = reservation;
  if (swap > 0 && facts.swapLimit) m.swap = swap; // -1 (unlimited) is expressed by leaving swap unset
  if (facts.cgroupVersion === 1) {
    // v2 has no swappiness, kernel memory or oom_kill_disable knobs; runc would reject or ignore them.
    const sw = hc.MemorySwappiness;
    if (sw !== null && sw !== undefined && sw !== -1) {
      if (sw < 0 || sw > 100) throw invalidArgument(`Invalid value: ${sw}, valid memory swappiness range is 0-100`);
      m.swappiness = sw;
    }
    if (hc.KernelMemory) m.kernel = hc.KernelMemory;
    if (hc.OomKillDisable !== null && hc.OomKillDisable !== undefined) m.disableOOMKiller = hc.OomKillDisable;
  }
  return Object.keys(m).length ? m : undefined;
}

function buildCpu(hc: DockerHostConfig, facts: HostFacts): LinuxCPU | undefined {
  validateCpuRealtime(hc.CpuRealtimePeriod ?? 0, hc.CpuRealtimeRuntime ?? 0, facts);
  const nano = hc.NanoCpus ?? 0;
  if ((hc.CpuShares ?? 0) < 0) throw invalidArgument('shares: invalid argument');
  if (nano > 0 && (hc.CpuPeriod ?? 0) > 0) {
    throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  if (nano > 0 && (hc.CpuQuota ?? 0) > 0) {
    throw invalidArgument('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  }
  if (nano < 0) throw invalidArgument('Range of CPUs is from 0.01 to the number of CPUs available');
  if (hc.CpuPeriod && (hc.CpuPeriod < 1000 || hc.CpuPeriod > 1000000)) {
    throw invalidArgument('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  if (hc.CpuQuota && hc.CpuQuota > 0 && hc.CpuQuota < 1000) {
    throw invalidArgument('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  }
  const cpu: LinuxCPU = {};
  if (hc.CpuShares) cpu.shares = hc.CpuShares; // 0 means "unset" to runc, so leave it out
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (hc.CpusetMems) cpu.mems = hc.CpusetMems;
  if (nano > 0) {
    const period = 100000; // 100ms, the kernel's default CFS period
    cpu.period = period;
    cpu.quota = Math.floor((nano * period) / 1e9);
  }
  if (hc.CpuPeriod) cpu.period = hc.CpuPeriod;
  if (hc.CpuQuota) cpu.quota = hc.CpuQuota;
  // 0 leaves the kernel's value (a new cgroup's rt runtime is 0: no real-time time)
  if (hc.CpuRealtimePeriod) cpu.realtimePeriod = hc.CpuRealtimePeriod;
  if (hc.CpuRealtimeRuntime) cpu.realtimeRuntime = hc.CpuRealtimeRuntime;
  return Object.keys(cpu).length ? cpu : undefined;
}

// ---------------------------------------------------------------- rlimits

const RLIMIT_NAMES = new Set([
  'as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio',
  'rttime', 'sigpending', 'stack',
]);

function buildRlimits(hc: DockerHostConfig, facts: HostFacts): POSIXRlimit[] {
  const canRaise = facts.effectiveCaps.includes('CAP_SYS_RESOURCE');
  const out: POSIXRlimit[] = [];
  for (const u of hc.Ulimits ?? []) {
    // the wire type allows a null entry (Go: a nil *Ulimit, which dockerd would dereference)
    if (!u || typeof u.Name !== 'string') throw invalidArgument(`invalid ulimit: ${JSON.stringify(u)}`);
    const name = u.Name.toLowerCase();
    if (!RLIMIT_NAMES.has(name)) throw invalidArgument(`invalid ulimit type: ${u.Name}`);
    if (u.Soft > u.Hard) {
      throw invalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
    }
    if (name === 'nofile' && !canRaise && u.Hard > facts.nofile.hard) {
      throw invalidArgument(
        `ulimit nofile hard limit ${u.Hard} exceeds the daemon's ${facts.nofile.hard} and the host lacks CAP_SYS_RESOURCE`,
      );
    }
    out.push({ type: 'RLIMIT_' + name.toUpperCase(), soft: u.Soft, hard: u.Hard });
  }
  if (!out.some((r) => r.type === 'RLIMIT_NOFILE')) {
    // Raising a hard limit needs CAP_SYS_RESOURCE; without it the daemon's own hard limit is the ceiling.
    const n = canRaise ? DEFAULT_NOFILE : Math.min(DEFAULT_NOFILE, facts.nofile.hard);
    out.push({ type: 'RLIMIT_NOFILE', soft: n, hard: n });
  }
  return out;
}

// ---------------------------------------------------------------- namespaces

function containerRef(mode: string | undefined): boolean {
  return !!mode && mode.startsWith('container:');
}

function buildNamespaces(input: SpecInput, pidPrivate: boolean): LinuxNamespace[] {
  const hc = input.hostConfig;
  const ns: LinuxNamespace[] = [{ type: 'mount' }];
  const hostNet = input.netnsPath === 'host' || hc.NetworkMode === 'host';
  if (!hostNet) ns.push(input.netnsPath ? { type: 'network', path: input.netnsPath } : { type: 'network' });
  if (hc.UTSMode !== 'host') ns.push({ type: 'uts' });

  if (containerRef(hc.PidMode)) {
    if (!input.pidNsPath) throw invalidArgument(`no pid namespace path given for --pid=${hc.PidMode}`);
    ns.push({ type: 'pid', path: input.pidNsPath });
  } else if (hc.PidMode !== 'host') {
    if (hc.PidMode && !pidPrivate) throw invalidArgument(`invalid PID mode: ${hc.PidMode}`);
    ns.push({ type: 'pid' });
  }

  const ipc = hc.IpcMode ?? '';
  if (containerRef(ipc)) {
    if (!input.ipcNsPath) throw invalidArgument(`no ipc namespace path given for --ipc=${ipc}`);
    ns.push({ type: 'ipc', path: input.ipcNsPath });
  } else if (ipc !== 'host') {
    if (!['', 'private', 'shareable', 'none'].includes(ipc)) throw invalidArgument(`Invalid IPC mode: ${ipc}`);
    ns.push({ type: 'ipc' });
  }

  // Docker's default: a private cgroup namespace on v2, the host's on v1 (and for privileged containers on v1).
  const cgroupns = hc.CgroupnsMode || (input.hostFacts.cgroupVersion === 2 ? 'private' : 'host');
  if (cgroupns !== 'private' && cgroupns !== 'host') throw invalidArgument(`invalid cgroup namespace mode: ${cgroupns}`);
  if (cgroupns === 'private') ns.push({ type: 'cgroup' });
  return ns;
}

// ---------------------------------------------------------------- the builder

/** Build the OCI runtime spec for one container. Throws InvalidArgument EngineErrors for bad input. */
/**
 * The host-config rules buildSpec enforces that do not depend on the container's root filesystem or namespaces
 * (limits, ulimits, oom score, shm size, security options). Docker checks them at create, so a container that could
 * never start is refused then rather than left behind in Created.
 */
export function validateHostConfig(hc: DockerHostConfig, facts: HostFacts): void {
  parseSecurityOpts(hc.SecurityOpt);
  buildMemory(hc, facts);
  buildCpu(hc, facts);
  buildRlimits(hc, facts);
  const oomScoreAdj = hc.OomScoreAdj ?? 0;
  if (oomScoreAdj < -1000 || oomScoreAdj > 1000) throw invalidArgument(`Invalid value ${oomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  if ((hc.ShmSize ?? 0) < 0) throw invalidArgument('SHM size can not be less than 0');
}

export function buildSpec(input: SpecInput): Spec {
  const hc = input.hostConfig;
  const facts = input.hostFacts;
  const config = input.config;
  const sec = parseSecurityOpts(hc.SecurityOpt);

  // Hostname: given, else the host's for --network=host, else the short id.
  const hostname = config.Hostname || (hc.NetworkMode === 'host' ? facts.hostname : input.id.slice(0, 12));
  const utsHost = hc.UTSMode === 'host';
  const pidPrivate = !hc.PidMode || hc.PidMode === 'private';

  // Process arguments, with --init's tini in front when the container has its own pid namespace.
  let args = [...(strSlice(config.Entrypoint) ?? []), ...(strSlice(config.Cmd) ?? [])];
  if (args.length === 0) throw invalidArgument('No command specified');
  const initMounts: Mount[] = [];
  if (hc.Init && pidPrivate) {
    if (!input.initPath) throw failedPrecondition('docker-init binary not found: --init needs an init path');
    args = [INIT_PATH_IN_CONTAINER, '--', ...args];
    initMounts.push({ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: input.initPath, options: ['bind', 'ro'] });
  }

  let cwd = config.WorkingDir || '/';
  if (!cwd.startsWith('/')) {
    throw invalidArgument(`the working directory '${cwd}' is invalid, it needs to be an absolute path`);
  }
  cwd = path.posix.normalize(cwd);

  const oomScoreAdj = hc.OomScoreAdj ?? 0;
  if (oomScoreAdj < -1000 || oomScoreAdj > 1000) {
    throw invalidArgument(`Invalid value ${oomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  }

  // Capabilities: root gets them effective; other users only keep them in the bounding set (Docker's rule).
  const caps = resolveCapabilities({
    capAdd: hc.CapAdd, capDrop: hc.CapDrop, privileged: hc.Privileged, hostCaps: facts.boundingCaps,
  });
  const capabilities = input.user.uid === 0
    ? { bounding: caps, effective: [...caps], permitted: [...caps] }
    : { bounding: caps };

  // Mounts: defaults (+ init) unless the caller mounts over them, then the caller's and --tmpfs mounts by depth.
  const userMounts = [
    ...(input.mounts ?? []),
    ...Object.entries(hc.Tmpfs ?? {}).map(([dst, data]) => tmpfsMount(dst, data)),
  ].map((m, i) => ({ m, i }))
    .sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i)
    .map(({ m }) => m);
  const userDests = new Set(userMounts.map((m) => path.posix.normalize(m.destination)));
  const overDev = userDests.has('/dev');
  const mounts: Mount[] = [];
  for (const m of [...defaultMounts(), ...initMounts]) {
    if (userDests.has(m.destination)) continue;
    if (overDev && m.destination.startsWith('/dev/')) continue;
    if (m.destination === '/dev/shm') {
      if (hc.IpcMode === 'none') continue;
      const size = hc.ShmSize || DEFAULT_SHM_SIZE;
      if (size < 0) throw invalidArgument('SHM size can not be less than 0');
      m.options = [...(m.options ?? []), `size=${size}`];
    }
    if (hc.ReadonlyRootfs && !['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev'].includes(m.destination)) {
      if (!m.options?.includes('ro')) m.options = [...(m.options ?? []), 'ro'];
    }
    if (hc.Privileged && (m.destination === '/sys' || m.type === 'cgroup')) {
      m.options = (m.options ?? []).filter((o) => o !== 'ro');
    }
    mounts.push(m);
  }
  mounts.push(...userMounts);

  // Masked/readonly paths: Docker's defaults, none when privileged; explicit HostConfig lists win.
  const unconfined = sec.unconfinedSystemPaths;
  const maskedPaths = hc.MaskedPaths ?? (hc.Privileged || unconfined ? [] : [...DEFAULT_MASKED_PATHS]);
  const readonlyPaths = hc.ReadonlyPaths ?? (hc.Privileged || unconfined ? [] : [...DEFAULT_READONLY_PATHS]);

  // Sysctls: Docker's defaults for a private network namespace, the domain name, then the user's.
  const sysctl: Record<string, string> = {};
  if (config.Domainname && !utsHost) sysctl['kernel.domainname'] = config.Domainname;
  const privateNet = hc.NetworkMode !== 'host' && input.netnsPath !== 'host' && !containerRef(hc.NetworkMode);
  if (privateNet) {
    if (facts.sysctls.pingGroupRange) sysctl['net.ipv4.ping_group_range'] = '0 2147483647';
    if (facts.sysctls.unprivilegedPortStart) sysctl['net.ipv4.ip_unprivileged_port_start'] = '0';
    Object.assign(sysctl, input.netSysctls ?? {});
  }
  for (const [k, v] of Object.entries(hc.Sysctls ?? {})) {
    if (!privateNet && k.startsWith('net.')) {
      throw invalidArgument(`sysctl ${JSON.stringify(k)} is not allowed in the host's network namespace`);
    }
    sysctl[k] = v;
  }

  const { devices, rules } = buildDevices(input);
  const resources: LinuxResources = { devices: rules };
  const memory = buildMemory(hc, facts);
  if (memory) resources.memory = memory;
  const cpu = buildCpu(hc, facts);
  if (cpu) resources.cpu = cpu;
  if (hc.PidsLimit !== null && hc.PidsLimit !== undefined) {
    resources.pids = { limit: hc.PidsLimit <= 0 ? -1 : hc.PidsLimit };
  }

  // Seccomp: none when privileged or unconfined; a custom profile's conditions see the same caps as the default's.
  let seccomp;
  if (!hc.Privileged && sec.seccomp !== 'unconfined') {
    const profile = sec.seccomp && sec.seccomp !== 'builtin'
      ? parseSeccompProfile(sec.seccomp)
      : (input.seccompDefault ?? defaultSeccompProfile());
    seccomp = toOciSeccomp(profile, { caps, arch: facts.arch, kernel: facts.kernel });
  }

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: !!config.Tty,
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: [...input.user.additionalGids] },
      args,
      env: containerEnv(config.Env ?? [], hostname, !!config.Tty),
      cwd,
      capabilities,
      rlimits: buildRlimits(hc, facts),
      oomScoreAdj,
      // the client's terminal size from the first byte on (as dockerd): the program may run before any resize
      ...(config.Tty && (hc.ConsoleSize?.[0] || hc.ConsoleSize?.[1]) ? { consoleSize: { height: hc.ConsoleSize![0]!, width: hc.ConsoleSize![1]! } } : {}),
    },
    root: { path: input.rootfsPath, readonly: !!hc.ReadonlyRootfs },
    mounts,
    linux: {
      namespaces: buildNamespaces(input, pidPrivate),
      cgroupsPath: input.cgroupsPath,
      resources,
    },
  };
  if (sec.noNewPrivileges) spec.process.noNewPrivileges = true;
  if (!utsHost) spec.hostname = hostname;
  if (devices.length) spec.linux.devices = devices;
  if (Object.keys(sysctl).length) spec.linux.sysctl = sysctl;
  if (seccomp) spec.linux.seccomp = seccomp;
  if (maskedPaths.length) spec.linux.maskedPaths = maskedPaths;
  if (readonlyPaths.length) spec.linux.readonlyPaths = readonlyPaths;
  return spec;
}

/** The spec builder the daemon injects into the container and exec services (bootstrap.ts). */
export const ociSpecBuilder: SpecBuilder = { validateHostConfig, buildSpec, resolveUser };
