/**
 * Resolving an untrusted path inside a root directory as if the root were `/` (a userspace chroot lookup), the one
 * place berth does this: user lookup in a rootfs, volume copy-up, `docker cp`, layer extraction and the builder's
 * COPY all use it.
 *
 * Terms:
 * - *root*: a host directory standing for the container's `/` (a rootfs, a build context, a layer's target).
 * - *unsafe path*: a path meant inside root, written by an untrusted party (an image, a client).
 * - *components*: the resolved path as symlink-free names below root, never containing `.`, `..` or `''`.
 * - *lookup*: how one symlink-free path below root is inspected: it reports a symlink (with its target), an entry
 *   that exists, or a missing one. The default looks at `<root>/<components>` with lstat/readlink; callers may map
 *   components elsewhere (container mounts) or create directories on the way (layer extraction).
 *
 * Rules (the kernel's path walk with root as the process root, which is what cyphar/filepath-securejoin and moby's
 * FollowSymlinkInScope implement):
 * - components are walked left to right; `..` drops the last resolved component and stops at root;
 * - a symlink is replaced by its target: an absolute target starts again at root, a relative one continues from the
 *   symlink's directory; so a target like `/proc/self/root` or `../../../etc` means root's own `proc/…` or `etc`;
 * - after `maxSymlinks` expansions (Linux's 40 by default) resolution fails with ELOOP;
 * - a missing component is kept as written and the walk goes on lexically (`missing` is set), so callers can create
 *   a tail that does not exist yet; ENOTDIR (a file used as a directory) counts as missing;
 * - the last component is followed unless `followFinal` is false (lstat-like callers, `docker cp` without `/.`).
 *
 * Races: resolving returns a path, and the filesystem may change before the caller uses it. If a party that controls
 * the tree (a running container, a concurrent extraction) swaps a directory for a symlink in that window, a plain
 * open of the returned path would follow it out of root. This is the TOCTOU gap of the legacy SecureJoin API. What
 * callers do about it:
 * - read a file with `openInRoot`: the last component is opened with O_NOFOLLOW and the opened descriptor's real
 *   path (/proc/self/fd) is checked to be below root's real path, so a swapped intermediate directory gives EXDEV
 *   instead of a host file;
 * - create files with O_EXCL|O_NOFOLLOW (applyLayer does) so the last component is never a planted symlink;
 * - work only on trees nobody else writes concurrently: image layers being unpacked, a rootfs before its process
 *   starts (user lookup, volume copy-up), a build step's snapshot between RUNs.
 * What remains: `docker cp` into or out of a *running* container walks a tree the container can change under it,
 * and the copy itself (tar of a directory, extraction) opens many paths. Intermediate directories swapped during the
 * copy can still redirect it (CVE-2018-15664 in moby, fixed there by pausing the container for the copy). A full fix
 * needs descriptor-relative walking (openat2 RESOLVE_IN_ROOT, which Node does not expose) through the native addon.
 */
import { constants as fsc, lstatSync, promises as fsp, readlinkSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Linux's limit on symlink expansions in one lookup (MAXSYMLINKS), after which the kernel returns ELOOP. */
export const MAX_SYMLINKS = 40;

/** What a lookup found at a symlink-free path below root. `present` is anything that is not a symlink. */
export type Lookup = { kind: 'symlink'; target: string } | { kind: 'present' } | { kind: 'missing' };

export interface ResolveOptions {
  /** Expand a symlink in the last component (default true: open(2) without O_NOFOLLOW). */
  followFinal?: boolean;
  /** Symlink expansions allowed before ELOOP (default MAX_SYMLINKS). */
  maxSymlinks?: number;
}

export interface Resolved {
  /** The symlink-free components below root. */
  components: string[];
  /** Some looked-up component did not exist (the rest was kept lexically). */
  missing: boolean;
}

/** ELOOP from too many symlink expansions. `at` is the root-relative path of the symlink that hit the limit. */
export class SymlinkLoopError extends Error {
  readonly code = 'ELOOP';
  readonly errno = -40;
  constructor(
    readonly path: string,
    readonly at: string,
  ) {
    super(`ELOOP: too many symlinks resolving ${path}`);
  }
}

const split = (p: string) => p.split('/').filter((c) => c !== '' && c !== '.');

/** The walk itself: yields each symlink-free path it needs looked up and receives the answer. */
function* walk(unsafePath: string, opts: ResolveOptions): Generator<string[], Resolved, Lookup> {
  const followFinal = opts.followFinal ?? true;
  const max = opts.maxSymlinks ?? MAX_SYMLINKS;
  const todo = split(unsafePath);
  const cur: string[] = [];
  let links = 0;
  let missing = false;
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '..') {
      cur.pop();
      continue;
    }
    const next = [...cur, c];
    if (todo.length === 0 && !followFinal) {
      cur.push(c);
      break;
    }
    const found: Lookup = yield next;
    if (found.kind !== 'symlink') {
      if (found.kind === 'missing') missing = true;
      cur.push(c);
      continue;
    }
    if (++links > max) throw new SymlinkLoopError(unsafePath, next.join('/'));
    todo.unshift(...split(found.target));
    if (found.target.startsWith('/')) cur.length = 0;
  }
  return { components: cur, missing };
}

