/**
 * The image metadata store as one JSON db (`<data-root>/images/db.json`) replaced atomically (temp file, fsync,
 * rename) on every change, and loaded at start-up. See core/images/store.ts for the contract.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readJsonFile, replaceJsonFile } from '../../../pkg/jsonfile/jsonfile.js';
import type { ImageRecord } from '../../../core/images/types.js';
import type { ImageStore } from '../../../core/images/store.js';

interface Db {
  version: 1;
  images: Record<string, ImageRecord>;
}

export class FileImageStore implements ImageStore {
  private db: Db = { version: 1, images: {} };
  /** reference string → image ID */
  private readonly refs = new Map<string, string>();
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(private readonly file: string) {}

  static async open(dir: string): Promise<FileImageStore> {
    await fsp.mkdir(dir, { recursive: true });
    const s = new FileImageStore(path.join(dir, 'db.json'));
    for (const n of await fsp.readdir(dir)) if (n.endsWith('.tmp')) await fsp.rm(path.join(dir, n), { force: true });
    // The db, else the copy of the one before the last change; when the db is unreadable (a truncated or garbled
    // file) it is kept aside and the store says it is `damaged`: the image service then re-adds, from what is on disk,
    // the images the index lost.
    const main = await readDb(s.file);
    if (main) s.db = main;
    else {
      const bak = await readDb(`${s.file}.bak`);
      if (main === undefined || bak !== null) {
        s.damaged = true;
        if (main === undefined) await fsp.rename(s.file, `${s.file}.damaged-${Date.now()}`).catch(() => {});
        if (bak) s.db = bak;
      }
    }
    if (!s.db.images) s.db = { version: 1, images: {} };
    s.reindex();
    return s;
  }

  /** Whether the db was unreadable at open (records may be missing; see open). */
  damaged = false;

  private reindex(): void {
    this.refs.clear();
    for (const img of Object.values(this.db.images)) {
      for (const r of [...img.repoTags, ...img.repoDigests]) this.refs.set(r, img.id);
    }
  }

  get(id: string): ImageRecord | undefined {
    return this.db.images[id];
  }

  all(): ImageRecord[] {
    return Object.values(this.db.images);
  }

  byRef(ref: string): ImageRecord | undefined {
    const id = this.refs.get(ref);
    return id ? this.db.images[id] : undefined;
  }

  /** IDs whose hex starts with `prefix` (hex only). */
  byPrefix(prefix: string): ImageRecord[] {
    const p = `sha256:${prefix}`;
    return this.all().filter((i) => i.id.startsWith(p));
  }

  children(id: string): ImageRecord[] {
    return this.all().filter((i) => i.parent === id);
  }

  /** Applies `fn` to a copy-on-write view of the db and persists it atomically; the in-memory state changes only on success. */
  async update<T>(fn: (images: Record<string, ImageRecord>) => T | Promise<T>): Promise<T> {
    const run = this.lock.then(async () => {
      const next = structuredClone(this.db);
      const res = await fn(next.images);
      await this.write(next);
      this.db = next;
      this.reindex();
      return res;
    });
    this.lock = run.catch(() => {});
    return run;
  }

  private async write(db: Db): Promise<void> {
    await replaceJsonFile(this.file, db, 0o600);
  }
}

/** A db file's content; null when absent, undefined when unreadable. */
async function readDb(file: string): Promise<Db | null | undefined> {
  const db = (await readJsonFile(file)) as Db | null | undefined;
  if (db === null || db === undefined) return db;
  return typeof db === 'object' && db.images && typeof db.images === 'object' ? db : undefined;
}
