/**
 * Docker's create-time rules for a container's configuration (dockerd's daemon/create.go and runconfig): the
 * defaults a create body gets, how the image's config merges into it, the process it runs (Path/Args), and the
 * checks that need no host. What comes out is stored in the container record; the OCI spec is built from that at
 * every start (plugins/runtime/oci), never merged again.
 */
import type { ContainerConfig, HostConfig } from '../../../core/containers/container.js';
import type { ContainerConfig as ImageRuntimeConfig } from '../../../core/images/types.js';
import type { DockerConfig, StrSlice } from '../../../core/runtime/spec-builder.js';
import type { ContainerCreateRequest } from '../../../api/types/container.js';
import { invalidArgument } from '../../../errdefs/index.js';
import { normalizeLogConfig, type LogConfig } from './log-config.js';

/** Docker's StrSlice: the API accepts a JSON string or an array; null/absent differs from [] (see mergeConfig). */
export type { StrSlice };

/** The Config fields the merge reads and writes. */
export type MergeableConfig = Pick<DockerConfig, 'User' | 'Env' | 'Cmd' | 'Entrypoint' | 'WorkingDir' | 'Labels' | 'StopSignal' | 'ExposedPorts'>;

/** A merged config: Entrypoint and Cmd are lists (or null). */
export type Merged<C> = Omit<C, 'Cmd' | 'Entrypoint'> & Omit<MergeableConfig, 'Cmd' | 'Entrypoint'> & { Cmd: string[] | null; Entrypoint: string[] | null };

function strSlice(v: StrSlice): string[] | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? [v] : v;
}

/**
 * Docker's create-time merge of the image config into the container config (daemon/commit.go merge plus the
 * `[""]` entrypoint reset): unset User/WorkingDir/StopSignal come from the image; image env is appended unless -e
 * set the key; a container Entrypoint (even `[""]`, i.e. `--entrypoint ""`) drops the image's Cmd, while an absent
 * one inherits the image's Entrypoint, and the image's Cmd when no Cmd was given. Returns a new object.
 */
export function mergeConfig<C extends MergeableConfig>(config: C, image: ImageRuntimeConfig | null | undefined): Merged<C> {
  const out = { ...config } as Merged<C>;
  let entrypoint = strSlice(config.Entrypoint);
  let cmd = strSlice(config.Cmd);
  if (image) {
    if (!out.User) out.User = image.User ?? '';
    const userEnv = config.Env ?? [];
    if (userEnv.length === 0) out.Env = image.Env ?? [];
    else {
      const keys = new Set(userEnv.map((e) => e.split('=')[0]));
      out.Env = [...userEnv, ...(image.Env ?? []).filter((e) => !keys.has(e.split('=')[0]))];
    }
    const labels = { ...(config.Labels ?? {}) };
    for (const [k, v] of Object.entries(image.Labels ?? {})) if (!(k in labels)) labels[k] = v;
    out.Labels = labels;
    if (!entrypoint || entrypoint.length === 0) {
      if (!cmd || cmd.length === 0) cmd = strSlice(image.Cmd);
      if (entrypoint === null) entrypoint = strSlice(image.Entrypoint);
    }
    if (!out.WorkingDir) out.WorkingDir = image.WorkingDir ?? '';
    if (!out.StopSignal) out.StopSignal = image.StopSignal;
    // The image's EXPOSEd ports join the container's own (so -P publishes them and inspect lists them).
    if (image.ExposedPorts && Object.keys(image.ExposedPorts).length) out.ExposedPorts = { ...image.ExposedPorts, ...(config.ExposedPorts ?? {}) };
  }
  if (entrypoint && entrypoint.length === 1 && entrypoint[0] === '') entrypoint = null;
  out.Entrypoint = entrypoint;
  out.Cmd = cmd;
  return out;
}

/** Docker's Path + Args of a merged config: entrypoint then cmd. Throws "No command specified" when both are empty. */
export function entrypointAndArgs(config: Pick<MergeableConfig, 'Entrypoint' | 'Cmd'>): { path: string; args: string[] } {
  const ep = strSlice(config.Entrypoint) ?? [];
  const cmd = strSlice(config.Cmd) ?? [];
  const all = [...ep, ...cmd];
  if (ep.length === 0 && cmd.length === 0) throw invalidArgument('No command specified');
  return { path: all[0]!, args: all.slice(1) };
}

