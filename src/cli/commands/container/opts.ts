/**
 * `run`/`create` flags and the create request body built from them, the way the docker CLI does it
 * (cli/command/container/opts.go `parse`): Config + HostConfig + NetworkingConfig. Pure apart from reading
 * --env-file/--label-file/seccomp profile files and the CLI's environment for `-e NAME`.
 *
 * Validation errors are thrown as `OptsError`; `flag` is set when docker reports it as a flag-parsing error
 * (`invalid argument "x" for "-m, --memory" flag: …`, shown with the usage line).
 */
import { parseDetachKeys as parseKeys } from '../../../core/runtime/attach.js';
import fs from 'node:fs';
import type { FlagSpec, FlagValues } from '../../../pkg/flags/flags.js';
import { parseDurationNs, ramInBytes } from '../../../pkg/units/units.js';
import { parseMountFlag, parseTmpfsFlags, parseVolumeFlags } from '../../../pkg/mountspec/index.js';
import type { ContainerConfig, ContainerCreateRequest, EndpointSettings, HostConfig } from '../../../api/types/container.js';

export class OptsError extends Error {
  /** True for errors docker raises while parsing a typed flag (printed with the usage line). */
  constructor(message: string, readonly flag = false) {
    super(message);
  }
}

const s = (name: string, description: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, type: 'string', description, ...extra });
const l = (name: string, description: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, type: 'list', description, ...extra });
const b = (name: string, description: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, type: 'bool', description, ...extra });

