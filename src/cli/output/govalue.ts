/**
 * Go values as berth's templates model them (JS data standing in for Go values; see template.ts) and how Go's fmt
 * prints them (%v). Apart from the template engine so that the default tables, which print fields only, do not
 * load the engine (issue 17: CLI start-up).
 */
import { formatFloat } from '../../pkg/units/units.js';

export function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !ArrayBuffer.isView(v);
}

/** The Go type name used in fmt's error forms, e.g. `%!d(string=abc)`. */
export function goTypeName(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int64';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Uint8Array) return '[]uint8';
  if (typeof v === 'function') return 'func';
  if (v instanceof Date) return 'time.Time';
  return 'map[string]interface {}';
}

export function sortedEntries(v: Record<string, unknown> | Map<unknown, unknown>): [string, unknown][] {
  const entries: [string, unknown][] =
    v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x]) : Object.entries(v);
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function formatNumber(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return String(v);
  return formatFloat(v, 'g', -1);
}

/** fmt's %v: how `{{.X}}` prints a value. */
export function formatValue(v: unknown, top = true): string {
  if (v === undefined) return top ? '<no value>' : '<nil>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return '<func>';
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    return '[' + Array.from(v as ArrayLike<unknown>, (x) => formatValue(x, false)).join(' ') + ']';
  }
  if (v instanceof Map || isPlainMap(v)) {
    const own = (v as { toString?: unknown }).toString;
    if (!(v instanceof Map) && typeof own === 'function' && own !== Object.prototype.toString) return String(v);
    return 'map[' + sortedEntries(v).map(([k, x]) => `${k}:${formatValue(x, false)}`).join(' ') + ']';
  }
  return String(v);
}
