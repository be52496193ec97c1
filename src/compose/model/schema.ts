/**
 * Validation against the Compose Specification's own JSON schema (data/compose-spec.json, vendored from
 * compose-spec/compose-spec) with ajv. Errors are worded as Compose v2 words them and name the file and the field:
 * `validating compose.yaml: services.web additional properties 'foo' not allowed`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule, { ErrorObject, ValidateFunction } from 'ajv';

// ajv is CommonJS: under NodeNext its class is the module's `default` export.
const Ajv = AjvModule.default;

export class ComposeValidationError extends Error {}

let validator: ValidateFunction | undefined;

/** data/compose-spec.json: the first `data/` found walking up from this module (src/ or dist/src/). */
function schemaPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = path.join(dir, 'data', 'compose-spec.json');
    if (fs.existsSync(p)) return p;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('data/compose-spec.json not found');
    dir = up;
  }
}

function compiled(): ValidateFunction {
  if (!validator) {
    const schema = JSON.parse(fs.readFileSync(schemaPath(), 'utf8'));
    // The schema names draft-07 by an https URL ajv does not know; ajv's default dialect is draft-07 anyway.
    delete schema.$schema;
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    validator = ajv.compile(schema);
  }
  return validator!;
}

/** Throws ComposeValidationError when `doc` (one file, interpolated) breaks the schema. */
export function validateCompose(doc: unknown, file: string): void {
  const v = compiled();
  if (v(doc)) return;
  throw new ComposeValidationError(`validating ${file}: ${describe(v.errors ?? [])}`);
}

function fieldPath(instancePath: string): string {
  return instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
}

/** The most telling error first: an unknown property, then a wrong type, then the rest (oneOf noise last). */
function describe(errors: ErrorObject[]): string {
  const rank = (e: ErrorObject) => (e.keyword === 'additionalProperties' ? 0 : e.keyword === 'required' ? 1 : e.keyword === 'type' ? 2 : e.keyword === 'oneOf' || e.keyword === 'anyOf' ? 9 : 5);
  // Among type errors the deepest path is the real culprit.
  const sorted = [...errors].sort((a, b) => rank(a) - rank(b) || b.instancePath.length - a.instancePath.length);
  const e = sorted[0];
  const where = fieldPath(e.instancePath);
  const at = where ? `${where} ` : '';
  switch (e.keyword) {
    case 'additionalProperties':
      return where
        ? `${where} additional properties '${(e.params as { additionalProperty: string }).additionalProperty}' not allowed`
        : `(root) additional properties '${(e.params as { additionalProperty: string }).additionalProperty}' not allowed`;
    case 'required':
      return `${at || '(root) '}missing required property '${(e.params as { missingProperty: string }).missingProperty}'`.trim();
    case 'type': {
      const types = sorted.filter((x) => x.keyword === 'type' && x.instancePath === e.instancePath).map((x) => (x.params as { type: string }).type);
      return `${at}must be a ${[...new Set(types.flatMap((t) => String(t).split(',')))].join(' or ')}`;
    }
    case 'enum':
      return `${at}must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((x) => JSON.stringify(x)).join(', ')}`;
    case 'pattern':
      return `${at}does not match pattern '${(e.params as { pattern: string }).pattern}'`;
    default:
      return `${at}${e.message ?? 'is invalid'}`;
  }
}
