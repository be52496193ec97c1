/**
 * The templates that only print fields (`{{.ID}}\t{{.Image}}`, `{{.State.Running}}`) or the whole value as JSON
 * (`{{json .}}`), executed without the Go-template engine. Every default table is such a template, and the engine
 * with its parser is the largest module a command would load (issue 17: CLI start-up). The results, errors
 * included, are the engine's (template.ts: evalField, the `json` function, Docker's header functions).
 */
import { marshalJSON } from './gojson.js';
import { formatValue, goTypeName } from './govalue.js';
import type { RowTemplate } from './format.js';

type Action = (dot: unknown, header: boolean) => unknown;

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
/** `{{.A.B}}` or `{{json .}}`, with the spaces Go allows inside the delimiters. */
const ACTION = new RegExp(`\\{\\{ *(?:\\.(${IDENT}(?:\\.${IDENT})*)|(json +\\.)) *\\}\\}`, 'g');

class FieldTemplateError extends Error {}

function fail(at: string, msg: string): never {
  // Templates are compiled unnamed (compileTemplate, parseFormat), hence the empty names.
  throw new FieldTemplateError(`template: : executing "" at <${at}>: ${msg}`);
}

/** The engine's evalField for a field without arguments. */
function field(receiver: unknown, name: string, at: string, header: boolean): unknown {
  if (receiver === undefined || receiver === null) return undefined;
  if (typeof receiver !== 'object' && typeof receiver !== 'function') {
    if (header && typeof receiver === 'string') return receiver;
    return fail(at, `can't evaluate field ${name} in type ${goTypeName(receiver)}`);
  }
  if (Array.isArray(receiver)) return fail(at, `can't evaluate field ${name} in type ${goTypeName(receiver)}`);
  let v: unknown;
  if (receiver instanceof Map) v = receiver.get(name);
  else {
    v = (receiver as Record<string, unknown>)[name];
    if (v !== undefined && v === (Object.prototype as unknown as Record<string, unknown>)[name]) v = undefined;
  }
  if (typeof v !== 'function') return v;
  try {
    return (v as () => unknown).call(receiver);
  } catch (e) {
    return fail(at, `error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function fieldChain(chain: string): Action {
  const names = chain.split('.');
  const at = '.' + chain;
  return (dot, header) => names.reduce((receiver, name) => field(receiver, name, at, header), dot);
}

/** Docker's `json` function (and, in a header, its header function: the label map printed with %v). */
const jsonOfDot: Action = (dot, header) => {
  if (header) return dot === undefined || dot === null ? '' : formatValue(dot);
  try {
    return marshalJSON(dot, { escapeHTML: false, sortKeys: false });
  } catch (e) {
    return fail('json', `error calling json: ${(e as Error).message}`);
  }
};

export class FieldTemplate implements RowTemplate {
  private constructor(
    /** Literal text around the actions: texts.length === actions.length + 1. */
    private readonly texts: string[],
    private readonly actions: Action[],
  ) {}

  /** The template, when `text` consists of literal text and field/`json .` actions only; otherwise undefined. */
  static parse(text: string): FieldTemplate | undefined {
    const texts: string[] = [];
    const actions: Action[] = [];
    let last = 0;
    for (const m of text.matchAll(ACTION)) {
      texts.push(text.slice(last, m.index));
      actions.push(m[1] !== undefined ? fieldChain(m[1]) : jsonOfDot);
      last = m.index! + m[0].length;
    }
    texts.push(text.slice(last));
    // Any other `{{` is an action (or a syntax error) that only the engine knows.
    if (texts.some((t) => t.includes('{{'))) return undefined;
    return new FieldTemplate(texts, actions);
  }

  execute(data: unknown): string {
    return this.run(data, false);
  }

  executeHeader(headers: Record<string, string>): string {
    return this.run(headers, true);
  }

  private run(dot: unknown, header: boolean): string {
    let out = this.texts[0]!;
    for (let i = 0; i < this.actions.length; i++) out += formatValue(this.actions[i]!(dot, header)) + this.texts[i + 1]!;
    return out;
  }
}
