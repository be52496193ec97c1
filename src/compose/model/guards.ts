/**
 * Type guards for the long-syntax objects of a compose file. The schema has already checked the file, so these
 * only tell TypeScript what the schema guaranteed — the fields the model reads have the types it declares; fields
 * it does not interpret pass through untouched (they are printed back by `config`).
 */
import type { BuildConfig, ServiceFileObject, ServiceVolume } from './types.js';

export type Dict = Record<string, unknown>;

export function isDict(v: unknown): v is Dict {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

type Kind = 'string' | 'number' | 'boolean';
const optional = (d: Dict, key: string, ...kinds: Kind[]): boolean => d[key] === undefined || kinds.includes(typeof d[key] as Kind);
const optionalDict = (d: Dict, key: string): boolean => d[key] === undefined || isDict(d[key]);
const optionalStrings = (d: Dict, key: string): boolean => d[key] === undefined || (Array.isArray(d[key]) && (d[key] as unknown[]).every((x) => typeof x === 'string'));

const VOLUME_TYPES: readonly string[] = ['bind', 'volume', 'tmpfs', 'npipe', 'cluster', 'image'];

/** A long-syntax service volume: a known `type`, a string `target`, and typed options where present. */
export function isServiceVolume(v: unknown): v is ServiceVolume {
  if (!isDict(v) || typeof v.type !== 'string' || !VOLUME_TYPES.includes(v.type) || typeof v.target !== 'string') return false;
  if (!optional(v, 'source', 'string') || !optional(v, 'read_only', 'boolean') || !optional(v, 'consistency', 'string')) return false;
  const bind = v.bind;
  if (bind !== undefined && !(isDict(bind) && optional(bind, 'propagation', 'string') && optional(bind, 'create_host_path', 'boolean') && optional(bind, 'selinux', 'string'))) return false;
  const volume = v.volume;
  if (volume !== undefined && !(isDict(volume) && optional(volume, 'nocopy', 'boolean') && optional(volume, 'subpath', 'string'))) return false;
  const tmpfs = v.tmpfs;
  return tmpfs === undefined || (isDict(tmpfs) && optional(tmpfs, 'size', 'number', 'string') && optional(tmpfs, 'mode', 'number'));
}

/** A long-syntax secret/config reference: a string `source`, and typed target/uid/gid/mode where present. */
export function isServiceFileObject(v: unknown): v is ServiceFileObject {
  return isDict(v) && typeof v.source === 'string' && optional(v, 'target', 'string') && optional(v, 'uid', 'string') && optional(v, 'gid', 'string') && optional(v, 'mode', 'number');
}

/**
 * A long-syntax build section once its context, args, labels and extra_hosts are canonical (the caller sets those):
 * string context, and typed fields the planner reads where present.
 */
export function isBuildConfig(v: unknown): v is BuildConfig {
  if (!isDict(v) || typeof v.context !== 'string') return false;
  for (const k of ['dockerfile', 'target', 'network']) if (!optional(v, k, 'string')) return false;
  if (!optional(v, 'no_cache', 'boolean') || !optional(v, 'pull', 'boolean') || !optional(v, 'shm_size', 'number', 'string')) return false;
  if (!optionalStrings(v, 'cache_from') || !optionalStrings(v, 'extra_hosts')) return false;
  return optionalDict(v, 'args') && optionalDict(v, 'labels');
}
