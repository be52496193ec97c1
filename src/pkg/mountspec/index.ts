/**
 * Mount specifications, parsed the way Docker parses them — pure functions, no I/O, shared by the CLI and the daemon.
 *
 * CLI side (docker/cli's `-v` and `--mount` flags):
 * - `parseVolumeFlag("name:/p:ro")` → `{ kind: 'bind', bind: 'name:/p:ro' }` for HostConfig.Binds; a bare `-v /p`
 *   → `{ kind: 'anonymous', target: '/p' }` for Config.Volumes (that is how the docker CLI sends it). `./rel` host
 *   paths are made absolute.
 * - `parseMountFlag("type=bind,src=/a,dst=/b,readonly")` → a HostConfig.Mounts object (`ApiMount`).
 * - `parseTmpfsFlags(["/run:size=1m"])` → HostConfig.Tmpfs.
 *
 * Daemon side (moby's volume/mounts linux parser):
 * - `parseBindSpec(raw)` — one HostConfig.Binds entry → a `MountPointSpec` (moby's ParseMountRaw);
 * - `parseMountSpec(m, exists)` — one HostConfig.Mounts object → a `MountPointSpec` (moby's ParseMountSpec, with its
 *   validation: `invalid mount config for type "bind": bind source path does not exist: /x`);
 * - `parseVolumesFrom("c:ro")`, `tmpfsData(opts, ro)`.
 * Errors are InvalidArgument with Docker's wording.
 */
import path from 'node:path';
import { invalidArgument } from '../../errdefs/index.js';
import type { MountSpec } from '../../api/types/container.js';
import { ramInBytes } from '../units/units.js';

// ---------------------------------------------------------------- API shapes

/** One HostConfig.Mounts entry, as the Engine API spells it (the wire type, api/types/container.ts). */
export type ApiMount = MountSpec;

/** A validated mount point, before volumes are created (moby's volume/mounts.MountPoint). */
export interface MountPointSpec {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind), volume name ('' = anonymous volume), '' for tmpfs. */
  source: string;
  /** Cleaned absolute path in the container. */
  destination: string;
  rw: boolean;
  /** Docker's `Mode` as inspect shows it (the raw mode of a `-v` spec; '' for --mount). */
  mode: string;
  /** Bind propagation ('rprivate' by default for binds; '' for volumes and tmpfs). */
  propagation: string;
  /** Copy the image's content at the destination into a new empty volume. */
  copyData: boolean;
  /** bind-nonrecursive: a plain `bind` instead of `rbind`. */
  nonRecursive: boolean;
  /** --mount bind with CreateMountpoint: create a missing source. */
  createMountpoint: boolean;
  /** Volume mounts: driver name and create options. */
  volume?: { driver: string; labels: Record<string, string> | null; options: Record<string, string> | null; subpath: string };
  /** tmpfs mounts: the mount data (`size=…,mode=…`). */
  tmpfsData?: string;
}

// ---------------------------------------------------------------- modes (moby volume/mounts/linux_parser.go)

const RW_MODES = new Set(['ro', 'rw']);
const LABEL_MODES = new Set(['z', 'Z']);
const PROPAGATION_MODES = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared']);
const COPY_MODES = new Set(['nocopy']);
const CONSISTENCY_MODES = new Set(['consistent', 'cached', 'delegated']);

export const DEFAULT_PROPAGATION = 'rprivate';

/** moby ValidMountMode: comma-separated, at most one of each kind. */
export function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = [0, 0, 0, 0, 0];
  for (const o of mode.split(',')) {
    if (RW_MODES.has(o)) counts[0]!++;
    else if (LABEL_MODES.has(o)) counts[1]!++;
    else if (PROPAGATION_MODES.has(o)) counts[2]!++;
    else if (COPY_MODES.has(o)) counts[3]!++;
    else if (CONSISTENCY_MODES.has(o)) counts[4]!++;
    else return false;
  }
  return counts.every((c) => c <= 1);
}

/** moby ReadWrite: false when the mode says `ro` (or is invalid). */
export function modeIsReadWrite(mode: string): boolean {
  if (!validMountMode(mode)) return false;
  return !mode.split(',').includes('ro');
}

function modePropagation(mode: string): string {
  return mode.split(',').find((o) => PROPAGATION_MODES.has(o)) ?? '';
}

const invalidSpec = (raw: string) => `invalid volume specification: '${raw}'`;

class MountConfigError extends Error {}

function mountConfigError(type: string, msg: string): Error {
  return invalidArgument(`invalid mount config for type "${type}": ${msg}`);
}

