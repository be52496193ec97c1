/**
 * A canonical service → the Engine API's container create body (Config + HostConfig + NetworkingConfig), plus the
 * config hash Compose uses to tell whether a running container still matches its service. Everything here is pure,
 * so the mapping is unit-tested field by field.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type { ContainerCreateRequest, EndpointSettings, HealthConfig, HostConfig, MountSpec, NetworkingConfig } from '../api/types/container.js';
import { parseBytes, parseDuration } from './model/canonical.js';
import { replicasOf } from './model/load.js';
import type { Project, Service, ServiceNetwork } from './model/types.js';
import { COMPOSE_VERSION, L } from './labels.js';

type Dict = Record<string, unknown>;

/** JSON with sorted keys, so the same config always hashes the same. */
function stableJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJSON).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Dict)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJSON((v as Dict)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The service's config hash: sha256 of its canonical config without what Compose v2 (2.32) leaves out of its own
 * hash — build, pull_policy, scale, deploy.replicas, depends_on and profiles — so scaling, a new dependency or a
 * profile never recreates a container. (`develop` counts, as in Compose.) The bytes hashed are berth's sorted-key
 * JSON of berth's model, not Go's encoding of compose-go's structs, so the value differs from Compose v2's: a
 * container made by one tool is recreated once by the other (see the README).
 */
export function serviceHash(s: Service): string {
  const c: Dict = { ...s };
  delete c.build;
  delete c.pull_policy;
  delete c.scale;
  delete c.profiles;
  delete c.depends_on;
  if (c.deploy) {
    const d = { ...(c.deploy as Dict) };
    delete d.replicas;
    c.deploy = d;
  }
  return crypto.createHash('sha256').update(stableJSON(c)).digest('hex');
}

/** The image a service runs: its `image`, or `<project>-<service>` for a build without one (Compose v2's name). */
export function imageName(project: Project, s: Service): string {
  return s.image ?? `${project.name}-${s.name}`;
}

export function containerName(project: Project, s: Service, n: number): string {
  return s.container_name ?? `${project.name}-${s.name}-${n}`;
}

/** `db:service_healthy:false,…` as Compose v2 writes `com.docker.compose.depends_on`. */
export function dependsOnLabel(s: Service): string {
  return Object.entries(s.depends_on ?? {})
    .map(([d, x]) => `${d}:${x.condition}:${x.restart}`)
    .join(',');
}

/** The networks a service joins, highest priority first (the first one is the create-time network). */
export function serviceNetworks(s: Service): [string, ServiceNetwork | null][] {
  return Object.entries(s.networks ?? {}).sort((a, b) => (b[1]?.priority ?? 0) - (a[1]?.priority ?? 0));
}

function endpointConfig(s: Service, cfg: ServiceNetwork | null, cname: string): EndpointSettings {
  const aliases = [s.name, ...(cfg?.aliases ?? [])];
  const ep: EndpointSettings = { Aliases: [...new Set(aliases)], DNSNames: [...new Set([cname, ...aliases])] };
  if (cfg?.ipv4_address || cfg?.ipv6_address) ep.IPAMConfig = { IPv4Address: cfg.ipv4_address, IPv6Address: cfg.ipv6_address };
  return ep;
}

export interface CreateSpec {
  name: string;
  body: ContainerCreateRequest;
  /** Networks joined after create (the first is in the body). */
  extraNetworks: { name: string; endpoint: EndpointSettings }[];
}

export interface CreateContext {
  number: number;
  oneoff?: boolean;
  /** The image ID the container is made from (written in com.docker.compose.image). */
  imageId?: string;
  /** Overrides for `run`. */
  name?: string;
  command?: string[];
  entrypoint?: string[];
  env?: string[];
  user?: string;
  workdir?: string;
  tty?: boolean;
  stdinOpen?: boolean;
  noPorts?: boolean;
  autoRemove?: boolean;
  replaces?: string;
  /**
   * Anonymous volumes of the container being replaced, by mount point: the new container mounts the same volumes
   * (Compose v2 keeps them across a recreate unless --renew-anon-volumes), both the service's own anonymous volumes
   * and those the image's VOLUME lines made.
   */
  inheritVolumes?: Record<string, string>;
  extraLabels?: Record<string, string>;
  /** Resolves `service:name` in network_mode/volumes_from to a container ID or name. */
  containerOf?(service: string): string | undefined;
}

function restartPolicy(s: Service): HostConfig['RestartPolicy'] {
  if (s.restart) {
    const [name, max] = s.restart.split(':');
    return { Name: name === 'no' ? 'no' : name, MaximumRetryCount: max ? Number(max) : 0 };
  }
  const rp = s.deploy?.restart_policy;
  if (rp) {
    const name = { none: 'no', 'on-failure': 'on-failure', any: 'always' }[rp.condition ?? 'any'] ?? 'no';
    return { Name: name, MaximumRetryCount: rp.max_attempts ?? 0 };
  }
  return undefined;
}

function healthcheck(s: Service): HealthConfig | undefined {
  const h = s.healthcheck;
  if (!h) return undefined;
  if (h.disable) return { Test: ['NONE'] };
  const out: HealthConfig = {};
  if (h.test) out.Test = h.test;
  if (h.interval) out.Interval = parseDuration(h.interval);
  if (h.timeout) out.Timeout = parseDuration(h.timeout);
  if (h.start_period) out.StartPeriod = parseDuration(h.start_period);
  if (h.start_interval) out.StartInterval = parseDuration(h.start_interval);
  if (h.retries !== undefined) out.Retries = h.retries;
  return out;
}

/** The `Env` list: environment mapping, unresolved names dropped (Compose leaves them out of the container). */
export function envList(s: Service): string[] {
  return Object.entries(s.environment ?? {})
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`);
}

function secretMounts(project: Project, s: Service): MountSpec[] {
  const out: MountSpec[] = [];
  for (const [kind, list] of [['secrets', s.secrets ?? []], ['configs', s.configs ?? []]] as const) {
    for (const ref of list) {
      const def = project[kind][ref.source];
      if (!def?.file) continue;
      const target = kind === 'secrets' ? (ref.target?.startsWith('/') ? ref.target : `/run/secrets/${ref.target ?? ref.source}`) : (ref.target ?? `/${ref.source}`);
      out.push({ Type: 'bind', Source: def.file, Target: target, ReadOnly: true });
    }
  }
  return out;
}

/**
 * Secrets/configs whose content comes from `environment` or `content`: copied in after create, owned by the
 * reference's `uid`/`gid` (default 0) with its `mode` (default 0444), as Compose v2 writes them.
 */
export function inlineFileObjects(project: Project, s: Service, lookup: (k: string) => string | undefined): { target: string; content: string; uid: number; gid: number; mode: number }[] {
  const out: { target: string; content: string; uid: number; gid: number; mode: number }[] = [];
  for (const [kind, list] of [['secrets', s.secrets ?? []], ['configs', s.configs ?? []]] as const) {
    for (const ref of list) {
      const def = project[kind][ref.source];
      if (!def || def.file) continue;
      const content = def.content ?? (def.environment ? (lookup(def.environment) ?? '') : undefined);
      if (content === undefined) continue;
      const target = kind === 'secrets' ? (ref.target?.startsWith('/') ? ref.target : `/run/secrets/${ref.target ?? ref.source}`) : (ref.target ?? `/${ref.source}`);
      out.push({ target, content, uid: Number(ref.uid ?? 0) || 0, gid: Number(ref.gid ?? 0) || 0, mode: ref.mode ?? 0o444 });
    }
  }
  return out;
}

function resources(s: Service, hc: HostConfig): void {
  const lim = (s.deploy?.resources?.limits ?? {}) as Dict;
  const res = (s.deploy?.resources?.reservations ?? {}) as Dict;
  const mem = s.mem_limit ?? lim.memory;
  if (mem !== undefined) hc.Memory = parseBytes(mem as string);
  const memRes = s.mem_reservation ?? res.memory;
  if (memRes !== undefined) hc.MemoryReservation = parseBytes(memRes as string);
  if (s.memswap_limit !== undefined) hc.MemorySwap = s.memswap_limit === -1 ? -1 : parseBytes(s.memswap_limit as string);
  const cpus = s.cpus ?? lim.cpus;
  if (cpus !== undefined) hc.NanoCpus = Math.round(Number(cpus) * 1e9);
  if (s.cpu_shares !== undefined) hc.CpuShares = Number(s.cpu_shares);
  if (s.cpuset !== undefined) hc.CpusetCpus = String(s.cpuset);
  const pids = s.pids_limit ?? lim.pids;
  if (pids !== undefined) hc.PidsLimit = Number(pids);
  if (s.oom_kill_disable !== undefined) hc.OomKillDisable = s.oom_kill_disable;
  if (s.oom_score_adj !== undefined) hc.OomScoreAdj = s.oom_score_adj;
}

/** Builds the create request for replica `ctx.number` of `s`. */
export function createSpec(project: Project, s: Service, ctx: CreateContext): CreateSpec {
  const name = ctx.name ?? containerName(project, s, ctx.number);
  const labels: Record<string, string> = {
    ...(s.labels ?? {}),
    [L.project]: project.name,
    [L.service]: s.name,
    [L.number]: String(ctx.number),
    [L.oneoff]: ctx.oneoff ? 'True' : 'False',
    [L.configHash]: serviceHash(s),
    [L.configFiles]: project.configFiles.join(','),
    [L.workingDir]: project.workingDir,
    [L.dependsOn]: dependsOnLabel(s),
    [L.version]: COMPOSE_VERSION,
    ...(project.envFiles.length ? { [L.environmentFile]: project.envFiles.join(',') } : {}),
    ...(ctx.imageId ? { [L.image]: ctx.imageId } : {}),
    ...(ctx.replaces ? { [L.replace]: ctx.replaces } : {}),
    ...(ctx.extraLabels ?? {}),
  };

  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const e of s.expose ?? []) exposed[e.includes('/') ? e : `${e}/tcp`] = {};
  if (!ctx.noPorts)
    for (const p of s.ports ?? []) {
      const key = `${p.target}/${p.protocol}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.host_ip ?? '', HostPort: p.published ?? '' });
    }

  const mounts: MountSpec[] = [];
  for (const v of s.volumes ?? []) {
    const m: MountSpec = { Type: v.type, Target: v.target };
    if (v.read_only) m.ReadOnly = true;
    if (v.type === 'volume') {
      if (v.source) m.Source = project.volumes[v.source]?.name ?? v.source;
      else if (ctx.inheritVolumes?.[path.posix.normalize(v.target)]) m.Source = ctx.inheritVolumes[path.posix.normalize(v.target)];
      if (v.volume?.nocopy) m.VolumeOptions = { NoCopy: true };
    } else if (v.type === 'bind') {
      m.Source = v.source;
      if (v.bind?.propagation) m.BindOptions = { Propagation: v.bind.propagation };
    } else if (v.type === 'tmpfs') {
      const t: NonNullable<MountSpec['TmpfsOptions']> = {};
      if (v.tmpfs?.size !== undefined) t.SizeBytes = parseBytes(v.tmpfs.size);
      if (v.tmpfs?.mode !== undefined) t.Mode = v.tmpfs.mode;
      m.TmpfsOptions = t;
    }
    mounts.push(m);
  }
  mounts.push(...secretMounts(project, s));
  // The image's anonymous volumes the old container had, where nothing of the service's is mounted now.
  const taken = new Set(mounts.map((m) => path.posix.normalize(String(m.Target))));
  for (const t of s.tmpfs ?? []) taken.add(path.posix.normalize(t.split(':')[0]));
  for (const [target, name] of Object.entries(ctx.inheritVolumes ?? {})) if (!taken.has(target)) mounts.push({ Type: 'volume', Source: name, Target: target });

  const hc: HostConfig = {
    Mounts: mounts,
    PortBindings: bindings,
    RestartPolicy: restartPolicy(s),
    AutoRemove: ctx.autoRemove ?? false,
  };
  const tmpfs: Record<string, string> = {};
  for (const t of s.tmpfs ?? []) {
    const i = t.indexOf(':');
    tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? '' : t.slice(i + 1);
  }
  if (Object.keys(tmpfs).length) hc.Tmpfs = tmpfs;
  if (s.extra_hosts?.length) hc.ExtraHosts = s.extra_hosts;
  if (s.dns?.length) hc.Dns = s.dns;
  if (s.dns_search?.length) hc.DnsSearch = s.dns_search;
  if (s.dns_opt?.length) hc.DnsOptions = s.dns_opt;
  if (s.cap_add?.length) hc.CapAdd = s.cap_add;
  if (s.cap_drop?.length) hc.CapDrop = s.cap_drop;
  if (s.privileged) hc.Privileged = true;
  if (s.security_opt?.length) hc.SecurityOpt = s.security_opt;
  if (s.ulimits) hc.Ulimits = Object.entries(s.ulimits).map(([Name, u]) => ({ Name, Soft: u.soft, Hard: u.hard }));
  if (s.sysctls) hc.Sysctls = s.sysctls;
  if (s.logging) hc.LogConfig = { Type: s.logging.driver ?? '', Config: s.logging.options ?? {} };
  if (s.init !== undefined) hc.Init = s.init;
  if (s.pid) hc.PidMode = s.pid;
  if (s.ipc) hc.IpcMode = s.ipc;
  if (s.shm_size !== undefined) hc.ShmSize = parseBytes(s.shm_size as string);
  if (s.read_only) hc.ReadonlyRootfs = true;
  if (s.group_add?.length) hc.GroupAdd = s.group_add.map(String);
  if (s.devices?.length)
    hc.Devices = s.devices.map((d) => {
      const [host, cont, perms] = String(d).split(':');
      return { PathOnHost: host, PathInContainer: cont ?? host, CgroupPermissions: perms ?? 'rwm' };
    });
  if (s.links?.length || s.external_links?.length) {
    hc.Links = [...(s.links ?? []), ...(s.external_links ?? [])].map((l) => {
      const [target, alias] = l.split(':');
      const resolved = ctx.containerOf?.(target) ?? target;
      return `${resolved}:${alias ?? target}`;
    });
  }
  if (s.volumes_from?.length) {
    hc.VolumesFrom = s.volumes_from.map((v) => {
      const [src, mode] = v.startsWith('container:') ? [v.slice(10).split(':')[0], v.slice(10).split(':')[1]] : v.split(':');
      const target = v.startsWith('container:') ? src : (ctx.containerOf?.(src) ?? src);
      return mode ? `${target}:${mode}` : target;
    });
  }
  resources(s, hc);

  const nets = serviceNetworks(s);
  let networking: NetworkingConfig | undefined;
  const extraNetworks: { name: string; endpoint: EndpointSettings }[] = [];
  if (s.network_mode) {
    const nm = s.network_mode;
    hc.NetworkMode = nm.startsWith('service:') ? `container:${ctx.containerOf?.(nm.slice(8)) ?? nm.slice(8)}` : nm;
  } else if (nets.length) {
    const [first, ...rest] = nets;
    const engineName = (k: string) => project.networks[k]?.name ?? k;
    hc.NetworkMode = engineName(first[0]);
    networking = { EndpointsConfig: { [engineName(first[0])]: endpointConfig(s, first[1], name) } };
    for (const [k, cfg] of rest) extraNetworks.push({ name: engineName(k), endpoint: endpointConfig(s, cfg, name) });
  }

  const body: ContainerCreateRequest = {
    Image: imageName(project, s),
    Labels: labels,
    Env: [...envList(s), ...(ctx.env ?? [])],
    ExposedPorts: exposed,
    HostConfig: hc,
    Tty: ctx.tty ?? Boolean(s.tty),
    OpenStdin: ctx.stdinOpen ?? Boolean(s.stdin_open),
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
  };
  if (networking) body.NetworkingConfig = networking;
  const cmd = ctx.command ?? s.command;
  if (cmd) body.Cmd = cmd;
  const ep = ctx.entrypoint ?? s.entrypoint;
  if (ep) body.Entrypoint = ep;
  if (ctx.user ?? s.user) body.User = String(ctx.user ?? s.user);
  if (ctx.workdir ?? s.working_dir) body.WorkingDir = String(ctx.workdir ?? s.working_dir);
  if (s.hostname) body.Hostname = String(s.hostname);
  if (s.domainname) body.Domainname = String(s.domainname);
  if (s.mac_address) body.MacAddress = String(s.mac_address);
  if (s.stop_signal) body.StopSignal = String(s.stop_signal);
  if (s.stop_grace_period) body.StopTimeout = Math.round(parseDuration(String(s.stop_grace_period)) / 1e9);
  const hcheck = healthcheck(s);
  if (hcheck) body.Healthcheck = hcheck;
  return { name, body, extraNetworks };
}

/** Seconds to give a container between SIGTERM and SIGKILL (stop_grace_period, else the `-t` given, else 10). */
export function stopTimeout(s: Service | undefined, flag?: number): number | undefined {
  if (flag !== undefined) return flag;
  if (s?.stop_grace_period) return Math.round(parseDuration(String(s.stop_grace_period)) / 1e9);
  return undefined;
}

export { replicasOf };
export const relPath = (project: Project, p: string): string => path.relative(project.workingDir, p) || '.';
