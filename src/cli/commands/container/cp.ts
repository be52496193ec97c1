/**
 * `berth cp`: copies between a container (`GET`/`PUT`/`HEAD /containers/{id}/archive?path=`, tar streams) and the
 * local filesystem, with docker's rules for where the copy lands (docker's archive.CopyTo/PrepareArchiveCopy):
 * into an existing directory, or renamed to the destination's name when it does not exist (or is a file).
 * Local tar work is done by GNU tar; a root-entry rename is tar's `--transform`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from '../../../client/index.js';
import { humanSizeWithPrecision } from '../../../pkg/units/units.js';
import { CliExit, type CliContext, type Command } from '../../command.js';
import type { PathStat } from '../../../api/types/container.js';
import { isNotFound, pipeToStdout } from './util.js';

/** docker's splitCpArg: `container:path`, or a local path (absolute, `./x:y`, or without a colon). */
export function splitCpArg(arg: string): { container: string; path: string } {
  if (arg.startsWith('/')) return { container: '', path: arg };
  const i = arg.indexOf(':');
  if (i < 0 || arg.slice(0, i).startsWith('.')) return { container: '', path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

/** archive.SplitPathDirEntry: the parent and the base of a path, with `/.` kept as base `.`. */
export function splitPathDirEntry(p: string): [string, string] {
  if (p === '.' || p.endsWith('/.')) {
    const parent = p === '.' ? '.' : path.posix.normalize(p.slice(0, -2) || '/');
    return [parent.length > 1 ? parent.replace(/\/+$/, '') : parent, '.'];
  }
  let cleaned = path.posix.normalize(p);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  return [path.posix.dirname(cleaned), path.posix.basename(cleaned)];
}

/** filepath.Abs that keeps a trailing `/` or `/.` (they change cp's meaning). */
function resolveLocalPath(p: string): string {
  const abs = path.resolve(p);
  if (p.endsWith('/.')) return abs === '/' ? '/.' : abs + '/.';
  if (p.endsWith('/') && abs !== '/') return abs + '/';
  return abs;
}

const assertsDirectory = (p: string) => p.endsWith('/') || p.endsWith('/.');

function escapeBRE(s: string): string {
  return s.replace(/[\\.[\]*^$,]/g, (c) => `\\${c}`);
}

function escapeRepl(s: string): string {
  return s.replace(/[\\&,]/g, (c) => `\\${c}`);
}

/** GNU tar's --transform for docker's RebaseArchiveEntries(old → new) on the root entry. */
export function rebaseTransform(oldBase: string, newBase: string): string {
  return `--transform=s,^${escapeBRE(oldBase)}\\(/\\|$\\),${escapeRepl(newBase)}\\1,S`;
}

const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const isDirMode = (m: number) => Math.floor(m / MODE_DIR) % 2 === 1;
const isSymlinkMode = (m: number) => Math.floor(m / MODE_SYMLINK) % 2 === 1;

function statContainerPath(client: Client, container: string, p: string): Promise<PathStat> {
  return client.containers.statPath(container, p);
}

function runTar(args: string[], input?: Readable): { done: Promise<void>; stdout: Readable } {
  const child = spawn('tar', args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(err.trim().replace(/^tar: /gm, '') || `tar exited with code ${code}`))));
  });
  const fed = input ? pipeline(input, child.stdin!).catch(() => {}) : Promise.resolve();
  return { done: Promise.all([exited, fed]).then(() => {}), stdout: child.stdout! };
}

/** Counts bytes passing through (for "Successfully copied …"). */
function counter(): { stream: PassThrough; bytes: () => number } {
  let n = 0;
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => (n += c.length));
  return { stream, bytes: () => n };
}