/** The container flags shared by `run` and `create` (docker 28's set, alphabetical as in its help). */
export const containerFlags: FlagSpec[] = [
  l('add-host', 'Add a custom host-to-IP mapping (host:ip)'),
  l('annotation', 'Add an annotation to the container (passed through to the OCI runtime)', { valueName: 'map' }),
  l('attach', 'Attach to STDIN, STDOUT or STDERR', { short: 'a' }),
  s('blkio-weight', 'Block IO (relative weight), between 10 and 1000, or 0 to disable', { valueName: 'uint16' }),
  l('cap-add', 'Add Linux capabilities'),
  l('cap-drop', 'Drop Linux capabilities'),
  s('cgroup-parent', 'Optional parent cgroup for the container'),
  s('cgroupns', 'Cgroup namespace to use (host|private)'),
  s('cidfile', 'Write the container ID to the file'),
  s('cpu-period', 'Limit CPU CFS (Completely Fair Scheduler) period', { valueName: 'int' }),
  s('cpu-quota', 'Limit CPU CFS (Completely Fair Scheduler) quota', { valueName: 'int' }),
  s('cpu-rt-period', 'Limit CPU real-time period in microseconds', { valueName: 'int' }),
  s('cpu-rt-runtime', 'Limit CPU real-time runtime in microseconds', { valueName: 'int' }),
  s('cpu-shares', 'CPU shares (relative weight)', { short: 'c', valueName: 'int' }),
  s('cpus', 'Number of CPUs', { valueName: 'decimal' }),
  s('cpuset-cpus', 'CPUs in which to allow execution (0-3, 0,1)'),
  s('cpuset-mems', 'MEMs in which to allow execution (0-3, 0,1)'),
  s('detach-keys', 'Override the key sequence for detaching a container'),
  l('device', 'Add a host device to the container'),
  l('device-cgroup-rule', 'Add a rule to the cgroup allowed devices list'),
  b('disable-content-trust', 'Skip image verification', { default: true, hidden: true }),
  l('dns', 'Set custom DNS servers'),
  l('dns-option', 'Set DNS options', { aliases: ['dns-opt'] }),
  l('dns-search', 'Set custom DNS search domains'),
  s('domainname', 'Container NIS domain name'),
  s('entrypoint', 'Overwrite the default ENTRYPOINT of the image'),
  l('env', 'Set environment variables', { short: 'e' }),
  l('env-file', 'Read in a file of environment variables'),
  l('expose', 'Expose a port or a range of ports'),
  l('group-add', 'Add additional groups to join'),
  s('health-cmd', 'Command to run to check health'),
  s('health-interval', 'Time between running the check (ms|s|m|h)', { valueName: 'duration', default: '0s' }),
  s('health-retries', 'Consecutive failures needed to report unhealthy', { valueName: 'int' }),
  s('health-start-interval', 'Time between running the check during the start period (ms|s|m|h)', { valueName: 'duration', default: '0s' }),
  s('health-start-period', 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)', { valueName: 'duration', default: '0s' }),
  s('health-timeout', 'Maximum time to allow one check to run (ms|s|m|h)', { valueName: 'duration', default: '0s' }),
  s('hostname', 'Container host name', { short: 'h' }),
  b('init', 'Run an init inside the container that forwards signals and reaps processes'),
  b('interactive', 'Keep STDIN open even if not attached', { short: 'i' }),
  s('ip', 'IPv4 address (e.g., 172.30.100.104)'),
  s('ip6', 'IPv6 address (e.g., 2001:db8::33)'),
  s('ipc', 'IPC mode to use'),
  s('isolation', 'Container isolation technology'),
  l('label', 'Set meta data on a container', { short: 'l' }),
  l('label-file', 'Read in a line delimited file of labels'),
  l('link', 'Add link to another container'),
  l('link-local-ip', 'Container IPv4/IPv6 link-local addresses'),
  s('log-driver', 'Logging driver for the container'),
  l('log-opt', 'Log driver options'),
  s('mac-address', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)'),
  s('memory', 'Memory limit', { short: 'm', valueName: 'bytes' }),
  s('memory-reservation', 'Memory soft limit', { valueName: 'bytes' }),
  s('memory-swap', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", { valueName: 'bytes' }),
  s('memory-swappiness', 'Tune container memory swappiness (0 to 100)', { valueName: 'int', default: '-1' }),
  l('mount', 'Attach a filesystem mount to the container', { valueName: 'mount' }),
  s('name', 'Assign a name to the container'),
  l('network', 'Connect a container to a network', { valueName: 'network', aliases: ['net'] }),
  l('network-alias', 'Add network-scoped alias for the container', { aliases: ['net-alias'] }),
  b('no-healthcheck', 'Disable any container-specified HEALTHCHECK'),
  b('oom-kill-disable', 'Disable OOM Killer'),
  s('oom-score-adj', "Tune host's OOM preferences (-1000 to 1000)", { valueName: 'int' }),
  s('pid', 'PID namespace to use'),
  s('pids-limit', 'Tune container pids limit (set -1 for unlimited)', { valueName: 'int' }),
  s('platform', 'Set platform if server is multi-platform capable'),
  b('privileged', 'Give extended privileges to this container'),
  l('publish', "Publish a container's port(s) to the host", { short: 'p' }),
  b('publish-all', 'Publish all exposed ports to random ports', { short: 'P' }),
  s('pull', 'Pull image before running ("always", "missing", "never")', { default: 'missing' }),
  b('quiet', 'Suppress the pull output', { short: 'q' }),
  b('read-only', "Mount the container's root filesystem as read only"),
  s('restart', 'Restart policy to apply when a container exits', { default: 'no' }),
  b('rm', 'Automatically remove the container and its associated anonymous volumes when it exits'),
  s('runtime', 'Runtime to use for this container'),
  l('security-opt', 'Security Options'),
  s('shm-size', 'Size of /dev/shm', { valueName: 'bytes' }),
  s('stop-signal', 'Signal to stop the container'),
  s('stop-timeout', 'Timeout (in seconds) to stop a container', { valueName: 'int' }),
  l('storage-opt', 'Storage driver options for the container'),
  l('sysctl', 'Sysctl options', { valueName: 'map' }),
  l('tmpfs', 'Mount a tmpfs directory'),
  b('tty', 'Allocate a pseudo-TTY', { short: 't' }),
  l('ulimit', 'Ulimit options', { valueName: 'ulimit' }),
  s('user', 'Username or UID (format: <name|uid>[:<group|gid>])', { short: 'u' }),
  s('userns', 'User namespace to use'),
  s('uts', 'UTS namespace to use'),
  l('volume', 'Bind mount a volume', { short: 'v' }),
  s('volume-driver', 'Optional volume driver for the container'),
  l('volumes-from', 'Mount volumes from the specified container(s)'),
  s('workdir', 'Working directory inside the container', { short: 'w' }),
];

/** `run` adds these to the container flags. */
export const runOnlyFlags: FlagSpec[] = [
  b('detach', 'Run container in background and print container ID', { short: 'd' }),
  b('sig-proxy', 'Proxy received signals to the process', { default: true }),
];

export const runFlags: FlagSpec[] = [...containerFlags, ...runOnlyFlags].sort((a, c) => (a.name < c.name ? -1 : 1));

// ---------------------------------------------------------------------------------------------------------------
// Value parsers (docker/cli opts package)

const shortOf = new Map(containerFlags.filter((f) => f.short).map((f) => [f.name, f.short!]));

/** pflag's wording for a typed flag that failed to parse. */
function flagError(name: string, value: string, msg: string): OptsError {
  const short = shortOf.get(name);
  const shown = short ? `-${short}, --${name}` : `--${name}`;
  return new OptsError(`invalid argument "${value}" for "${shown}" flag: ${msg}`, true);
}

function intFlag(flags: FlagValues, name: string): number | undefined {
  const v = flags[name];
  if (v === undefined || v === '') return undefined;
  const str = String(v);
  if (!/^[+-]?\d+$/.test(str)) throw flagError(name, str, `strconv.ParseInt: parsing "${str}": invalid syntax`);
  return Number(str);
}

function bytesFlag(flags: FlagValues, name: string): number | undefined {
  const v = flags[name] as string | undefined;
  if (v === undefined || v === '') return undefined;
  try {
    return ramInBytes(v);
  } catch (e) {
    throw flagError(name, v, (e as Error).message);
  }
}

function durationFlag(flags: FlagValues, name: string): number {
  const v = flags[name] as string | undefined;
  if (v === undefined || v === '') return 0;
  try {
    return parseDurationNs(v);
  } catch (e) {
    throw flagError(name, v, (e as Error).message);
  }
}

/** `--cpus 1.5` → 1500000000 (docker's NanoCPUs: exact rational, no more than 9 decimals). */
export function parseNanoCpus(value: string): number {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(value);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) {
    throw new Error(`failed to parse ${value} as a rational number`);
  }
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > 9) throw new Error('value is too precise');
  const nano = Number(m[2] || '0') * 1e9 + Number(frac.padEnd(9, '0') || '0');
  return m[1] === '-' ? -nano : nano;
}

