/**
 * The CLI's output entry points: `renderOne` for inspect/version/info `--format`, and `renderList` for list
 * commands (`ps`, `images`, …) with docker's table/json/template semantics. Built on template.ts.
 */
import { compileTemplate, parseFormat, renderFormat } from './template.js';

/** Executes a --format template over one value (inspect, version, info). `json` prints the value as JSON. */
export function renderOne(format: string, value: unknown): string {
  if (format === 'json') return JSON.stringify(value);
  return compileTemplate(format.replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n'))).execute(value);
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
export function renderList(items: unknown[], spec: ListFormat, format: string | undefined, quiet = false): string {
  if (quiet) return renderFormat(parseFormat(spec.quiet ?? '{{.ID}}'), items);
  const parsed = parseFormat(format ?? '', { defaultTable: spec.defaultTable });
  return renderFormat(parsed, items, spec.headers);
}
