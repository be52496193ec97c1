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
import { expandWord, expandWords, jsonArray, keyValuePairs, splitRaw, type Lookup } from '../../pkg/dockerfile/words.js';
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

export { expandWord, expandWords, jsonArray, keyValuePairs, splitRaw, type Lookup };
