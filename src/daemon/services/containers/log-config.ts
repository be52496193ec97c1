/**
 * A container's logging configuration (`HostConfig.LogConfig`: a driver name and its string options) turned into what
 * the monitor does with it, with dockerd's option checks and wording.
 *
 * Terms (Docker's json-file driver):
 * - max-size: the size a log file may reach before it is rotated (decimal units as dockerd parses them: 1k = 1000).
 * - max-file: how many files are kept in all, the current one included (rotated ones are `<log>.1`, `<log>.2`, …).
 * - compress: rotated files are gzip'd (`<log>.1.gz`, …).
 * The monitor rotates (so rotation goes on while berthd is down); `docker logs` reads the rotated files back.
 */
import path from 'node:path';
import { GoTemplate } from '../../../cli/output/template.js';
import type { LogSource } from './logs.js';
import type { TaskLog } from '../../../core/runtime/runtime.js';
import { invalidArgument, notImplemented } from '../../../errdefs/index.js';

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/**
 * What the monitor is told (see native/monitor/log.h): which driver it runs, the file and its rotation (json-file,
 * local), the syslog connection, the local-format cache `docker logs` reads for syslog (dockerd's dual logging),
 * and the delivery mode.
 */
export interface LogPlan {
  driver: 'json-file' | 'local' | 'syslog' | 'none';
  /** The monitor writes a log file (json-file or local format). */
  file: boolean;
  /** Bytes; 0 keeps a single growing file. */
  maxSize: number;
  maxFile: number;
  compress: boolean;
  /** The "attrs" object of every json-file record, JSON-encoded (see logAttrs), when there is one. */
  attrs?: string;
  syslog?: { address: string; facility: number; format: string; tag: string };
  /** The local-format copy beside syslog, unless `cache-disabled`. */
  cache?: { maxSize: number; maxFile: number; compress: boolean };
  /** non-blocking: the container never waits for the log; records beyond maxBuffer queued bytes are dropped. */
  mode: 'blocking' | 'non-blocking';
  maxBuffer: number;
}

/** What a tag template (`--log-opt tag=…`) can name: dockerd's logger.Info fields. */
export interface LogTagInfo {
  id: string;
  name: string;
  imageId: string;
  imageName: string;
}

