/**
 * Docker's list/prune filters (moby api/types/filters).
 *
 * A *filter set* maps a key ("label", "status", "dangling", …) to a set of values. On the wire it is the `filters`
 * query parameter, JSON in either the current form `{"label":{"a=b":true}}` (what the docker CLI sends) or the
 * legacy form `{"label":["a=b"]}`. Values for one key are OR-ed by most endpoints (`status=running` or `exited`),
 * except label filters where every value must match.
 */
import { invalidArgument } from '../../errdefs/index.js';
import { parseSince, timestampToMillis } from '../units/units.js';

/** moby's invalidFilter wording: `invalid filter 'key'` or `invalid filter 'key=v1,v2'`. */
function invalidFilter(key: string, values?: string[]): Error {
  let msg = 'invalid filter';
  if (key !== '') {
    msg += ` '${key}`;
    if (values !== undefined) msg += '=' + values.join(',');
    msg += "'";
  }
  return invalidArgument(msg);
}

export class Filters {
  private readonly fields = new Map<string, Set<string>>();

  constructor(init?: Iterable<[string, Iterable<string>]>) {
    if (init) for (const [k, vs] of init) for (const v of vs) this.add(k, v);
  }

  /** Adds `value` under `key`. */
  add(key: string, value: string): this {
    let set = this.fields.get(key);
    if (!set) this.fields.set(key, (set = new Set()));
    set.add(value);
    return this;
  }

  /** Adds `key` with no values (moby keeps such keys; `bool` rejects them). */
  addKey(key: string): this {
    if (!this.fields.has(key)) this.fields.set(key, new Set());
    return this;
  }

  /** Removes one value, and the key when no values are left. */
  del(key: string, value: string): void {
    const set = this.fields.get(key);
    if (!set) return;
    set.delete(value);
    if (set.size === 0) this.fields.delete(key);
  }

  /** Number of keys. */
  get size(): number {
    return this.fields.size;
  }

  keys(): string[] {
    return [...this.fields.keys()];
  }

  /** The values of `key` (in insertion order; empty when absent). */
  get(key: string): string[] {
    return [...(this.fields.get(key) ?? [])];
  }

  /** True when `key` is present. */
  has(key: string): boolean {
    return this.fields.has(key);
  }

  /** Throws InvalidArgument `invalid filter 'x'` for the first key not in `accepted`. */
  validate(accepted: Iterable<string>): void {
    const ok = new Set(accepted);
    for (const key of this.fields.keys()) if (!ok.has(key)) throw invalidFilter(key);
  }

  /**
   * Label-style match: every value of `key` ("k" or "k=v") must be satisfied by `source` (a key must exist; with
   * "=v" its value must equal v). True when the key has no values.
   */
  matchKVList(key: string, source: Record<string, string> | null | undefined): boolean {
    const values = this.fields.get(key);
    if (!values || values.size === 0) return true;
    if (!source || Object.keys(source).length === 0) return false;
    for (const value of values) {
      const eq = value.indexOf('=');
      const k = eq < 0 ? value : value.slice(0, eq);
      if (!Object.prototype.hasOwnProperty.call(source, k)) return false;
      if (eq >= 0 && source[k] !== value.slice(eq + 1)) return false;
    }
    return true;
  }

  /**
   * moby's label rule for prune and list: every `label` value matches `labels` (matchKVList), and when `label!` is
   * given, its values do not all match (moby runs MatchKVList on `label!` too, so `label!=a --filter label!=b`
   * keeps what lacks either).
   */
  matchLabels(labels: Record<string, string> | null | undefined): boolean {
    if (!this.matchKVList('label', labels)) return false;
    return !(this.has('label!') && this.matchKVList('label!', labels));
  }

  /**
   * The cutoff of an `until` filter (moby's getUntilFromPruneFilters) in milliseconds since the epoch, or undefined
   * when absent: a Unix timestamp, an RFC 3339 date or a Go duration back from `now`. More than one value, or one
   * that does not parse, is InvalidArgument in dockerd's words. `key` names an alias (the builder's `unused-for`).
   */
  until(key = 'until', now: Date = new Date()): number | undefined {
    const values = this.get(key);
    if (values.length === 0) return undefined;
    if (values.length > 1) throw invalidArgument(`more than one ${key} filter specified`);
    try {
      return timestampToMillis(parseSince(values[0]!, now));
    } catch (e) {
      throw invalidArgument((e as Error).message);
    }
  }

