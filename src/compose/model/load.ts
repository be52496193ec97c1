/**
 * Loads a Compose project: finds the files (`-f`, COMPOSE_FILE, or compose.yaml and its override found from the
 * working directory upwards), reads `.env`/`--env-file`, and for each file parses YAML (anchors, `<<` merge keys),
 * interpolates, validates against the spec's JSON schema, turns short syntax into long, resolves `extends` and
 * `include`, then merges the files in order, applies profiles and names the project. Every error names the file and
 * the field it is about.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { canonicalService, ComposeModelError, hostPath, toMapping } from './canonical.js';
import { parseEnvFile } from './dotenv.js';
import { interpolateTree, InterpolationError, Lookup } from './interpolate.js';
import { mergeMapping, mergeService } from './merge.js';
import { ComposeValidationError, validateCompose } from './schema.js';
import type { FileObjectConfig, NetworkConfig, Project, Service, VolumeConfig } from './types.js';

export { ComposeModelError, ComposeValidationError, InterpolationError };

export interface LoadOptions {
  /** `-f` files (relative to cwd; "-" reads stdin). */
  files?: string[];
  /** `-p` */
  projectName?: string;
  /** `--project-directory` */
  projectDirectory?: string;
  /** `--env-file` (replaces `.env`). */
  envFiles?: string[];
  /** `--profile` (added to COMPOSE_PROFILES). */
  profiles?: string[];
  /** Services named on the command line: enabled whatever their profiles. */
  services?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onWarning?(message: string): void;
  readStdin?(): string;
}

export const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
const OVERRIDE_FILES = ['compose.override.yaml', 'compose.override.yml', 'docker-compose.override.yaml', 'docker-compose.override.yml'];

type Dict = Record<string, unknown>;

/** Compose's project name rule. */
export function validProjectName(name: string): boolean {
  return /^[a-z0-9][a-z0-9_-]*$/.test(name);
}

/** A directory name made into a project name: lowercased, characters Compose does not allow dropped. */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
}

