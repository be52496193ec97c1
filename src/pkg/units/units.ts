/**
 * Human-readable sizes and durations the way Docker prints and parses them
 * (github.com/docker/go-units, Go's time.ParseDuration, and the CLI's `--since`
 * timestamp rules), plus Go's float formatting which those outputs depend on.
 */
import { goQuote } from '../gostr/quote.js';

// ---------------------------------------------------------------------------
// Go float formatting (strconv.FormatFloat). Sizes are printed with "%.3g", so
// rounding must be Go's: round-half-even on the *exact* binary value.

/** Decimal digits of a non-negative float: value = 0.d1d2d3… × 10^dp; `d` has no trailing zeros. */
interface Digits {
  d: string;
  dp: number;
}

function exactDigits(a: number): Digits {
  if (a === 0) return { d: '', dp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  const bits = view.getBigUint64(0);
  let exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  if (exp === 0) exp = 1;
  else mant |= 1n << 52n;
  exp -= 1075; // a = mant × 2^exp
  let s: string;
  let dp: number;
  if (exp >= 0) {
    s = (mant << BigInt(exp)).toString();
    dp = s.length;
  } else {
    // mant × 2^-k = mant × 5^k / 10^k
    s = (mant * 5n ** BigInt(-exp)).toString();
    dp = s.length + exp;
  }
  return { d: s.replace(/0+$/, ''), dp };
}

function shortestDigits(a: number): Digits {
  if (a === 0) return { d: '', dp: 0 };
  const [m, e] = a.toExponential().split('e');
  return { d: m!.replace('.', '').replace(/0+$/, ''), dp: Number(e) + 1 };
}

/** Rounds to `nd` significant digits like Go's decimal.Round (ties to even). */
function roundDigits(x: Digits, nd: number): Digits {
  if (nd < 0 || nd >= x.d.length) return x;
  const d = x.d;
  let up: boolean;
  if (d[nd] === '5' && nd + 1 === d.length) up = nd > 0 && (d.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = d[nd]! >= '5';
  if (!up) return { d: d.slice(0, nd).replace(/0+$/, ''), dp: x.dp };
  let i = nd - 1;
  while (i >= 0 && d[i] === '9') i--;
  if (i < 0) return { d: '1', dp: x.dp + 1 };
  return { d: d.slice(0, i) + String.fromCharCode(d.charCodeAt(i) + 1), dp: x.dp };
}

function fmtE(x: Digits, prec: number, upper: boolean): string {
  let out = x.d.length ? x.d[0]! : '0';
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) out += i < x.d.length ? x.d[i] : '0';
  }
  const exp = x.d.length === 0 ? 0 : x.dp - 1;
  const abs = Math.abs(exp);
  return out + (upper ? 'E' : 'e') + (exp < 0 ? '-' : '+') + (abs < 10 ? '0' : '') + abs;
}

function fmtF(x: Digits, prec: number): string {
  let out = '';
  if (x.dp > 0) {
    for (let i = 0; i < x.dp; i++) out += i < x.d.length ? x.d[i] : '0';
  } else out = '0';
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) {
      const j = x.dp + i - 1;
      out += j >= 0 && j < x.d.length ? x.d[j] : '0';
    }
  }
  return out;
}

/**
 * Go's strconv.FormatFloat(v, fmt, prec, 64) for fmt 'e' | 'E' | 'f' | 'g' | 'G'.
 * prec -1 means the shortest representation that round-trips.
 */
export function formatFloat(v: number, fmt: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  const shortest = prec < 0;
  let digs: Digits;
  if (shortest) {
    digs = shortestDigits(a);
  } else {
    const exact = exactDigits(a);
    switch (fmt) {
      case 'e':
      case 'E':
        digs = roundDigits(exact, prec + 1);
        break;
      case 'f':
        digs = roundDigits(exact, exact.dp + prec);
        break;
      default:
        if (prec === 0) prec = 1;
        digs = roundDigits(exact, prec);
    }
  }
  let body: string;
  switch (fmt) {
    case 'e':
    case 'E':
      body = fmtE(digs, shortest ? Math.max(digs.d.length - 1, 0) : prec, fmt === 'E');
      break;
    case 'f':
      body = fmtF(digs, shortest ? Math.max(digs.d.length - digs.dp, 0) : prec);
      break;
    default: {
      let p = shortest ? 6 : prec;
      let eprec = p;
      if (shortest) p = digs.d.length;
      const exp = digs.dp - 1;
      if (exp < -4 || exp >= eprec) {
        body = fmtE(digs, Math.max(Math.min(p, digs.d.length) - 1, 0), fmt === 'G');
      } else {
        if (p > digs.dp) p = digs.d.length;
        body = fmtF(digs, Math.max(p - digs.dp, 0));
      }
    }
  }
  return (neg ? '-' : '') + body;
}