async function copyFromContainer(ctx: CliContext, client: Client, container: string, srcPath: string, dst: string, followLink: boolean, quiet: boolean): Promise<void> {
  const dstPath = dst === '-' ? '-' : resolveLocalPath(dst);
  let rebaseName = '';
  if (followLink) {
    try {
      const st = await statContainerPath(client, container, srcPath);
      if (isSymlinkMode(st.mode)) {
        let target = st.linkTarget;
        if (!target.startsWith('/')) target = path.posix.join(splitPathDirEntry(srcPath)[0], target);
        rebaseName = splitPathDirEntry(srcPath)[1];
        srcPath = target;
      }
    } catch {
      /* let the copy itself report it */
    }
  }
  const { stat, tar: res } = await client.containers.getArchive(container, srcPath);
  if (dstPath === '-') {
    await pipeToStdout(ctx, res);
    return;
  }
  const srcIsDir = stat ? isDirMode(stat.mode) : false;
  // The destination, following symlinks of its last component (CopyInfoDestinationPath).
  let dstReal = dstPath;
  let dstExists = false;
  let dstIsDir = false;
  for (let i = 0; i < 10; i++) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(dstReal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliExit(1, (e as Error).message);
      break;
    }
    if (st.isSymbolicLink()) {
      const t = fs.readlinkSync(dstReal);
      dstReal = path.isAbsolute(t) ? t : path.join(path.dirname(dstReal.replace(/\/+$/, '')), t);
      continue;
    }
    dstExists = true;
    dstIsDir = st.isDirectory();
    break;
  }
  if (!dstExists) {
    const parent = splitPathDirEntry(dstReal)[0];
    if (!fs.existsSync(parent)) throw new CliExit(1, `lstat ${parent}: no such file or directory`);
  }
  const [dstDir, dstBase] = splitPathDirEntry(dstReal);
  const srcBase = rebaseName || splitPathDirEntry(srcPath)[1];
  let extractDir: string;
  let transform: string | undefined;
  if (dstExists && dstIsDir) extractDir = dstReal;
  else if (dstExists && srcIsDir) throw new CliExit(1, 'cannot copy a directory to a file');
  else if (!dstExists && !srcIsDir && assertsDirectory(dstReal)) throw new CliExit(1, 'no such directory');
  else {
    extractDir = dstDir;
    transform = rebaseTransform(srcBase, dstBase);
  }
  if (rebaseName && !transform) transform = rebaseTransform(splitPathDirEntry(srcPath)[1], rebaseName);
  const count = counter();
  const tar = runTar(['-x', '--no-same-owner', '-C', extractDir, '-f', '-', ...(transform ? [transform] : [])], count.stream);
  await Promise.all([pipeline(res, count.stream), tar.done]).catch((e) => {
    throw new CliExit(1, (e as Error).message);
  });
  if (!quiet && ctx.stderr.isTTY) ctx.stderr.write(`Successfully copied ${humanSizeWithPrecision(count.bytes(), 3)} to ${dst}\n`);
}