/** Docker's built-in log drivers on Linux. berth runs json-file, local, syslog and none; the rest log as json-file. */
const LOG_DRIVERS = new Set(['json-file', 'local', 'none', 'syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'gcplogs', 'logentries']);
/** Options every driver takes (dockerd checks them before the driver's own). */
const COMMON_OPTS = new Set(['mode', 'max-buffer-size']);
const CACHE_OPTS = new Set(['cache-disabled', 'cache-max-size', 'cache-max-file', 'cache-compress']);
const JSON_FILE_OPTS = new Set(['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag']);
const LOCAL_OPTS = new Set(['max-file', 'max-size', 'compress']);
const SYSLOG_OPTS = new Set([
  'env', 'env-regex', 'labels', 'labels-regex', 'syslog-address', 'syslog-facility', 'syslog-tls-ca-cert', 'syslog-tls-cert',
  'syslog-tls-key', 'syslog-tls-skip-verify', 'tag', 'syslog-format',
]);
/** syslog facility names → codes (Go's log/syslog, as dockerd accepts them; a number 0–23 works too). */
const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};
/** dockerd's defaults for the local driver and for the cache beside drivers that cannot be read back. */
const LOCAL_DEFAULTS = { maxSize: 20 * 1024 * 1024, maxFile: 5, compress: true };

/**
 * dockerd's checks of a logging configuration, with its wording: the driver (an unknown one is looked up as a
 * plugin), the option names, and their values (which dockerd checks when the log opens; berth at create).
 */
export function validateLogConfig(lc: LogConfig): void {
  if (!LOG_DRIVERS.has(lc.Type)) throw invalidArgument(`error looking up logging plugin ${lc.Type}: plugin "${lc.Type}" not found`);
  const own = lc.Type === 'json-file' ? JSON_FILE_OPTS : lc.Type === 'local' ? LOCAL_OPTS : lc.Type === 'syslog' ? SYSLOG_OPTS : undefined;
  if (own)
    for (const k of Object.keys(lc.Config)) {
      if (own.has(k) || COMMON_OPTS.has(k) || CACHE_OPTS.has(k)) continue;
      if (lc.Type === 'local') throw invalidArgument(`unknown log opt '${k}' for log driver local`);
      throw invalidArgument(`unknown log opt '${k}' for ${lc.Type} log driver`);
    }
  logPlan(lc, {}, [], { id: '0'.repeat(64), name: 'x', imageId: 'sha256:' + '0'.repeat(64), imageName: 'x' });
}

/** Inspect shows the configuration as given, with dockerd's default driver. */
export function normalizeLogConfig(lc: Partial<LogConfig> | null | undefined): LogConfig {
  return { Type: lc?.Type || 'json-file', Config: { ...(lc?.Config ?? {}) } };
}

/**
 * The configuration a container gets: its own driver, or the daemon's; the daemon's options fill in those the
 * container leaves out when both name the same driver (dockerd's rule).
 */
export function mergeLogConfig(given: Partial<LogConfig> | null | undefined, daemonDefault?: LogConfig): LogConfig {
  const def = daemonDefault ?? { Type: 'json-file', Config: {} };
  const Type = given?.Type || def.Type;
  const Config: Record<string, string> = { ...(given?.Config ?? {}) };
  if (Type === def.Type) for (const [k, v] of Object.entries(def.Config)) if (!(k in Config)) Config[k] = v;
  return { Type, Config };
}

/**
 * The extra attributes the json-file driver writes into every record (`"attrs"`): the container labels named by
 * `labels` (comma list) or matching `labels-regex`, and the environment variables named by `env` or matching
 * `env-regex`. Undefined when there are none.
 */
export function logAttrs(lc: LogConfig, labels: Record<string, string>, env: string[]): Record<string, string> | undefined {
  if (lc.Type !== 'json-file') return undefined;
  const c = lc.Config;
  const attrs: Record<string, string> = {};
  const names = (v: string | undefined) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : []);
  const regex = (v: string | undefined) => {
    if (!v) return undefined;
    try {
      return new RegExp(v);
    } catch (e) {
      throw invalidArgument(`error parsing regexp: ${(e as Error).message}`);
    }
  };
  for (const k of names(c.labels)) if (k in labels) attrs[k] = labels[k]!;
  const lre = regex(c['labels-regex']);
  if (lre) for (const [k, v] of Object.entries(labels)) if (lre.test(k)) attrs[k] = v;
  const envMap = new Map(env.map((e) => [e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e.includes('=') ? e.slice(e.indexOf('=') + 1) : '']));
  for (const k of names(c.env)) if (envMap.has(k)) attrs[k] = envMap.get(k)!;
  const ere = regex(c['env-regex']);
  if (ere) for (const [k, v] of envMap) if (ere.test(k)) attrs[k] = v;
  return Object.keys(attrs).length ? attrs : undefined;
}

/** An attrs object as Go's encoding/json writes a map: keys sorted, `<`, `>` and `&` escaped. */
export function encodeAttrs(attrs: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.keys(attrs).sort().map((k) => [k, attrs[k]]));
  return JSON.stringify(sorted).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `docker logs --details`: the attributes as `k=v,k2=v2` (sorted, query-escaped), as dockerd prefixes lines. */
export function detailsPrefix(attrs: Record<string, string> | undefined): string {
  if (!attrs) return '';
  return Object.keys(attrs)
    .sort()
    .map((k) => `${goQueryEscape(k)}=${goQueryEscape(attrs[k]!)}`)
    .join(',');
}

/** Go's url.QueryEscape: everything but A-Z a-z 0-9 - _ . ~ is %XX, a space is `+`. */
function goQueryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** dockerd's units.FromHumanSize: decimal multiples, an optional `b`/`B` and `i` ("10m", "1.5GB", "100"). */
export function parseHumanSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)[iI]?[bB]?\s*$/.exec(s);
  if (!m) throw invalidArgument(`invalid size: '${s}'`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 }[m[2]!.toLowerCase()]!;
  return Math.floor(Number(m[1]) * mult);
}

const initError = (msg: string) => invalidArgument(`failed to initialize logging driver: ${msg}`);

function parseBool(v: string): boolean | undefined {
  if (/^(1|t|T|TRUE|true|True)$/.test(v)) return true;
  if (/^(0|f|F|FALSE|false|False)$/.test(v)) return false;
  return undefined;
}

/**
 * Docker's log tag: a Go template over the container (`{{.ID}}` the short id, `{{.FullID}}`, `{{.Name}}` without
 * its slash, `{{.ImageID}}` dockerd's 12-character cut of the image id, `{{.ImageFullID}}`, `{{.ImageName}}`,
 * `{{.DaemonName}}` "docker"); `dflt` when no tag is given.
 */