// ---------------------------------------------------------------------------
// Sizes

const decimalAbbrs = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const binaryAbbrs = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function customSize(size: number, base: number, abbrs: string[], precision: number): string {
  let i = 0;
  while (size >= base && i < abbrs.length - 1) {
    size /= base;
    i++;
  }
  return formatFloat(size, 'g', precision) + abbrs[i];
}

/** go-units HumanSizeWithPrecision: decimal (1000-based) units, `precision` significant digits. */
export function humanSizeWithPrecision(bytes: number, precision: number): string {
  return customSize(bytes, 1000, decimalAbbrs, precision);
}

/**
 * Size as the docker CLI prints it in `ps`, `images`, `system df`: decimal units, 3 significant digits
 * ("1.98MB", "4.86kB", "0B"). go-units' own HumanSize uses 4 digits; use humanSizeWithPrecision for that.
 */
export function humanSize(bytes: number): string {
  return humanSizeWithPrecision(bytes, 3);
}

/** go-units BytesSize: binary (1024-based) units, 4 significant digits ("1.5MiB"). */
export function bytesSize(bytes: number): string {
  return customSize(bytes, 1024, binaryAbbrs, 4);
}

const KiB = 1024;
const decimalMap: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
const binaryMap: Record<string, number> = { k: KiB, m: KiB ** 2, g: KiB ** 3, t: KiB ** 4, p: KiB ** 5 };

/** Go's strconv.ParseFloat syntax (decimal only; enough for sizes). */
function parseGoFloat(num: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num) && !/^[+-]?(inf|infinity|nan)$/i.test(num)) {
    throw new Error(`strconv.ParseFloat: parsing ${goQuote(num)}: invalid syntax`);
  }
  return Number(num.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity'));
}


function parseSize(sizeStr: string, uMap: Record<string, number>): number {
  let sep = -1;
  for (let i = sizeStr.length - 1; i >= 0; i--) {
    if ('0123456789. '.includes(sizeStr[i]!)) {
      sep = i;
      break;
    }
  }
  if (sep === -1) throw new Error(`invalid size: '${sizeStr}'`);
  let num: string;
  let sfx: string;
  if (sizeStr[sep] !== ' ') {
    num = sizeStr.slice(0, sep + 1);
    sfx = sizeStr.slice(sep + 1);
  } else {
    num = sizeStr.slice(0, sep);
    sfx = sizeStr.slice(sep + 1);
  }
  let size = parseGoFloat(num);
  if (size < 0) throw new Error(`invalid size: '${sizeStr}'`);
  if (sfx.length === 0) return Math.trunc(size);
  const bad = () => new Error(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw bad();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw bad();
    return Math.trunc(size);
  }
  const mul = uMap[sfx[0]!];
  if (mul === undefined) throw bad();
  size *= mul;
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) throw bad();
  return Math.trunc(size);
}

/**
 * go-units RAMInBytes: "64m", "1g", "512k", "100", "1.5GiB" → bytes, binary multipliers, case-insensitive.
 * Used for --memory, --memory-swap, --shm-size, --kernel-memory. Throws `invalid size: 'x'` / `invalid suffix: 'x'`.
 */
export function ramInBytes(s: string): number {
  return parseSize(s, binaryMap);
}

/** Same as ramInBytes (binary units), the name flag parsers use. */
export const parseBytes = ramInBytes;

/** go-units FromHumanSize: like ramInBytes but decimal multipliers ("1k" = 1000). */
export function fromHumanSize(s: string): number {
  return parseSize(s, decimalMap);
}

// ---------------------------------------------------------------------------
// Durations

/** go-units HumanDuration for a duration in milliseconds ("Less than a second", "About a minute", "3 days"). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hoursF = ms / 3_600_000;
  const hours = Math.round(hoursF); // Go's math.Round: half away from zero; ms is positive here
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(hoursF) / 24 / 365)} years`;
}

/** "12 seconds ago" as the CLI's CREATED / RunningFor columns print it. */
export function ago(date: Date | number, now: Date | number = Date.now()): string {
  return humanDuration(+now - +date) + ' ago';
}

