/**
 * Short syntax → long syntax, per field, as the Compose Specification defines each one (ports "8080:80/udp",
 * volumes "./src:/app:ro", `environment` lists, `depends_on` lists, …). Applied to each file before merging, so the
 * merge rules compare like with like. Relative host paths are resolved against `baseDir`.
 */
import os from 'node:os';
import path from 'node:path';
import type { DependsOn, PortConfig, Service, ServiceFileObject, ServiceVolume } from './types.js';
import { parseDurationNs } from '../../pkg/units/units.js';
import { isBuildConfig, isDict, isServiceFileObject, isServiceVolume, type Dict } from './guards.js';

export class ComposeModelError extends Error {}

/** Splits a command string as a POSIX shell would split words (quotes and backslashes; no expansion). */
export function shellSplit(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new ComposeModelError(`invalid command line string: unterminated quote in ${JSON.stringify(s)}`);
      cur += s.slice(i + 1, end);
      has = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length && '"\\$`\n'.includes(s[i + 1])) i++;
        cur += s[i++];
      }
      if (i >= s.length) throw new ComposeModelError(`invalid command line string: unterminated quote in ${JSON.stringify(s)}`);
      has = true;
      i++;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[i + 1];
      has = true;
      i += 2;
    } else {
      cur += c;
      has = true;
      i++;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Go's time.ParseDuration (pkg/units), as Compose durations use it ("1m30s", "500ms"); returns nanoseconds. */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') return v * 1e9;
  let ns: number;
  try {
    ns = parseDurationNs(v.trim());
  } catch {
    ns = -1;
  }
  if (ns < 0) throw new ComposeModelError(`time: invalid duration "${v}"`);
  return ns;
}

/** "512m", "1g", 1024 → bytes. */
export function parseBytes(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(v.trim());
  if (!m) throw new ComposeModelError(`invalid size: '${v}'`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.round(Number(m[1]) * mult[m[2].toLowerCase()]);
}

/** `KEY=VAL` lists and mappings → a mapping; a bare `KEY` (or a null value) stays null (resolved later). */
export function toMapping(v: unknown, sep = '='): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = String(item);
      const i = s.indexOf(sep);
      if (i < 0) out[s] = null;
      else out[s.slice(0, i)] = s.slice(i + 1);
    }
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) out[k] = x === null || x === undefined ? null : String(x);
  }
  return out;
}

function toList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

/** Resolves a host path the way Compose does: `~` is the home directory, relative paths are under baseDir. */
export function hostPath(p: string, baseDir: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  return path.resolve(baseDir, p);
}