/** Go's os.LookupEnv-based expansion of `-e NAME` (docker's ValidateEnv). */
export function validateEnv(val: string, env: NodeJS.ProcessEnv = process.env): string {
  const eq = val.indexOf('=');
  const k = eq < 0 ? val : val.slice(0, eq);
  if (k === '') throw new OptsError(`invalid environment variable: ${val}`);
  if (eq >= 0) return val;
  const v = env[k];
  return v !== undefined ? `${k}=${v}` : val;
}

/** docker's parseKeyValueFile for --env-file (with environment lookup) and --label-file (without). */
export function parseKeyValueFile(file: string, lookup?: (k: string) => string | undefined): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new OptsError(`open ${file}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
  }
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw) => {
    const line = raw.replace(/^[ \t\n\v\f\r]+/, '');
    if (line.length === 0 || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const variable = eq < 0 ? line : line.slice(0, eq);
    if (/[ \t\n\v\f\r]/.test(variable)) throw new OptsError(`variable '${variable}' contains whitespaces`);
    if (variable.length === 0) throw new OptsError(`no variable name on line '${line}'`);
    if (eq >= 0) out.push(line);
    else if (lookup) {
      const v = lookup(variable.trim());
      out.push(v !== undefined ? `${variable.trim()}=${v}` : variable);
    } else out.push(variable);
  });
  return out;
}

/** Env files first, then -e values, as docker's ReadKVEnvStrings does. */
export function readEnv(envFiles: string[], env: string[], procEnv: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const f of envFiles) out.push(...parseKeyValueFile(f, (k) => procEnv[k]));
  for (const e of env) {
    try {
      out.push(validateEnv(e, procEnv));
    } catch (err) {
      throw flagError('env', e, (err as Error).message);
    }
  }
  return out;
}

function kvMap(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const it of items) {
    const eq = it.indexOf('=');
    if (eq < 0) out[it] = '';
    else out[it.slice(0, eq)] = it.slice(eq + 1);
  }
  return out;
}

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

function parsePortRange(r: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(r);
  if (!m) throw new Error(`invalid port range: ${r}`);
  const a = Number(m[1]);
  const z = m[2] !== undefined ? Number(m[2]) : a;
  if (a > 65535 || z > 65535 || z < a) throw new Error(`invalid port range: ${r}`);
  return [a, z];
}

function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split('/');
  if (raw.length === 0 || parts[0] === '') return ['', ''];
  if (parts.length === 1) return ['tcp', raw];
  if (parts[1] === '') return ['tcp', parts[0]!];
  return [parts[1]!, parts[0]!];
}

function isIP(ip: string): boolean {
  return /^(\d{1,3})(\.\d{1,3}){3}$/.test(ip) ? ip.split('.').every((x) => Number(x) <= 255) : /^[0-9a-fA-F:.]+$/.test(ip) && ip.includes(':');
}

/** nat.ParsePortSpec: `[ip:][hostPort:]containerPort[/proto]` → mappings. */
export function parsePortSpec(rawPort: string): { port: string; binding: PortBinding }[] {
  const parts = rawPort.split(':');
  const n = parts.length;
  let containerPort = parts[n - 1]!;
  let ip = '';
  let hostPort = '';
  if (n === 2) hostPort = parts[0]!;
  else if (n === 3) [ip, hostPort] = [parts[0]!, parts[1]!];
  else if (n > 3) [ip, hostPort] = [parts.slice(0, n - 2).join(':'), parts[n - 2]!];
  let proto: string;
  [proto, containerPort] = splitProtoPort(containerPort);
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) throw new Error(`invalid IP address ${ip}: address ${ip}: missing ']' in address`);
    ip = ip.slice(1, -1);
  }
  if (ip !== '' && !isIP(ip)) throw new Error(`invalid IP address: ${ip}`);
  if (containerPort === '') throw new Error(`no port specified: ${rawPort}<empty>`);
  let start: number, end: number;
  try {
    [start, end] = parsePortRange(containerPort);
  } catch {
    throw new Error(`invalid containerPort: ${containerPort}`);
  }
  let hStart = 0;
  let hEnd = 0;
  if (hostPort.length > 0) {
    try {
      [hStart, hEnd] = parsePortRange(hostPort);
    } catch {
      throw new Error(`invalid hostPort: ${hostPort}`);
    }
  }
  if (hostPort !== '' && end - start !== hEnd - hStart && end !== start) {
    throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  if (!['tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) throw new Error(`invalid proto: ${proto}`);
  const out: { port: string; binding: PortBinding }[] = [];
  for (let i = 0; i <= end - start; i++) {
    const cp = String(start + i);
    let hp = hostPort;
    if (hostPort.length > 0) hp = String(hStart + i);
    if (start === end && hStart !== hEnd) hp = `${hp}-${hEnd}`;
    out.push({ port: `${cp}/${proto.toLowerCase()}`, binding: { HostIp: ip, HostPort: hp } });
  }
  return out;
}

/** docker's convertToStandardNotation: the long `-p target=80,published=8080` syntax → short syntax. */
function toStandardPort(value: string): string {
  if (!value.includes('=')) return value;
  const p: Record<string, string> = {};
  for (const kv of value.split(',')) {
    const eq = kv.indexOf('=');
    if (eq < 0) throw new Error(`invalid publish opts format (should be name=value but got '${kv}')`);
    p[kv.slice(0, eq).toLowerCase()] = kv.slice(eq + 1);
  }
  if (!p.target) throw new Error('missing mandatory field "target"');
  const hostIP = p['host-ip'] ?? p.host_ip ?? '';
  return `${hostIP ? `${hostIP}:` : ''}${p.published ?? ''}:${p.target}/${p.protocol ?? 'tcp'}`;
}

/** -p values + --expose values → ExposedPorts and PortBindings. */
export function parsePorts(publish: string[], expose: string[]): {
  ExposedPorts: Record<string, Record<string, never>>;
  PortBindings: Record<string, PortBinding[]>;
} {
  const ExposedPorts: Record<string, Record<string, never>> = {};
  const PortBindings: Record<string, PortBinding[]> = {};
  for (const raw of publish) {
    for (const m of parsePortSpec(toStandardPort(raw))) {
      ExposedPorts[m.port] ??= {};
      (PortBindings[m.port] ??= []).push(m.binding);
    }
  }
  for (const e of expose) {
    if (e.includes(':')) throw new Error(`invalid port format for --expose: ${e}`);
    const [proto, port] = splitProtoPort(e);
    let start: number, end: number;
    try {
      [start, end] = parsePortRange(port);
    } catch {
      throw new Error(`invalid range format for --expose: ${e}, error: invalid syntax`);
    }
    for (let i = start; i <= end; i++) ExposedPorts[`${i}/${proto}`] ??= {};
  }
  return { ExposedPorts, PortBindings };
}

const ULIMIT_NAMES = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);

/** `nofile=1024:2048` → {Name, Soft, Hard} (go-units ParseUlimit). */
export function parseUlimit(val: string): { Name: string; Soft: number; Hard: number } {
  const eq = val.indexOf('=');
  if (eq < 0) throw new Error(`invalid ulimit argument: ${val}`);
  const name = val.slice(0, eq);
  if (!ULIMIT_NAMES.has(name)) throw new Error(`invalid ulimit type: ${name}`);
  const parts = val.slice(eq + 1).split(':');
  if (parts.length > 2) throw new Error(`too many limit value arguments - ${val.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const num = (x: string) => {
    if (!/^-?\d+$/.test(x)) throw new Error(`strconv.ParseInt: parsing "${x}": invalid syntax`);
    return Number(x);
  };
  const soft = num(parts[0]!);
  const hard = parts.length === 2 ? num(parts[1]!) : soft;
  if (soft > hard) throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Soft: soft, Hard: hard };
}

