/** The image-specific parts of `images --filter` and `image prune --filter` (Docker's wording and matching). */
import * as ref from '../../../pkg/reference/index.js';

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