function parsePortRange(s: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new ComposeModelError(`invalid containerPort: ${s}`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

/** "[ip:][published[-range]:]target[-range][/protocol]" → one long-syntax entry per container port. */
export function parsePortShort(spec: string | number): PortConfig[] {
  let s = String(spec);
  let protocol = 'tcp';
  const slash = s.lastIndexOf('/');
  if (slash >= 0) {
    protocol = s.slice(slash + 1);
    s = s.slice(0, slash);
  }
  let hostIp: string | undefined;
  let published: string | undefined;
  let target: string;
  const bracket = /^\[([^\]]+)\]:(.*)$/.exec(s);
  if (bracket) {
    hostIp = bracket[1];
    s = bracket[2];
  }
  const parts = s.split(':');
  if (parts.length === 1) target = parts[0];
  else if (parts.length === 2) [published, target] = parts;
  else if (parts.length === 3 && !bracket) [hostIp, published, target] = parts;
  else throw new ComposeModelError(`invalid port spec: ${spec}`);
  const [t0, t1] = parsePortRange(target);
  let p0: number | undefined;
  let p1: number | undefined;
  if (published) [p0, p1] = parsePortRange(published);
  const out: PortConfig[] = [];
  for (let t = t0; t <= t1; t++) {
    const e: PortConfig = { mode: 'ingress', target: t, protocol };
    if (hostIp) e.host_ip = hostIp;
    if (p0 !== undefined) {
      e.published = String(p1 === p0 ? p0 : p0 + (t - t0));
    }
    out.push(e);
  }
  return out;
}

function parsePorts(v: unknown): PortConfig[] {
  const out: PortConfig[] = [];
  for (const p of (v as unknown[]) ?? []) {
    if (typeof p === 'string' || typeof p === 'number') out.push(...parsePortShort(p));
    else {
      const d = p as Dict;
      const e: PortConfig = { mode: String(d.mode ?? 'ingress'), target: Number(d.target), protocol: String(d.protocol ?? 'tcp') };
      if (d.published !== undefined && d.published !== null) e.published = String(d.published);
      if (d.host_ip) e.host_ip = String(d.host_ip);
      if (d.name) e.name = String(d.name);
      out.push(e);
    }
  }
  return out;
}

function isHostPath(src: string): boolean {
  return src.startsWith('.') || src.startsWith('/') || src.startsWith('~') || /^[A-Za-z]:[\\/]/.test(src);
}

/** "src:dst[:mode]" / "dst" / long syntax → ServiceVolume (bind sources absolute). */
export function parseVolume(v: unknown, baseDir: string): ServiceVolume {
  if (typeof v === 'string') {
    const parts = v.split(':');
    let src: string | undefined;
    let target: string;
    let mode = '';
    if (parts.length === 1) target = parts[0];
    else if (parts.length === 2) {
      // "dst:ro" is an anonymous volume with a mode only when the second part is not a path.
      if (parts[1].startsWith('/')) [src, target] = parts;
      else [target, mode] = parts;
    } else if (parts.length === 3) [src, target, mode] = parts;
    else throw new ComposeModelError(`invalid spec: ${v}: too many colons`);
    if (!target) throw new ComposeModelError(`invalid spec: ${v}: empty section between colons`);
    const opts = mode ? mode.split(',') : [];
    const vol: ServiceVolume = src === undefined ? { type: 'volume', target } : isHostPath(src) ? { type: 'bind', source: hostPath(src, baseDir), target, bind: { create_host_path: true } } : { type: 'volume', source: src, target, volume: {} };
    if (opts.includes('ro')) vol.read_only = true;
    if (vol.type === 'volume' && opts.includes('nocopy')) vol.volume = { ...vol.volume, nocopy: true };
    const sel = opts.find((o) => o === 'z' || o === 'Z');
    if (vol.type === 'bind' && sel) vol.bind!.selinux = sel;
    const prop = opts.find((o) => /^r?(shared|slave|private)$/.test(o));
    if (vol.type === 'bind' && prop) vol.bind!.propagation = prop;
    return vol;
  }
  if (!isServiceVolume(v)) throw new ComposeModelError(`invalid volume ${JSON.stringify(v)}: the long syntax needs a type and a target`);
  return v.type === 'bind' && v.source ? { ...v, source: hostPath(v.source, baseDir) } : { ...v };
}

function parseFileObjects(v: unknown): ServiceFileObject[] {
  return ((v as unknown[]) ?? []).map((x) => {
    if (typeof x === 'string') return { source: x };
    if (!isServiceFileObject(x)) throw new ComposeModelError(`invalid secret or config reference ${JSON.stringify(x)}: the long syntax needs a source`);
    return { ...x };
  });
}

function parseDependsOn(v: unknown): Record<string, DependsOn> {
  const out: Record<string, DependsOn> = {};
  if (Array.isArray(v)) for (const s of v) out[String(s)] = { condition: 'service_started', restart: false, required: true };
  else
    for (const [k, x] of Object.entries((v as Dict) ?? {})) {
      const d = (x ?? {}) as Dict;
      out[k] = { condition: (d.condition as DependsOn['condition']) ?? 'service_started', restart: Boolean(d.restart ?? false), required: d.required === undefined ? true : Boolean(d.required) };
    }
  return out;
}

function parseCommand(v: unknown): string[] | null {
  if (v === null) return null;
  return typeof v === 'string' ? shellSplit(v) : (v as unknown[]).map(String);
}

/** One service mapping (as written in a file, interpolated and schema-valid) → canonical form. */
export function canonicalService(name: string, raw: Dict, baseDir: string): Service {
  const s: Service = { name };
  for (const [k, v] of Object.entries(raw)) {
    switch (k) {
      case 'build': {
        const b: Dict = typeof v === 'string' ? { context: v } : isDict(v) ? { ...v } : {};
        const ctx = String(b.context ?? '.');
        b.context = /^[a-z]+:\/\//i.test(ctx) || ctx.startsWith('git@') ? ctx : hostPath(ctx, baseDir);
        if (b.args !== undefined) b.args = toMapping(b.args);
        if (b.labels !== undefined) b.labels = toMapping(b.labels);
        if (b.extra_hosts !== undefined) b.extra_hosts = extraHosts(b.extra_hosts);
        if (!isBuildConfig(b)) throw new ComposeModelError(`invalid build section ${JSON.stringify(v)}`);
        s.build = b;
        break;
      }
      case 'command':
      case 'entrypoint':
        s[k] = parseCommand(v);
        break;
      case 'environment':
        s.environment = toMapping(v);
        break;
      case 'labels':
        s.labels = toMapping(v) as Record<string, string>;
        break;
      case 'env_file':
        s.env_file = (Array.isArray(v) ? v : [v]).map((e) => (typeof e === 'string' ? { path: hostPath(e, baseDir), required: true } : { path: hostPath(String((e as Dict).path), baseDir), required: (e as Dict).required === undefined ? true : Boolean((e as Dict).required) }));
        break;
      case 'ports':
        s.ports = parsePorts(v);
        break;
      case 'expose':
        s.expose = toList(v);
        break;
      case 'volumes':
        s.volumes = ((v as unknown[]) ?? []).map((x) => parseVolume(x, baseDir));
        break;
      case 'tmpfs':
      case 'dns':
      case 'dns_search':
      case 'cap_add':
      case 'cap_drop':
      case 'security_opt':
      case 'links':
      case 'external_links':
      case 'profiles':
      case 'dns_opt':
      case 'group_add':
      case 'volumes_from':
        s[k] = toList(v);
        break;
      case 'networks': {
        const out: Record<string, Dict | null> = {};
        if (Array.isArray(v)) for (const n of v) out[String(n)] = null;
        else for (const [n, x] of Object.entries((v as Dict) ?? {})) out[n] = (x as Dict | null) ?? null;
        s.networks = out as Service['networks'];
        break;
      }
      case 'depends_on':
        s.depends_on = parseDependsOn(v);
        break;
      case 'healthcheck': {
        const h = { ...(v as Dict) };
        if (typeof h.test === 'string') h.test = ['CMD-SHELL', h.test];
        s.healthcheck = h as Service['healthcheck'];
        break;
      }
      case 'extra_hosts':
        s.extra_hosts = extraHosts(v);
        break;
      case 'sysctls':
        s.sysctls = toMapping(v) as Record<string, string>;
        break;
      case 'ulimits': {
        const out: Record<string, { soft: number; hard: number }> = {};
        for (const [n, x] of Object.entries((v as Dict) ?? {})) {
          out[n] = typeof x === 'number' || typeof x === 'string' ? { soft: Number(x), hard: Number(x) } : { soft: Number((x as Dict).soft), hard: Number((x as Dict).hard) };
        }
        s.ulimits = out;
        break;
      }
      case 'secrets':
      case 'configs':
        s[k] = parseFileObjects(v);
        break;
      case 'scale':
        s.scale = Number(v);
        break;
      case 'develop': {
        // develop.watch paths are host paths: made absolute against the file's directory, as other host paths.
        const d = { ...((v as Dict) ?? {}) };
        if (Array.isArray(d.watch)) d.watch = d.watch.map((w: Dict) => ({ ...w, path: hostPath(String(w.path), baseDir) }));
        s.develop = d;
        break;
      }
      default:
        s[k] = v;
    }
  }
  return s;
}

/** extra_hosts as "host:ip" lines (Compose accepts a mapping, "host=ip" and "host:ip"). */
function extraHosts(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x) => String(x).replace(/^([^=:]+)=/, '$1:'));
  return Object.entries((v as Dict) ?? {}).flatMap(([h, ip]) => (Array.isArray(ip) ? ip.map((x) => `${h}:${x}`) : [`${h}:${ip}`]));
}
