/**
 * Daemon configuration: dockerd-compatible command-line flags merged with a daemon.json that uses Docker's key names.
 * As dockerd does, a directive given both as a flag and in the file is an error, and unknown file keys are refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FlagSpec, parseFlags } from '../pkg/flags/flags.js';
import { validateLogConfig, type LogConfig } from './services/containers/log-config.js';
import { isLogLevel, LogLevel } from './logger.js';

export interface AddressPool {
  base: string;
  size: number;
}

export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  debug: boolean;
  logLevel: LogLevel;
  insecureRegistries: string[];
  /** `--registry-mirror`s as validated URLs with a trailing `/`, tried in order for docker.io pulls. */
  registryMirrors: string[];
  /** Layers downloaded / uploaded at once per pull / push (`--max-concurrent-downloads`, `-uploads`). */
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  /**
   * Where registry TLS material lives, `<dir>/<host:port>/` with `*.crt` (CAs), `*.cert` + `*.key` (client
   * certificates) as dockerd's /etc/docker/certs.d: `--registry-certs-dir` (`registry-certs-dir`), else
   * /etc/berth/certs.d then /etc/docker/certs.d.
   */
  registryCertsDirs: string[];
  /** The default bridge's address in CIDR form (`--bip`), empty for the built-in default. */
  bip: string;
  defaultAddressPools: AddressPool[];
  /** `--ipv6`: IPv6 on the default bridge, on `fixedCidrV6` (`--fixed-cidr-v6`) or a ULA /64 of the daemon's. */
  ipv6: boolean;
  fixedCidrV6: string;
  iptables: boolean;
  /** Path of the OCI runtime binary. */
  runtime: string;
  /** Storage driver: overlay2, or `vfs` (copying) where overlay is missing. Empty = detect. */
  storageDriver: string;
  labels: string[];
  /** The logging driver and options containers get when they name none (`--log-driver`, `--log-opt`). */
  logConfig: LogConfig;
  /** Always true for berth: containers outlive the daemon. Accepted for compatibility. */
  liveRestore: boolean;
  /** How TCP listeners are protected (`--tls`, `--tlsverify`, `--tlscacert`, `--tlscert`, `--tlskey`). */
  tls: TlsConfig;
  /** Group (name or gid) that owns the unix sockets (`-G`); empty for none. */
  socketGroup: string;
  /** True when `socketGroup` is the built-in default (a missing default group is only a warning, as in dockerd). */
  socketGroupIsDefault: boolean;
  /** The cgroup containers are created under unless they name one (`--cgroup-parent`, default /berth). */
  cgroupParent: string;
  /** `--cpu-rt-period` / `--cpu-rt-runtime` (µs, 0 = unset): the real-time budget of containers' parent cgroups. */
  cpuRealtime: { period: number; runtime: number };
  /** The web dashboard's listen address and certificate (`--dashboard`); undefined when it is off (the default). */
  dashboard: DashboardConfig | undefined;
}

/**
 * TLS for the Engine API's TCP listeners, with dockerd's meaning: `enabled` serves TLS with the server certificate;
 * `verify` (mutual TLS, implies `enabled`) also requires every client to present a certificate signed by `caFile`.
 * `explicitlyOff` records that the user said `--tls=false` or `--tlsverify=false` — dockerd's opt-out that lets plain
 * TCP listen on a non-loopback address.
 */
export interface TlsConfig {
  enabled: boolean;
  verify: boolean;
  caFile: string;
  certFile: string;
  keyFile: string;
  explicitlyOff: boolean;
}

