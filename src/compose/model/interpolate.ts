/**
 * Variable interpolation as the Compose Specification defines it (12-interpolation.md):
 * `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty → default), `${VAR-default}` (unset → default),
 * `${VAR:?err}` / `${VAR?err}` (an error naming the variable), `${VAR:+alt}` / `${VAR+alt}` (alt when set),
 * `$$` for a literal `$`. Defaults and alternatives may themselves contain `${...}`. An unset variable without a
 * default becomes "" and is reported through `onUnset`, as Compose warns.
 */

export type Lookup = (name: string) => string | undefined;

export class InterpolationError extends Error {}

export interface InterpolateOptions {
  lookup: Lookup;
  /** Called once per unset variable used without a default. */
  onUnset?(name: string): void;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Interpolates one string. Throws InterpolationError for `${VAR:?err}` with VAR missing and for bad syntax. */
export function interpolate(input: string, opts: InterpolateOptions): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = matchingBrace(input, i + 1);
      if (end < 0) throw new InterpolationError(`Invalid template: "${input}"`);
      out += substitute(input.slice(i + 2, end), input, opts);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(input.slice(i + 1));
    if (!m) {
      // A lone `$` (e.g. at the end, or before a space) stays as it is.
      out += '$';
      i++;
      continue;
    }
    out += valueOf(m[0], opts);
    i += 1 + m[0].length;
  }
  return out;
}

function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let j = open; j < s.length; j++) {
    if (s[j] === '{') depth++;
    else if (s[j] === '}') {
      depth--;
      if (depth === 0) return j;
    }
  }
  return -1;
}

function valueOf(name: string, opts: InterpolateOptions): string {
  const v = opts.lookup(name);
  if (v === undefined) {
    opts.onUnset?.(name);
    return '';
  }
  return v;
}

function substitute(expr: string, whole: string, opts: InterpolateOptions): string {
  const m = NAME.exec(expr);
  if (!m) throw new InterpolationError(`Invalid template: "${whole}"`);
  const name = m[0];
  const rest = expr.slice(name.length);
  if (rest === '') return valueOf(name, opts);
  const op = /^(:?[-?+])/.exec(rest);
  if (!op) throw new InterpolationError(`Invalid template: "${whole}"`);
  const arg = rest.slice(op[1].length);
  const value = opts.lookup(name);
  const colon = op[1].startsWith(':');
  const missing = value === undefined || (colon && value === '');
  switch (op[1].slice(-1)) {
    case '-':
      return missing ? interpolate(arg, opts) : value!;
    case '+':
      return missing ? '' : interpolate(arg, opts);
    default: {
      // '?'
      if (!missing) return value!;
      const msg = interpolate(arg, opts);
      throw new InterpolationError(`required variable ${name} is missing a value${msg ? `: ${msg}` : ''}`);
    }
  }
}

/**
 * Interpolates every string value of a parsed YAML tree (mapping keys are left alone, as Compose does). `path`
 * is passed to errors so they can name the field.
 */
export function interpolateTree(node: unknown, opts: InterpolateOptions, path: string[] = []): unknown {
  if (typeof node === 'string') {
    try {
      return interpolate(node, opts);
    } catch (e) {
      if (e instanceof InterpolationError) throw new InterpolationError(`${path.join('.') || '(root)'}: ${e.message}`);
      throw e;
    }
  }
  if (Array.isArray(node)) return node.map((x, i) => interpolateTree(x, opts, [...path, String(i)]));
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = interpolateTree(v, opts, [...path, k]);
    return out;
  }
  return node;
}
