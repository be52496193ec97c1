/**
 * Declarative Engine API types and a decoder that checks a parsed JSON value against them the way Go's
 * encoding/json does, with its wording, so a wrongly typed field is the same 400 dockerd answers:
 * `json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Labels of type string`.
 *
 * Terms:
 * - schema: what one Go type accepts. Structs list their fields by JSON name; a key matches a field exactly or,
 *   failing that, case-insensitively (Go's rule); unknown keys are dropped. `null` is accepted everywhere, as Go
 *   accepts it: a slice, map, StrSlice or pointer field set to null is nil (kept as null); any other field keeps its
 *   zero value, i.e. is left out as if absent, so consumers see one "unset" (undefined) for it, never null.
 * - decoded value: a fresh copy holding only known fields, each of the declared type. Strings given for a StrSlice
 *   become one-element arrays. There is deliberately no "any" type: a decoded value is never deeper than its schema,
 *   so storing it (JSON.stringify) cannot overflow the stack however deep the input was.
 * - error context: Go names the innermost struct type and the path of JSON field names from the top
 *   (`HostConfig.HostConfig.Memory`, `PortBinding.HostConfig.PortBindings.HostPort`); map keys and array indices
 *   are not part of the path.
 */
import { invalidArgument } from '../../errdefs/index.js';
import { parseJson } from './json.js';

export type Schema =
  | { readonly kind: 'string'; readonly go: string }
  | { readonly kind: 'bool' }
  | { readonly kind: 'int'; readonly go: string; readonly min: number; readonly max: number }
  | { readonly kind: 'float'; readonly go: string }
  | { readonly kind: 'array'; readonly of: Schema; readonly go: string }
  | { readonly kind: 'map'; readonly of: Schema; readonly go: string }
  | { readonly kind: 'struct'; readonly name: string; readonly go: string; readonly fields: Readonly<Record<string, Schema>> }
  | { readonly kind: 'strslice' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'time' }
  | { readonly kind: 'ptr'; readonly of: Schema };

// ---------------------------------------------------------------- constructors
//
// Each constructor also carries, at the type level only, the TypeScript type of what it decodes (`Infer<S>`), so
// the wire types clients and routes use (`ContainerCreateRequest`, …) are derived from the one schema and never
// drift from it.

declare const wire: unique symbol;
/** A schema whose decoded values have TypeScript type T. */
export type Typed<T> = Schema & { readonly [wire]?: T };
/** The TypeScript type a schema decodes to: struct fields optional; slices, maps, StrSlices and pointers nullable (Go's nil). */
export type Infer<S> = S extends { readonly [wire]?: infer T } ? T : unknown;
type StructOf<F> = { -readonly [K in keyof F]?: Infer<F[K]> };

/** A Go string, or a named string type such as `mount.Type`. */
export const str = (go = 'string'): Typed<string> => ({ kind: 'string', go });
export const bool: Typed<boolean> = { kind: 'bool' };
const intOf = (go: string, min: number, max: number): Typed<number> => ({ kind: 'int', go, min, max });
export const int64 = intOf('int64', -(2 ** 63), 2 ** 63);
export const int = intOf('int', -(2 ** 63), 2 ** 63);
export const uint16 = intOf('uint16', 0, 0xffff);
export const uint32 = intOf('uint32', 0, 0xffffffff);
export const uint64 = intOf('uint64', 0, 2 ** 64);
export const uint = intOf('uint', 0, 2 ** 64);
export const duration = intOf('time.Duration', -(2 ** 63), 2 ** 63);
export const fileMode = intOf('fs.FileMode', 0, 0xffffffff);
export const float64: Typed<number> = { kind: 'float', go: 'float64' };
export const arrayOf = <S extends Schema>(of: S, go = `[]${goType(of)}`): Typed<Infer<S>[] | null> => ({ kind: 'array', of, go });
export const mapOf = <S extends Schema>(of: S, go = `map[string]${goType(of)}`): Typed<Record<string, Infer<S>> | null> => ({ kind: 'map', of, go });
/** A Go struct type `pkg.Name`; `fields` maps JSON names to their types. */
export const struct = <F extends Record<string, Schema>>(go: string, fields: F): Typed<StructOf<F>> => ({
  kind: 'struct',
  name: go.slice(go.lastIndexOf('.') + 1),
  go,
  fields,
});
/** Docker's strslice.StrSlice: a string or an array of strings (decoded: always an array). */
export const strSlice: Typed<string[] | null> = { kind: 'strslice' };
/** `struct {}`: any object, kept empty. */
export const empty: Typed<Record<string, never>> = { kind: 'empty' };
/** time.Time: an RFC 3339 string. */
export const time: Typed<string> = { kind: 'time' };
/** A pointer: like its target, except that `null` inside an array or a map stays null instead of the zero value. */
export const ptr = <S extends Schema>(of: S): Typed<Infer<S> | null> => ({ kind: 'ptr', of });
export const stringMap = mapOf(str());
export const stringList = arrayOf(str());

/** The Go type name errors show. */
export function goType(s: Schema): string {
  switch (s.kind) {
    case 'bool':
      return 'bool';
    case 'strslice':
      return 'strslice.StrSlice';
    case 'empty':
      return 'struct {}';
    case 'time':
      return 'time.Time';
    case 'ptr':
      return `*${goType(s.of)}`;
    default:
      return s.go;
  }
}