/** The dashboard listener: `host:port`, and a server certificate (required for a non-loopback host). */
export interface DashboardConfig {
  address: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The default unix socket group: `berth`, as dockerd uses `docker`. */
export const DEFAULT_SOCKET_GROUP = 'berth';

/** dockerd's default certificate directory: $DOCKER_CERT_PATH, else ~/.docker. */
function defaultCertDir(): string {
  return process.env.DOCKER_CERT_PATH || path.join(os.homedir(), '.docker');
}

export const DEFAULT_SOCKET = '/run/berth/berth.sock';

export const daemonFlags: FlagSpec[] = [
  { name: 'host', short: 'H', type: 'list', description: 'Daemon socket(s) to connect to', valueName: 'list' },
  { name: 'data-root', type: 'string', description: 'Root directory of persistent berth state', default: '/var/lib/berth' },
  { name: 'exec-root', type: 'string', description: 'Root directory for execution state files', default: '/run/berth' },
  { name: 'pidfile', short: 'p', type: 'string', description: 'Path to use for daemon PID file', default: '/run/berth.pid' },
  { name: 'config-file', type: 'string', description: 'Daemon configuration file', default: '/etc/berth/daemon.json' },
  { name: 'debug', short: 'D', type: 'bool', description: 'Enable debug mode' },
  { name: 'log-level', short: 'l', type: 'string', description: 'Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")', default: 'info' },
  { name: 'insecure-registry', type: 'list', description: 'Enable insecure registry communication' },
  { name: 'registry-mirror', type: 'list', description: 'Preferred registry mirror' },
  { name: 'max-concurrent-downloads', type: 'int', description: 'Set the max concurrent downloads', default: 3 },
  { name: 'max-concurrent-uploads', type: 'int', description: 'Set the max concurrent uploads', default: 5 },
  { name: 'registry-certs-dir', type: 'string', description: 'Directory of per-registry TLS certificates (<host:port>/ca.crt, client.cert, client.key)' },
  { name: 'bip', type: 'string', description: 'Specify network bridge IP' },
  { name: 'default-address-pool', type: 'list', description: 'Default address pools for node specific local networks' },
  { name: 'ipv6', type: 'bool', description: 'Enable IPv6 networking on the default bridge' },
  { name: 'fixed-cidr-v6', type: 'string', description: 'IPv6 subnet for the default bridge' },
  { name: 'iptables', type: 'bool', description: 'Enable addition of iptables rules', default: true },
  { name: 'cgroup-parent', type: 'string', description: 'Set parent cgroup for all containers', default: '/berth' },
  { name: 'cpu-rt-period', type: 'int', description: 'Limit the CPU real-time period in microseconds for the parent cgroup for all containers', default: 0 },
  { name: 'cpu-rt-runtime', type: 'int', description: 'Limit the CPU real-time runtime in microseconds for the parent cgroup for all containers', default: 0 },
  { name: 'storage-driver', short: 's', type: 'string', description: 'Storage driver to use' },
  { name: 'label', type: 'list', description: 'Set key=value labels to the daemon' },
  { name: 'log-driver', type: 'string', description: 'Default driver for container logs', default: 'json-file' },
  { name: 'log-opt', type: 'list', description: 'Default log driver options for containers', valueName: 'map' },
  { name: 'live-restore', type: 'bool', description: 'Enable live restore of containers (always on in berth)', default: true },
  { name: 'tls', type: 'bool', description: 'Use TLS; implied by --tlsverify' },
  { name: 'tlsverify', type: 'bool', description: 'Use TLS and verify the remote' },
  { name: 'tlscacert', type: 'string', description: 'Trust certs signed only by this CA', default: path.join(defaultCertDir(), 'ca.pem') },
  { name: 'tlscert', type: 'string', description: 'Path to TLS certificate file', default: path.join(defaultCertDir(), 'cert.pem') },
  { name: 'tlskey', type: 'string', description: 'Path to TLS key file', default: path.join(defaultCertDir(), 'key.pem') },
  { name: 'group', short: 'G', type: 'string', description: 'Group for the unix socket', default: DEFAULT_SOCKET_GROUP },
  { name: 'dashboard', type: 'string', description: 'Serve the web dashboard on this address (host:port, loopback unless TLS is given)' },
  { name: 'dashboard-tls-cert', type: 'string', description: "Path to the dashboard's TLS certificate file" },
  { name: 'dashboard-tls-key', type: 'string', description: "Path to the dashboard's TLS key file" },
  { name: 'version', short: 'v', type: 'bool', description: 'Print version information and quit' },
  { name: 'help', short: 'h', type: 'bool', description: 'Print usage' },
];

/** daemon.json key → flag name, for the keys berth understands. */
const fileKeys: Record<string, string> = {
  hosts: 'host',
  'data-root': 'data-root',
  'exec-root': 'exec-root',
  pidfile: 'pidfile',
  debug: 'debug',
  'log-level': 'log-level',
  'insecure-registries': 'insecure-registry',
  'registry-mirrors': 'registry-mirror',
  'max-concurrent-downloads': 'max-concurrent-downloads',
  'max-concurrent-uploads': 'max-concurrent-uploads',
  'registry-certs-dir': 'registry-certs-dir',
  bip: 'bip',
  'default-address-pools': 'default-address-pool',
  iptables: 'iptables',
  ipv6: 'ipv6',
  'fixed-cidr-v6': 'fixed-cidr-v6',
  'storage-driver': 'storage-driver',
  'cgroup-parent': 'cgroup-parent',
  'cpu-rt-period': 'cpu-rt-period',
  'cpu-rt-runtime': 'cpu-rt-runtime',
  labels: 'label',
  'log-driver': 'log-driver',
  'log-opts': 'log-opt',
  'live-restore': 'live-restore',
  tls: 'tls',
  tlsverify: 'tlsverify',
  tlscacert: 'tlscacert',
  tlscert: 'tlscert',
  tlskey: 'tlskey',
  group: 'group',
  dashboard: 'dashboard',
  'dashboard-tls-cert': 'dashboard-tls-cert',
  'dashboard-tls-key': 'dashboard-tls-key',
};

export class ConfigError extends Error {
  readonly kind = 'InvalidArgument';
}

export interface ParsedDaemonArgs {
  config: DaemonConfig;
  showVersion: boolean;
  showHelp: boolean;
}

export function loadDaemonConfig(argv: string[]): ParsedDaemonArgs {
  const { values, set, args } = parseFlags(argv, daemonFlags);
  if (args.length) throw new ConfigError(`berthd: unexpected argument(s): ${args.join(' ')}`);
  const configFile = values['config-file'] as string;
  let file: Record<string, unknown> = {};
  if (fs.existsSync(configFile)) {
    try {
      file = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`unable to configure the berth daemon with file ${configFile}: ${(e as Error).message}`);
    }
  } else if (set.has('config-file')) {
    throw new ConfigError(`unable to configure the berth daemon with file ${configFile}: open ${configFile}: no such file or directory`);
  }
  const unknown = Object.keys(file).filter((k) => !(k in fileKeys));
  if (unknown.length) throw new ConfigError(`the following directives don't match any configuration option: ${unknown.join(', ')}`);
  const both = Object.keys(file).filter((k) => set.has(fileKeys[k]));
  if (both.length)
    throw new ConfigError(
      `the following directives are specified both as a flag and in the configuration file: ${both
        .map((k) => `${k}: (from flag: ${JSON.stringify(values[fileKeys[k]])}, from file: ${JSON.stringify(file[k])})`)
        .join(', ')}`,
    );
  const pick = <T>(key: string, flag: string): T => (key in file ? (file[key] as T) : (values[flag] as T));

