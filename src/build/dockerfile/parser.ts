/**
 * Dockerfile parser (Dockerfile 1.x syntax, as BuildKit's frontend reads it) and word expansion.
 *
 * Parsing turns the text into instructions: parser directives (`# syntax=`, `# escape=`, `# check=`), comments, line
 * continuations (the escape character at the end of a line; comment lines inside a continuation are dropped),
 * `--flag=value` options, JSON (exec) versus shell form, and heredocs: a RUN/COPY/ADD word `<<EOF`, `<<-EOF`
 * (leading tabs stripped) or `<<"EOF"`/`<<'EOF'` (quoted: no variable expansion) takes the following lines up to the
 * line `EOF` as its body; several heredocs on one line take their bodies in order. Nothing is expanded at parse time:
 * variables depend on build state, so the builder calls `expandWord(s)` per instruction with the ARG/ENV values in
 * scope.
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
  /** Heredocs named on the line, in order (RUN, COPY, ADD only). */
  heredocs?: Heredoc[];
}

/** A heredoc: `<<[-]["']NAME["']` on an instruction line and the lines after it up to `NAME`. */
export interface Heredoc {
  name: string;
  /** The body, every line ending in a newline (tabs already stripped for `<<-`). */
  body: string;
  /** False for a quoted delimiter: the body is taken literally. */
  expand: boolean;
  /** `<<-`: leading tabs were stripped. */
  chomp: boolean;
  /** The word as written (`<<-"EOF"`), to find it in the command line. */
  word: string;
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
  /** `# syntax=` as written (berth's builtin frontend is used whatever it names). */
  syntax?: string;
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
  let syntax: string | undefined;
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
    } else if (key === 'syntax') syntax = m[2]!;
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
    const ins = parseInstruction(logical.trim(), start);
    if (HEREDOC_CAPABLE.has(ins.cmd)) {
      const docs = heredocWords(ins.json ? '' : ins.rest);
      if (docs.length) {
        ins.heredocs = [];
        const bodies: string[] = [];
        for (const d of docs) {
          let body = '';
          let closed = false;
          while (i < lines.length) {
            let l = lines[i++]!;
            if (d.chomp) l = l.replace(/^\t+/, '');
            if (l === d.name) {
              closed = true;
              break;
            }
            body += l + '\n';
          }
          if (!closed) throw parseError(start, `unterminated heredoc ${d.name}`);
          bodies.push(body + d.name);
          ins.heredocs.push({ ...d, body });
        }
        ins.original = `${ins.original}\n${bodies.join('\n')}`;
      }
    }
    instructions.push(ins);
  }
  const df = group(instructions, escape);
  if (syntax !== undefined) df.syntax = syntax;
  return df;
}

const HEREDOC_CAPABLE = new Set(['RUN', 'COPY', 'ADD']);

/** The heredoc words of a line, outside quotes: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`. */
export function heredocWords(line: string): Array<Omit<Heredoc, 'body'>> {
  const out: Array<Omit<Heredoc, 'body'>> = [];
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      continue;
    }
    if (c === '<' && line[i + 1] === '<' && line[i + 2] !== '<' && (i === 0 || line[i - 1] !== '<')) {
      const m = /^<<(-?)(?:"([^"\s]+)"|'([^'\s]+)'|([A-Za-z0-9_.-]+))/.exec(line.slice(i));
      if (m) {
        const name = m[2] ?? m[3] ?? m[4]!;
        out.push({ name, expand: m[4] !== undefined, chomp: m[1] === '-', word: m[0] });
        i += m[0].length - 1;
      }
    }
  }
  return out;
}

function parseInstruction(line: string, lineNo: number): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
  const cmd = m[1]!.toUpperCase();
  if (!KNOWN_INSTRUCTIONS.has(cmd)) throw parseError(lineNo, `unknown instruction: ${cmd}`);
  let rest = m[2]!;
  const flags: Instruction['flags'] = [];
  if (FLAGGED.has(cmd)) {
    for (;;) {
      const f = /^--([a-zA-Z][a-zA-Z0-9-]*)(?:=((?:"[^"]*"|'[^']*'|\S)*))?(?:\s+|$)/.exec(rest);
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
