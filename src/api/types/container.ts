/**
 * Engine API container types as decoder schemas: `container.Config`, `container.HostConfig`,
 * `network.NetworkingConfig` and the create body that holds all three (`runconfig.ContainerConfigWrapper`, which
 * `POST /containers/create` and `POST /commit` decode). Field names and Go types are moby's (api/types/container).
 */
import { arrayOf, bool, duration, empty, fileMode, int, int64, mapOf, ptr, str, strSlice, stringList, stringMap, struct, uint, uint16, uint64, type Infer, type Schema } from '../decode/schema.js';

export const healthConfig = struct('container.HealthConfig', {
  Test: stringList,
  Interval: duration,
  Timeout: duration,
  StartPeriod: duration,
  StartInterval: duration,
  Retries: int,
});

/** nat.PortSet: `{"80/tcp": {}}`. */
const portSet = mapOf(empty, 'nat.PortSet');

/** container.Config's fields (promoted into the create body, whose struct name errors then show). */
export const configFields = {
  Hostname: str(),
  Domainname: str(),
  User: str(),
  AttachStdin: bool,
  AttachStdout: bool,
  AttachStderr: bool,
  ExposedPorts: portSet,
  Tty: bool,
  OpenStdin: bool,
  StdinOnce: bool,
  Env: stringList,
  Cmd: strSlice,
  Healthcheck: ptr(healthConfig),
  ArgsEscaped: bool,
  Image: str(),
  Volumes: mapOf(empty),
  WorkingDir: str(),
  Entrypoint: strSlice,
  NetworkDisabled: bool,
  MacAddress: str(),
  OnBuild: stringList,
  Labels: stringMap,
  StopSignal: str(),
  StopTimeout: ptr(int),
  Shell: strSlice,
} satisfies Record<string, Schema>;

export const config = struct('container.Config', configFields);

const weightDevice = struct('blkiodev.WeightDevice', { Path: str(), Weight: uint16 });
const throttleDevice = struct('blkiodev.ThrottleDevice', { Path: str(), Rate: uint64 });

const mount = struct('mount.Mount', {
  Type: str('mount.Type'),
  Source: str(),
  Target: str(),
  ReadOnly: bool,
  Consistency: str('mount.Consistency'),
  BindOptions: struct('mount.BindOptions', {
    Propagation: str('mount.Propagation'),
    NonRecursive: bool,
    CreateMountpoint: bool,
    ReadOnlyNonRecursive: bool,
    ReadOnlyForceRecursive: bool,
  }),
  VolumeOptions: struct('mount.VolumeOptions', {
    NoCopy: bool,
    Labels: stringMap,
    Subpath: str(),
    DriverConfig: struct('mount.Driver', { Name: str(), Options: stringMap }),
  }),
  TmpfsOptions: struct('mount.TmpfsOptions', { SizeBytes: int64, Mode: fileMode, Options: arrayOf(stringList, '[][]string') }),
});

/** container.Resources: embedded in HostConfig (so errors name HostConfig) and the body of `POST /containers/{id}/update`. */
export const resourcesFields = {
  CpuShares: int64,
  Memory: int64,
  NanoCpus: int64,
  CgroupParent: str(),
  BlkioWeight: uint16,
  BlkioWeightDevice: arrayOf(weightDevice, '[]*blkiodev.WeightDevice'),
  BlkioDeviceReadBps: arrayOf(throttleDevice, '[]*blkiodev.ThrottleDevice'),
  BlkioDeviceWriteBps: arrayOf(throttleDevice, '[]*blkiodev.ThrottleDevice'),
  BlkioDeviceReadIOps: arrayOf(throttleDevice, '[]*blkiodev.ThrottleDevice'),
  BlkioDeviceWriteIOps: arrayOf(throttleDevice, '[]*blkiodev.ThrottleDevice'),
  CpuPeriod: int64,
  CpuQuota: int64,
  CpuRealtimePeriod: int64,
  CpuRealtimeRuntime: int64,
  CpusetCpus: str(),
  CpusetMems: str(),
  Devices: arrayOf(struct('container.DeviceMapping', { PathOnHost: str(), PathInContainer: str(), CgroupPermissions: str() })),
  DeviceCgroupRules: stringList,
  DeviceRequests: arrayOf(
    struct('container.DeviceRequest', { Driver: str(), Count: int, DeviceIDs: stringList, Capabilities: arrayOf(stringList, '[][]string'), Options: stringMap }),
  ),
  KernelMemory: int64,
  KernelMemoryTCP: int64,
  MemoryReservation: int64,
  MemorySwap: int64,
  MemorySwappiness: ptr(int64),
  OomKillDisable: ptr(bool),
  PidsLimit: ptr(int64),
  Ulimits: arrayOf(struct('units.Ulimit', { Name: str(), Hard: int64, Soft: int64 }), '[]*units.Ulimit'),
  CpuCount: int64,
  CpuPercent: int64,
  IOMaximumIOps: uint64,
  IOMaximumBandwidth: uint64,
} satisfies Record<string, Schema>;