function checkTarget(target: string): string | undefined {
  if (!target) return 'field Target must not be empty';
  if (path.posix.normalize(target) === '/' || target === '/') return "invalid specification: destination can't be '/'";
  if (!target.startsWith('/')) return `invalid mount path: '${target}' mount path must be absolute`;
  return undefined;
}

// ---------------------------------------------------------------- daemon: Binds

/**
 * One HostConfig.Binds entry (`[source:]destination[:mode]`) → a mount point. An absolute source is a bind mount,
 * anything else a volume name; a lone destination is an anonymous volume.
 */
export function parseBindSpec(raw: string, volumeDriver = ''): MountPointSpec {
  const arr = splitN(raw, ':', 4);
  if (arr[0] === '') throw invalidArgument(invalidSpec(raw));
  let source = '';
  let target: string;
  let mode = '';
  switch (arr.length) {
    case 1:
      target = arr[0]!;
      break;
    case 2:
      if (validMountMode(arr[1]!)) throw invalidArgument(invalidSpec(raw));
      source = arr[0]!;
      target = arr[1]!;
      break;
    case 3:
      source = arr[0]!;
      target = arr[1]!;
      mode = arr[2]!;
      break;
    default:
      throw invalidArgument(invalidSpec(raw));
  }
  if (!validMountMode(mode)) throw invalidArgument(`invalid mode: ${mode}`);
  const type = source.startsWith('/') ? 'bind' : 'volume';
  const api: ApiMount = { Type: type, Source: source, Target: target, ReadOnly: !modeIsReadWrite(mode) };
  const modes = mode.split(',');
  if (type === 'volume' && volumeDriver) api.VolumeOptions = { DriverConfig: { Name: volumeDriver } };
  if (modes.includes('nocopy')) (api.VolumeOptions ??= {}).NoCopy = true;
  const prop = modePropagation(mode);
  if (prop) api.BindOptions = { Propagation: prop };
  let mp: MountPointSpec;
  try {
    mp = toMountPoint(api, undefined);
  } catch (e) {
    if (e instanceof MountConfigError) throw invalidArgument(`${invalidSpec(raw)}: invalid mount config for type "${type}": ${e.message}`);
    throw e;
  }
  mp.mode = mode;
  return mp;
}

// ---------------------------------------------------------------- daemon: Mounts

/**
 * One HostConfig.Mounts object → a mount point, validated like moby's validateMountConfig. `exists(path)` reports
 * whether a bind source exists (omit it to skip that check).
 */
export function parseMountSpec(m: ApiMount, exists?: (p: string) => boolean): MountPointSpec {
  try {
    return toMountPoint(m, exists);
  } catch (e) {
    if (e instanceof MountConfigError) throw mountConfigError(String(m.Type ?? ''), e.message);
    throw e;
  }
}

function toMountPoint(m: ApiMount, exists: ((p: string) => boolean) | undefined): MountPointSpec {
  const fail = (msg: string): never => {
    throw new MountConfigError(msg);
  };
  const target = m.Target ?? '';
  const tErr = checkTarget(target);
  if (tErr) fail(tErr);
  const type = m.Type ?? '';
  const source = m.Source ?? '';
  const bo = m.BindOptions ?? undefined;
  const vo = m.VolumeOptions ?? undefined;
  const to = m.TmpfsOptions ?? undefined;
  const base = {
    destination: path.posix.normalize(target).replace(/(.)\/$/, '$1'),
    rw: !m.ReadOnly,
    mode: '',
    nonRecursive: false,
    createMountpoint: false,
  };
  switch (type) {
    case 'bind': {
      if (!source) fail('field Source must not be empty');
      if (bo?.Propagation && !PROPAGATION_MODES.has(bo.Propagation)) fail(`invalid propagation mode: ${bo.Propagation}`);
      if (vo) fail('field VolumeOptions must not be specified');
      if (to) fail('field TmpfsOptions must not be specified');
      if (!source.startsWith('/')) fail(`invalid mount path: '${source}' mount path must be absolute`);
      const create = Boolean(bo?.CreateMountpoint);
      if (exists && !create && !exists(source)) fail(`bind source path does not exist: ${source}`);
      return {
        ...base,
        type: 'bind',
        source: path.posix.normalize(source).replace(/(.)\/$/, '$1'),
        propagation: bo?.Propagation || DEFAULT_PROPAGATION,
        copyData: false,
        nonRecursive: Boolean(bo?.NonRecursive),
        createMountpoint: create,
      };
    }
    case 'volume': {
      if (bo) fail('field BindOptions must not be specified');
      if (to) fail('field TmpfsOptions must not be specified');
      if (vo?.Subpath) fail('volume subpath is not supported');
      if (m.ReadOnly && !source) fail('must not set ReadOnly mode when using anonymous volumes');
      return {
        ...base,
        type: 'volume',
        source,
        propagation: '',
        copyData: !vo?.NoCopy,
        volume: {
          driver: vo?.DriverConfig?.Name || '',
          labels: vo?.Labels ?? null,
          options: vo?.DriverConfig?.Options ?? null,
          subpath: vo?.Subpath ?? '',
        },
      };
    }
    case 'tmpfs': {
      if (bo) fail('field BindOptions must not be specified');
      if (vo) fail('field VolumeOptions must not be specified');
      if (source) fail('field Source must not be specified');
      return { ...base, type: 'tmpfs', source: '', propagation: '', copyData: false, tmpfsData: tmpfsData(to, Boolean(m.ReadOnly)) };
    }
    default:
      return fail('mount type unknown');
  }
}

