/**
 * Local content store: blobs as files under `<root>/content/blobs/sha256/<hex>`, ingests under
 * `<root>/content/ingest/`. See core/content/types.ts for the contract.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { ContentStore, Info, IngestOptions, LeaseManager } from '../../../core/content/types.js';
import { encoded, validateDigest, type Digest } from '../../../pkg/digest/index.js';
import { invalidArgument, notFound } from '../../../errdefs/index.js';

export class LocalContentStore implements ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;

  private constructor(readonly root: string, private readonly leases?: LeaseManager) {
    this.blobsDir = path.join(root, 'content', 'blobs', 'sha256');
    this.ingestDir = path.join(root, 'content', 'ingest');
  }

  /** Opens (creating) the store under `root`; removes ingests left by a process that died. */
  static async open(root: string, opts: { leases?: LeaseManager } = {}): Promise<LocalContentStore> {
    const s = new LocalContentStore(root, opts.leases);
    await fsp.mkdir(s.blobsDir, { recursive: true });
    await fsp.rm(s.ingestDir, { recursive: true, force: true });
    await fsp.mkdir(s.ingestDir, { recursive: true });
    return s;
  }

  path(digest: Digest): string {
    validateDigest(digest);
    return path.join(this.blobsDir, encoded(digest));
  }

  async info(digest: Digest): Promise<Info> {
    try {
      const st = await fsp.stat(this.path(digest));
      return { digest, size: st.size, createdAt: st.mtime };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`content ${digest}: not found`);
      throw e;
    }
  }

  async exists(digest: Digest): Promise<boolean> {
    try {
      await fsp.access(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  async readStream(digest: Digest, opts: { start?: number; end?: number } = {}): Promise<Readable> {
    const p = this.path(digest);
    const fh = await fsp.open(p, 'r').catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? notFound(`content ${digest}: not found`) : e;
    });
    return fh.createReadStream({ start: opts.start, end: opts.end, highWaterMark: 1 << 20 });
  }

  async readAll(digest: Digest): Promise<Buffer> {
    try {
      return await fsp.readFile(this.path(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`content ${digest}: not found`);
      throw e;
    }
  }

  tempPath(): string {
    return path.join(this.ingestDir, `${Date.now()}-${randomBytes(8).toString('hex')}`);
  }

  async ingest(input: Readable | AsyncIterable<Buffer>, opts: IngestOptions = {}): Promise<Info> {
    if (opts.expected) validateDigest(opts.expected);
    if (opts.lease && opts.expected) await this.leases?.addResource(opts.lease, { type: 'content', id: opts.expected });
    const tmp = this.tempPath();
    const hash = createHash('sha256');
    let size = 0;
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(input as Readable, hasher, createWriteStream(tmp, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 }), {
        signal: opts.signal,
      });
      // fsync applies to the inode: a fresh descriptor flushes what the stream wrote.
      await fsyncFile(tmp);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    try {
      if (opts.expected && digest !== opts.expected) {
        throw invalidArgument(`digest mismatch: expected ${opts.expected}, got ${digest}`);
      }
      if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
        throw invalidArgument(`size mismatch for ${digest}: expected ${opts.expectedSize} bytes, got ${size}`);
      }
      if (opts.lease && !opts.expected) await this.leases?.addResource(opts.lease, { type: 'content', id: digest });
      const dest = this.path(digest);
      // Renaming over an existing, identical blob is atomic and harmless: concurrent writers of one blob all succeed.
      await fsp.rename(tmp, dest);
      await syncDir(this.blobsDir);
      const st = await fsp.stat(dest);
      return { digest, size, createdAt: st.mtime };
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }

  async put(data: Buffer, opts: IngestOptions = {}): Promise<Info> {
    return this.ingest([data] as unknown as AsyncIterable<Buffer>, { ...opts, expectedSize: data.length });
  }

  async delete(digest: Digest): Promise<void> {
    try {
      await fsp.unlink(this.path(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`content ${digest}: not found`);
      throw e;
    }
  }

  async walk(fn: (info: Info) => void | Promise<void>): Promise<void> {
    for (const name of await fsp.readdir(this.blobsDir)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      let st;
      try {
        st = await fsp.stat(path.join(this.blobsDir, name));
      } catch {
        continue;
      }
      await fn({ digest: `sha256:${name}`, size: st.size, createdAt: st.mtime });
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncFile(file: string): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