export function renderLogTag(template: string | undefined, info: LogTagInfo, dflt: string): string {
  const text = template ?? dflt;
  if (!text) return '';
  let t: GoTemplate;
  try {
    t = new GoTemplate(text, {}, 'log-tag');
  } catch (e) {
    throw initError((e as Error).message.replace(/^template parsing error: /, ''));
  }
  const data = {
    ID: info.id.slice(0, 12), FullID: info.id, Name: info.name.replace(/^\//, ''), ImageID: info.imageId.slice(0, 12),
    ImageFullID: info.imageId, ImageName: info.imageName, DaemonName: 'docker',
    ContainerID: info.id.slice(0, 12), ContainerName: info.name.replace(/^\//, ''),
  };
  try {
    return t.execute(data);
  } catch (e) {
    throw initError((e as Error).message);
  }
}

function rotationOpts(c: Record<string, string>, local: boolean): { maxSize: number; maxFile: number; compress: boolean } {
  let maxSize = local ? LOCAL_DEFAULTS.maxSize : 0;
  if (c['max-size'] !== undefined) {
    try {
      maxSize = parseHumanSize(c['max-size']);
    } catch (e) {
      throw initError(local ? `invalid value for max-size: ${c['max-size']}: ${(e as Error).message}` : (e as Error).message);
    }
    if (!local && maxSize <= 0) throw initError('max-size must be a positive number');
  }
  let maxFile = local ? LOCAL_DEFAULTS.maxFile : 1;
  if (c['max-file'] !== undefined) {
    const syntax = `strconv.Atoi: parsing "${c['max-file']}": invalid syntax`;
    if (!/^[+-]?\d+$/.test(c['max-file'])) throw initError(local ? `invalid value for max-file: ${c['max-file']}: ${syntax}` : syntax);
    maxFile = Number(c['max-file']);
    if (!local && maxFile < 1) throw initError('max-file cannot be less than 1');
    if (local && maxFile < 1) maxFile = 1;
  }
  let compress = local ? LOCAL_DEFAULTS.compress : false;
  if (c.compress !== undefined) {
    const b = parseBool(c.compress);
    if (b === undefined) throw initError(`error reading compress log option: strconv.ParseBool: parsing "${c.compress}": invalid syntax`);
    compress = b;
  }
  if (compress && maxFile < 2) throw initError(local ? 'compression cannot be enabled when max file count is 1' : 'compress cannot be true when max-file is less than 2');
  if (!local && maxFile > 1 && maxSize === 0) return { maxSize: 0, maxFile: 1, compress: false }; // as dockerd: no size, no rotation
  return { maxSize, maxFile, compress };
}

function syslogOpts(c: Record<string, string>, tag: LogTagInfo): NonNullable<LogPlan['syslog']> {
  const address = c['syslog-address'] ?? 'unix:///dev/log';
  const m = /^([a-z+]+):\/\/(.*)$/.exec(address);
  if (!m || !['tcp', 'udp', 'unix', 'unixgram', 'tcp+tls'].includes(m[1]!)) throw invalidArgument(`syslog-address should be in form proto://address, got ${address}`);
  if (m[1] === 'tcp+tls') throw notImplemented('berth does not support syslog over TLS (tcp+tls://) yet');
  let facility = FACILITIES.daemon!;
  const f = c['syslog-facility'];
  if (f !== undefined && f !== '') {
    if (f in FACILITIES) facility = FACILITIES[f]!;
    else if (/^\d+$/.test(f) && Number(f) <= 23) facility = Number(f);
    else throw invalidArgument('invalid syslog facility');
  }
  const format = c['syslog-format'] ?? '';
  if (!['', 'rfc3164', 'rfc5424', 'rfc5424micro'].includes(format)) throw invalidArgument('Invalid syslog format');
  let addr = m[2]!;
  if ((m[1] === 'tcp' || m[1] === 'udp') && !/:\d+$/.test(addr)) addr += ':514';
  return { address: `${m[1]}://${addr}`, facility, format, tag: renderLogTag(c.tag, tag, '{{.ID}}') };
}

/**
 * Checks option values as dockerd's drivers do when they start the log (berth checks at create, so a failing
 * `docker run` leaves no container behind) and says what the monitor runs. Drivers berth does not run (journald,
 * gelf, …) keep their options unchecked and are logged as json-file.
 */
export function logPlan(lc: LogConfig, labels: Record<string, string>, env: string[], tag?: LogTagInfo): LogPlan {
  const c = lc.Config;
  // the delivery mode, checked first as dockerd does for every driver
  const modeOpt = c.mode ?? 'blocking';
  if (modeOpt !== 'blocking' && modeOpt !== 'non-blocking') throw invalidArgument(`logger: logging mode not supported: ${modeOpt}`);
  let maxBuffer = 1024 * 1024;
  if (c['max-buffer-size'] !== undefined) {
    if (modeOpt !== 'non-blocking') throw invalidArgument("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
    try {
      maxBuffer = parseRAMSize(c['max-buffer-size']);
    } catch {
      throw invalidArgument(`error parsing option max-buffer-size: invalid size: '${c['max-buffer-size']}'`);
    }
    if (maxBuffer <= 0) maxBuffer = 1024 * 1024;
  }
  const mode = { mode: modeOpt, maxBuffer } as const;
  const none = { driver: 'none', file: false, maxSize: 0, maxFile: 1, compress: false, ...mode } as const;
  if (lc.Type === 'none') return none;
  const info = tag ?? { id: '', name: '', imageId: '', imageName: '' };
  if (lc.Type === 'local') return { driver: 'local', file: true, ...rotationOpts(c, true), ...mode };
  if (lc.Type === 'syslog') {
    const syslog = syslogOpts(c, info);
    let cache: LogPlan['cache'];
    const disabled = c['cache-disabled'];
    if (disabled !== undefined && parseBool(disabled) === undefined) throw invalidArgument(`invalid value for option cache-disabled: ${disabled}`);
    if (!parseBool(disabled ?? 'false')) {
      const size = (() => {
        try {
          return c['cache-max-size'] !== undefined ? parseHumanSize(c['cache-max-size']) : LOCAL_DEFAULTS.maxSize;
        } catch {
          return LOCAL_DEFAULTS.maxSize; // dockerd ignores an unreadable cache size
        }
      })();
      const files = /^\d+$/.test(c['cache-max-file'] ?? '') ? Math.max(1, Number(c['cache-max-file'])) : LOCAL_DEFAULTS.maxFile;
      const comp = parseBool(c['cache-compress'] ?? 'true') ?? true;
      cache = { maxSize: size, maxFile: files, compress: comp && files > 1 };
    }
    return { ...none, driver: 'syslog', syslog, ...(cache ? { cache } : {}) };
  }
  if (lc.Type !== 'json-file') return { ...none, driver: 'json-file', file: true };
  const found = logAttrs(lc, labels, env) ?? {};
  const rendered = c.tag !== undefined ? renderLogTag(c.tag, info, '') : '';
  if (rendered) found.tag = rendered; // json-file has no default tag: only one the user asked for
  const attrs = Object.keys(found).length ? { attrs: encodeAttrs(found) } : {};
  return { driver: 'json-file', file: true, ...rotationOpts(c, false), ...attrs, ...mode };
}

/** dockerd's units.RAMInBytes: binary multiples ("4m" = 4 MiB). */
export function parseRAMSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)[iI]?[bB]?\s*$/.exec(s);
  if (!m) throw invalidArgument(`invalid size: '${s}'`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 }[m[2]!.toLowerCase()]!;
  return Math.floor(Number(m[1]) * mult);
}

/**
 * Where a container's log can be read back, and in which format: json-file's `<id>-json.log`, local's
 * `local-logs/container.log`, the cache beside syslog (`container-cached.log`, local format); undefined when the
 * driver keeps nothing to read (none, syslog with cache-disabled) — `docker logs` then says so as dockerd.
 */
export function logReadable(lc: LogConfig, containerDir: string, id: string): LogSource | undefined {
  if (lc.Type === 'none') return undefined;
  if (lc.Type === 'local') return { file: path.join(containerDir, 'local-logs', 'container.log'), format: 'local' };
  if (lc.Type === 'syslog') {
    if (parseBool(lc.Config['cache-disabled'] ?? 'false')) return undefined;
    return { file: path.join(containerDir, 'container-cached.log'), format: 'local' };
  }
  return { file: path.join(containerDir, `${id}-json.log`), format: 'json' };
}

/** What the task's monitor is told for a plan (core/runtime TaskLog); `file` from logReadable. Undefined: no log. */
export function taskLog(plan: LogPlan, file: string | undefined): TaskLog | undefined {
  if (plan.driver === 'none') return undefined;
  const mode = plan.mode === 'non-blocking' ? { mode: plan.mode, maxBuffer: plan.maxBuffer } : {};
  if (plan.driver === 'syslog')
    return { driver: 'syslog', syslog: plan.syslog!, ...(plan.cache && file ? { path: file, rotation: plan.cache } : {}), ...mode };
  return {
    driver: plan.driver,
    ...(file ? { path: file } : {}),
    rotation: { maxSize: plan.maxSize, maxFile: plan.maxFile, compress: plan.compress },
    ...(plan.attrs ? { attrs: plan.attrs } : {}),
    ...mode,
  };
}