const unitNs: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration ("1h2m3.5s", "300ms", "-1.5h"), in nanoseconds. */
export function parseDurationNs(s: string): number {
  const orig = s;
  const invalid = () => new Error(`time: invalid duration ${goQuote(orig)}`);
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(\.(\d*))?/.exec(s)!;
    const intPart = m[1]!;
    const frac = m[3] ?? '';
    if (intPart === '' && frac === '') throw invalid();
    s = s.slice(m[0].length);
    let i = 0;
    while (i < s.length && !/[0-9.]/.test(s[i]!)) i++;
    const u = s.slice(0, i);
    s = s.slice(i);
    if (u === '') throw new Error(`time: missing unit in duration ${goQuote(orig)}`);
    const mult = unitNs[u];
    if (mult === undefined) throw new Error(`time: unknown unit ${goQuote(u)} in duration ${goQuote(orig)}`);
    total += Number((intPart || '0') + '.' + (frac || '0')) * mult;
  }
  if (total > 2 ** 63) throw invalid();
  return neg ? -Math.round(total) : Math.round(total);
}

/** Go's time.ParseDuration, in milliseconds (may be fractional). */
export function parseDuration(s: string): number {
  return parseDurationNs(s) / 1e6;
}

// ---------------------------------------------------------------------------
// Timestamps for --since / --until

/** Go's zero time.Time as the Engine API prints it (never started, never finished, never tagged). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** A point in time as the Engine API passes it: Unix seconds plus nanoseconds. */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

const dateRe =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/;

/**
 * The CLI side of `--since/--until` (docker/api/types/time.GetTimestamp): a duration ("10m", relative to
 * `now`), an RFC3339-like date ("2024-01-02", "2024-01-02T15:04", "…05.123Z", "…+02:00"; without a zone
 * it is local time) or a Unix timestamp ("1700000000.123") → the "seconds.nanoseconds" string sent to the API.
 */
export function getTimestamp(value: string, now: Date = new Date()): string {
  if (value !== '0') {
    try {
      const ns = parseDurationNs(value);
      return String(Math.floor((now.getTime() - ns / 1e6) / 1000));
    } catch {
      // not a duration
    }
  }
  const m = dateRe.exec(value);
  if (!m) {
    if (value.includes('-')) throw new Error(`parsing time ${goQuote(value)}: cannot parse as RFC3339`);
    try {
      parseTimestamp(value);
    } catch {
      throw new Error(`failed to parse value as time or duration: ${goQuote(value)}`);
    }
    return value;
  }
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  const nanos = Number(frac.padEnd(9, '0'));
  let ms: number;
  if (zone === undefined) {
    ms = new Date(+y!, +mo! - 1, +d!, +h, +mi, +sec).getTime();
  } else {
    ms = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +sec);
    if (zone !== 'Z' && zone !== 'z') {
      const sign = zone[0] === '-' ? -1 : 1;
      ms -= sign * (+zone.slice(1, 3) * 60 + +zone.slice(4, 6)) * 60_000;
    }
  }
  return `${Math.floor(ms / 1000)}.${String(nanos).padStart(9, '0')}`;
}

/** The daemon side (api/types/time.ParseTimestamps): "seconds[.fraction]" → {seconds, nanos}. */
export function parseTimestamp(value: string): Timestamp {
  const [s, frac] = value.split(/\.(.*)/s, 2) as [string, string | undefined];
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax`);
  const seconds = Number(s);
  if (frac === undefined) return { seconds, nanos: 0 };
  if (!/^[+-]?\d+$/.test(frac)) throw new Error(`strconv.ParseInt: parsing ${goQuote(frac)}: invalid syntax`);
  const nanos = Math.trunc(Number(frac) * 10 ** (9 - frac.length));
  return { seconds, nanos };
}

/** `--since`/`--until` value → timestamp, relative durations counted back from `now`. */
export function parseSince(value: string, now: Date = new Date()): Timestamp {
  return parseTimestamp(getTimestamp(value, now));
}

/** Milliseconds since the epoch of a Timestamp (sub-millisecond precision is dropped). */
export function timestampToMillis(t: Timestamp): number {
  return t.seconds * 1000 + Math.floor(t.nanos / 1e6);
}
