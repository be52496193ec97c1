/**
 * /etc/passwd and /etc/group of an untrusted root filesystem: read through pkg/securejoin (symlinks expanded as if
 * the root were "/", opened with its beneath checks) and parsed with libcontainer's line rules. Shared by the OCI
 * user lookup (plugins/runtime/oci/user.ts, runc's rules) and the builder's COPY --chown (build/context.ts).
 */
import { constants as fsc } from 'node:fs';
import { openBeneath, secureJoin } from '../securejoin/securejoin.js';

/** Contents of `rel` inside `root` via the confined resolver, or undefined when it is absent or not a regular file. */
export async function readFileInRoot(root: string, rel: string): Promise<string | undefined> {
  const p = await secureJoin(root, rel);
  let fh;
  try {
    // O_NOFOLLOW and the beneath check: a symlink swapped in after resolving fails instead of being followed.
    fh = await openBeneath(root, p, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EXDEV') return undefined;
    throw e;
  }
  try {
    if (!(await fh.stat()).isFile()) return undefined;
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** An /etc/passwd entry. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** An /etc/group entry; `members` is the comma-separated user list. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

// Like Go's strconv.Atoi with the error ignored, which is what libcontainer's line parser does.
const atoi = (s: string | undefined) => (s !== undefined && /^[+-]?\d+$/.test(s) ? Number(s) : 0);

function lines(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => l.split(':'));
}

export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text).map((f) => ({ name: f[0] ?? '', uid: atoi(f[2]), gid: atoi(f[3]), home: f[5] ?? '' }));
}

export function parseGroup(text: string): GroupEntry[] {
  return lines(text).map((f) => ({
    name: f[0] ?? '',
    gid: atoi(f[2]),
    members: (f[3] ?? '').split(',').filter(Boolean),
  }));
}
