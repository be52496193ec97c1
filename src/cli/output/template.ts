/**
 * Docker's `--format` handling: Go text/template semantics with Docker's extra functions (cli/templates), and the
 * `table` / `json` / plain-template modes of the CLI's formatter.
 *
 * Parsing uses @sinkingpoint/gotemplate (a port of Go's text/template parser). Execution is done here, over the
 * parse tree, because the package's executor departs from Go where `--format` users notice: empty lists are true
 * in `if`, `and`/`or` return booleans, `lt`/`gt` are reversed, falsy pipeline values are dropped as arguments,
 * `range` never runs `else`, and maps print as JSON instead of `map[k:v]`.
 *
 * Value model (JS data standing in for Go values): plain objects and Maps are Go maps (fields are keys, printed
 * `map[k:v]`, ranged in sorted key order); arrays are slices; integral numbers are ints, other numbers float64;
 * `undefined` is a missing map key (prints `<no value>`); `null` is nil (prints `<nil>`). Functions found as fields
 * are methods and are called with the template arguments (`{{.Label "a"}}`).
 */
import { goQuote } from '../../pkg/gostr/quote.js';
import { Template as ParsedTemplate } from '@sinkingpoint/gotemplate';
import { formatFloat } from '../../pkg/units/units.js';
import { classifyFormat, type ParseFormatOptions, type ParsedFormat, type RowTemplate } from './format.js';
import { marshalJSON } from './gojson.js';
import { formatNumber, formatValue, goTypeName, isPlainMap, sortedEntries } from './govalue.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TemplateFunc = (...args: any[]) => unknown;
export type FuncMap = Record<string, TemplateFunc>;

// Node type numbers of the parser (Go's parse.NodeType order).
const N = {
  Text: 0,
  Action: 1,
  Bool: 2,
  Chain: 3,
  Command: 4,
  Dot: 5,
  Field: 8,
  Identifier: 9,
  If: 10,
  List: 11,
  Nil: 12,
  Number: 13,
  Pipe: 14,
  Range: 15,
  String: 16,
  Template: 17,
  Variable: 18,
  With: 19,
  Comment: 20,
  Break: 21,
  Continue: 22,
} as const;

/** A parse-tree node, typed loosely: the parser's classes are not exported from the package root. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = { type(): number; toString(): string; [k: string]: any };

const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');
/** Marks "no value piped in" (distinct from a piped-in undefined/false/0). */
const NO_FINAL = Symbol('no final');

class ExecError extends Error {}

// ---------------------------------------------------------------------------
// Go-like value helpers

/** Go's isTrue: zero values and empty collections are false; a missing value is false. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return (v as ArrayLike<unknown>).length > 0;
  if (v instanceof Map) return v.size > 0;
  if (v instanceof Date) return true;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** A string argument as Go would receive it (missing/nil become ""). */
function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : formatValue(v);
}

// ---------------------------------------------------------------------------
// printf (Go's fmt.Sprintf, the verbs templates use)

interface Spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  sharp: boolean;
  width?: number;
  prec?: number;
}



