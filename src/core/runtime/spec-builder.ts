/**
 * The spec builder's contract: what the container service hands over to get an OCI runtime spec for a container
 * (the Docker `Config`/`HostConfig` fields that shape it, under Docker's wire names, merged with the image's config by
 * the create-time rules; resolved mounts, namespaces and host facts), and the pure Docker rules the services share
 * with the builder (the env merge, `--tmpfs` mounts, the default /dev/shm size). `plugins/runtime/oci` implements
 * `SpecBuilder`; bootstrap injects it, so no service imports the builder.
 */
import type { HostDevice, HostFacts } from '../kernel/index.js';
import type { Mount, Spec } from './spec.js';

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
  /** [height, width] of the client's terminal (Tty): the init's first terminal size. */
  ConsoleSize?: number[] | null;
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
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
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

/** The ids the container's process runs as. `additionalGids` starts with `gid`, as Docker's spec does. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

/** What the container service hands the spec builder. Ids and paths are resolved by the caller; nothing here is looked up. */
export interface ContainerSpecInput {
  /** Full container id (hex); its first 12 characters are the default hostname. */
  id: string;
  /** The mounted rootfs directory (root.path). */
  rootfsPath: string;
  /**
   * The container's Config, with the image's already merged in by Docker's create-time rules (the container
   * service's create-config.ts); the process runs Entrypoint followed by Cmd.
   */
  config: DockerConfig;
  hostConfig: DockerHostConfig;
  /** From user.ts resolveUser(rootfs, merged User, HostConfig.GroupAdd). */
  user: ResolvedUser;
  /**
   * OCI mounts the caller resolved: binds, volumes, /etc/hosts, /etc/resolv.conf, /etc/hostname, and /dev/shm
   * binds for shareable/host/container IPC. A mount here replaces the default mount at the same destination.
   */
  mounts?: Mount[];
  /** Network namespace to join; undefined = a new one; 'host' = the host's (no network namespace). */
  netnsPath?: string;
  /** Sysctls the network wants in the container's namespace (IPv6 on); the user's HostConfig.Sysctls win. */
  netSysctls?: Record<string, string>;
  /** Namespace paths for --ipc=container:<id> / --pid=container:<id>. */
  ipcNsPath?: string;
  pidNsPath?: string;
  /** cgroupfs path, `<cgroup parent>/<id>`, e.g. "/berth/<id>" (Runtime.cgroupsPath). */
  cgroupsPath: string;
  hostFacts: HostFacts;
  /** Host path of tini/docker-init, required when HostConfig.Init is true. */
  initPath?: string;
  /** --device lookups the caller made with host.ts devicesAtPath, keyed by PathOnHost; else hostFacts.devices. */
  devices?: Record<string, HostDevice[]>;
}

/** Builds containers' OCI specs (plugins/runtime/oci). */
export interface SpecBuilder {
  /** Docker's host-config checks against this host (InvalidArgument/FailedPrecondition in Docker's wording). */
  validateHostConfig(hc: DockerHostConfig, facts: HostFacts): void;
  /** The bundle's config.json for a container (pure: everything comes in through the input). */
  buildSpec(input: ContainerSpecInput): Spec;
  /** A Docker `User` string and `--group-add` entries → ids, from the rootfs' /etc/passwd and /etc/group (confined). */
  resolveUser(rootfs: string, user: string, groupAdd?: readonly string[]): Promise<ResolvedUser>;
}

/** Docker's default /dev/shm size (64 MiB). */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/**
 * Docker's ReplaceOrAppendEnvValues: an override replaces a default with the same key, "KEY" without "=" removes a
 * default, anything else is appended. Only the defaults' keys are looked up, as in Docker.
 */
export function replaceOrAppendEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const out: (string | null)[] = [...defaults];
  const index = new Map<string, number>();
  defaults.forEach((e, i) => index.set(e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), i));
  for (const v of overrides) {
    const eq = v.indexOf('=');
    if (eq < 0) {
      const i = index.get(v);
      if (i !== undefined) out[i] = null;
      continue;
    }
    const i = index.get(v.slice(0, eq));
    if (i !== undefined) out[i] = v;
    else out.push(v);
  }
  return out.filter((e): e is string => e !== null);
}

/** Mount flags that cancel each other; the last one given wins. Anything with "=" is data, keyed by its name. */
const FLAG_GROUPS: readonly (readonly string[])[] = [
  ['rw', 'ro'], ['exec', 'noexec'], ['suid', 'nosuid'], ['dev', 'nodev'], ['atime', 'noatime'],
  ['diratime', 'nodiratime'], ['relatime', 'norelatime'], ['strictatime', 'nostrictatime'], ['sync', 'async'],
  ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'],
];

/** Merge mount options so that later ones override earlier ones of the same flag group or data key. */
export function mergeMountOptions(options: readonly string[]): string[] {
  const slots = new Map<string, string>();
  for (const o of options) {
    if (!o) continue;
    const eq = o.indexOf('=');
    const key = eq >= 0 ? 'data:' + o.slice(0, eq) : 'flag:' + (FLAG_GROUPS.find((g) => g.includes(o))?.[0] ?? o);
    slots.delete(key); // re-insert so the order is the order of the final choices
    slots.set(key, o);
  }
  return [...slots.values()];
}

/** `--tmpfs /path:opts` → an OCI mount: Docker's base options (rw,noexec,nosuid,nodev,rprivate) then the user's. */
export function tmpfsMount(destination: string, data: string): Mount {
  const user = data ? data.split(',') : [];
  return {
    destination,
    type: 'tmpfs',
    source: 'tmpfs',
    options: mergeMountOptions(['rw', 'noexec', 'nosuid', 'nodev', 'rprivate', ...user]),
  };
}
