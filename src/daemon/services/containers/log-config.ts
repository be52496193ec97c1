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
import { invalidArgument } from '../../../errdefs/index.js';

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/** What the monitor is told: no file at all (driver none), or a json-file log with optional rotation. */
export interface LogPlan {
  /** The monitor writes a json-file log. */
  file: boolean;
  /** Bytes; 0 keeps a single growing file. */
  maxSize: number;
  maxFile: number;
  compress: boolean;
  /** The "attrs" object of every record, JSON-encoded (see logAttrs), when there is one. */
  attrs?: string;
}

/** Docker's built-in log drivers on Linux; berth writes json-file logs for each but none (the rest: a later issue). */
const LOG_DRIVERS = new Set(['json-file', 'local', 'none', 'syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'gcplogs', 'logentries']);
const JSON_FILE_OPTS = new Set(['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag']);

/**
 * dockerd's checks of a logging configuration, with its wording: the driver (an unknown one is looked up as a
 * plugin), the option names, and their values (which dockerd checks when the log opens; berth at create).
 */
export function validateLogConfig(lc: LogConfig): void {
  if (!LOG_DRIVERS.has(lc.Type)) throw invalidArgument(`error looking up logging plugin ${lc.Type}: plugin "${lc.Type}" not found`);
  if (lc.Type === 'json-file')
    for (const k of Object.keys(lc.Config)) if (!JSON_FILE_OPTS.has(k)) throw invalidArgument(`unknown log opt '${k}' for json-file log driver`);
  logPlan(lc, {}, []);
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

/**
 * Checks option values as dockerd's json-file driver does when it starts the log (berth checks at create, so a
 * failing `docker run` leaves no container behind). Drivers other than json-file and none keep their options
 * unchecked here: berth logs them as json-file.
 */
export function logPlan(lc: LogConfig, labels: Record<string, string>, env: string[]): LogPlan {
  if (lc.Type === 'none') return { file: false, maxSize: 0, maxFile: 1, compress: false };
  if (lc.Type !== 'json-file') return { file: true, maxSize: 0, maxFile: 1, compress: false };
  const found = logAttrs(lc, labels, env);
  const attrs = found ? { attrs: encodeAttrs(found) } : {};
  const c = lc.Config;
  let maxSize = 0;
  if (c['max-size'] !== undefined) {
    maxSize = parseHumanSize(c['max-size']);
    if (maxSize <= 0) throw invalidArgument('max-size must be a positive number');
  }
  let maxFile = 1;
  if (c['max-file'] !== undefined) {
    if (!/^[+-]?\d+$/.test(c['max-file'])) throw invalidArgument(`strconv.Atoi: parsing "${c['max-file']}": invalid syntax`);
    maxFile = Number(c['max-file']);
    if (maxFile < 1) throw invalidArgument('max-file cannot be less than 1');
  }
  let compress = false;
  if (c.compress !== undefined) {
    if (!/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(c.compress))
      throw invalidArgument(`error reading compress log option: strconv.ParseBool: parsing "${c.compress}": invalid syntax`);
    compress = /^(1|t|T|TRUE|true|True)$/.test(c.compress);
    if (compress && maxFile < 2) throw invalidArgument('compress cannot be true when max-file is less than 2');
  }
  if (maxFile > 1 && maxSize === 0) return { file: true, maxSize: 0, maxFile: 1, compress: false, ...attrs }; // as dockerd: no size, no rotation
  return { file: true, maxSize, maxFile, compress, ...attrs };
}