export const restartPolicy = struct('container.RestartPolicy', { Name: str('container.RestartPolicyMode'), MaximumRetryCount: int });

export const hostConfig = struct('container.HostConfig', {
  Binds: stringList,
  ContainerIDFile: str(),
  LogConfig: struct('container.LogConfig', { Type: str(), Config: stringMap }),
  NetworkMode: str('container.NetworkMode'),
  PortBindings: mapOf(arrayOf(struct('nat.PortBinding', { HostIp: str(), HostPort: str() })), 'nat.PortMap'),
  RestartPolicy: restartPolicy,
  AutoRemove: bool,
  VolumeDriver: str(),
  VolumesFrom: stringList,
  ConsoleSize: arrayOf(uint, '[2]uint'),
  Annotations: stringMap,
  CapAdd: strSlice,
  CapDrop: strSlice,
  CgroupnsMode: str('container.CgroupnsMode'),
  Dns: stringList,
  DnsOptions: stringList,
  DnsSearch: stringList,
  ExtraHosts: stringList,
  GroupAdd: stringList,
  IpcMode: str('container.IpcMode'),
  Cgroup: str('container.CgroupSpec'),
  Links: stringList,
  OomScoreAdj: int,
  PidMode: str('container.PidMode'),
  Privileged: bool,
  PublishAllPorts: bool,
  ReadonlyRootfs: bool,
  SecurityOpt: stringList,
  StorageOpt: stringMap,
  Tmpfs: stringMap,
  UTSMode: str('container.UTSMode'),
  UsernsMode: str('container.UsernsMode'),
  ShmSize: int64,
  Sysctls: stringMap,
  Runtime: str(),
  Isolation: str('container.Isolation'),
  ...resourcesFields,
  Mounts: arrayOf(mount),
  MaskedPaths: stringList,
  ReadonlyPaths: stringList,
  Init: ptr(bool),
});

export const endpointSettings = struct('network.EndpointSettings', {
  IPAMConfig: struct('network.EndpointIPAMConfig', { IPv4Address: str(), IPv6Address: str(), LinkLocalIPs: stringList }),
  Links: stringList,
  Aliases: stringList,
  DriverOpts: stringMap,
  MacAddress: str(),
  NetworkID: str(),
  EndpointID: str(),
  Gateway: str(),
  IPAddress: str(),
  IPPrefixLen: int,
  IPv6Gateway: str(),
  GlobalIPv6Address: str(),
  GlobalIPv6PrefixLen: int,
  DNSNames: stringList,
});

export const networkingConfig = struct('network.NetworkingConfig', {
  EndpointsConfig: mapOf(endpointSettings, 'map[string]*network.EndpointSettings'),
});

/** The body of `POST /containers/create` and `POST /commit`. */
export const containerCreateBody = struct('runconfig.ContainerConfigWrapper', {
  ...configFields,
  HostConfig: hostConfig,
  NetworkingConfig: networkingConfig,
});

/** The body of `POST /containers/{id}/update`. */
export const updateBody = struct('container.UpdateConfig', { ...resourcesFields, RestartPolicy: restartPolicy });

/** The body of `POST /containers/{id}/exec`. */
export const execCreateBody = struct('types.ExecConfig', {
  User: str(),
  Privileged: bool,
  Tty: bool,
  ConsoleSize: arrayOf(uint, '*[2]uint'),
  AttachStdin: bool,
  AttachStderr: bool,
  AttachStdout: bool,
  Detach: bool,
  DetachKeys: str(),
  Env: stringList,
  WorkingDir: str(),
  Cmd: stringList,
});

