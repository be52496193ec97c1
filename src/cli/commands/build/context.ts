/**
 * The build context as `berth build` sends it: a tar stream made while walking the directory, with what
 * `<Dockerfile>.dockerignore` (or `.dockerignore`) excludes left out before anything is read — docker's client-side
 * filtering, with @balena/dockerignore's port of docker's matcher. The Dockerfile and the ignore file are always
 * sent (docker does the same). A Dockerfile outside the context (or from stdin) is added under a private name.
 */
import { randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { tarFromEntries } from '../../../pkg/tar/writer.js';
import type { TarHeader } from '../../../pkg/tar/header.js';

// CommonJS `module.exports = factory` (its typings claim a default export, which NodeNext cannot call).
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as (o?: { ignorecase?: boolean }) => { add(p: string[]): { ignores(p: string): boolean } };

export interface ContextSource {
  /** The tar to send. */
  stream: Readable;
  /** The Dockerfile's path inside the context, for the `dockerfile` query parameter. */
  dockerfile: string;
}

/** Reads the ignore patterns for `dockerfile` (a host path) in context `dir`. */
export function ignorePatterns(dir: string, dockerfile: string | undefined): string[] {
  for (const f of [dockerfile ? `${dockerfile}.dockerignore` : undefined, path.join(dir, '.dockerignore')]) {
    if (!f) continue;
    try {
      return fs.readFileSync(f, 'utf8').split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'));
    } catch {
      /* next */
    }
  }
  return [];
}

/**
 * A context directory as a tar stream. `dockerfile`: the -f path as given (relative to the cwd) or undefined for
 * `<dir>/Dockerfile`; `dockerfileText`: the Dockerfile's text when it came from stdin.
 */
export function directoryContext(dir: string, dockerfile: string | undefined, dockerfileText?: string): ContextSource {
  const root = path.resolve(dir);
  const dfHost = dockerfile ? path.resolve(dockerfile) : path.join(root, 'Dockerfile');
  const inside = dockerfileText === undefined && (dfHost === root || dfHost.startsWith(root + path.sep));
  const dfName = inside ? path.relative(root, dfHost).split(path.sep).join('/') : `.dockerfile.${randomBytes(10).toString('hex')}`;
  const patterns = ignorePatterns(root, dockerfileText === undefined ? dfHost : undefined);
  const ig = dockerignore({ ignorecase: false }).add(patterns);
  const hasExceptions = patterns.some((p) => p.trim().startsWith('!'));
  const always = new Set([dfName, '.dockerignore', `${dfName}.dockerignore`]);

  async function* entries(): AsyncGenerator<{ header: Partial<TarHeader> & { name: string }; body?: AsyncIterable<Buffer> | Buffer }> {
    // Hard links within the context stay hard links (same inode, later names point at the first).
    const seen = new Map<string, string>();
    async function* walk(rel: string): AsyncGenerator<{ header: Partial<TarHeader> & { name: string }; body?: AsyncIterable<Buffer> | Buffer }> {
      const names = (await fsp.readdir(path.join(root, rel))).sort();
      for (const n of names) {
        const r = rel ? `${rel}/${n}` : n;
        const host = path.join(root, r);
        const st = await fsp.lstat(host);
        const ignored = !always.has(r) && ig.ignores(r);
        if (ignored && !(st.isDirectory() && hasExceptions)) continue;
        const h = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
        if (st.isDirectory()) {
          if (!ignored) yield { header: { ...h, name: `${r}/`, type: 'dir' } };
          yield* walk(r);
        } else if (ignored) continue;
        else if (st.isSymbolicLink()) yield { header: { ...h, name: r, type: 'symlink', linkname: await fsp.readlink(host) } };
        else if (st.isFile()) {
          const ino = `${st.dev}:${st.ino}`;
          if (st.nlink > 1 && seen.has(ino)) {
            yield { header: { ...h, name: r, type: 'hardlink', linkname: seen.get(ino)! } };
            continue;
          }
          if (st.nlink > 1) seen.set(ino, r);
          // small files are read at once (fewer stream objects for contexts of many small files)
          const body = st.size <= 65536 ? await fsp.readFile(host) : (fs.createReadStream(host) as AsyncIterable<Buffer>);
          yield { header: { ...h, name: r, type: 'file', size: st.size }, body };
        }
      }
    }
    yield* walk('');
    if (!inside) {
      const text = dockerfileText !== undefined ? Buffer.from(dockerfileText) : await fsp.readFile(dfHost);
      yield { header: { name: dfName, type: 'file', mode: 0o644, size: text.length, mtime: new Date() }, body: text };
    }
  }
  return { stream: tarFromEntries(entries()), dockerfile: dfName };
}

/** True when the first bytes look like a tar or a compressed stream (docker's `-` detection). */
export function looksLikeArchive(head: Buffer): boolean {
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return true;
  if (head[0] === 0x1f && head[1] === 0x8b) return true; // gzip
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return true; // bzip2
  if (head[0] === 0xfd && head.subarray(1, 6).toString('latin1') === '7zXZ\0') return true; // xz
  if (head.readUInt32LE?.(0) === 0xfd2fb528) return true; // zstd
  return false;
}

/** `berth build -`: stdin is either a context archive (sent as is) or a Dockerfile (sent as a one-file context). */
export async function stdinContext(stdin: Readable): Promise<ContextSource & { isArchive: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  const it = stdin[Symbol.asyncIterator]();
  while (size < 512) {
    const r = await it.next();
    if (r.done) break;
    const b = Buffer.from(r.value as Buffer);
    chunks.push(b);
    size += b.length;
  }
  const head = Buffer.concat(chunks);
  if (looksLikeArchive(head)) {
    const out = new PassThrough();
    out.write(head);
    void (async () => {
      try {
        for (;;) {
          const r = await it.next();
          if (r.done) break;
          if (!out.write(r.value)) await new Promise<void>((res) => out.once('drain', () => res()));
        }
        out.end();
      } catch (e) {
        out.destroy(e as Error);
      }
    })();
    return { stream: out, dockerfile: 'Dockerfile', isArchive: true };
  }
  const rest: Buffer[] = [head];
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    rest.push(Buffer.from(r.value as Buffer));
  }
  const text = Buffer.concat(rest);
  return { stream: tarFromEntries([{ header: { name: 'Dockerfile', type: 'file', mode: 0o644, size: text.length, mtime: new Date() }, body: text }]), dockerfile: 'Dockerfile', isArchive: false };
}
