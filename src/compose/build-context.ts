/**
 * The build context a service sends to POST /build: its directory as a tar. Top-level entries that .dockerignore
 * excludes whole (node_modules, .git, …) are left out so they never cross the socket; the builder applies
 * .dockerignore to the rest itself, as it does for `docker build`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import dockerignoreModule from '@balena/dockerignore';
import { tarDirectory } from '../pkg/archive/diff-layer.js';

// CommonJS under NodeNext: the function is the module's `default`.
const ignore = (dockerignoreModule as unknown as { default: (o?: { ignorecase?: boolean }) => { add(p: string[]): { ignores(p: string): boolean } } }).default;

export interface BuildContext {
  stream: Readable;
  /** The Dockerfile's path inside the context. */
  dockerfile: string;
}

export async function buildContext(dir: string, dockerfile: string): Promise<BuildContext> {
  if (!fs.existsSync(dir)) throw new Error(`unable to prepare context: path "${dir}" not found`);
  const dfPath = path.resolve(dir, dockerfile);
  const rel = path.relative(dir, dfPath);
  if (rel.startsWith('..')) throw new Error(`the Dockerfile (${dockerfile}) must be within the build context`);
  if (!fs.existsSync(dfPath)) throw new Error(`failed to read dockerfile: open ${dfPath}: no such file or directory`);
  let include: string[] | undefined;
  const ignoreFile = path.join(dir, '.dockerignore');
  if (fs.existsSync(ignoreFile)) {
    const ig = ignore({ ignorecase: false }).add(fs.readFileSync(ignoreFile, 'utf8').split('\n'));
    const top = fs.readdirSync(dir);
    // A directory is dropped only when it and a probe below it are both ignored (a `!dir/keep` pattern keeps it).
    include = top.filter((n) => !ig.ignores(n) || !ig.ignores(`${n}/.probe`) || n === rel || n === '.dockerignore');
  }
  return { stream: tarDirectory(dir, include ? { include } : {}), dockerfile: rel };
}
