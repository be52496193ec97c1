/**
 * Types for the OCI runtime spec (the subset berth writes, runtime-spec 1.0.2 as runc 1.1 reads it) and the
 * Docker Engine API `Config`/`HostConfig` fields the spec builder consumes, under Docker's wire names.
 */

// ---------------------------------------------------------------- OCI runtime spec

/** An OCI mount: `type` is the filesystem type ("bind" for bind mounts), `options` are mount(8) style flags/data. */
export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface POSIXRlimit {
  type: string;
  soft: number;
  hard: number;
}

/** Capability sets of the container's first process; names carry the `CAP_` prefix. */
export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface Process {
  terminal?: boolean;
  user: User;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface Root {
  path: string;
  readonly?: boolean;
}

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

/** A namespace entry: without `path` the runtime creates a new namespace, with it the container joins that one. */
export interface LinuxNamespace {
  type: NamespaceType;
  path?: string;
}

/** A device node the runtime creates inside the container. */
export interface LinuxDevice {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** A device cgroup rule; `major`/`minor` absent means wildcard, `type` absent means "a" (all). */
export interface LinuxDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  quota?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: { limit: number };
}

export interface LinuxSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface LinuxSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

export interface LinuxSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

export interface Linux {
  namespaces: LinuxNamespace[];
  devices?: LinuxDevice[];
  cgroupsPath?: string;
  resources?: LinuxResources;
  sysctl?: Record<string, string>;
  seccomp?: LinuxSeccomp;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
}

/** The bundle's config.json. */
export interface Spec {
  ociVersion: string;
  process: Process;
  root: Root;
  hostname?: string;
  mounts: Mount[];
  linux: Linux;
  annotations?: Record<string, string>;
}

// ---------------------------------------------------------------- Docker Engine API (wire names)

/** Docker's StrSlice: the API accepts a JSON string or an array; null/absent differs from [] (see mergeConfig). */
export type StrSlice = string[] | string | null | undefined;

/** The fields of Docker's container `Config` that shape the runtime spec. */
export interface DockerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  Env?: string[] | null;
  Cmd?: StrSlice;
  Entrypoint?: StrSlice;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  NetworkDisabled?: boolean;
  ExposedPorts?: Record<string, object> | null;
}

/** The image config fields that merge into the container config (`docker image inspect` .Config). */
export interface ImageConfig {
  Env?: string[] | null;
  Cmd?: StrSlice;
  Entrypoint?: StrSlice;
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  ExposedPorts?: Record<string, object> | null;
}

export interface DockerUlimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface DockerDeviceMapping {
  PathOnHost: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

/** The fields of Docker's `HostConfig` that shape the runtime spec. Binds/Mounts arrive pre-resolved as OCI mounts. */
export interface DockerHostConfig {
  Privileged?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  SecurityOpt?: string[] | null;
  ReadonlyRootfs?: boolean;
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  MemorySwappiness?: number | null;
  KernelMemory?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  OomKillDisable?: boolean | null;
  OomScoreAdj?: number;
  Ulimits?: DockerUlimit[] | null;
  ShmSize?: number;
  Tmpfs?: Record<string, string> | null;
  GroupAdd?: string[] | null;
  Init?: boolean | null;
  Devices?: DockerDeviceMapping[] | null;
  DeviceCgroupRules?: string[] | null;
  NetworkMode?: string;
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  CgroupnsMode?: string;
  Sysctls?: Record<string, string> | null;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
}

// ---------------------------------------------------------------- host facts

/** A device node found on the host (what runc's HostDevices reports). `fileMode` excludes the file-type bits. */
export interface HostDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/**
 * Facts about the host, read once at daemon start (host.ts) and passed into the pure spec builder.
 * `boundingCaps` is the set the daemon may grant (CapBnd ∩ known names); `effectiveCaps` decides whether
 * rlimits may be raised above the daemon's own hard limits (needs CAP_SYS_RESOURCE).
 */
export interface HostFacts {
  cgroupVersion: 1 | 2;
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