async function copyToContainer(ctx: CliContext, client: Client, container: string, src: string, dstPath: string, followLink: boolean, copyUIDGID: boolean, quiet: boolean): Promise<void> {
  const srcPath = src === '-' ? '-' : resolveLocalPath(src);
  let dstInfoPath = dstPath;
  let dstExists = false;
  let dstIsDir = false;
  const shown = `${container}:${dstPath}`;
  try {
    let st = await statContainerPath(client, container, dstPath);
    if (isSymlinkMode(st.mode)) {
      let target = st.linkTarget;
      if (!target.startsWith('/')) target = path.posix.join(splitPathDirEntry(dstPath)[0], target);
      dstInfoPath = target;
      st = await statContainerPath(client, container, target);
    }
    const m = st.mode;
    const special = isSymlinkMode(m) || Math.floor(m / 2 ** 26) % 2 === 1 || Math.floor(m / 2 ** 25) % 2 === 1 || Math.floor(m / 2 ** 24) % 2 === 1;
    if (special) throw new CliExit(1, `destination "${shown}" must be a directory or a regular file`);
    dstExists = true;
    dstIsDir = isDirMode(m);
  } catch (e) {
    if (e instanceof CliExit) throw e;
    if (!isNotFound(e)) throw e;
  }

  let body: Readable;
  let resolvedDst: string;
  let tarDone: Promise<void> = Promise.resolve();
  if (srcPath === '-') {
    if (!dstIsDir) throw new CliExit(1, `destination "${shown}" must be a directory`);
    body = ctx.stdin;
    resolvedDst = dstInfoPath;
  } else {
    // The local source (CopyInfoSourcePath): must exist; -L resolves a symlink, keeping the link's name.
    let real = srcPath;
    let rebaseName = '';
    let st: fs.Stats;
    try {
      st = fs.lstatSync(srcPath.replace(/\/\.$/, '') || '/');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CliExit(1, `lstat ${srcPath.replace(/\/\.?$/, '')}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
    if (followLink && st.isSymbolicLink()) {
      real = fs.realpathSync(srcPath);
      rebaseName = splitPathDirEntry(srcPath)[1];
      st = fs.statSync(real);
    }
    if (assertsDirectory(srcPath) && !st.isDirectory()) throw new CliExit(1, `not a directory`);
    const srcIsDir = st.isDirectory();
    const [srcDir, srcEntry] = splitPathDirEntry(real);
    let srcBase = rebaseName || srcEntry;
    const transforms: string[] = [];
    if (rebaseName) transforms.push(rebaseTransform(srcEntry, rebaseName));
    const [dstDir, dstBase] = splitPathDirEntry(dstInfoPath);
    if (dstExists && dstIsDir) resolvedDst = dstInfoPath;
    else if (dstExists && srcIsDir) throw new CliExit(1, 'cannot copy a directory to a file');
    else if (!dstExists && !srcIsDir && assertsDirectory(dstInfoPath)) throw new CliExit(1, 'no such directory');
    else {
      resolvedDst = dstDir;
      if (srcBase !== dstBase) {
        transforms.length = 0;
        transforms.push(rebaseTransform(srcEntry, dstBase));
        srcBase = dstBase;
      }
    }
    const tar = runTar(['-c', '-f', '-', '-C', srcDir, ...transforms, '--', srcEntry]);
    tarDone = tar.done;
    body = tar.stdout;
  }
  const count = counter();
  const upload = client.containers.putArchive(container, resolvedDst, body.pipe(count.stream), { noOverwriteDirNonDir: true, copyUIDGID });
  try {
    await Promise.all([upload, tarDone]);
  } catch (e) {
    if ((e as { status?: number }).status !== undefined) throw e;
    throw new CliExit(1, (e as Error).message);
  }
  if (!quiet && ctx.stderr.isTTY) ctx.stderr.write(`Successfully copied ${humanSizeWithPrecision(count.bytes(), 3)} to ${container}:${dstInfoPath}\n`);
}

export const cpCommand: Command = {
  name: 'cp',
  usage: 'cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  description:
    "Copy files/folders between a container and the local filesystem\n\nUse '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a\ncontainer source to stdout.",
  minArgs: 2,
  maxArgs: 2,
  flags: [
    { name: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
  ],
  async run(ctx, args, flags) {
    const [srcArg, dstArg] = args as [string, string];
    const src = splitCpArg(srcArg);
    const dst = splitCpArg(dstArg);
    if (src.path === '') throw new CliExit(1, 'source can not be empty');
    if (dst.path === '') throw new CliExit(1, 'destination can not be empty');
    if (src.container && dst.container) throw new CliExit(1, 'copying between containers is not supported');
    if (!src.container && !dst.container) throw new CliExit(1, 'must specify at least one container source');
    const client = await ctx.client();
    const quiet = flags.quiet === true;
    if (src.container) return copyFromContainer(ctx, client, src.container, src.path, dst.path, flags['follow-link'] === true, quiet);
    return copyToContainer(ctx, client, dst.container, src.path, dst.path, flags['follow-link'] === true, flags.archive === true, quiet);
  },
};
