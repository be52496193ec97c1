/**
 * The spec builder's types: the OCI runtime spec (defined in core/runtime/spec.ts, re-exported here), the Docker
 * Engine API `Config`/`HostConfig` fields the builder consumes (already merged with the image's config at create),
 * under Docker's wire names, and the host facts it needs.
 */

// ---------------------------------------------------------------- OCI runtime spec (core/runtime/spec.ts)

import type { Mount, POSIXRlimit, LinuxCapabilities, User, Process, Root, NamespaceType, LinuxNamespace, LinuxDevice, LinuxDeviceCgroup, LinuxMemory, LinuxCPU, LinuxResources, LinuxSeccompArg, LinuxSyscall, LinuxSeccomp, Linux, Spec } from '../../../core/runtime/spec.js';
export type { Mount, POSIXRlimit, LinuxCapabilities, User, Process, Root, NamespaceType, LinuxNamespace, LinuxDevice, LinuxDeviceCgroup, LinuxMemory, LinuxCPU, LinuxResources, LinuxSeccompArg, LinuxSyscall, LinuxSeccomp, Linux, Spec };

// ---------------------------------------------------------------- Docker Engine API (wire names)

/** Docker's StrSlice: the API accepts a JSON string or an array; null/absent differs from []. */
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

/** The host's devices and facts: one definition, in core/kernel (read once by host.ts). */
export type { HostDevice, HostFacts } from '../../../core/kernel/index.js';
