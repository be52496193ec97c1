/**
 * The CLI's `--format` handling: docker's table/json/template modes (`loadFormat`, `renderFormat`), `renderOne` for
 * inspect/version/info and `renderList` for list commands. Templates that only print fields — every default table —
 * run as FieldTemplates; the Go-template engine (template.ts, the largest module of the CLI) is imported only for a
 * template that needs it (issue 17: CLI start-up).
 */
import { FieldTemplate } from './field-template.js';
import { formatTabbed } from './tabwriter.js';
import type { FuncMap } from './template.js';

/** A compiled row template: the engine's GoTemplate or a FieldTemplate. */
export interface RowTemplate {
  execute(data: unknown): string;
  /** Executes with Docker's header functions over field name → column label (a table's header line). */
  executeHeader(headers: Record<string, string>): string;
}

export type FormatKind = 'table' | 'json' | 'raw' | 'template';

export interface ParseFormatOptions {
  /** Row template for a bare `table` (and an empty format), e.g. '{{.ID}}\t{{.Image}}'. Default: '{{.ID}}'. */
  defaultTable?: string;
  /** Template for `raw`, for commands that have one (`docker ps --format raw`). Otherwise "raw" is a template. */
  raw?: string;
  /** Functions beyond Docker's. */
  funcs?: FuncMap;
}

export interface ParsedFormat {
  kind: FormatKind;
  /** True when a header row is printed (table formats). */
  tableHeader?: boolean;
  /** The row template text after Docker's preprocessing ("table " removed, `\t`/`\n` unescaped, trimmed). */
  text: string;
  template: RowTemplate;
}

/** Docker's preprocessing: literal `\t` and `\n` in --format become tab and newline; surrounding spaces go. */
function unescapeFormat(s: string): string {
  return s.replace(/^ +| +$/g, '').replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n'));
}

/**
 * Interprets a `--format` value as docker does:
 * - '' or `table` → the command's default table; `table <tmpl>` → that row template with a header row;
 * - `json` → `{{json .}}` per item;
 * - `raw` → the command's raw template when it has one;
 * - anything else → a Go template executed per item, each followed by a newline.
 */
export function classifyFormat(format: string, opts: ParseFormatOptions = {}): { kind: FormatKind; text: string } {
  if (format === '' || format === 'table') return { kind: 'table', text: unescapeFormat(opts.defaultTable ?? '{{.ID}}') };
  if (format.startsWith('table')) return { kind: 'table', text: unescapeFormat(format.slice('table'.length)) };
  if (format === 'json') return { kind: 'json', text: '{{json .}}' };
  if (format === 'raw' && opts.raw !== undefined) return { kind: 'raw', text: unescapeFormat(opts.raw) };
  return { kind: 'template', text: unescapeFormat(format) };
}

/** Compiles a row template; throws `template parsing error: …` as the engine does. */
export async function compileRowTemplate(text: string, funcs: FuncMap = {}): Promise<RowTemplate> {
  // Extra functions may redefine `json`; field-only templates call no other function.
  const simple = 'json' in funcs ? undefined : FieldTemplate.parse(text);
  if (simple) return simple;
  const { GoTemplate } = await import('./template.js');
  return new GoTemplate(text, funcs);
}

/** Interprets and compiles a `--format` value (see classifyFormat). */
export async function loadFormat(format: string, opts: ParseFormatOptions = {}): Promise<ParsedFormat> {
  const { kind, text } = classifyFormat(format, opts);
  const parsed: ParsedFormat = { kind, text, template: await compileRowTemplate(text, opts.funcs) };
  if (kind === 'table') parsed.tableHeader = true;
  return parsed;
}

/**
 * Renders items with a parsed format: every item's output is followed by a newline; tables get a header line
 * (the template executed over `headers`, field name → label, e.g. { ID: 'CONTAINER ID' }) and are aligned with
 * the docker CLI's tabwriter settings.
 */
export function renderFormat(parsed: ParsedFormat, items: Iterable<unknown>, headers: Record<string, string> = {}): string {
  let body = '';
  for (const item of items) body += parsed.template.execute(item) + '\n';
  if (!parsed.tableHeader) return body;
  return formatTabbed(parsed.template.executeHeader(headers) + '\n' + body);
}

/** Unlike list formats, a single value's --format is not trimmed: only `\t`/`\n` are unescaped. */
export async function compileOne(format: string): Promise<RowTemplate> {
  return compileRowTemplate(format.replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n')));
}

/** Executes a --format template over one value (inspect, version, info). `json` prints the value as JSON. */
export async function renderOne(format: string, value: unknown): Promise<string> {
  if (format === 'json') return JSON.stringify(value);
  return (await compileOne(format)).execute(value);
}

export interface ListFormat {
  /** The row template of the default table, e.g. '{{.ID}}\t{{.Image}}'. */
  defaultTable: string;
  /** Field name → column header. */
  headers: Record<string, string>;
  /** The template used by -q (e.g. '{{.ID}}'). */
  quiet?: string;
}

/** Renders a list with --format (or the default table); `quiet` prints only IDs. */
export async function renderList(items: unknown[], spec: ListFormat, format: string | undefined, quiet = false): Promise<string> {
  if (quiet) return renderFormat(await loadFormat(spec.quiet ?? '{{.ID}}'), items);
  return renderFormat(await loadFormat(format ?? '', { defaultTable: spec.defaultTable }), items, spec.headers);
}