/** Finds the default compose file from `cwd` upwards, plus its override file next to it. */
export function findDefaultFiles(cwd: string): string[] {
  let dir = cwd;
  for (;;) {
    const found = DEFAULT_FILES.map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
    if (found.length) {
      const files = [found[0]];
      const override = OVERRIDE_FILES.map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
      if (override) files.push(override);
      return files;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new ComposeModelError('no configuration file provided: not found');
    dir = up;
  }
}

const RESET = '\u0000berth:reset';
const OVERRIDE = '\u0000berth:override';

/** Parses YAML text with merge keys; a syntax error names the file and line. `!reset`/`!override` stay as markers (see takeMergeTags). */
export function parseYaml(text: string, file: string): unknown {
  const doc = YAML.parseDocument(text, { merge: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = e.linePos?.[0].line;
    throw new ComposeModelError(`${file}: yaml: ${line ? `line ${line}: ` : ''}${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  // The merge tags of the Compose Specification: `!reset` becomes a marker, `!override X` a one-key mapping around X,
  // so both survive merge keys (`<<`), interpolation and casting, and are taken out before validation.
  YAML.visit(doc, {
    // `mode: 0440` is octal, as Compose's YAML reader (Go's integer syntax) takes it; YAML 1.2 alone would say 440.
    Pair(_key, pair) {
      const k = pair.key as { value?: unknown } | null;
      const v = pair.value as { source?: string; value?: unknown } | null;
      if (k?.value === 'mode' && YAML.isScalar(v) && typeof v.source === 'string' && /^0[0-7]+$/.test(v.source)) v.value = parseInt(v.source, 8);
      return undefined;
    },
    Node(_key, node) {
      const tag = (node as { tag?: string }).tag;
      if (tag === '!reset') return doc.createNode(RESET);
      if (tag === '!override') {
        (node as { tag?: string }).tag = undefined;
        const wrap = new YAML.YAMLMap();
        wrap.set(OVERRIDE, node);
        return wrap;
      }
      return undefined;
    },
  });
  // maxAliasCount guards against alias bombs.
  return doc.toJS({ maxAliasCount: 10000 }) ?? {};
}

export interface MergeTags {
  /** Paths (field names from the top of the file) tagged `!reset`: removed here and from what this file merges over. */
  reset: string[][];
  /** Paths tagged `!override`: this file's value replaces the earlier one whole instead of merging with it. */
  override: string[][];
}

/** Takes the `!reset`/`!override` markers out of a parsed file, returning where they were. */
export function takeMergeTags(node: unknown, at: string[] = [], tags: MergeTags = { reset: [], override: [] }): { value: unknown; tags: MergeTags } {
  const walk = (v: unknown, p: string[]): unknown => {
    if (Array.isArray(v)) return v.filter((x) => x !== RESET).map((x, i) => walk(x, [...p, String(i)]));
    if (v && typeof v === 'object') {
      const o = v as Dict;
      if (Object.keys(o).length === 1 && OVERRIDE in o) {
        tags.override.push(p);
        return walk(o[OVERRIDE], p);
      }
      const out: Dict = {};
      for (const [k, x] of Object.entries(o)) {
        if (x === RESET) tags.reset.push([...p, k]);
        else out[k] = walk(x, [...p, k]);
      }
      return out;
    }
    return v;
  };
  return { value: walk(node, at), tags };
}

/** Deletes the value at `p` inside `root` (copying the mappings on the way, so shared objects stay untouched). */
function withoutPath<T>(root: T, p: string[]): T {
  if (!p.length || !root || typeof root !== 'object' || Array.isArray(root)) return root;
  const [k, ...rest] = p;
  if (!(k in (root as Dict))) return root;
  const out = { ...(root as Dict) };
  if (rest.length) out[k] = withoutPath(out[k], rest);
  else delete out[k];
  return out as T;
}

/** Clears what `tags` (of the file merged on top) reset or override in `base`, before the two are merged. */
function clearTagged<T>(base: T, tags: MergeTags | undefined, prefix: string[] = []): T {
  let out = base;
  for (const p of [...(tags?.reset ?? []), ...(tags?.override ?? [])]) {
    if (prefix.every((x, i) => p[i] === x) && p.length > prefix.length) out = withoutPath(out, p.slice(prefix.length));
  }
  return out;
}

/** One top-level section of a file model with what `tags` reset or override inside it cleared (all of it for the section's own tag). */
function clearSection<T extends object>(section: T, tags: MergeTags | undefined, key: string): T | Record<string, never> {
  const whole = [...(tags?.reset ?? []), ...(tags?.override ?? [])].some((p) => p.length === 1 && p[0] === key);
  return whole ? {} : clearTagged(section, tags, [key]);
}

/** Fields whose value Compose casts back to a number or boolean after interpolation made it a string. */
const CAST_INT = new Set(['scale', 'replicas', 'retries', 'target', 'cpu_shares', 'cpu_count', 'cpu_percent', 'pids_limit', 'mem_swappiness', 'oom_score_adj', 'max_attempts', 'parallelism', 'soft', 'hard', 'mode', 'priority']);
const CAST_BOOL = new Set(['stdin_open', 'tty', 'privileged', 'read_only', 'init', 'oom_kill_disable', 'external', 'internal', 'attachable', 'enable_ipv6', 'disable', 'nocopy', 'create_host_path', 'restart', 'required', 'no_cache', 'pull']);

function cast(node: unknown, key = ''): unknown {
  if (typeof node === 'string') {
    if (CAST_INT.has(key) && /^-?\d+$/.test(node)) return Number(node);
    if (CAST_BOOL.has(key) && /^(true|false)$/i.test(node)) return node.toLowerCase() === 'true';
    return node;
  }
  if (Array.isArray(node)) return node.map((x) => cast(x, key === 'ulimits' ? '' : ''));
  if (node && typeof node === 'object') {
    const out: Dict = {};
    for (const [k, v] of Object.entries(node)) out[k] = key === 'ulimits' && typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : cast(v, k === OVERRIDE ? key : k);
    return out;
  }
  return node;
}

interface FileModel {
  file: string;
  /** The file's `!reset`/`!override` paths, applied when it is merged over earlier files. */
  tags?: MergeTags;
  name?: string;
  services: Record<string, Service>;
  networks: Dict;
  volumes: Dict;
  secrets: Dict;
  configs: Dict;
}

class Loader {
  readonly warned = new Set<string>();
  /** The merge tags of the file being loaded (for `extends` within it). */
  tags: MergeTags | undefined;
  constructor(
    readonly opts: LoadOptions,
    readonly lookup: Lookup,
  ) {}

  readDoc(file: string): Dict {
    return this.readTaggedDoc(file).doc;
  }

  readTaggedDoc(file: string): { doc: Dict; tags: MergeTags } {
    let text: string;
    try {
      text = file === '-' ? (this.opts.readStdin?.() ?? fs.readFileSync(0, 'utf8')) : fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new ComposeModelError(`open ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
    const raw = parseYaml(text, file);
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ComposeModelError(`${file}: top-level object must be a mapping`);
    let doc: unknown;
    try {
      doc = interpolateTree(raw, {
        lookup: this.lookup,
        onUnset: (n) => {
          if (this.warned.has(n)) return;
          this.warned.add(n);
          this.opts.onWarning?.(`The "${n}" variable is not set. Defaulting to a blank string.`);
        },
      });
    } catch (e) {
      if (e instanceof InterpolationError) throw new InterpolationError(`${file}: ${e.message}`);
      throw e;
    }
    doc = cast(doc);
    const taken = takeMergeTags(doc);
    validateCompose(taken.value, file);
    return { doc: taken.value as Dict, tags: taken.tags };
  }

  /** One file → canonical model, `extends` resolved and `include`d projects folded in. */
  loadFile(file: string, baseDir: string): FileModel {
    const { doc, tags } = this.readTaggedDoc(file);
    this.tags = tags;
    const rawServices = (doc.services ?? {}) as Record<string, Dict>;
    const canonical: Record<string, Service> = {};
    for (const [n, s] of Object.entries(rawServices)) canonical[n] = canonicalService(n, s ?? {}, baseDir);
    const services: Record<string, Service> = {};
    for (const n of Object.keys(canonical)) services[n] = this.resolveExtends(n, canonical, file, baseDir, []);
    const model: FileModel = {
      file,
      tags,
      name: doc.name as string | undefined,
      services,
      networks: (doc.networks ?? {}) as Dict,
      volumes: (doc.volumes ?? {}) as Dict,
      secrets: resolveFileSources((doc.secrets ?? {}) as Dict, baseDir),
      configs: resolveFileSources((doc.configs ?? {}) as Dict, baseDir),
    };
    for (const inc of (doc.include ?? []) as unknown[]) this.include(model, inc, baseDir);
    return model;
  }

  include(model: FileModel, inc: unknown, baseDir: string): void {
    const spec = typeof inc === 'string' ? { path: [inc] } : (inc as Dict);
    const paths = (Array.isArray(spec.path) ? spec.path : [spec.path]).map((p) => hostPath(String(p), baseDir));
    const dir = spec.project_directory ? hostPath(String(spec.project_directory), baseDir) : path.dirname(paths[0]);
    // An included project interpolates with its own .env (or env_file), under the caller's environment.
    const envFiles = spec.env_file ? (Array.isArray(spec.env_file) ? spec.env_file : [spec.env_file]).map((p) => hostPath(String(p), baseDir)) : [path.join(dir, '.env')];
    const dotenv = readEnvFiles(envFiles.filter((f) => spec.env_file || fs.existsSync(f)), this.lookup);
    const sub = new Loader(this.opts, (k) => this.lookup(k) ?? dotenv.get(k));
    let merged: FileModel | undefined;
    for (const p of paths) {
      const m = sub.loadFile(p, dir);
      merged = merged ? mergeFileModels(merged, m) : m;
    }
    if (!merged) return;
    for (const [kind, key] of [['services', 'services'], ['networks', 'networks'], ['volumes', 'volumes'], ['secrets', 'secrets'], ['configs', 'configs']] as const) {
      const target = model[kind] as Dict;
      for (const [n, v] of Object.entries(merged[key] as Dict)) {
        if (kind === 'services' && n in target) throw new ComposeModelError(`${model.file}: services.${n} conflicts with imported resource from ${merged.file}`);
        if (!(n in target)) target[n] = v;
      }
    }
  }

  resolveExtends(name: string, services: Record<string, Service>, file: string, baseDir: string, stack: string[]): Service {
    const svc = services[name];
    const ext = svc.extends as string | { service: string; file?: string } | undefined;
    if (!ext) return svc;
    const key = `${file}#${name}`;
    if (stack.includes(key)) throw new ComposeModelError(`${file}: services.${name}.extends: circular reference: ${[...stack, key].join(' -> ')}`);
    const spec = typeof ext === 'string' ? { service: ext } : ext;
    let base: Service;
    if (spec.file) {
      const other = hostPath(spec.file, baseDir);
      const doc = this.readDoc(other);
      const otherServices: Record<string, Service> = {};
      const otherDir = path.dirname(other);
      for (const [n, s] of Object.entries((doc.services ?? {}) as Record<string, Dict>)) otherServices[n] = canonicalService(n, s ?? {}, otherDir);
      if (!otherServices[spec.service]) throw new ComposeModelError(`${file}: services.${name}.extends: cannot extend service "${spec.service}": service not found in ${other}`);
      base = this.resolveExtends(spec.service, otherServices, other, otherDir, [...stack, key]);
    } else {
      if (!services[spec.service]) throw new ComposeModelError(`${file}: services.${name}.extends: cannot extend service "${spec.service}": service not found`);
      base = this.resolveExtends(spec.service, services, file, baseDir, [...stack, key]);
    }
    const own = { ...svc };
    delete own.extends;
    // `!reset`/`!override` on the extending service apply to what it extends (only within the file being loaded).
    const local = stack.length === 0 && this.tags ? clearTagged({ ...base, name }, this.tags, ['services', name]) : { ...base, name };
    const merged = mergeService(local, own);
    delete merged.extends;
    return merged;
  }
}

function resolveFileSources(objs: Dict, baseDir: string): Dict {
  const out: Dict = {};
  for (const [k, v] of Object.entries(objs)) {
    const o = { ...((v ?? {}) as Dict) };
    if (typeof o.file === 'string') o.file = hostPath(o.file, baseDir);
    out[k] = o;
  }
  return out;
}

function mergeFileModels(a: FileModel, b: FileModel): FileModel {
  // What b resets or overrides is cleared from a first; b's own value (if any) then simply lands.
  const base = {
    services: clearSection(a.services, b.tags, 'services'),
    networks: clearSection(a.networks, b.tags, 'networks'),
    volumes: clearSection(a.volumes, b.tags, 'volumes'),
    secrets: clearSection(a.secrets, b.tags, 'secrets'),
    configs: clearSection(a.configs, b.tags, 'configs'),
  };
  const services = { ...base.services };
  for (const [n, s] of Object.entries(b.services)) services[n] = services[n] ? mergeService(services[n], s) : s;
  return {
    file: a.file,
    tags: a.tags,
    name: b.name ?? a.name,
    services,
    networks: mergeMapping(base.networks, b.networks),
    volumes: mergeMapping(base.volumes, b.volumes),
    secrets: mergeMapping(base.secrets, b.secrets),
    configs: mergeMapping(base.configs, b.configs),
  };
}

function readEnvFiles(files: string[], lookup: Lookup): Map<string, string> {
  const vars = new Map<string, string>();
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      throw new ComposeModelError(`couldn't find env file: ${f}`);
    }
    for (const [k, v] of parseEnvFile(text, (n) => vars.get(n) ?? lookup(n), f)) vars.set(k, v);
  }
  return vars;
}

/** Loads, merges and checks the whole project. Throws ComposeModelError / ComposeValidationError / InterpolationError. */
export function loadProject(opts: LoadOptions = {}): Project {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const sep = env.COMPOSE_PATH_SEPARATOR || ':';
  let files = opts.files?.length ? opts.files : env.COMPOSE_FILE ? env.COMPOSE_FILE.split(sep).filter(Boolean) : undefined;
  // Without -f, the files are looked for in --project-directory when given (as Compose v2 does), else from cwd up.
  files = files ? files.map((f) => (f === '-' ? f : path.resolve(cwd, f))) : findDefaultFiles(opts.projectDirectory ? path.resolve(cwd, opts.projectDirectory) : cwd);
  const workingDir = path.resolve(cwd, opts.projectDirectory ?? (files[0] === '-' ? cwd : path.dirname(files[0])));

  const envFiles = opts.envFiles?.length ? opts.envFiles.map((f) => path.resolve(cwd, f)) : [path.join(workingDir, '.env')].filter((f) => fs.existsSync(f));
  const procLookup: Lookup = (k) => env[k];
  const dotenv = readEnvFiles(envFiles, procLookup);
  const lookup: Lookup = (k) => env[k] ?? dotenv.get(k);

  const loader = new Loader(opts, lookup);
  let model: FileModel | undefined;
  for (const f of files) {
    const m = loader.loadFile(f, workingDir);
    model = model ? mergeFileModels(model, m) : m;
  }
  model = model!;

  // Project name: -p, COMPOSE_PROJECT_NAME, `name:`, then the directory.
  let name: string;
  const explicit = opts.projectName ?? lookup('COMPOSE_PROJECT_NAME') ?? model.name;
  if (explicit) {
    if (!validProjectName(explicit)) throw new ComposeModelError(`invalid project name "${explicit}": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`);
    name = explicit;
  } else {
    name = normalizeProjectName(path.basename(workingDir));
    if (!name) throw new ComposeModelError(`project name must not be empty`);
  }

  return finalize(model, { name, workingDir, configFiles: files.map((f) => (f === '-' ? path.join(workingDir, '-') : f)), envFiles, lookup, opts, env });
}

function finalize(model: FileModel, ctx: { name: string; workingDir: string; configFiles: string[]; envFiles: string[]; lookup: Lookup; opts: LoadOptions; env: NodeJS.ProcessEnv }): Project {
  const { name } = ctx;
  const services: Record<string, Service> = {};
  const disabled: Record<string, Service> = {};
  const active = new Set([...(ctx.lookup('COMPOSE_PROFILES') ?? '').split(',').map((s) => s.trim()).filter(Boolean), ...(ctx.opts.profiles ?? [])]);
  const named = new Set(ctx.opts.services ?? []);
  for (const [n, s] of Object.entries(model.services)) {
    const enabled = !s.profiles?.length || active.has('*') || s.profiles.some((p) => active.has(p)) || named.has(n);
    (enabled ? services : disabled)[n] = s;
  }
  for (const n of named) if (!services[n]) throw new ComposeModelError(`no such service: ${n}`);

  const networks: Record<string, NetworkConfig> = {};
  const needsDefault = Object.values(services).some((s) => !s.network_mode && !s.networks);
  const rawNetworks: Dict = { ...model.networks };
  if (needsDefault && !('default' in rawNetworks)) rawNetworks.default = {};
  for (const [k, v] of Object.entries(rawNetworks)) {
    const d = { ...((v ?? {}) as Dict) };
    const external = d.external === true || (typeof d.external === 'object' && d.external !== null);
    if (typeof d.external === 'object' && d.external && (d.external as Dict).name) d.name = (d.external as Dict).name;
    const net: NetworkConfig = { ...(d as object), name: String(d.name ?? (external ? k : `${name}_${k}`)) } as NetworkConfig;
    if (external) net.external = true;
    if (d.labels) net.labels = toMapping(d.labels) as Record<string, string>;
    networks[k] = net;
  }
  const volumes: Record<string, VolumeConfig> = {};
  for (const [k, v] of Object.entries(model.volumes)) {
    const d = { ...((v ?? {}) as Dict) };
    const external = d.external === true || (typeof d.external === 'object' && d.external !== null);
    if (typeof d.external === 'object' && d.external && (d.external as Dict).name) d.name = (d.external as Dict).name;
    const vol: VolumeConfig = { ...(d as object), name: String(d.name ?? (external ? k : `${name}_${k}`)) } as VolumeConfig;
    if (external) vol.external = true;
    if (d.labels) vol.labels = toMapping(d.labels) as Record<string, string>;
    volumes[k] = vol;
  }
  const fileObjects = (objs: Dict, kind: string): Record<string, FileObjectConfig> => {
    const out: Record<string, FileObjectConfig> = {};
    for (const [k, v] of Object.entries(objs)) {
      const d = (v ?? {}) as Dict;
      out[k] = { ...(d as object), name: String(d.name ?? `${name}_${k}`) } as FileObjectConfig;
      if (!d.file && !d.environment && !d.content && !d.external) throw new ComposeModelError(`${kind}.${k}: a file, environment or content source is required`);
    }
    return out;
  };
  const secrets = fileObjects(model.secrets, 'secrets');
  const configs = fileObjects(model.configs, 'configs');

  for (const s of Object.values({ ...services, ...disabled })) {
    const isEnabled = !!services[s.name];
    if (!s.network_mode && !s.networks) s.networks = { default: null };
    // env_file contents first, then `environment` on top; bare names come from the environment Compose sees.
    if (s.env_file?.length) {
      const fromFiles: Record<string, string> = {};
      for (const ef of s.env_file) {
        if (!fs.existsSync(ef.path)) {
          if (ef.required && isEnabled) throw new ComposeModelError(`env file ${ef.path} not found: stat ${ef.path}: no such file or directory`);
          continue;
        }
        for (const [k, v] of parseEnvFile(fs.readFileSync(ef.path, 'utf8'), ctx.lookup, ef.path)) fromFiles[k] = v;
      }
      s.environment = { ...fromFiles, ...(s.environment ?? {}) };
    }
    if (s.environment) for (const [k, v] of Object.entries(s.environment)) if (v === null && ctx.lookup(k) !== undefined) s.environment[k] = ctx.lookup(k)!;
    if (s.build?.args) for (const [k, v] of Object.entries(s.build.args)) if (v === null && ctx.lookup(k) !== undefined) s.build.args[k] = ctx.lookup(k)!;
    if (!isEnabled) continue;
    if (!s.image && !s.build) throw new ComposeModelError(`service "${s.name}" has neither an image nor a build context specified: invalid compose project`);
    for (const dep of Object.keys(s.depends_on ?? {})) {
      if (services[dep]) continue;
      if (disabled[dep]) {
        if (s.depends_on![dep].required) throw new ComposeModelError(`service "${s.name}" depends on undefined service "${dep}": invalid compose project`);
        delete s.depends_on![dep];
        continue;
      }
      if (s.depends_on![dep].required) throw new ComposeModelError(`service "${s.name}" depends on undefined service "${dep}": invalid compose project`);
    }
    for (const n of Object.keys(s.networks ?? {})) if (!networks[n]) throw new ComposeModelError(`service "${s.name}" refers to undefined network ${n}: invalid compose project`);
    for (const v of s.volumes ?? []) if (v.type === 'volume' && v.source && !volumes[v.source]) throw new ComposeModelError(`service "${s.name}" refers to undefined volume ${v.source}: invalid compose project`);
    for (const x of s.secrets ?? []) if (!secrets[x.source]) throw new ComposeModelError(`service "${s.name}" refers to undefined secret ${x.source}: invalid compose project`);
    for (const x of s.configs ?? []) if (!configs[x.source]) throw new ComposeModelError(`service "${s.name}" refers to undefined config ${x.source}: invalid compose project`);
    if (s.container_name && replicasOf(s) > 1) throw new ComposeModelError(`services.${s.name}: can't set container_name and ${s.name} as container name must be unique: invalid compose project`);
  }
  detectCycles(services);
  return { name, workingDir: ctx.workingDir, configFiles: ctx.configFiles, envFiles: ctx.envFiles, services, disabled, networks, volumes, secrets, configs };
}

/** deploy.replicas, else scale, else 1. */
export function replicasOf(s: Service): number {
  return s.deploy?.replicas ?? s.scale ?? 1;
}

function detectCycles(services: Record<string, Service>): void {
  const state = new Map<string, number>();
  const visit = (n: string, trail: string[]) => {
    if (state.get(n) === 2) return;
    if (state.get(n) === 1) throw new ComposeModelError(`dependency cycle detected: ${[...trail, n].join(' -> ')}`);
    state.set(n, 1);
    for (const d of Object.keys(services[n]?.depends_on ?? {})) if (services[d]) visit(d, [...trail, n]);
    state.set(n, 2);
  };
  for (const n of Object.keys(services)) visit(n, []);
}