/** moby ConvertTmpfsOptions: `ro`, `mode=<octal>`, `size=<n>[kmg]` (the largest unit that divides evenly). */
export function tmpfsData(opts: ApiMount['TmpfsOptions'], readOnly: boolean): string {
  const raw: string[] = [];
  if (readOnly) raw.push('ro');
  if (opts?.Mode) raw.push(`mode=${(opts.Mode & 0o7777).toString(8)}`);
  if (opts?.SizeBytes) {
    let size = opts.SizeBytes;
    let suffix = '';
    if (size < 0) throw new MountConfigError(`invalid tmpfs size: ${size}`);
    for (const [s, d] of [['g', 1 << 30], ['m', 1 << 20], ['k', 1 << 10]] as const) {
      if (size % d === 0) {
        size /= d;
        suffix = s;
        break;
      }
    }
    raw.push(`size=${size}${suffix}`);
  }
  for (const o of opts?.Options ?? []) if (o?.length) raw.push(o.length > 1 ? `${o[0]}=${o[1]}` : o[0]!);
  return raw.join(',');
}

/** `container[:ro|rw]` of HostConfig.VolumesFrom. */
export function parseVolumesFrom(spec: string): { container: string; mode: string; rw: boolean } {
  if (!spec) throw invalidArgument(`malformed volumes-from specification: ${spec}`);
  const [container, mode = 'rw', ...rest] = spec.split(':');
  if (rest.length || !container) throw invalidArgument(`malformed volumes-from specification: ${spec}`);
  if (!validMountMode(mode)) throw invalidArgument(`invalid mode: ${mode}`);
  return { container, mode, rw: modeIsReadWrite(mode) };
}

// ---------------------------------------------------------------- CLI: -v, --mount, --tmpfs

export type VolumeFlag = { kind: 'bind'; bind: string } | { kind: 'anonymous'; target: string };

/**
 * One `-v/--volume` value as the docker CLI treats it: with a source it goes to HostConfig.Binds (a `./rel` or `.`
 * host part made absolute against `cwd`); a bare path is an anonymous volume in Config.Volumes. The daemon
 * validates the spec (so `-v /p:ro` reaches it and fails there, as with docker).
 */
export function parseVolumeFlag(value: string, cwd = process.cwd()): VolumeFlag {
  const parts = value.split(':');
  if (parts.length < 2 || parts[0] === '') return { kind: 'anonymous', target: value };
  let host = parts[0]!;
  if (host === '.' || host.startsWith('./')) host = path.resolve(cwd, host);
  else if (host === '..' || host.startsWith('../')) host = path.resolve(cwd, host);
  return { kind: 'bind', bind: [host, ...parts.slice(1)].join(':') };
}

/** Every `-v` value → the Binds list and the Config.Volumes map `docker run` sends. */
export function parseVolumeFlags(values: readonly string[], cwd = process.cwd()): { Binds: string[]; Volumes: Record<string, Record<string, never>> } {
  const Binds: string[] = [];
  const Volumes: Record<string, Record<string, never>> = {};
  for (const v of values) {
    const f = parseVolumeFlag(v, cwd);
    if (f.kind === 'bind') Binds.push(f.bind);
    else Volumes[f.target] = {};
  }
  return { Binds, Volumes };
}

/** Go's strconv.ParseBool. */
function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(s)) return false;
  return undefined;
}

/** Go's encoding/csv for one record: fields split at commas, `"…"` quoting with `""` escapes. */
export function splitCsv(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ',') throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
    } else {
      while (i < line.length && line[i] !== ',') {
        if (line[i] === '"') throw new Error(`parse error on line 1, column ${i + 1}: bare " in non-quoted-field`);
        field += line[i++];
      }
    }
    out.push(field);
    if (i >= line.length) return out;
    i++; // comma
  }
}

