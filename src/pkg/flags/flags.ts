/**
 * Command-line flag parsing with the rules of Go's pflag, which docker and dockerd use — so `berth` and `berthd`
 * accept exactly what users type at docker:
 * - long flags `--name value` and `--name=value`; booleans take no value but accept `--rm=false`;
 * - short flags `-e value`, `-evalue`, combined booleans `-it`, and a trailing valued short flag `-itd`/`-ie X`;
 * - repeated flags accumulate for list types (`-e A -e B`);
 * - `--` ends flag parsing; with `interspersed: false` the first positional argument ends it too (so everything
 *   after the image in `run IMAGE CMD --flag` is left untouched).
 * Errors use pflag's wording ("unknown flag: --x", "flag needs an argument: 'e' in -e").
 */

export type FlagType = 'bool' | 'string' | 'int' | 'list' | 'duration';

/** One flag's declaration. `list` flags collect every occurrence in order. */
export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  description: string;
  default?: string | number | boolean | string[];
  /** Placeholder shown in help, e.g. "string", "list". */
  valueName?: string;
  hidden?: boolean;
  /** Other long names accepted for this flag (deprecated spellings). */
  aliases?: string[];
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export class FlagError extends Error {
  readonly kind = 'InvalidArgument';
}

export interface ParseResult {
  values: FlagValues;
  /** Names of the flags the user actually set (so defaults can be told apart from explicit values). */
  set: Set<string>;
  args: string[];
}

export function parseFlags(argv: string[], specs: FlagSpec[], opts: { interspersed?: boolean } = {}): ParseResult {
  const interspersed = opts.interspersed ?? true;
  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const s of specs) {
    byLong.set(s.name, s);
    for (const a of s.aliases ?? []) byLong.set(a, s);
    if (s.short) byShort.set(s.short, s);
  }
  const values: FlagValues = {};
  for (const s of specs) values[s.name] = s.type === 'list' ? [...((s.default as string[] | undefined) ?? [])] : s.default;
  const set = new Set<string>();
  const args: string[] = [];

  const assign = (spec: FlagSpec, raw: string, shown: string) => {
    const firstTime = !set.has(spec.name);
    set.add(spec.name);
    switch (spec.type) {
      case 'bool': {
        const v = parseBool(raw);
        if (v === undefined) throw new FlagError(`invalid argument "${raw}" for "${shown}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`);
        values[spec.name] = v;
        break;
      }
      case 'int': {
        if (!/^[+-]?\d+$/.test(raw)) throw new FlagError(`invalid argument "${raw}" for "${shown}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`);
        values[spec.name] = Number(raw);
        break;
      }
      case 'list': {
        // The first explicit use replaces the default list, as pflag's stringArray does.
        const cur = firstTime ? [] : (values[spec.name] as string[]);
        cur.push(raw);
        values[spec.name] = cur;
        break;
      }
      default:
        values[spec.name] = raw;
    }
  };

  let i = 0;
  while (i < argv.length) {
    const a = argv[i++];
    if (a === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const spec = byLong.get(name);
      if (!spec) throw new FlagError(`unknown flag: --${name}`);
      if (eq >= 0) assign(spec, a.slice(eq + 1), `--${name}`);
      else if (spec.type === 'bool') assign(spec, 'true', `--${name}`);
      else {
        if (i >= argv.length) throw new FlagError(`flag needs an argument: --${name}`);
        assign(spec, argv[i++], `--${name}`);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // A run of short flags: booleans until one that takes a value, which swallows the rest or the next arg.
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        const spec = byShort.get(c);
        if (!spec) throw new FlagError(`unknown shorthand flag: '${c}' in ${a}`);
        if (spec.type === 'bool') {
          if (a[j + 1] === '=') {
            assign(spec, a.slice(j + 2), `-${c}`);
            break;
          }
          assign(spec, 'true', `-${c}`);
          continue;
        }
        let rest = a.slice(j + 1);
        if (rest.startsWith('=')) rest = rest.slice(1);
        if (rest !== '') assign(spec, rest, `-${c}`);
        else {
          if (i >= argv.length) throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
          assign(spec, argv[i++], `-${c}`);
        }
        break;
      }
      continue;
    }
    args.push(a);
    if (!interspersed) {
      args.push(...argv.slice(i));
      break;
    }
  }
  return { values, set, args };
}

function parseBool(s: string): boolean | undefined {
  switch (s) {
    case '1': case 't': case 'T': case 'true': case 'TRUE': case 'True':
      return true;
    case '0': case 'f': case 'F': case 'false': case 'FALSE': case 'False':
      return false;
    default:
      return undefined;
  }
}

/** The "Options:" block of a help text, aligned like cobra's. */
export function formatFlagHelp(specs: FlagSpec[]): string {
  const rows = specs
    .filter((s) => !s.hidden)
    .map((s) => {
      const value = s.type === 'bool' ? '' : ` ${s.valueName ?? (s.type === 'list' ? 'list' : s.type === 'int' ? 'int' : 'string')}`;
      const left = s.short ? `  -${s.short}, --${s.name}${value}` : `      --${s.name}${value}`;
      const def =
        s.default !== undefined && s.default !== false && s.default !== '' && !(Array.isArray(s.default) && s.default.length === 0)
          ? ` (default ${typeof s.default === 'string' ? `"${s.default}"` : JSON.stringify(s.default)})`
          : '';
      return [left, s.description + def] as const;
    });
  const width = Math.max(0, ...rows.map(([l]) => l.length)) + 3;
  return rows.map(([l, d]) => l.padEnd(width) + d).join('\n');
}
