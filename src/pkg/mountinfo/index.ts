/**
 * /proc/self/mountinfo as dockerd reads it for bind propagation: the mount a path lives on (the longest mount point
 * that is a parent of it) and that mount's propagation (the `shared:N` / `master:N` optional fields).
 */
import fs from 'node:fs';

export interface MountInfo {
  mountPoint: string;
  /** optional fields: `shared:N`, `master:N`, `propagate_from:N`, `unbindable` */
  optional: string[];
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parses mountinfo text (see proc(5)): field 5 is the mount point, optional fields run from 7 to the `-`. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 7) continue;
    const dash = f.indexOf('-', 6);
    out.push({ mountPoint: unescape(f[4]!), optional: f.slice(6, dash < 0 ? f.length : dash).filter(Boolean) });
  }
  return out;
}

/** The mount `p` is on: the longest mount point that is `p` or one of its parent directories (later mounts win). */
export function sourceMount(p: string, mounts: MountInfo[] = parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const parent = m.mountPoint === '/' || p === m.mountPoint || p.startsWith(`${m.mountPoint}/`);
    if (parent && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/**
 * dockerd's start-time check of a bind with shared or slave propagation: the source must sit on a shared mount
 * (`shared`, `rshared`) or a shared or slave one (`slave`, `rslave`). Returns dockerd's error text, or undefined.
 */
export function propagationProblem(source: string, propagation: string, mounts?: MountInfo[]): string | undefined {
  const shared = propagation === 'shared' || propagation === 'rshared';
  const slave = propagation === 'slave' || propagation === 'rslave';
  if (!shared && !slave) return undefined;
  let real = source;
  try {
    real = fs.realpathSync(source);
  } catch {
    /* a source made at start: its parents decide */
  }
  const m = sourceMount(real, mounts);
  if (!m) return `could not find source mount of ${source}`;
  const has = (prefix: string) => m.optional.some((o) => o.startsWith(prefix));
  if (shared && !has('shared:')) return `path ${source} is mounted on ${m.mountPoint} but it is not a shared mount`;
  if (slave && !has('shared:') && !has('master:')) return `path ${source} is mounted on ${m.mountPoint} but it is not a shared or slave mount`;
  return undefined;
}
