/**
 * JSON the way Go's encoding/json writes it, and docker's formatter contexts that marshal as Go maps. Apart from the
 * template engine: `--format json` and the row contexts (withGoJSON) do not need it.
 */
import { formatFloat } from '../../pkg/units/units.js';

/**
 * Objects carrying this method control their own `json` output (like Go's json.Marshaler): it returns the JSON
 * text verbatim. See withGoJSON.
 */
export const MarshalJSON = Symbol('MarshalJSON');

function quoteJSON(s: string, escapeHTML: boolean): string {
  let q = JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  if (escapeHTML) q = q.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  return q;
}

export interface MarshalOptions {
  /** Escape <, > and & as \u003c \u003e \u0026 (json.Marshal does; Docker's `json` template func does not). */
  escapeHTML?: boolean;
  /** Sort object keys (Go sorts map keys; struct fields keep declaration order, i.e. insertion order here). */
  sortKeys?: boolean;
}

/** Compact JSON the way Go's encoding/json writes it. Defaults are json.Marshal's on a map: escaped, sorted. */
export function marshalJSON(v: unknown, opts: MarshalOptions = {}): string {
  const escapeHTML = opts.escapeHTML ?? true;
  const sortKeys = opts.sortKeys ?? true;
  const enc = (x: unknown): string => {
    if (x === undefined || x === null || typeof x === 'function' || typeof x === 'symbol') return 'null';
    if (typeof x === 'string') return quoteJSON(x, escapeHTML);
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) throw new Error(`json: unsupported value: ${formatFloat(x, 'g', -1)}`);
      return JSON.stringify(x);
    }
    if (typeof x === 'boolean') return String(x);
    if (typeof x === 'bigint') return x.toString();
    const hook = (x as { [MarshalJSON]?: unknown })[MarshalJSON];
    if (typeof hook === 'function') return String(hook.call(x));
    if (x instanceof Uint8Array) return quoteJSON(Buffer.from(x).toString('base64'), escapeHTML);
    const toJSON = (x as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return enc(toJSON.call(x));
    if (Array.isArray(x)) return '[' + x.map(enc).join(',') + ']';
    let entries: [string, unknown][] =
      x instanceof Map ? [...x.entries()].map(([k, y]) => [String(k), y]) : Object.entries(x);
    entries = entries.filter(([, y]) => y !== undefined);
    if (sortKeys) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return '{' + entries.map(([k, y]) => quoteJSON(k, escapeHTML) + ':' + enc(y)).join(',') + '}';
  };
  return enc(v);
}

/**
 * Wraps a row context (e.g. one `docker ps` line) so that `{{json .}}` prints it as the docker CLI does for its
 * formatter contexts: json.Marshal of a map, i.e. sorted keys and HTML-escaped (`"127.0.0.1:80-\u003e80/tcp"`).
 */
export function withGoJSON<T extends object>(fields: T): T {
  const copy = { ...fields };
  Object.defineProperty(copy, MarshalJSON, { value: () => marshalJSON(fields), enumerable: false });
  return copy;
}
