/**
 * Typed access to a request's query string with Docker's parsing rules, so every route reads parameters the same way
 * and bad values become 400s with a clear message instead of silently turning into defaults.
 */
import { invalidArgument } from '../../errdefs/index.js';

const falseWords = new Set(['', '0', 'no', 'false', 'none']);

export class Query {
  constructor(private readonly params: URLSearchParams) {}

  has(name: string): boolean {
    return this.params.has(name);
  }

  /** The last value given for `name` (Go's r.Form.Get returns the first; the difference never matters to clients). */
  string(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  /** Every value of a repeated parameter (`names=a&names=b`). */
  strings(name: string): string[] {
    return this.params.getAll(name);
  }

  /** Docker's BoolValue: absent → fallback; "", "0", "no", "false", "none" → false; anything else → true. */
  bool(name: string, fallback = false): boolean {
    const v = this.params.get(name);
    if (v === null) return fallback;
    return !falseWords.has(v.trim().toLowerCase());
  }

  /** An integer parameter; absent or empty → fallback; not an integer → 400. */
  int(name: string, fallback?: number): number | undefined {
    const v = this.params.get(name);
    if (v === null || v === '') return fallback;
    if (!/^[+-]?\d+$/.test(v.trim())) throw invalidArgument(`invalid value for ${name}: strconv.Atoi: parsing "${v}": invalid syntax`);
    return Number(v);
  }

  /** Raw JSON-encoded parameter (e.g. `filters`, `buildargs`); absent/empty → undefined; malformed → 400. */
  json<T = unknown>(name: string): T | undefined {
    const v = this.params.get(name);
    if (v === null || v === '') return undefined;
    try {
      return JSON.parse(v) as T;
    } catch (e) {
      throw invalidArgument(`invalid JSON in query parameter ${name}: ${(e as Error).message}`);
    }
  }
}
