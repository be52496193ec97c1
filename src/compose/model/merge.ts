/**
 * Merging canonical services by the Compose Specification's rules (13-merge.md): mappings merge key by key, sequences
 * append, `command`/`entrypoint`/`healthcheck.test` are replaced, and `ports`, `volumes`, `secrets`, `configs` keep
 * one entry per unique key (ports: ip+target+published+protocol; the others: target), the later file's entry
 * replacing the earlier one whole.
 * Used for several `-f` files, for override files and for `extends`.
 */
import { isDict, type Dict } from './guards.js';
import type { Service } from './types.js';

const REPLACED = new Set(['command', 'entrypoint', 'image', 'network_mode', 'container_name']);

const uniqueKeys: Record<string, (x: Dict) => string> = {
  ports: (p) => `${p.host_ip ?? ''}|${p.target}|${p.published ?? ''}|${p.protocol ?? 'tcp'}`,
  volumes: (v) => String(v.target),
  secrets: (v) => String(v.target ?? v.source),
  configs: (v) => String(v.target ?? v.source),
};

function mergeUnique(base: Dict[], over: Dict[], key: (x: Dict) => string): Dict[] {
  const out = new Map<string, Dict>();
  for (const x of base) out.set(key(x), x);
  for (const x of over) out.set(key(x), x);
  return [...out.values()];
}

function mergeSequence(base: unknown[], over: unknown[]): unknown[] {
  const out = [...base];
  for (const x of over) if (typeof x === 'object' || !out.includes(x)) out.push(x);
  return out;
}

/** Deep merge of two values at `path` (dot-joined field names inside a service). */
function mergeValue(base: unknown, over: unknown, field: string): unknown {
  if (over === undefined) return base;
  if (base === undefined || over === null) return over;
  if (REPLACED.has(field) || field === 'healthcheck.test') return over;
  if (uniqueKeys[field] && Array.isArray(base) && Array.isArray(over)) return mergeUnique(base as Dict[], over as Dict[], uniqueKeys[field]);
  if (Array.isArray(base) && Array.isArray(over)) return mergeSequence(base, over);
  if (isDict(base) && isDict(over)) {
    const out: Dict = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = mergeValue(base[k], v, `${field}.${k}`);
    return out;
  }
  return over;
}

/** `over` on top of `base` (both canonical); the result keeps base's name unless over names it. */
export function mergeService(base: Service, over: Service): Service {
  const out: Dict = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (k === 'name') continue;
    out[k] = mergeValue(base[k], v, k);
  }
  out.name = over.name;
  return out as Service;
}

/** Top-level mappings (networks, volumes, secrets, configs): entries merge key by key. */
export function mergeMapping(base: Dict, over: Dict): Dict {
  const out: Dict = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isDict(base[k]) && isDict(v) ? { ...(base[k] as Dict), ...v } : v;
  return out;
}
