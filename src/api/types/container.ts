/**
 * Engine API container types as decoder schemas: `container.Config`, `container.HostConfig`,
 * `network.NetworkingConfig` and the create body that holds all three (`runconfig.ContainerConfigWrapper`, which
 * `POST /containers/create` and `POST /commit` decode). Field names and Go types are moby's (api/types/container).
 */
import { arrayOf, bool, duration, empty, fileMode, int, int64, mapOf, str, strSlice, stringList, stringMap, struct, uint, uint16, uint64, type Schema } from '../decode/schema.js';

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
export const configFields: Record<string, Schema> = {
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
  Healthcheck: healthConfig,
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
  StopTimeout: int,
  Shell: strSlice,
};

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
export const resourcesFields: Record<string, Schema> = {
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
  MemorySwappiness: int64,
  OomKillDisable: bool,
  PidsLimit: int64,
  Ulimits: arrayOf(struct('units.Ulimit', { Name: str(), Hard: int64, Soft: int64 }), '[]*units.Ulimit'),
  CpuCount: int64,
  CpuPercent: int64,
  IOMaximumIOps: uint64,
  IOMaximumBandwidth: uint64,
};

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
  Init: bool,
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
