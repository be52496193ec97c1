/**
 * Dockerfile parser and word expansion for the classic builder.
 *
 * Parsing turns the text into instructions: parser directives (`# escape=`), comments, line continuations (the
 * escape character at the end of a line; comment lines inside a continuation are dropped), `--flag=value` options,
 * and JSON (exec) versus shell form. Nothing is expanded at parse time: variables depend on build state, so the
 * builder calls `expandWord(s)` per instruction with the ARG/ENV values in scope.
 *
 * Expansion follows Docker's shell lexer: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`,
 * `${VAR+alt}`; single quotes are literal, double quotes group and allow expansion, the escape character makes the
 * next character literal. Quotes are removed from the result.
 */
import { invalidArgument } from '../../errdefs/index.js';

export const KNOWN_INSTRUCTIONS = new Set([
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD',
  'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]);

/** Instructions whose arguments may be a JSON array (exec form). */
const JSON_FORM = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'VOLUME']);
/** Instructions that take `--flag` options. */
const FLAGGED = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'HEALTHCHECK']);

export interface Instruction {
  /** Upper-case keyword. */
  cmd: string;
  /** The logical line as written (continuations joined), for `Step n/m : ...`. */
  original: string;
  /** 1-based line where the instruction starts. */
  line: number;
  /** `--name=value` options in order (a bare `--name` has value 'true'). */
  flags: Array<{ name: string; value: string }>;
  /** The text after the keyword and the flags. */
  rest: string;
  /** Exec-form arguments when `rest` is a JSON string array (only for instructions that support it). */
  json?: string[];
}

export interface Stage {
  /** `FROM image [AS name]`: the raw (unexpanded) image word and the lower-cased name. */
  from: Instruction;
  base: string;
  name?: string;
  /** Instructions after FROM. */
  instructions: Instruction[];
}

export interface Dockerfile {
  escape: string;
  /** ARG instructions before the first FROM. */
  metaArgs: Instruction[];
  stages: Stage[];
}

export function parseError(line: number, msg: string): Error {
  return invalidArgument(`dockerfile parse error on line ${line}: ${msg}`);
}

/** Splits the text into instructions (see the module comment). */
export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  let i = 0;
  // Parser directives: `# key=value` lines at the very top.
  const seen = new Set<string>();
  for (; i < lines.length; i++) {
    const m = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/.exec(lines[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (seen.has(key)) throw parseError(i + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw parseError(i + 1, `invalid escape token '${m[2]}' does not match ` + '` or \\');
      escape = m[2]!;
    }
  }
  const instructions: Instruction[] = [];
  while (i < lines.length) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      i++;
      continue;
    }
    const start = i + 1;
    let logical = '';
    let cur = raw.replace(/^\s+/, '');
    for (;;) {
      const t = cur.replace(/\s+$/, '');
      if (t.endsWith(escape)) {
        logical += t.slice(0, -1);
        i++;
        // Continuation: skip comment lines and empty lines, stop at end of file.
        while (i < lines.length && /^\s*(#.*)?$/.test(lines[i]!)) i++;
        if (i >= lines.length) break;
        cur = lines[i]!;
        continue;
      }
      logical += cur;
      i++;
      break;
    }
    instructions.push(parseInstruction(logical.trim(), start));
  }
  return group(instructions, escape);
}

function parseInstruction(line: string, lineNo: number): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
  const cmd = m[1]!.toUpperCase();
  if (!KNOWN_INSTRUCTIONS.has(cmd)) throw parseError(lineNo, `unknown instruction: ${cmd}`);
  let rest = m[2]!;
  const flags: Instruction['flags'] = [];
  if (FLAGGED.has(cmd)) {
    for (;;) {
      const f = /^--([a-zA-Z][a-zA-Z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
      if (!f) break;
      flags.push({ name: f[1]!.toLowerCase(), value: f[2] ?? 'true' });
      rest = rest.slice(f[0].length);
    }
  }
  rest = rest.trim();
  const ins: Instruction = { cmd, original: line, line: lineNo, flags, rest };
  if (JSON_FORM.has(cmd)) {
    const json = jsonArray(rest);
    if (json) ins.json = json;
  }
  if (rest === '' && !['HEALTHCHECK'].includes(cmd)) {
    throw parseError(lineNo, `${cmd} requires at least one argument`);
  }
  return ins;
}

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

function group(instructions: Instruction[], escape: string): Dockerfile {
  const out: Dockerfile = { escape, metaArgs: [], stages: [] };
  for (const ins of instructions) {
    if (ins.cmd === 'FROM') {
      const words = splitRaw(ins.rest, escape);
      let name: string | undefined;
      if (words.length === 3 && words[1]!.toUpperCase() === 'AS') name = words[2]!.toLowerCase();
      else if (words.length !== 1) throw parseError(ins.line, 'FROM requires either one or three arguments');
      if (name !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(name)) throw parseError(ins.line, `invalid name for build stage: "${name}", name can't start with a number or contain symbols`);
      out.stages.push({ from: ins, base: words[0]!, name, instructions: [] });
      continue;
    }
    const stage = out.stages[out.stages.length - 1];
    if (!stage) {
      if (ins.cmd !== 'ARG') throw parseError(ins.line, 'no build stage in current context');
      out.metaArgs.push(ins);
      continue;
    }
    stage.instructions.push(ins);
  }
  if (out.stages.length === 0) throw invalidArgument('the Dockerfile (Dockerfile) cannot be empty');
  return out;
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