function badVerb(verb: string, arg: unknown): string {
  if (arg === null || arg === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(arg)}=${formatValue(arg, false)})`;
}

function padTo(s: string, spec: Spec, numeric: boolean): string {
  const w = spec.width ?? 0;
  const len = [...s].length;
  if (len >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - len);
  if (spec.zero && numeric) {
    const sign = /^[+\- ]/.test(s) ? s[0]! : '';
    return sign + '0'.repeat(w - len) + s.slice(sign.length);
  }
  return ' '.repeat(w - len) + s;
}

function signed(body: string, negative: boolean, spec: Spec): string {
  if (negative) return '-' + body;
  if (spec.plus) return '+' + body;
  if (spec.space) return ' ' + body;
  return body;
}

function formatInt(v: number, base: number, upper: boolean, spec: Spec): string {
  let digits = Math.abs(v).toString(base);
  if (upper) digits = digits.toUpperCase();
  if (spec.prec !== undefined) digits = digits.padStart(spec.prec, '0');
  if (spec.sharp) {
    if (base === 16) digits = (upper ? '0X' : '0x') + digits;
    else if (base === 8 && digits[0] !== '0') digits = '0' + digits;
    else if (base === 2) digits = '0b' + digits;
  }
  return signed(digits, v < 0, spec);
}

function formatOne(verb: string, arg: unknown, spec: Spec): string {
  if (verb === 'T') return padTo(arg === null || arg === undefined ? '<nil>' : goTypeName(arg), spec, false);
  if (verb === 'v') {
    if (typeof arg === 'number') return padTo(formatNumber(arg), spec, true);
    return padTo(formatValue(arg ?? null, false), spec, false);
  }
  if (arg === undefined) arg = null; // a missing value reaches Go functions as nil
  switch (verb) {
    case 's':
      if (typeof arg === 'string') {
        const s = spec.prec !== undefined ? [...arg].slice(0, spec.prec).join('') : arg;
        return padTo(s, spec, false);
      }
      if (Array.isArray(arg) || arg instanceof Map || isPlainMap(arg)) return padTo(formatValue(arg, false), spec, false);
      return badVerb(verb, arg);
    case 'q':
      if (typeof arg === 'string') return padTo(goQuote(arg), spec, false);
      if (typeof arg === 'number' && Number.isInteger(arg)) return padTo(`'${String.fromCodePoint(arg)}'`, spec, false);
      return badVerb(verb, arg);
    case 'd':
    case 'b':
    case 'o':
    case 'x':
    case 'X':
    case 'c':
      if (typeof arg === 'number' && Number.isInteger(arg)) {
        if (verb === 'c') return padTo(String.fromCodePoint(arg), spec, false);
        const base = verb === 'd' ? 10 : verb === 'b' ? 2 : verb === 'o' ? 8 : 16;
        return padTo(formatInt(arg, base, verb === 'X', spec), spec, true);
      }
      if (typeof arg === 'bigint' && verb === 'd') return padTo(arg.toString(), spec, true);
      if (typeof arg === 'string' && (verb === 'x' || verb === 'X')) {
        const hex = Buffer.from(arg).toString('hex');
        return padTo(verb === 'X' ? hex.toUpperCase() : hex, spec, false);
      }
      if (typeof arg === 'boolean' || typeof arg === 'number' || typeof arg === 'string' || arg === null) {
        return badVerb(verb, arg);
      }
      return padTo(formatValue(arg, false), spec, false);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G': {
      // Lenient with ints: JSON numbers reach templates untyped.
      if (typeof arg !== 'number') return badVerb(verb, arg);
      const f = (verb === 'F' ? 'f' : verb) as 'e' | 'E' | 'f' | 'g' | 'G';
      const prec = spec.prec ?? (f === 'g' || f === 'G' ? -1 : 6);
      const body = formatFloat(Math.abs(arg), f, prec);
      return padTo(signed(body, arg < 0 || Object.is(arg, -0), spec), spec, Number.isFinite(arg));
    }
    case 't':
      return typeof arg === 'boolean' ? padTo(String(arg), spec, false) : badVerb(verb, arg);
    default:
      return badVerb(verb, arg);
  }
}

/** Go's fmt.Sprintf for the verbs templates use: %v %s %q %d %x %X %o %b %c %e %f %g %t %T %%, flags `-+ 0#`, width, precision, `*`. */
export function sprintf(format: string, ...args: unknown[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { minus: false, plus: false, space: false, zero: false, sharp: false };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '-') spec.minus = true;
      else if (c === '+') spec.plus = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = true;
      else if (c === '#') spec.sharp = true;
      else break;
    }
    const num = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        return typeof a === 'number' ? Math.trunc(a) : undefined;
      }
      const m = /^\d+/.exec(format.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      return Number(m[0]);
    };
    spec.width = num();
    if (spec.width !== undefined && spec.width < 0) {
      spec.minus = true;
      spec.width = -spec.width;
    }
    if (format[i] === '.') {
      i++;
      spec.prec = num() ?? 0;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(verb, args[argi++], spec);
  }
  if (argi < args.length) {
    const extra = args
      .slice(argi)
      .map((a) => (a === null || a === undefined ? '<nil>' : `${goTypeName(a)}=${formatValue(a, false)}`));
    out += `%!(EXTRA ${extra.join(', ')})`;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Functions

function compareBasic(a: unknown, b: unknown): number {
  const kind = (x: unknown) => (typeof x === 'number' || typeof x === 'bigint' ? 'number' : typeof x);
  if (kind(a) !== kind(b)) throw new Error('incompatible types for comparison');
  if (kind(a) !== 'number' && kind(a) !== 'string') throw new Error(`invalid type for comparison`);
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

function eq(a: unknown, ...bs: unknown[]): boolean {
  if (bs.length === 0) throw new Error('missing argument for comparison');
  for (const b of bs) {
    if (a === null || a === undefined || b === null || b === undefined) {
      if ((a ?? null) === (b ?? null)) return true;
      continue;
    }
    if (typeof a === 'object' || typeof b === 'object') throw new Error('non-comparable types');
    const num = (x: unknown) => typeof x === 'number' || typeof x === 'bigint';
    if (typeof a !== typeof b && !(num(a) && num(b))) throw new Error('incompatible types for comparison');
    // eslint-disable-next-line eqeqeq
    if (a == b) return true;
  }
  return false;
}

function lenOf(v: unknown): number {
  if (v === undefined || v === null) return 0; // nil slices and maps have length 0
  if (typeof v === 'string') return Buffer.byteLength(v); // Go counts bytes
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return (v as ArrayLike<unknown>).length;
  if (v instanceof Map) return v.size;
  if (typeof v === 'object') return Object.keys(v).length;
  throw new Error(`len of type ${goTypeName(v)}`);
}

function indexOf(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (Array.isArray(v) || typeof v === 'string') {
      if (typeof k !== 'number' || !Number.isInteger(k)) throw new Error(`cannot index slice/array with type ${goTypeName(k)}`);
      if (k < 0 || k >= v.length) throw new Error(`index out of range: ${k}`);
      v = typeof v === 'string' ? Buffer.from(v)[k] : v[k];
    } else if (v instanceof Map) {
      v = v.has(k) ? v.get(k) : '';
    } else if (v === undefined || v === null) {
      // Docker's maps (labels, options) are map[string]string: a nil map yields "".
      v = '';
    } else if (typeof v === 'object') {
      const key = String(k);
      // A missing key yields the zero value; Docker's indexed maps hold strings, so that is "".
      v = Object.prototype.hasOwnProperty.call(v, key) ? (v as Record<string, unknown>)[key] : '';
    } else {
      throw new Error(`can't index item of type ${goTypeName(v)}`);
    }
  }
  return v;
}

function sliceOf(item: unknown, ...idx: unknown[]): unknown {
  if (typeof item !== 'string' && !Array.isArray(item)) throw new Error(`can't slice item of type ${goTypeName(item)}`);
  if (idx.length > 3) throw new Error(`too many slice indexes: ${idx.length}`);
  const [lo = 0, hi = item.length] = idx as number[];
  if (lo < 0 || hi < lo || hi > item.length) throw new Error(`slice index out of range`);
  return item.slice(lo, hi);
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
function sprint(...args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a ?? null, false);
  });
  return out;
}

