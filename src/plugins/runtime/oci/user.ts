/**
 * Resolve a Docker `User` string ("", "name", "uid", "name:group", "uid:gid") and `--group-add` entries to numeric
 * ids using the container rootfs' /etc/passwd and /etc/group, with runc's (libcontainer/user) matching rules.
 *
 * The rootfs is untrusted: its /etc/passwd may be a symlink to "/etc/shadow" or "../../../etc/passwd". Files are
 * therefore found with pkg/securejoin, which expands symlinks as if the rootfs were "/", and opened with its
 * openBeneath checks, so nothing outside the rootfs is ever read.
 */
import { invalidArgument } from '../../../errdefs/index.js';
import { secureJoin } from '../../../pkg/securejoin/securejoin.js';
import { parseGroup, parsePasswd, readFileInRoot, type GroupEntry, type PasswdEntry } from '../../../pkg/idtools/passwd.js';

import type { ResolvedUser } from '../../../core/runtime/spec-builder.js';

export type { ResolvedUser };

const MAX_ID = 2 ** 31 - 1;

/**
 * Host path of `rel` inside `root`, following symlinks as the container would see them (absolute targets and `..`
 * never leave `root`). The final component may not exist.
 */
export function resolveInRoot(root: string, rel: string): Promise<string> {
  return secureJoin(root, rel);
}

export { readFileInRoot, parsePasswd, parseGroup, type PasswdEntry, type GroupEntry };

const isNumeric = (s: string) => /^[+-]?\d+$/.test(s);

function checkRange(id: number): number {
  if (id < 0 || id > MAX_ID) throw invalidArgument(`uids and gids must be in range 0-${MAX_ID}`);
  return id;
}

/**
 * Resolve `spec` against passwd/group contents (undefined = file absent). Pure; resolveUser does the reading.
 * Rules (runc's): "" means uid 0; a name must exist in passwd; a number may lack an entry (gid then 0); a matched
 * user gets its passwd gid and, unless a group is given, the gids of groups listing it as a member.
 */
export function resolveUserFrom(
  spec: string,
  groupAdd: readonly string[],
  passwdText: string | undefined,
  groupText: string | undefined,
): ResolvedUser {
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? '' : spec.slice(colon + 1);
  const passwd = passwdText === undefined ? [] : parsePasswd(passwdText);
  const groups = groupText === undefined ? [] : parseGroup(groupText);

  let uid = 0;
  let gid = 0;
  let sgids: number[] = [];
  const match = passwd.find((u) =>
    userArg === '' ? u.uid === 0 : isNumeric(userArg) ? u.uid === Number(userArg) : u.name === userArg,
  );
  if (match) {
    uid = match.uid;
    gid = match.gid;
  } else if (userArg !== '') {
    if (!isNumeric(userArg)) {
      throw invalidArgument(`unable to find user ${userArg}: no matching entries in passwd file`);
    }
    uid = checkRange(Number(userArg));
  }

  if (groupArg !== '') {
    const g = groups.find((e) => (isNumeric(groupArg) ? e.gid === Number(groupArg) : e.name === groupArg));
    if (g) gid = g.gid;
    else if (isNumeric(groupArg)) gid = checkRange(Number(groupArg));
    else throw invalidArgument(`unable to find group ${groupArg}: no matching entries in group file`);
  } else if (match) {
    // Supplementary groups only come with the implicit form ("user", not "user:group").
    sgids = groups.filter((e) => e.members.includes(match.name)).map((e) => e.gid);
  }

  const added: number[] = [];
  for (const ag of groupAdd) {
    const g = groups.find((e) => e.name === ag || String(e.gid) === ag);
    let id: number;
    if (g) id = g.gid;
    else if (isNumeric(ag)) id = checkRange(Number(ag));
    else throw invalidArgument(`Unable to find group ${ag}: no matching entries in group file`);
    if (!added.includes(id)) added.push(id);
  }
  return { uid, gid, additionalGids: [gid, ...sgids, ...added] };
}

/** Resolve a Docker user string and --group-add list inside a rootfs (see resolveUserFrom for the rules). */
export async function resolveUser(rootfs: string, user: string, groupAdd: readonly string[] = []): Promise<ResolvedUser> {
  const [passwd, group] = await Promise.all([
    readFileInRoot(rootfs, '/etc/passwd'),
    readFileInRoot(rootfs, '/etc/group'),
  ]);
  return resolveUserFrom(user, groupAdd, passwd, group);
}