/**
 * One `--mount` value (docker/cli opts.MountOpt.Set) → a HostConfig.Mounts object. Keys: type, source/src,
 * target/dst/destination, readonly/ro, consistency, bind-propagation, bind-nonrecursive, bind-create-mountpoint,
 * volume-subpath, volume-nocopy, volume-label, volume-driver, volume-opt, tmpfs-size, tmpfs-mode.
 * Throws plain Errors with the docker CLI's wording (the caller wraps them as a flag error).
 */
export function parseMountFlag(value: string, cwd = process.cwd()): ApiMount {
  const fields = splitCsv(value);
  const m: ApiMount = { Type: 'volume' };
  const vol = () => (m.VolumeOptions ??= {});
  const bind = () => (m.BindOptions ??= {});
  const tmpfs = () => (m.TmpfsOptions ??= {});
  const setMap = (target: Record<string, string>, v: string) => {
    const eq = v.indexOf('=');
    const k = eq < 0 ? v : v.slice(0, eq);
    if (k !== '') target[k] = eq < 0 ? '' : v.slice(eq + 1);
  };
  const bool = (key: string, v: string, msg = `invalid value for ${key}: ${v}`): boolean => {
    const b = parseGoBool(v);
    if (b === undefined) throw new Error(msg);
    return b;
  };
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? '' : field.slice(eq + 1);
    if (eq < 0) {
      switch (key) {
        case 'readonly':
        case 'ro':
          m.ReadOnly = true;
          continue;
        case 'volume-nocopy':
          vol().NoCopy = true;
          continue;
        case 'bind-nonrecursive':
          bind().NonRecursive = true;
          continue;
        default:
          throw new Error(`invalid field '${field}' must be a key=value pair`);
      }
    }
    switch (key) {
      case 'type':
        m.Type = val.toLowerCase();
        break;
      case 'source':
      case 'src':
        m.Source = val === '.' || val.startsWith('./') ? path.resolve(cwd, val) : val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = bool(key, val);
        break;
      case 'consistency':
        m.Consistency = val.toLowerCase();
        break;
      case 'bind-propagation':
        bind().Propagation = val.toLowerCase();
        break;
      case 'bind-nonrecursive':
        bind().NonRecursive = bool(key, val);
        break;
      case 'bind-create-mountpoint':
        bind().CreateMountpoint = bool(key, val);
        break;
      case 'volume-subpath':
        vol().Subpath = val;
        break;
      case 'volume-nocopy':
        vol().NoCopy = bool(key, val, `invalid value for volume-nocopy: ${val}`);
        break;
      case 'volume-label':
        setMap((vol().Labels ??= {}), val);
        break;
      case 'volume-driver':
        (vol().DriverConfig ??= {}).Name = val;
        break;
      case 'volume-opt': {
        const dc = (vol().DriverConfig ??= {});
        setMap((dc.Options ??= {}), val);
        break;
      }
      case 'tmpfs-size': {
        let n: number;
        try {
          n = ramInBytes(val);
        } catch {
          throw new Error(`invalid value for ${key}: ${val}`);
        }
        tmpfs().SizeBytes = n;
        break;
      }
      case 'tmpfs-mode': {
        if (!/^[0-7]+$/.test(val) || parseInt(val, 8) > 0xffffffff) throw new Error(`invalid value for ${key}: ${val}`);
        tmpfs().Mode = parseInt(val, 8);
        break;
      }
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Type) throw new Error('type is required');
  if (!m.Target) throw new Error('target is required');
  if (m.VolumeOptions && m.Type !== 'volume') throw new Error(`cannot mix 'volume-*' options with mount type '${m.Type}'`);
  if (m.BindOptions && m.Type !== 'bind') throw new Error(`cannot mix 'bind-*' options with mount type '${m.Type}'`);
  if (m.TmpfsOptions && m.Type !== 'tmpfs') throw new Error(`cannot mix 'tmpfs-*' options with mount type '${m.Type}'`);
  return m;
}

export function parseMountFlags(values: readonly string[], cwd = process.cwd()): ApiMount[] {
  return values.map((v) => parseMountFlag(v, cwd));
}

/** `--tmpfs /path[:opts]` values → HostConfig.Tmpfs. */
export function parseTmpfsFlags(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf(':');
    const dst = i < 0 ? v : v.slice(0, i);
    if (!dst.startsWith('/')) throw new Error(`invalid mount path: '${dst}' mount path must be absolute`);
    out[dst] = i < 0 ? '' : v.slice(i + 1);
  }
  return out;
}

/** Go's strings.SplitN. */
function splitN(s: string, sep: string, n: number): string[] {
  const parts = s.split(sep);
  if (parts.length <= n) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}