  const pools = pick<unknown[]>('default-address-pools', 'default-address-pool').map((p) => {
    if (typeof p === 'string') {
      const kv = Object.fromEntries(p.split(',').map((x) => x.split('=') as [string, string]));
      return { base: kv.base, size: Number(kv.size) };
    }
    return p as AddressPool;
  });
  const debug = Boolean(pick('debug', 'debug'));
  const level = String(pick('log-level', 'log-level'));
  if (!isLogLevel(level)) throw new ConfigError(`unable to parse logging level: ${level}`);
  const hosts = pick<string[]>('hosts', 'host');
  const logOpts = pick<unknown>('log-opts', 'log-opt');
  const logConfig: LogConfig = {
    Type: String(pick('log-driver', 'log-driver') || 'json-file'),
    Config: Array.isArray(logOpts)
      ? Object.fromEntries(logOpts.map((kv: string) => [kv.slice(0, kv.indexOf('=') < 0 ? kv.length : kv.indexOf('=')), kv.includes('=') ? kv.slice(kv.indexOf('=') + 1) : '']))
      : Object.fromEntries(Object.entries((logOpts ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)])),
  };
  try {
    validateLogConfig(logConfig);
  } catch (e) {
    // dockerd checks the defaults without opening a driver: its message lacks the driver's prefix
    throw new ConfigError(`failed to set log opts: ${(e as Error).message.replace(/^failed to initialize logging driver: /, '')}`);
  }
  const given = (key: string, flag: string) => key in file || set.has(flag);
  const tlsVerify = Boolean(pick('tlsverify', 'tlsverify'));
  // As dockerd: naming --tlsverify at all (even =false) turns TLS on; only --tls=false leaves TCP plain on purpose.
  const tlsOn = given('tlsverify', 'tlsverify') || Boolean(pick('tls', 'tls'));
  const tls: TlsConfig = {
    enabled: tlsOn,
    verify: tlsVerify,
    caFile: String(pick('tlscacert', 'tlscacert')),
    certFile: String(pick('tlscert', 'tlscert')),
    keyFile: String(pick('tlskey', 'tlskey')),
    explicitlyOff: !tlsOn && given('tls', 'tls'),
  };
  const dashboardAddress = pick<string | undefined>('dashboard', 'dashboard');
  const dashboardCert = pick<string | undefined>('dashboard-tls-cert', 'dashboard-tls-cert');
  const dashboardKey = pick<string | undefined>('dashboard-tls-key', 'dashboard-tls-key');
  if (Boolean(dashboardCert) !== Boolean(dashboardKey)) throw new ConfigError('--dashboard-tls-cert and --dashboard-tls-key must be given together');
  return {
    showVersion: Boolean(values.version),
    showHelp: Boolean(values.help),
    config: {
      hosts: hosts.length ? hosts : [`unix://${DEFAULT_SOCKET}`],
      dataRoot: pick('data-root', 'data-root'),
      execRoot: pick('exec-root', 'exec-root'),
      pidfile: pick('pidfile', 'pidfile'),
      debug,
      logLevel: debug ? 'debug' : level,
      insecureRegistries: pick('insecure-registries', 'insecure-registry'),
      registryMirrors: pick<string[]>('registry-mirrors', 'registry-mirror').map(validateMirror),
      maxConcurrentDownloads: positive(pick('max-concurrent-downloads', 'max-concurrent-downloads'), 'max-concurrent-downloads'),
      maxConcurrentUploads: positive(pick('max-concurrent-uploads', 'max-concurrent-uploads'), 'max-concurrent-uploads'),
      registryCertsDirs: ((d) => (d ? [d] : ['/etc/berth/certs.d', '/etc/docker/certs.d']))(pick<string | undefined>('registry-certs-dir', 'registry-certs-dir')),
      bip: pick('bip', 'bip') ?? '',
      defaultAddressPools: pools,
      ipv6: Boolean(pick('ipv6', 'ipv6')),
      fixedCidrV6: fixedCidrV6(pick<string | undefined>('fixed-cidr-v6', 'fixed-cidr-v6') ?? ''),
      iptables: pick('iptables', 'iptables'),
      runtime: findExecutable('runc') ?? 'runc',
      storageDriver: pick('storage-driver', 'storage-driver') ?? '',
      cgroupParent: String(pick('cgroup-parent', 'cgroup-parent') || '/berth'),
      cpuRealtime: {
        period: microseconds(pick('cpu-rt-period', 'cpu-rt-period'), 'cpu-rt-period'),
        runtime: microseconds(pick('cpu-rt-runtime', 'cpu-rt-runtime'), 'cpu-rt-runtime'),
      },
      labels: pick('labels', 'label'),
      logConfig,
      liveRestore: true,
      tls,
      socketGroup: String(pick('group', 'group') ?? ''),
      socketGroupIsDefault: !given('group', 'group'),
      dashboard: dashboardAddress ? { address: dashboardAddress, tlsCert: dashboardCert, tlsKey: dashboardKey } : undefined,
    },
  };
}

