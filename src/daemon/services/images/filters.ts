/** The image-specific parts of `images --filter` and `image prune --filter` (Docker's wording and matching). */
import * as ref from '../../../pkg/reference/index.js';
import { invalidArgument } from '../../../errdefs/index.js';

/** `until` filter values: a Unix timestamp, an RFC 3339 time, or a Go duration before now (`24h`, `10m`). */
export function parseUntil(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (!Number.isNaN(t)) return t;
  const m = /^(\d+)(h|m|s)$/.exec(v);
  if (m) return Date.now() - Number(m[1]) * { h: 3600e3, m: 60e3, s: 1e3 }[m[2] as 'h' | 'm' | 's'];
  throw invalidArgument(`invalid filter 'until=${v}'`);
}

/** Whether any `key` or `key=value` of `values` matches `labels` (the `label!` filter). */
export function matchesAnyLabel(values: string[], labels: Record<string, string>): boolean {
  return values.some((v) => {
    const i = v.indexOf('=');
    return i < 0 ? v in labels : labels[v.slice(0, i)] === v.slice(i + 1);
  });
}

/** Docker's reference filter: glob over the familiar name, or over familiar name:tag. */
export function referenceMatch(pattern: string, fullTag: string): boolean {
  const r = ref.parseNormalized(fullTag);
  const re = globToRegExp(pattern);
  return re.test(ref.familiarName(r)) || re.test(ref.familiarString(r)) || re.test(ref.format(r));
}

function globToRegExp(p: string): RegExp {
  let s = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') s += '[^/]*';
    else if (c === '?') s += '[^/]';
    else if (c === '[') {
      const j = p.indexOf(']', i);
      if (j < 0) s += '\\[';
      else {
        s += `[${p.slice(i + 1, j).replace(/^!/, '^')}]`;
        i = j;
      }
    } else s += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${s}$`);
}