export function validateRestartPolicy(p: { Name: string; MaximumRetryCount: number }): void {
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(p.Name)) throw invalidArgument(`invalid restart policy: unknown policy '${p.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  if (p.MaximumRetryCount && p.Name !== 'on-failure') throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (p.MaximumRetryCount < 0) throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
}

type Healthcheck = NonNullable<ContainerConfig['Healthcheck']>;

/**
 * A healthcheck as dockerd keeps it: its fields are `omitempty`, so zero durations, zero retries and an empty test
 * are left out, and an unset healthcheck is no field at all (undefined) rather than null.
 */
export function compactHealthcheck(h: ContainerConfig['Healthcheck'] | ContainerCreateRequest['Healthcheck']): Healthcheck | undefined {
  if (!h) return undefined;
  const out: Healthcheck = {};
  if (h.Test?.length) out.Test = h.Test;
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) if (h[k]) out[k] = h[k];
  return out;
}

/** The create body's Config with Docker's defaults (the hostname defaults to the short ID). */
export function normalizeConfig(body: ContainerCreateRequest, id: string): ContainerConfig {
  const list = (v: unknown): string[] | null => (v === undefined || v === null ? null : typeof v === 'string' ? [v] : Array.isArray(v) ? v.map(String) : invalidType('list'));
  return {
    Hostname: body.Hostname || '',
    Domainname: body.Domainname || '',
    User: body.User || '',
    AttachStdin: Boolean(body.AttachStdin),
    AttachStdout: Boolean(body.AttachStdout),
    AttachStderr: Boolean(body.AttachStderr),
    ExposedPorts: body.ExposedPorts ?? null,
    Tty: Boolean(body.Tty),
    OpenStdin: Boolean(body.OpenStdin),
    StdinOnce: Boolean(body.StdinOnce),
    Env: list(body.Env),
    Cmd: list(body.Cmd),
    Healthcheck: compactHealthcheck(body.Healthcheck),
    Image: String(body.Image),
    Volumes: body.Volumes ?? null,
    WorkingDir: body.WorkingDir || '',
    Entrypoint: list(body.Entrypoint),
    OnBuild: null,
    Labels: body.Labels ?? {},
    StopSignal: body.StopSignal,
    StopTimeout: body.StopTimeout ?? null,
    ...(body.Hostname ? {} : { Hostname: id.slice(0, 12) }),
  };
}

function invalidType(what: string): never {
  throw invalidArgument(`json: cannot unmarshal value into Go value of type ${what}`);
}

type WirePortMap = NonNullable<ContainerCreateRequest['HostConfig']>['PortBindings'];

/** Port bindings with Go's zero values filled in (an omitted HostIp is "", a null list no binding). */
function portBindings(m: WirePortMap): HostConfig['PortBindings'] {
  const out: NonNullable<HostConfig['PortBindings']> = {};
  for (const [port, list] of Object.entries(m ?? {})) out[port] = (list ?? []).map((b) => ({ HostIp: b.HostIp ?? '', HostPort: b.HostPort ?? '' }));
  return out;
}

/** The create body's HostConfig with Docker's defaults, as inspect shows them. */
export function normalizeHostConfig(h: NonNullable<ContainerCreateRequest['HostConfig']>): HostConfig {
  return {
    ...h,
    Binds: h.Binds ?? null,
    NetworkMode: h.NetworkMode && h.NetworkMode !== 'default' ? h.NetworkMode : 'bridge',
    PortBindings: portBindings(h.PortBindings),
    RestartPolicy: { Name: h.RestartPolicy?.Name || 'no', MaximumRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0 },
    AutoRemove: Boolean(h.AutoRemove),
    VolumesFrom: h.VolumesFrom ?? null,
    CapAdd: h.CapAdd ?? null,
    CapDrop: h.CapDrop ?? null,
    // null when unset, as dockerd shows them (the docker CLI always sends [])
    Dns: h.Dns ?? null,
    DnsOptions: h.DnsOptions ?? null,
    DnsSearch: h.DnsSearch ?? null,
    UsernsMode: h.UsernsMode ?? '',
    ExtraHosts: h.ExtraHosts ?? null,
    GroupAdd: h.GroupAdd ?? null,
    IpcMode: h.IpcMode || 'private',
    PidMode: h.PidMode ?? '',
    Privileged: Boolean(h.Privileged),
    ReadonlyRootfs: Boolean(h.ReadonlyRootfs),
    SecurityOpt: h.SecurityOpt ?? null,
    UTSMode: h.UTSMode ?? '',
    ShmSize: h.ShmSize || 67108864,
    Memory: h.Memory ?? 0,
    MemoryReservation: h.MemoryReservation ?? 0,
    MemorySwap: h.MemorySwap ?? 0,
    NanoCpus: h.NanoCpus ?? 0,
    CpuShares: h.CpuShares ?? 0,
    CpuPeriod: h.CpuPeriod ?? 0,
    CpuQuota: h.CpuQuota ?? 0,
    CpuRealtimePeriod: h.CpuRealtimePeriod ?? 0,
    CpuRealtimeRuntime: h.CpuRealtimeRuntime ?? 0,
    CgroupParent: h.CgroupParent ?? '',
    CpusetCpus: h.CpusetCpus ?? '',
    CpusetMems: h.CpusetMems ?? '',
    PidsLimit: h.PidsLimit ?? null,
    OomKillDisable: h.OomKillDisable ?? false,
    Ulimits: (h.Ulimits ?? []).map((u) => ({ Name: u.Name ?? '', Soft: u.Soft ?? 0, Hard: u.Hard ?? 0 })),
    LogConfig: normalizeLogConfig(h.LogConfig as LogConfig | undefined),
    Runtime: 'runc',
    Isolation: h.Isolation ?? '',
    ConsoleSize: h.ConsoleSize ?? [0, 0],
    CgroupnsMode: h.CgroupnsMode || 'host',
  };
}

/** NetworkSettings before the network service fills it. */
export function emptyNetworkSettings(): Record<string, unknown> {
  return {
    Bridge: '',
    SandboxID: '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: {},
    SandboxKey: '',
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: '',
    Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    MacAddress: '',
    // The network service fills one endpoint per network at create time.
    Networks: {},
  };
}