/** `--fixed-cidr-v6`: an IPv6 CIDR (dockerd's wording for anything else). */
function fixedCidrV6(v: string): string {
  if (!v) return '';
  if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(v) || !v.includes(':') || Number(v.split('/')[1]) > 128) throw new ConfigError(`invalid fixed-cidr-v6: invalid CIDR address: ${v}`);
  return v;
}

/** dockerd's ValidateMirror: an http(s) URL of a host, nothing after it; returned with a trailing `/`. */
export function validateMirror(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError(`invalid mirror: "${value}" is not a valid URI`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`invalid mirror: unsupported scheme "${u.protocol.slice(0, -1)}" in "${value}"`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || /[?#]/.test(value)) {
    throw new ConfigError(`invalid mirror: path, query, or fragment at end of the URI "${value}"`);
  }
  return `${u.protocol}//${u.host}/`;
}

/** A daemon.json number or flag value in microseconds (Go's int64: a non-negative whole number here). */
function microseconds(v: unknown, name: string): number {
  const n = Number(v ?? 0);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`invalid ${name}: ${String(v)}: must be a non-negative integer`);
  return n;
}

/**
 * dockerd's start-up check of the daemon-scoped real-time options: they need cgroup v1 with RT group scheduling.
 * Returns the error message, or undefined when the host can honour them.
 */
export function cpuRealtimeUnsupported(rt: { period: number; runtime: number }, facts: { cgroupVersion: 1 | 2; cpuRealtime: boolean }): string | undefined {
  if (rt.period === 0 && rt.runtime === 0) return undefined;
  if (facts.cgroupVersion === 2) return 'daemon-scoped cpu-rt-period and cpu-rt-runtime are not implemented for cgroup v2';
  if (!facts.cpuRealtime) return 'daemon-scoped cpu-rt-period and cpu-rt-runtime are not supported by the kernel';
  return undefined;
}

function positive(v: unknown, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`invalid ${name}: ${String(v)}: must be a positive integer`);
  return n;
}

/** Absolute path of an executable found in PATH (plus the sbin dirs a root daemon expects), or undefined. */
export function findExecutable(name: string): string | undefined {
  if (name.includes('/')) return name;
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = `${dir}/${name}`;
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}