  /** True when `key` is absent/empty or `source` equals one of its values. */
  exactMatch(key: string, source: string): boolean {
    const values = this.fields.get(key);
    if (!values || values.size === 0) return true;
    return values.has(source);
  }

  /** Like exactMatch but key must have exactly one value. */
  uniqueExactMatch(key: string, source: string): boolean {
    const values = this.fields.get(key);
    if (!values || values.size === 0) return true;
    if (values.size !== 1) return false;
    return values.has(source);
  }

  /** True when `key` is absent/empty, or `source` equals or starts with one of its values (ID prefixes). */
  fuzzyMatch(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    for (const prefix of this.fields.get(key)!) if (source.startsWith(prefix)) return true;
    return false;
  }

  /** True when `key` is absent/empty, or a value equals or, as a regular expression, matches `source` (names). */
  match(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    for (const pattern of this.fields.get(key)!) {
      let re: RegExp;
      try {
        re = new RegExp(pattern);
      } catch {
        continue;
      }
      if (re.test(source)) return true;
    }
    return false;
  }

  /**
   * A boolean filter such as `dangling=true`: `defaultValue` when absent; accepts "true"/"1"/"false"/"0";
   * throws `invalid filter 'dangling=maybe'` for anything else or for conflicting values.
   */
  bool(key: string, defaultValue = false): boolean {
    const values = this.fields.get(key);
    if (!values) return defaultValue;
    if (values.size === 0) throw invalidFilter(key);
    const isFalse = values.has('0') || values.has('false');
    const isTrue = values.has('1') || values.has('true');
    if (isFalse === isTrue) throw invalidFilter(key, this.get(key));
    return isTrue;
  }

  /** Current wire form: `{"key":{"value":true}}`. */
  toJSON(): Record<string, Record<string, true>> {
    const out: Record<string, Record<string, true>> = {};
    for (const [k, vs] of this.fields) {
      out[k] = {};
      for (const v of vs) out[k][v] = true;
    }
    return out;
  }

  /** The `filters` query value, or '' when empty (so callers can omit the parameter). */
  encode(): string {
    return this.size === 0 ? '' : JSON.stringify(this.toJSON());
  }
}

/**
 * Parses the `filters` query parameter. '' (or absent) means no filters. Accepts `{"k":{"v":true}}` and the
 * legacy `{"k":["v"]}`; map entries set to false are ignored. Anything else is InvalidArgument.
 */
export function parseFilters(param: string | null | undefined): Filters {
  const f = new Filters();
  if (param === undefined || param === null || param === '') return f;
  let raw: unknown;
  try {
    raw = JSON.parse(param);
  } catch (err) {
    throw invalidArgument(`invalid filter: ${(err as Error).message}`, err);
  }
  if (raw === null) return f;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument('invalid filter: expected a JSON object');
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (Array.isArray(value)) {
      for (const v of value) {
        if (typeof v !== 'string') throw invalidArgument(`invalid filter: values of '${key}' must be strings`);
        f.add(key, v);
      }
    } else if (value !== null && typeof value === 'object') {
      // A key present with an empty map is kept, so `bool` can report it.
      f.addKey(key);
      for (const [v, on] of Object.entries(value as Record<string, unknown>)) {
        if (typeof on !== 'boolean') throw invalidArgument(`invalid filter: values of '${key}' must be booleans`);
        if (on) f.add(key, v);
      }
    } else if (value !== null) {
      throw invalidArgument(`invalid filter: '${key}' must be a list or a map`);
    }
  }
  return f;
}

/**
 * CLI side: `--filter a=b --filter a=c --filter label=x=y` → Filters (split at the first "="). An argument
 * without "=" is Docker's `bad format of filter (expected name=value)`.
 */
export function filtersFromArgs(args: readonly string[]): Filters {
  const f = new Filters();
  for (const arg of args) {
    if (arg === '') continue;
    const eq = arg.indexOf('=');
    if (eq < 0) throw invalidArgument('bad format of filter (expected name=value)');
    f.add(arg.slice(0, eq).trim().toLowerCase(), arg.slice(eq + 1).trim());
  }
  return f;
}

/** CLI side: the `filters` query value for a list of `--filter` arguments ('' when none). */
export function encodeFilters(args: readonly string[]): string {
  return filtersFromArgs(args).encode();
}