// ---------------------------------------------------------------- decoding

/** Go's word for a JSON value's kind. */
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return 'object';
  }
}

interface Context {
  /** The innermost struct being decoded (its Go name without the package), once inside one. */
  struct?: string;
  /** JSON field names from the top. */
  path: string[];
}

function typeError(ctx: Context, value: string, type: string): never {
  if (ctx.struct === undefined) throw invalidArgument(`json: cannot unmarshal ${value} into Go value of type ${type}`);
  throw invalidArgument(`json: cannot unmarshal ${value} into Go struct field ${ctx.struct}.${ctx.path.join('.')} of type ${type}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Matches a JSON key to a struct field: exact name first, then Go's case-insensitive fallback. */
function fieldFor(fields: Readonly<Record<string, Schema>>, key: string): string | undefined {
  if (Object.hasOwn(fields, key)) return key;
  const lower = key.toLowerCase();
  return Object.keys(fields).find((f) => f.toLowerCase() === lower);
}

/** The zero value Go leaves for `null` inside arrays and maps. */
function zero(s: Schema): unknown {
  switch (s.kind) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int':
    case 'float':
      return 0;
    case 'struct':
    case 'empty':
      return {};
    default:
      return null;
  }
}

/** Whether Go can hold nil in a field of this type (JSON null sets it to nil rather than leaving the zero value). */
function nilable(s: Schema): boolean {
  return s.kind === 'array' || s.kind === 'map' || s.kind === 'strslice' || s.kind === 'ptr';
}

function decodeAt(s: Schema, v: unknown, ctx: Context): unknown {
  if (v === null) return null;
  switch (s.kind) {
    case 'string':
      if (typeof v !== 'string') typeError(ctx, jsonKind(v), s.go);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') typeError(ctx, jsonKind(v), 'bool');
      return v;
    case 'int':
      if (typeof v !== 'number') typeError(ctx, jsonKind(v), s.go);
      // Go parses the literal as an integer of that size: fractions and out-of-range values name the number.
      if (!Number.isInteger(v) || v < s.min || v >= s.max) typeError(ctx, `number ${v}`, s.go);
      return v;
    case 'float':
      if (typeof v !== 'number') typeError(ctx, jsonKind(v), s.go);
      return v;
    case 'time':
      // time.Time's own UnmarshalJSON: not an UnmarshalTypeError, so no field context.
      if (typeof v !== 'string') {
        const raw = typeof v === 'object' ? (Array.isArray(v) ? '[...]' : '{...}') : JSON.stringify(v);
        throw invalidArgument(`parsing time ${JSON.stringify(raw)} as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse ${JSON.stringify(raw)} as "\\""`);
      }
      if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(v))
        throw invalidArgument(`parsing time ${JSON.stringify(JSON.stringify(v))} as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse ${JSON.stringify(`${v}"`)} as "2006"`);
      return v;
    case 'ptr':
      return decodeAt(s.of, v, ctx);
    case 'strslice':
      // StrSlice tries []string, then string; the error Go reports is the one of the string attempt.
      if (typeof v === 'string') return [v];
      if (!Array.isArray(v) || v.some((x) => x !== null && typeof x !== 'string')) typeError(ctx, jsonKind(v), 'string');
      return v.map((x) => x ?? '');
    case 'empty':
      if (!isObject(v)) typeError(ctx, jsonKind(v), 'struct {}');
      return {};
    case 'array':
      if (!Array.isArray(v)) typeError(ctx, jsonKind(v), s.go);
      return v.map((x) => (x === null ? zero(s.of) : decodeAt(s.of, x, ctx)));
    case 'map': {
      if (!isObject(v)) typeError(ctx, jsonKind(v), s.go);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = x === null ? zero(s.of) : decodeAt(s.of, x, ctx);
      return out;
    }
    case 'struct': {
      if (!isObject(v)) typeError(ctx, jsonKind(v), s.go);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const f = fieldFor(s.fields, k);
        if (f === undefined) continue;
        const field = s.fields[f]!;
        if (x === null && !nilable(field)) continue; // Go keeps the zero value: the field stays unset
        out[f] = decodeAt(field, x, { struct: s.name, path: [...ctx.path, f] });
      }
      return out;
    }
  }
}

/**
 * Checks `value` against `schema` and returns the decoded copy (see the terms above); throws an InvalidArgument
 * EngineError with Go's wording at the first mismatch. `goValue` names the top-level type for errors about the
 * value as a whole (`runconfig.ContainerConfigWrapper`). The result's type is the schema's (`Infer<S>`); a JSON
 * `null` decodes to null, as Go leaves a pointer nil.
 */
export function decode<S extends Schema>(schema: S, value: unknown, goValue = goType(schema)): Infer<S> | null {
  if (value !== null && schema.kind === 'struct' && !isObject(value)) typeError({ path: [] }, jsonKind(value), goValue);
  return decodeAt(schema, value, { path: [] }) as Infer<S> | null;
}

/** Parses JSON text (Go's syntax rules, see json.ts) and decodes it; syntax errors are InvalidArgument too. */
export function decodeText<S extends Schema>(schema: S, text: string, goValue = goType(schema)): Infer<S> | null {
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (e) {
    throw invalidArgument((e as Error).message);
  }
  return decode(schema, value, goValue);
}