/** Resolves `unsafePath` with a caller's lookup (see the module comment for the rules). */
export async function resolveWith(unsafePath: string, lookup: (components: string[]) => Promise<Lookup>, opts: ResolveOptions = {}): Promise<Resolved> {
  const g = walk(unsafePath, opts);
  let r = g.next();
  while (!r.done) r = g.next(await lookup(r.value));
  return r.value;
}

/** resolveWith for synchronous lookups. */
export function resolveWithSync(unsafePath: string, lookup: (components: string[]) => Lookup, opts: ResolveOptions = {}): Resolved {
  const g = walk(unsafePath, opts);
  let r = g.next();
  while (!r.done) r = g.next(lookup(r.value));
  return r.value;
}

const isMissing = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

function classify(st: Stats | undefined, readlink: () => string | Promise<string>): Lookup | Promise<Lookup> {
  if (!st) return { kind: 'missing' };
  if (!st.isSymbolicLink()) return { kind: 'present' };
  const t = readlink();
  return typeof t === 'string' ? { kind: 'symlink', target: t } : t.then((target) => ({ kind: 'symlink', target }));
}

/** The default lookup: `<root>/<components>` inspected with lstat and readlink. */
export function hostLookup(root: string): (components: string[]) => Promise<Lookup> {
  return async (components) => {
    const p = path.join(root, ...components);
    const st = await fsp.lstat(p).catch((e: unknown) => {
      if (isMissing(e)) return undefined;
      throw e;
    });
    return classify(st, () => fsp.readlink(p));
  };
}

/** hostLookup with synchronous calls. */
export function hostLookupSync(root: string): (components: string[]) => Lookup {
  return (components) => {
    const p = path.join(root, ...components);
    let st: Stats | undefined;
    try {
      st = lstatSync(p);
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
    return classify(st, () => readlinkSync(p)) as Lookup;
  };
}

/** Resolves `unsafePath` below `root` on the host filesystem. */
export function resolveInRoot(root: string, unsafePath: string, opts: ResolveOptions = {}): Promise<Resolved> {
  return resolveWith(unsafePath, hostLookup(root), opts);
}

/** resolveInRoot with synchronous calls. */
export function resolveInRootSync(root: string, unsafePath: string, opts: ResolveOptions = {}): Resolved {
  return resolveWithSync(unsafePath, hostLookupSync(root), opts);
}

/** The host path of `unsafePath` inside `root`: always `root` or below it (securejoin's SecureJoin). */
export async function secureJoin(root: string, unsafePath: string, opts: ResolveOptions = {}): Promise<string> {
  return path.join(root, ...(await resolveInRoot(root, unsafePath, opts)).components);
}

/** secureJoin with synchronous calls. */
export function secureJoinSync(root: string, unsafePath: string, opts: ResolveOptions = {}): string {
  return path.join(root, ...resolveInRootSync(root, unsafePath, opts).components);
}

/**
 * Opens a host path that was resolved below `root`, closing the race window: the last component is opened with
 * O_NOFOLLOW (a symlink planted there gives ELOOP) and the opened file's real path must lie below root's real path
 * (an intermediate directory swapped for a symlink gives EXDEV, openat2's RESOLVE_BENEATH errno).
 */
export async function openBeneath(root: string, hostPath: string, flags: number): Promise<FileHandle> {
  const fh = await fsp.open(hostPath, flags | fsc.O_NOFOLLOW);
  try {
    const [real, opened] = await Promise.all([fsp.realpath(root), fsp.readlink(`/proc/self/fd/${fh.fd}`)]);
    const prefix = real.endsWith('/') ? real : `${real}/`;
    if (opened !== real && !opened.startsWith(prefix)) {
      throw Object.assign(new Error(`EXDEV: ${hostPath} left ${root} while it was opened`), { code: 'EXDEV' });
    }
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Resolves `unsafePath` inside `root` and opens it with openBeneath's checks. */
export async function openInRoot(root: string, unsafePath: string, flags: number): Promise<FileHandle> {
  return openBeneath(root, await secureJoin(root, unsafePath), flags);
}