/** `--device /dev/x[:/dev/y][:rwm]`. */
export function parseDevice(device: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const arr = device.split(':');
  let src = '';
  let dst = '';
  let perms = 'rwm';
  const validMode = (m: string) => m.length > 0 && m.length <= 3 && /^[rwm]+$/.test(m);
  switch (arr.length) {
    case 3:
      perms = arr[2]!;
      if (validMode(arr[1]!)) perms = arr[1]!;
      else dst = arr[1]!;
      src = arr[0]!;
      break;
    case 2:
      if (validMode(arr[1]!)) perms = arr[1]!;
      else dst = arr[1]!;
      src = arr[0]!;
      break;
    case 1:
      src = arr[0]!;
      break;
    default:
      throw new Error(`invalid device specification: ${device}`);
  }
  if (!validMode(perms)) throw new Error(`invalid device mode: ${perms}`);
  return { PathOnHost: src, PathInContainer: dst || src, CgroupPermissions: perms };
}

/** `--restart on-failure:3` → {Name, MaximumRetryCount} (docker's ParseRestartPolicy). */
export function parseRestartPolicy(policy: string): { Name: string; MaximumRetryCount: number } {
  if (policy === '') return { Name: '', MaximumRetryCount: 0 };
  const colon = policy.indexOf(':');
  const k = colon < 0 ? policy : policy.slice(0, colon);
  const v = colon < 0 ? '' : policy.slice(colon + 1);
  if (colon >= 0 && k === '') throw new Error('invalid restart policy format: no policy provided before colon');
  let count = 0;
  if (v !== '') {
    if (!/^[+-]?\d+$/.test(v)) throw new Error('invalid restart policy format: maximum retry count must be an integer');
    count = Number(v);
  }
  return { Name: k, MaximumRetryCount: count };
}