/** The body of `POST /exec/{id}/start`. */
export const execStartBody = struct('types.ExecStartCheck', { Detach: bool, Tty: bool, ConsoleSize: arrayOf(uint, '*[2]uint') });

// ---------------------------------------------------------------- TypeScript wire types
// Request bodies are derived from the schemas above (what the daemon decodes is exactly what a client may send);
// responses are declared here with the Engine API's field names (moby api/types, swagger.yaml).

export type ContainerConfig = Infer<typeof config>;
export type HostConfig = Infer<typeof hostConfig>;
export type HealthConfig = Infer<typeof healthConfig>;
export type Resources = Infer<ReturnType<typeof struct<typeof resourcesFields>>>;
export type EndpointSettings = Infer<typeof endpointSettings>;
export type NetworkingConfig = Infer<typeof networkingConfig>;
export type MountSpec = Infer<typeof mount>;
/** `POST /containers/create` body: Config fields at the top level plus HostConfig and NetworkingConfig. */
export type ContainerCreateRequest = Infer<typeof containerCreateBody>;
export type ContainerUpdateRequest = Infer<typeof updateBody>;
export type ExecCreateRequest = Infer<typeof execCreateBody>;
export type ExecStartRequest = Infer<typeof execStartBody>;

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}
/** nat.PortMap: `"80/tcp"` → bindings (null when exposed but not published). */
export type PortMap = Record<string, PortBinding[] | null>;

export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[] | null;
}

/** types.Port: one row of `ContainerSummary.Ports`. */
export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** `GET /containers/json`: one container. */
export interface ContainerSummary {
  Id: string;
  Names?: string[] | null;
  Image?: string;
  ImageID?: string;
  Command?: string;
  Created?: number;
  Ports?: Port[] | null;
  SizeRw?: number;
  SizeRootFs?: number;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, EndpointSettings> | null } | null;
  Mounts?: MountPoint[] | null;
}

/** types.MountPoint, as inspect and the summary show a container's mounts. */
export interface MountPoint {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  Driver?: string;
  Mode?: string;
  RW?: boolean;
  Propagation?: string;
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: string; FailingStreak: number; Log: { Start: string; End: string; ExitCode: number; Output: string }[] | null };
}

/** `GET /containers/{id}/json` (types.ContainerJSON). Fields berth does not fill are absent. */
export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: HostConfig;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: MountPoint[];
  Config: ContainerConfig;
  NetworkSettings: {
    Bridge?: string;
    SandboxID?: string;
    SandboxKey?: string;
    Ports: PortMap | null;
    Networks: Record<string, EndpointSettings>;
    IPAddress?: string;
    Gateway?: string;
    MacAddress?: string;
    [legacy: string]: unknown;
  };
}

/** `POST /containers/{id}/wait`. */
export interface ContainerWaitResponse {
  StatusCode: number;
  Error?: { Message: string } | null;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** `GET /containers/{id}/top`. */
export interface ContainerTopResponse {
  Titles: string[];
  Processes: string[][] | null;
}

/** `GET /containers/{id}/changes`: Kind 0 modified, 1 added, 2 deleted. */
export interface FilesystemChange {
  Path: string;
  Kind: 0 | 1 | 2;
}

export interface ContainerUpdateResponse {
  Warnings: string[] | null;
}

export interface ContainerPruneReport {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

/** `HEAD|GET /containers/{id}/archive`: the `X-Docker-Container-Path-Stat` header, decoded. */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null; usage_in_kernelmode?: number; usage_in_usermode?: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data?: { periods?: number; throttled_periods?: number; throttled_time?: number };
}

/** `GET /containers/{id}/stats` (types.StatsJSON), one sample. */
export interface StatsJSON {
  id?: string;
  name?: string;
  read?: string;
  preread?: string;
  pids_stats?: { current?: number; limit?: number };
  blkio_stats?: { io_service_bytes_recursive?: { major?: number; minor?: number; op: string; value: number }[] | null };
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; max_usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number; rx_packets?: number; tx_packets?: number }>;
}

export interface IdResponse {
  Id: string;
}

/** `GET /exec/{id}/json` (the fields clients read). */
export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: { entrypoint: string; arguments: string[]; privileged: boolean; tty: boolean; user?: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  DetachKeys: string;
  Pid: number;
}
