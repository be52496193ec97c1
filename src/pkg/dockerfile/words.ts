/**
 * Dockerfile word rules shared by the builder and by `--change` (import/commit): JSON (exec) form, raw word
 * splitting, ENV/LABEL key=value pairs, and variable expansion with quote removal (`$VAR`, `${VAR:-default}`, ...).
 */
import { invalidArgument } from '../../errdefs/index.js';

/** A JSON array of strings, or undefined (shell form). */
export function jsonArray(s: string): string[] | undefined {
  if (!s.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(s) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* shell form */
  }
  return undefined;
}

/**
 * Splits at unquoted whitespace keeping quotes and escapes as written (Docker's parse-time split for ENV/LABEL/ARG
 * `key=value` words; the values are expanded and unquoted later).
 */
export function splitRaw(s: string, escape = '\\'): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === escape && i + 1 < s.length && quote !== "'") {
      cur += c + s[++i];
      inWord = true;
      continue;
    }
    if (quote) {
      if (c === quote) quote = undefined;
      cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      cur += c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw invalidArgument(`unexpected end of statement while looking for matching ${quote}`);
  if (inWord) out.push(cur);
  return out;
}

/** Key/value pairs of ENV and LABEL (`k=v ...` or the legacy `k value with spaces`), raw (unexpanded). */
export function keyValuePairs(cmd: string, rest: string, escape = '\\'): Array<[string, string]> {
  const words = splitRaw(rest, escape);
  if (words.length === 0) throw invalidArgument(`${cmd} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest.trim());
    if (!m || m[2]!.trim() === '') throw invalidArgument(`${cmd} must have two arguments`);
    return [[m[1]!, m[2]!.trim()]];
  }
  return words.map((w) => {
    const i = w.indexOf('=');
    if (i < 0) throw invalidArgument(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    if (i === 0) throw invalidArgument(`${cmd} names can not be blank`);
    return [w.slice(0, i), w.slice(i + 1)];
  });
}

export type Lookup = (name: string) => string | undefined;

/**
 * Expands variables and removes quotes. With `split`, unquoted whitespace separates words (Docker's ProcessWords);
 * without, the result is one word (ProcessWord).
 */
export function expandWords(s: string, lookup: Lookup, escape = '\\', split = true): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const readVar = (): string => {
    // s[i] === '$'
    const next = s[i + 1];
    if (next === '{') {
      const end = findClose(s, i + 2);
      if (end < 0) throw invalidArgument(`missing '}' in ${s}`);
      const body = s.slice(i + 2, end);
      i = end + 1;
      const m = /^([a-zA-Z_][a-zA-Z0-9_]*)(?:(:?[-+?])([\s\S]*))?$/.exec(body);
      if (!m) throw invalidArgument(`failed to process "${s}": unsupported modifier in \${${body}}`);
      const v = lookup(m[1]!);
      const op = m[2];
      const word = () => expandWords(m[3] ?? '', lookup, escape, false)[0] ?? '';
      switch (op) {
        case undefined:
          return v ?? '';
        case ':-':
          return v ? v : word();
        case '-':
          return v !== undefined ? v : word();
        case ':+':
          return v ? word() : '';
        case '+':
          return v !== undefined ? word() : '';
        case ':?':
          if (!v) throw invalidArgument(`${m[1]}: ${word() || 'is not allowed to be unset'}`);
          return v;
        case '?':
          if (v === undefined) throw invalidArgument(`${m[1]}: ${word() || 'is not allowed to be unset'}`);
          return v;
      }
      return '';
    }
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i + 1));
    if (!m) {
      i++;
      return '$';
    }
    i += 1 + m[0].length;
    return lookup(m[0]) ?? '';
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === escape) {
      if (i + 1 < s.length) cur += s[i + 1];
      i += 2;
      inWord = true;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw invalidArgument(`unexpected end of statement while looking for matching '`);
      cur += s.slice(i + 1, end);
      i = end + 1;
      inWord = true;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= s.length) throw invalidArgument('unexpected end of statement while looking for matching "');
        const d = s[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === escape && i + 1 < s.length && ['"', '$', escape].includes(s[i + 1]!)) {
          cur += s[i + 1];
          i += 2;
        } else if (d === '$') cur += readVar();
        else {
          cur += d;
          i++;
        }
      }
    } else if (c === '$') {
      // An unquoted value splits at whitespace like the rest of the text (Docker's ProcessWords).
      for (const ch of readVar()) {
        if (split && /\s/.test(ch)) {
          if (inWord) words.push(cur);
          cur = '';
          inWord = false;
        } else {
          cur += ch;
          inWord = true;
        }
      }
    } else if (split && /\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord || !split) words.push(cur);
  return words;
}

/** Expands one word (no splitting). */
export function expandWord(s: string, lookup: Lookup, escape = '\\'): string {
  return expandWords(s, lookup, escape, false)[0] ?? '';
}

function findClose(s: string, from: number): number {
  let depth = 1;
  for (let j = from; j < s.length; j++) {
    if (s[j] === '{') depth++;
    else if (s[j] === '}' && --depth === 0) return j;
  }
  return -1;
}