function parseSecurityOpts(opts: string[]): string[] {
  return opts.map((opt) => {
    let sep = opt.indexOf('=');
    let k = sep < 0 ? opt : opt.slice(0, sep);
    if (sep < 0 && k !== 'no-new-privileges') {
      sep = opt.indexOf(':');
      k = sep < 0 ? opt : opt.slice(0, sep);
    }
    const v = sep < 0 ? '' : opt.slice(sep + 1);
    if ((sep < 0 || v === '') && k !== 'no-new-privileges') throw new Error(`Invalid --security-opt: ${JSON.stringify(opt)}`);
    if (k === 'seccomp' && v !== 'unconfined' && v !== 'builtin') {
      let text: string;
      try {
        text = fs.readFileSync(v, 'utf8');
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new Error(`opening seccomp profile (${v}) failed: open ${v}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
      }
      try {
        return `seccomp=${JSON.stringify(JSON.parse(text))}`;
      } catch (e) {
        throw new Error(`compacting json for seccomp profile (${v}) failed: ${(e as Error).message}`);
      }
    }
    return opt;
  });
}

/** `--detach-keys "ctrl-p,ctrl-q"` → bytes (docker's term.ToBytes; the parser is core/runtime/attach.ts's). */
export function parseDetachKeys(keys: string): Buffer {
  return Buffer.from(parseKeys(keys, { ignoreCase: true, error: (key) => new Error(`Unknown character: '${key}'`) }));
}

const validNsMode = (v: string, extra: string[]) => v === '' || extra.includes(v) || (v.startsWith('container:') && v.length > 10);

// ---------------------------------------------------------------------------------------------------------------
// The create body

/** Removes keys whose value is undefined (docker's omitempty fields that were not set). */
function dropUndefined(o: object): void {
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
}

export interface ParsedCreate {
  /** Config fields at the top level, plus HostConfig and NetworkingConfig (docker's ContainerConfigWrapper). */
  body: ContainerCreateRequest & { HostConfig: HostConfig; NetworkingConfig: { EndpointsConfig: Record<string, EndpointSettings> } };
  name?: string;
  platform?: string;
  pull: string;
}

export interface BuildOptions {
  /** Environment for `-e NAME` lookups. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Flags + positional args ([IMAGE, CMD...]) → the `POST /containers/create` body, as docker's `parse()` builds it.
 * `set` tells flags given explicitly from defaults (docker's `flags.Changed`).
 */
export function buildCreateRequest(flags: FlagValues, set: Set<string>, args: string[], opts: BuildOptions = {}): ParsedCreate {
  const env = opts.env ?? process.env;
  const list = (n: string) => (flags[n] as string[] | undefined) ?? [];
  const str = (n: string) => (flags[n] as string | undefined) ?? '';
  const bool = (n: string) => flags[n] === true;
  const [image, ...cmd] = args;

  // Attach streams.
  const attach = list('attach');
  for (const a of attach) {
    if (!['stdin', 'stdout', 'stderr'].includes(a.toLowerCase())) throw flagError('attach', a, 'valid streams are STDIN, STDOUT and STDERR');
  }
  const has = (x: string) => attach.some((a) => a.toLowerCase() === x);
  let attachStdin = has('stdin');
  let attachStdout = has('stdout');
  let attachStderr = has('stderr');
  if (bool('interactive')) attachStdin = true;
  if (attach.length === 0) {
    attachStdout = true;
    attachStderr = true;
  }

  // Typed values (docker reports these while parsing flags).
  const memory = bytesFlag(flags, 'memory') ?? 0;
  const memoryReservation = bytesFlag(flags, 'memory-reservation') ?? 0;
  let memorySwap = 0;
  const swapRaw = str('memory-swap');
  if (swapRaw === '-1') memorySwap = -1;
  else memorySwap = bytesFlag(flags, 'memory-swap') ?? 0;
  const shmSize = bytesFlag(flags, 'shm-size') ?? 0;
  let nanoCpus = 0;
  if (str('cpus') !== '') {
    try {
      nanoCpus = parseNanoCpus(str('cpus'));
    } catch (e) {
      throw flagError('cpus', str('cpus'), (e as Error).message);
    }
  }
  const cpuShares = intFlag(flags, 'cpu-shares') ?? 0;
  const cpuPeriod = intFlag(flags, 'cpu-period') ?? 0;
  const cpuQuota = intFlag(flags, 'cpu-quota') ?? 0;
  const cpuRtPeriod = intFlag(flags, 'cpu-rt-period') ?? 0;
  const cpuRtRuntime = intFlag(flags, 'cpu-rt-runtime') ?? 0;
  const blkioWeight = intFlag(flags, 'blkio-weight') ?? 0;
  const oomScoreAdj = intFlag(flags, 'oom-score-adj') ?? 0;
  const swappiness = intFlag(flags, 'memory-swappiness') ?? -1;
  const pidsLimit = intFlag(flags, 'pids-limit');
  const stopTimeout = intFlag(flags, 'stop-timeout');
  const healthRetries = intFlag(flags, 'health-retries') ?? 0;
  const healthInterval = durationFlag(flags, 'health-interval');
  const healthTimeout = durationFlag(flags, 'health-timeout');
  const healthStartPeriod = durationFlag(flags, 'health-start-period');
  const healthStartInterval = durationFlag(flags, 'health-start-interval');
  const ulimits = list('ulimit').map((u) => {
    try {
      return parseUlimit(u);
    } catch (e) {
      throw flagError('ulimit', u, (e as Error).message);
    }
  });
  const mounts = list('mount').map((m) => {
    try {
      return parseMountFlag(m, opts.cwd);
    } catch (e) {
      throw flagError('mount', m, (e as Error).message);
    }
  });
  const sysctls: Record<string, string> = {};
  for (const kv of list('sysctl')) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw flagError('sysctl', kv, `invalid argument "${kv}"`);
    sysctls[kv.slice(0, eq)] = kv.slice(eq + 1);
  }

  if (!image) throw new Error('requires at least 1 argument');

  // Volumes and binds.
  const { Binds, Volumes } = parseVolumeFlags(list('volume'), opts.cwd);
  const tmpfs = parseTmpfsFlags(list('tmpfs'));

  // Ports.
  const { ExposedPorts, PortBindings } = parsePorts(list('publish'), list('expose'));

  // Devices.
  const devices = list('device').map(parseDevice);

  // Env and labels.
  const envVars = readEnv(list('env-file'), list('env'), env);
  const labelLines: string[] = [];
  for (const f of list('label-file')) labelLines.push(...parseKeyValueFile(f));
  labelLines.push(...list('label'));
  const labels = kvMap(labelLines);

  // Namespace modes.
  const pid = str('pid');
  if (!validNsMode(pid, ['host'])) throw new Error('--pid: invalid PID mode');
  const uts = str('uts');
  if (!validNsMode(uts, ['host']) || uts.startsWith('container:')) throw new Error('--uts: invalid UTS mode');
  const userns = str('userns');
  if (userns !== '' && userns !== 'host') throw new Error('--userns: invalid USER mode');
  const cgroupns = str('cgroupns');
  if (cgroupns !== '' && cgroupns !== 'host' && cgroupns !== 'private') throw new Error('--cgroupns: invalid CGROUP mode');
  const ipc = str('ipc');

  // Entrypoint and command.
  let entrypoint: string[] | undefined;
  if (str('entrypoint') !== '') entrypoint = [str('entrypoint')];
  else if (set.has('entrypoint')) entrypoint = [''];

  // Restart policy.
  const restartPolicy = parseRestartPolicy(str('restart'));
  if (bool('rm') && restartPolicy.Name !== '' && restartPolicy.Name !== 'no') {
    throw new Error('conflicting options: cannot specify both --restart and --rm');
  }

  // Healthcheck.
  let healthcheck: Record<string, unknown> | undefined;
  const haveHealth =
    str('health-cmd') !== '' || healthInterval !== 0 || healthTimeout !== 0 || healthStartPeriod !== 0 || healthRetries !== 0 || healthStartInterval !== 0;
  if (bool('no-healthcheck')) {
    if (haveHealth) throw new Error('--no-healthcheck conflicts with --health-* options');
    healthcheck = { Test: ['NONE'] };
  } else if (haveHealth) {
    if (healthInterval < 0) throw new Error('--health-interval cannot be negative');
    if (healthTimeout < 0) throw new Error('--health-timeout cannot be negative');
    if (healthRetries < 0) throw new Error('--health-retries cannot be negative');
    if (healthStartPeriod < 0) throw new Error('--health-start-period cannot be negative');
    if (healthStartInterval < 0) throw new Error('--health-start-interval cannot be negative');
    healthcheck = {};
    if (str('health-cmd') !== '') healthcheck.Test = ['CMD-SHELL', str('health-cmd')];
    if (healthInterval) healthcheck.Interval = healthInterval;
    if (healthTimeout) healthcheck.Timeout = healthTimeout;
    if (healthStartPeriod) healthcheck.StartPeriod = healthStartPeriod;
    if (healthStartInterval) healthcheck.StartInterval = healthStartInterval;
    if (healthRetries) healthcheck.Retries = healthRetries;
  }

  // Security options (seccomp files inlined; systempaths=unconfined clears masked/readonly paths).
  let securityOpt = parseSecurityOpts(list('security-opt'));
  let maskedPaths: string[] | undefined;
  let readonlyPaths: string[] | undefined;
  if (securityOpt.includes('systempaths=unconfined')) {
    maskedPaths = [];
    readonlyPaths = [];
    securityOpt = securityOpt.filter((o) => o !== 'systempaths=unconfined');
  }

  // Log options.
  const logOpts = kvMap(list('log-opt'));
  const storageOpts = kvMap(list('storage-opt'));
  const annotations = kvMap(list('annotation'));

  // Networking (docker's parseNetworkOpts for the plain `--network NAME` syntax).
  const networks = list('network');
  const networkMode = networks[0] ?? 'default';
  const endpoints: Record<string, EndpointSettings> = {};
  const userDefined = (n: string) => !['default', 'bridge', 'host', 'none'].includes(n) && !n.startsWith('container:');
  if (networks.some(userDefined) && networks.some((n) => !userDefined(n))) {
    throw new Error('conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  }
  const netNames = networks.length ? networks : ['default'];
  netNames.forEach((n, i) => {
    const ep: EndpointSettings = {};
    if (i === 0) {
      const ipam: NonNullable<EndpointSettings['IPAMConfig']> = {};
      if (str('ip')) ipam.IPv4Address = str('ip');
      if (str('ip6')) ipam.IPv6Address = str('ip6');
      if (list('link-local-ip').length) ipam.LinkLocalIPs = list('link-local-ip');
      if (Object.keys(ipam).length) ep.IPAMConfig = ipam;
      if (list('network-alias').length) ep.Aliases = list('network-alias');
      if (list('link').length) ep.Links = list('link');
      if (str('mac-address')) ep.MacAddress = str('mac-address');
    }
    if (n in endpoints) throw new Error(`network "${n}" is specified multiple times`);
    if (i === 0 && netNames.length === 1 && Object.keys(ep).length === 0) return;
    endpoints[n] = ep;
  });

  // Resources.
  const resources: Record<string, unknown> = {
    CgroupParent: str('cgroup-parent'),
    BlkioWeight: blkioWeight,
    CpuShares: cpuShares,
    Memory: memory,
    NanoCpus: nanoCpus,
    CpuPeriod: cpuPeriod,
    CpuQuota: cpuQuota,
    CpuRealtimePeriod: cpuRtPeriod,
    CpuRealtimeRuntime: cpuRtRuntime,
    CpusetCpus: str('cpuset-cpus'),
    CpusetMems: str('cpuset-mems'),
    Devices: devices,
    DeviceCgroupRules: list('device-cgroup-rule'),
    MemoryReservation: memoryReservation,
    MemorySwap: memorySwap,
    OomKillDisable: bool('oom-kill-disable'),
    Ulimits: ulimits,
  };
  if (swappiness !== -1) resources.MemorySwappiness = swappiness;
  if (set.has('pids-limit') && pidsLimit !== undefined) resources.PidsLimit = pidsLimit;

  const config: ContainerConfig = {
    Hostname: str('hostname'),
    Domainname: str('domainname'),
    User: str('user'),
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    Tty: bool('tty'),
    OpenStdin: bool('interactive'),
    StdinOnce: false,
    Env: envVars,
    Cmd: cmd.length ? cmd : null,
    Image: image,
    Volumes: Object.keys(Volumes).length ? Volumes : undefined,
    WorkingDir: str('workdir'),
    Entrypoint: entrypoint ?? null,
    Labels: labels,
  };
  if (Object.keys(ExposedPorts).length) config.ExposedPorts = ExposedPorts;
  if (str('stop-signal')) config.StopSignal = str('stop-signal');
  if (set.has('stop-timeout') && stopTimeout !== undefined) config.StopTimeout = stopTimeout;
  if (healthcheck) config.Healthcheck = healthcheck;
  // When allocating stdin in attached mode, close stdin at client disconnect.
  if (config.OpenStdin && config.AttachStdin) config.StdinOnce = true;
  dropUndefined(config);

  const hostConfig: HostConfig = {
    Binds: Binds.length ? Binds : null,
    ContainerIDFile: str('cidfile'),
    LogConfig: { Type: str('log-driver'), Config: logOpts },
    NetworkMode: networkMode,
    PortBindings,
    RestartPolicy: restartPolicy,
    AutoRemove: bool('rm'),
    VolumeDriver: str('volume-driver'),
    VolumesFrom: list('volumes-from').length ? list('volumes-from') : null,
    ConsoleSize: [0, 0],
    Annotations: Object.keys(annotations).length ? annotations : undefined,
    CapAdd: list('cap-add').length ? list('cap-add') : null,
    CapDrop: list('cap-drop').length ? list('cap-drop') : null,
    CgroupnsMode: cgroupns,
    Dns: list('dns'),
    DnsOptions: list('dns-option'),
    DnsSearch: list('dns-search'),
    ExtraHosts: list('add-host').length ? list('add-host') : null,
    GroupAdd: list('group-add').length ? list('group-add') : null,
    IpcMode: ipc,
    Cgroup: '',
    Links: list('link').length ? list('link') : null,
    OomScoreAdj: oomScoreAdj,
    PidMode: pid,
    Privileged: bool('privileged'),
    PublishAllPorts: bool('publish-all'),
    ReadonlyRootfs: bool('read-only'),
    SecurityOpt: securityOpt.length ? securityOpt : null,
    StorageOpt: Object.keys(storageOpts).length ? storageOpts : undefined,
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    UTSMode: uts,
    UsernsMode: userns,
    ShmSize: shmSize,
    Sysctls: Object.keys(sysctls).length ? sysctls : undefined,
    Runtime: str('runtime') || undefined,
    Isolation: str('isolation'),
    ...resources,
    Mounts: mounts.length ? mounts : undefined,
    MaskedPaths: maskedPaths,
    ReadonlyPaths: readonlyPaths,
  };
  if (set.has('init')) hostConfig.Init = bool('init');
  dropUndefined(hostConfig);

  const pull = str('pull') || 'missing';
  if (!['always', 'missing', 'never'].includes(pull)) {
    throw new Error(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  }

  return {
    body: { ...config, HostConfig: hostConfig, NetworkingConfig: { EndpointsConfig: endpoints } },
    name: str('name') || undefined,
    platform: str('platform') || undefined,
    pull,
  };
}
