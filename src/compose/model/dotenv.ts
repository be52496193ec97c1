/**
 * The env file format Compose reads for `.env`, `--env-file` and a service's `env_file`: one `KEY=VALUE` a line,
 * optional `export ` prefix, `#` comments (whole lines, or after whitespace in an unquoted value), single quotes
 * literal, double quotes with `\n` `\t` `\\` `\"` escapes and interpolation, unquoted values trimmed and
 * interpolated. A bare `KEY` takes its value from the lookup (and is skipped when that has none).
 */
import { interpolate, Lookup } from './interpolate.js';

export class EnvFileError extends Error {}

/**
 * Parses env-file text. `lookup` resolves `${VAR}` in values: earlier keys of the same file win over it, as in
 * Compose, so `B=${A}` after `A=1` gives `B=1`.
 */
export function parseEnvFile(text: string, lookup: Lookup = () => undefined, file = '.env'): Map<string, string> {
  const vars = new Map<string, string>();
  const look: Lookup = (k) => (vars.has(k) ? vars.get(k) : lookup(k));
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n].trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('export ')) line = line.slice(7).trimStart();
    const m = /^([^=\s:]+)\s*(=|:\s)?\s*(.*)$/s.exec(line);
    if (!m || /\s/.test(m[1])) throw new EnvFileError(`${file}:${n + 1}: unexpected character in variable name "${line}"`);
    const key = m[1];
    if (!m[2]) {
      if (m[3]) throw new EnvFileError(`${file}:${n + 1}: unexpected character in variable name "${line}"`);
      const v = lookup(key);
      if (v !== undefined) vars.set(key, v);
      continue;
    }
    let raw = m[3];
    const q = raw[0];
    if (q === "'" || q === '"') {
      // A quoted value may span lines.
      let body = raw.slice(1);
      let close = findClose(body, q);
      while (close < 0 && n + 1 < lines.length) {
        n++;
        body += '\n' + lines[n];
        close = findClose(body, q);
      }
      if (close < 0) throw new EnvFileError(`${file}:${n + 1}: unterminated quoted value for ${key}`);
      const inner = body.slice(0, close);
      vars.set(key, q === "'" ? inner : interpolate(unescape(inner), { lookup: look }));
      continue;
    }
    const hash = raw.search(/\s#/);
    if (hash >= 0) raw = raw.slice(0, hash);
    vars.set(key, interpolate(raw.trim(), { lookup: look }));
  }
  return vars;
}

function findClose(s: string, q: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && q === '"') i++;
    else if (s[i] === q) return i;
  }
  return -1;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}