const htmlEscapes: Record<string, string> = { '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;', '\0': '\uFFFD' };

/** strings.Title: upper-cases the first letter of each word. */
function title(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

/** Go's template builtins, with Go's semantics. `and`/`or` are evaluated lazily by the executor. */
const builtinFuncs: FuncMap = {
  and: (...a: unknown[]) => a.find((x) => !truth(x)) ?? a[a.length - 1],
  or: (...a: unknown[]) => a.find((x) => truth(x)) ?? a[a.length - 1],
  not: (x: unknown) => !truth(x),
  len: lenOf,
  index: indexOf,
  slice: sliceOf,
  print: sprint,
  printf: (format: unknown, ...args: unknown[]) => sprintf(str(format), ...args),
  println: (...args: unknown[]) => args.map((a) => formatValue(a ?? null, false)).join(' ') + '\n',
  eq,
  ne: (a: unknown, b: unknown) => !eq(a, b),
  lt: (a: unknown, b: unknown) => compareBasic(a, b) < 0,
  le: (a: unknown, b: unknown) => compareBasic(a, b) <= 0,
  gt: (a: unknown, b: unknown) => compareBasic(a, b) > 0,
  ge: (a: unknown, b: unknown) => compareBasic(a, b) >= 0,
  html: (...a: unknown[]) => sprint(...a).replace(/["'&<>\0]/g, (c) => htmlEscapes[c]!),
  js: (...a: unknown[]) => JSON.stringify(sprint(...a)).slice(1, -1).replace(/'/g, "\\'").replace(/[<>&=]/g, (c) => '\\u00' + c.charCodeAt(0).toString(16).toUpperCase()),
  urlquery: (...a: unknown[]) => encodeURIComponent(sprint(...a)).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()),
  call: (fn: unknown, ...args: unknown[]) => {
    if (typeof fn !== 'function') throw new Error(`non-function of type ${goTypeName(fn)}`);
    return fn(...args);
  },
};

/** The functions Docker adds (docker/cli templates.basicFunctions). */
const dockerFuncs: FuncMap = {
  // Docker's encoder disables HTML escaping and trims the trailing newline.
  json: (v: unknown) => marshalJSON(v, { escapeHTML: false, sortKeys: false }),
  split: (s: unknown, sep: unknown) => (str(sep) === '' ? [...str(s)] : str(s).split(str(sep))),
  join: (list: unknown, sep: unknown) => {
    if (list === null || list === undefined) return '';
    if (!Array.isArray(list)) throw new Error(`wrong type for value; expected []string; got ${goTypeName(list)}`);
    return list.map((x) => str(x)).join(str(sep));
  },
  title: (s: unknown) => title(str(s)),
  lower: (s: unknown) => str(s).toLowerCase(),
  upper: (s: unknown) => str(s).toUpperCase(),
  pad: (s: unknown, left: unknown, right: unknown) => {
    const v = str(s);
    if (v === '') return v;
    return ' '.repeat(Math.max(0, Number(left) || 0)) + v + ' '.repeat(Math.max(0, Number(right) || 0));
  },
  // Counts runes (Docker slices bytes; the same for ASCII, and never splits a character).
  truncate: (s: unknown, n: unknown) => {
    const runes = [...str(s)];
    const len = Math.max(0, Number(n) || 0);
    return runes.length < len ? str(s) : runes.slice(0, len).join('');
  },
};

/** Docker's HeaderFunctions: when a table header is rendered, formatting functions pass the label through. */
const headerFuncs: FuncMap = Object.fromEntries(
  ['json', 'split', 'join', 'title', 'lower', 'upper', 'pad', 'truncate'].map((n) => [n, (v: unknown) => str(v)]),
);

// ---------------------------------------------------------------------------
// Executor

interface Var {
  name: string;
  value: unknown;
}

class State {
  out = '';
  vars: Var[];
  node: Node | null = null;

  constructor(
    private readonly tmpl: GoTemplate,
    private readonly funcs: FuncMap,
    dot: unknown,
    private readonly depth = 0,
    /** Rendering a table header: fields of the label map tolerate method arguments. */
    private readonly header = false,
  ) {
    this.vars = [{ name: '$', value: dot }];
  }

  fail(msg: string): never {
    const ctx = this.node ? ` at <${this.node.toString()}>` : '';
    throw new ExecError(`template: ${this.tmpl.name}: executing "${this.tmpl.name}"${ctx}: ${msg}`);
  }

  varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    return this.fail(`undefined variable: ${name}`);
  }

  setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.fail(`undefined variable: ${name}`);
  }

  walk(dot: unknown, node: Node): void {
    this.node = node;
    switch (node.type()) {
      case N.Text:
        this.out += node.text;
        return;
      case N.Action: {
        const v = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.out += formatValue(v);
        return;
      }
      case N.List:
        for (const n of node.nodes as Node[]) this.walk(dot, n);
        return;
      case N.If:
      case N.With: {
        const mark = this.vars.length;
        const v = this.evalPipeline(dot, node.pipe);
        if (truth(v)) this.walk(node.type() === N.With ? v : dot, node.list);
        else if (node.els) this.walk(dot, node.els);
        this.vars.length = mark;
        return;
      }
      case N.Range:
        this.walkRange(dot, node);
        return;
      case N.Template: {
        const t = this.tmpl.lookup(node.name);
        if (!t) this.fail(`template "${node.name}" not defined`);
        if (this.depth >= 1000) this.fail('exceeded maximum template depth (1000)');
        const newDot = node.pipe ? this.evalPipeline(dot, node.pipe) : undefined;
        const sub = new State(this.tmpl, this.funcs, newDot, this.depth + 1, this.header);
        sub.walk(newDot, t.root!);
        this.out += sub.out;
        return;
      }
      case N.Comment:
        return;
      case N.Break:
        throw BREAK;
      case N.Continue:
        throw CONTINUE;
      default:
        this.fail(`unknown node: ${node.toString()}`);
    }
  }

  walkRange(dot: unknown, r: Node): void {
    const startMark = this.vars.length;
    const val = this.evalPipeline(dot, r.pipe);
    const decl = r.pipe.decl as Node[];
    const mark = this.vars.length;
    let ran = false;
    const one = (index: unknown, elem: unknown): boolean => {
      ran = true;
      if (decl.length > 0) {
        if (r.pipe.isAssign) this.setVar(decl[0]!.ident[0], decl.length > 1 ? index : elem);
        else this.vars[this.vars.length - 1]!.value = elem;
      }
      if (decl.length > 1) {
        if (r.pipe.isAssign) this.setVar(decl[1]!.ident[0], elem);
        else this.vars[this.vars.length - 2]!.value = index;
      }
      try {
        this.walk(elem, r.list);
      } catch (e) {
        if (e === BREAK) return false;
        if (e !== CONTINUE) throw e;
      } finally {
        this.vars.length = mark;
      }
      return true;
    };
    if (Array.isArray(val) || ArrayBuffer.isView(val)) {
      const arr = val as ArrayLike<unknown>;
      for (let i = 0; i < arr.length; i++) if (!one(i, arr[i])) break;
    } else if (typeof val === 'number' && Number.isInteger(val)) {
      for (let i = 0; i < val; i++) if (!one(i, i)) break;
    } else if (val instanceof Map || isPlainMap(val)) {
      for (const [k, v] of sortedEntries(val)) if (!one(k, v)) break;
    } else if (val !== undefined && val !== null) {
      this.node = r;
      this.fail(`range can't iterate over ${formatValue(val)}`);
    }
    if (!ran && r.els) this.walk(dot, r.els);
    this.vars.length = startMark;
  }

  evalPipeline(dot: unknown, pipe: Node): unknown {
    this.node = pipe;
    let value: unknown = NO_FINAL;
    for (const cmd of pipe.commands as Node[]) value = this.evalCommand(dot, cmd, value);
    for (const v of pipe.decl as Node[]) {
      if (pipe.isAssign) this.setVar(v.ident[0], value);
      else this.vars.push({ name: v.ident[0], value });
    }
    return value;
  }

  evalCommand(dot: unknown, cmd: Node, final: unknown): unknown {
    const first = cmd.args[0] as Node;
    switch (first.type()) {
      case N.Field:
        return this.evalFieldChain(dot, dot, first, first.ident, cmd.args, final);
      case N.Chain:
        return this.evalChain(dot, first, cmd.args, final);
      case N.Identifier:
        return this.evalFunction(dot, first, cmd.args, final);
      case N.Pipe:
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case N.Variable:
        return this.evalVariable(dot, first, cmd.args, final);
    }
    this.node = first;
    this.notAFunction(cmd.args, final);
    switch (first.type()) {
      case N.Bool:
        return first.val;
      case N.Dot:
        return dot;
      case N.Nil:
        return this.fail('nil is not a command');
      case N.Number:
        return first.num;
      case N.String:
        return first.text;
    }
    return this.fail(`can't evaluate command ${first.toString()}`);
  }

  notAFunction(args: Node[], final: unknown): void {
    if (args.length > 1 || final !== NO_FINAL) this.fail(`can't give argument to non-function ${args[0]!.toString()}`);
  }

  evalChain(dot: unknown, chain: Node, args: Node[], final: unknown): unknown {
    this.node = chain;
    if (chain.node.type() === N.Nil) this.fail(`indirection through explicit nil in ${chain.toString()}`);
    const receiver = this.evalArg(dot, chain.node);
    return this.evalFieldChain(dot, receiver, chain, chain.field, args, final);
  }

  evalVariable(dot: unknown, v: Node, args: Node[], final: unknown): unknown {
    this.node = v;
    const value = this.varValue(v.ident[0]);
    if (v.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  evalFieldChain(dot: unknown, receiver: unknown, node: Node, ident: string[], args: Node[], final: unknown): unknown {
    this.node = node;
    for (let i = 0; i < ident.length - 1; i++) receiver = this.evalField(dot, ident[i]!, [], NO_FINAL, receiver);
    return this.evalField(dot, ident[ident.length - 1]!, args, final, receiver);
  }

  evalField(dot: unknown, name: string, args: Node[], final: unknown, receiver: unknown): unknown {
    const hasArgs = args.length > 1 || final !== NO_FINAL;
    // A missing map entry (or nil) yields "no value" further down the chain, as Go does for maps.
    if (receiver === undefined || receiver === null) return undefined;
    if (typeof receiver !== 'object' && typeof receiver !== 'function') {
      if (this.header && typeof receiver === 'string') return receiver;
      return this.fail(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
    }
    if (Array.isArray(receiver)) return this.fail(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
    let v: unknown;
    if (receiver instanceof Map) v = receiver.get(name);
    else {
      v = (receiver as Record<string, unknown>)[name];
      // Object.prototype members are not fields.
      if (v !== undefined && v === (Object.prototype as unknown as Record<string, unknown>)[name]) v = undefined;
    }
    if (typeof v === 'function') {
      const argv = args.slice(1).map((a) => this.evalArg(dot, a));
      if (final !== NO_FINAL) argv.push(final);
      try {
        return (v as TemplateFunc).apply(receiver, argv);
      } catch (e) {
        return this.fail(`error calling ${name}: ${errMsg(e)}`);
      }
    }
    // Header rendering: `{{.Label "x"}}` becomes the header of the Label column.
    if (hasArgs && !this.header) this.fail(`${name} is not a method but has arguments`);
    return v;
  }

  evalFunction(dot: unknown, ident: Node, args: Node[], final: unknown): unknown {
    this.node = ident;
    const name: string = ident.ident;
    const fn = this.funcs[name];
    if (!fn) return this.fail(`function "${name}" not defined`);
    const rest = args.slice(1);
    if ((name === 'and' || name === 'or') && fn === builtinFuncs[name]) {
      // Go 1.18+: evaluate lazily, return the deciding operand.
      let v: unknown;
      for (const a of rest) {
        v = this.evalArg(dot, a);
        if (truth(v) === (name === 'or')) return v;
      }
      return final !== NO_FINAL ? final : v;
    }
    const argv = rest.map((a) => this.evalArg(dot, a));
    if (final !== NO_FINAL) argv.push(final);
    try {
      return fn(...argv);
    } catch (e) {
      this.node = ident;
      return this.fail(`error calling ${name}: ${errMsg(e)}`);
    }
  }

  evalArg(dot: unknown, n: Node): unknown {
    this.node = n;
    switch (n.type()) {
      case N.Dot:
        return dot;
      case N.Nil:
        return null;
      case N.Field:
        return this.evalFieldChain(dot, dot, n, n.ident, [n], NO_FINAL);
      case N.Variable:
        return this.evalVariable(dot, n, [n], NO_FINAL);
      case N.Pipe:
        return this.evalPipeline(dot, n);
      case N.Identifier:
        return this.evalFunction(dot, n, [n], NO_FINAL);
      case N.Chain:
        return this.evalChain(dot, n, [], NO_FINAL);
      case N.Bool:
        return n.val;
      case N.Number:
        return n.num;
      case N.String:
        return n.text;
    }
    return this.fail(`can't handle ${n.toString()} for arg`);
  }
}

function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const allFuncs: FuncMap = { ...builtinFuncs, ...dockerFuncs };

/** A parsed Go template; `execute` may be called any number of times. */
export class GoTemplate implements RowTemplate {
  readonly name: string;
  readonly source: string;
  private readonly parsed: ParsedTemplate;
  private readonly funcs: FuncMap;

  /** Parses `text`; throws `template parsing error: …` on syntax errors and unknown functions. */
  constructor(text: string, extraFuncs: FuncMap = {}, name = '') {
    this.name = name;
    this.source = text;
    this.funcs = { ...allFuncs, ...extraFuncs };
    this.parsed = new ParsedTemplate(name);
    try {
      this.parsed.funcs(this.funcs as Record<string, (...args: unknown[]) => unknown>);
      this.parsed.parse(text);
    } catch (e) {
      throw new Error(`template parsing error: ${errMsg(e)}`);
    }
  }

  /** The parse tree of a template defined in this set (`{{define "x"}}`), or undefined. */
  lookup(name: string): { root: Node | null } | undefined {
    const t = this.parsed.lookup(name);
    return t?.tree ? { root: t.tree.root as unknown as Node | null } : undefined;
  }

  /** Executes over `data`. Throws on execution errors (`template: …: executing … at <.X>: …`). */
  execute(data: unknown): string {
    return this.run(data, this.funcs, false);
  }

  /**
   * Executes with Docker's header functions, over a map of field name → column label: how a `table` format
   * renders its header line.
   */
  executeHeader(headers: Record<string, string>): string {
    return this.run(headers, { ...this.funcs, ...headerFuncs }, true);
  }

  private run(data: unknown, funcs: FuncMap, header: boolean): string {
    const root = this.parsed.tree?.root as unknown as Node | null | undefined;
    if (!root) return '';
    const st = new State(this, funcs, data, 0, header);
    try {
      st.walk(data, root);
    } catch (e) {
      if (e === BREAK || e === CONTINUE) return st.out;
      throw e;
    }
    return st.out;
  }
}

/** Parses a Go template with Docker's functions (plus `extraFuncs`). */
export function compileTemplate(text: string, extraFuncs?: FuncMap): GoTemplate {
  return new GoTemplate(text, extraFuncs);
}

// ---------------------------------------------------------------------------
// --format

/** `--format` with the engine for every template (format.ts's loadFormat uses it only where needed). */
export function parseFormat(format: string, opts: ParseFormatOptions = {}): ParsedFormat {
  const { kind, text } = classifyFormat(format, opts);
  return { kind, text, tableHeader: kind === 'table' || undefined, template: new GoTemplate(text, opts.funcs) };
}
