/**
 * Validation against the Compose Specification's own JSON schema (data/compose-spec.json, vendored from
 * compose-spec/compose-spec) with ajv. Errors are worded as Compose v2 words them and name the file and the field:
 * `validating compose.yaml: services.web additional properties 'foo' not allowed`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import type { ErrorObject, ValidateFunction } from 'ajv';


export class ComposeValidationError extends Error {}

let validator: ValidateFunction | undefined;
/** Writes V8's code cache of the validator once it has run (so the functions it compiled lazily are in it). */
let saveCodeCache: (() => void) | undefined;

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

/** The user's cache directory (XDG_CACHE_HOME or ~/.cache), never a shared one: the cache holds code we run. */
function cacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'berth');
}

/** Only code in a file and directory of our own that nobody else may write is evaluated. */
function ownedByUs(p: string): boolean {
  const st = fs.lstatSync(p);
  return st.uid === (process.getuid?.() ?? st.uid) && (st.mode & 0o022) === 0 && !st.isSymbolicLink();
}

/**
 * Compiling the spec's schema costs ~0.5 s, more than the rest of a `compose ps`. So the compiled validator is kept
 * as ajv "standalone" code in a cache file keyed by the schema's hash, and later runs only evaluate that code.
 */
function compiled(): ValidateFunction {
  if (validator) return validator;
  const text = fs.readFileSync(schemaPath(), 'utf8');
  const key = crypto.createHash('sha256').update(text).update(String((createRequire(import.meta.url)('ajv/package.json') as { version: string }).version)).digest('hex').slice(0, 16);
  const cacheFile = path.join(cacheDir(), `compose-spec-validator-${key}.cjs`);
  const require = createRequire(import.meta.url);
  // Compiling the ~400 KB of validator code and its first run cost ~40 ms; V8's code cache of both (kept beside it,
  // per Node version, under the same ownership rule) brings that to a few.
  const codeCacheFile = `${cacheFile}.${process.version}-${process.arch}.v8`;
  const evaluate = (code: string): ValidateFunction => {
    let cachedData: Buffer | undefined;
    try {
      if (ownedByUs(codeCacheFile)) cachedData = fs.readFileSync(codeCacheFile);
    } catch {
      /* no code cache yet */
    }
    const script = new vm.Script(`(function (require, module, exports) {${code}\n})`, { filename: cacheFile, cachedData });
    const mod = { exports: {} as Record<string, unknown> };
    (script.runInThisContext() as (r: NodeJS.Require, m: typeof mod, e: typeof mod.exports) => void)(require, mod, mod.exports);
    if (!cachedData || script.cachedDataRejected) saveCodeCache = () => writePrivate(codeCacheFile, script.createCachedData());
    return (mod.exports.default ?? mod.exports) as ValidateFunction;
  };
  try {
    if (!ownedByUs(path.dirname(cacheFile)) || !ownedByUs(cacheFile)) throw new Error('untrusted cache');
    validator = evaluate(fs.readFileSync(cacheFile, 'utf8'));
    return validator;
  } catch {
    /* no cache yet (or a broken one): compile */
  }
  const schema = JSON.parse(text);
  // The schema names draft-07 by an https URL ajv does not know; ajv's default dialect is draft-07 anyway.
  delete schema.$schema;
  // ajv itself (~0.2 s to import) is loaded only when there is no cached validator.
  const Ajv = (require('ajv') as typeof import('ajv')).default;
  const standaloneCode = (require('ajv/dist/standalone') as { default: (ajv: unknown, v: ValidateFunction) => string }).default;
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, code: { source: true } });
  validator = ajv.compile(schema);
  writePrivate(cacheFile, standaloneCode(ajv, validator));
  return validator!;
}

/** Writes a cache file only we can read (temp file, then rename); a failure only costs a later run the work again. */
function writePrivate(file: string, data: string | Buffer): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    /* a read-only or full disk: compiled again next time */
  }
}

/** Throws ComposeValidationError when `doc` (one file, interpolated) breaks the schema. */
export function validateCompose(doc: unknown, file: string): void {
  const v = compiled();
  const valid = v(doc);
  if (saveCodeCache) {
    const save = saveCodeCache;
    saveCodeCache = undefined;
    save();
  }
  if (valid) return;
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
