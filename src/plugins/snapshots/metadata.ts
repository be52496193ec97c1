/**
 * The snapshot metadata db shared by the overlay and native snapshotters: one JSON file replaced atomically (write
 * temp, fsync, rename) after every change, and an in-process lock that serialises changes.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { SnapshotInfo, SnapshotKind, Usage } from '../../core/snapshots/types.js';

export interface SnapshotRecord {
  id: number;
  kind: SnapshotKind;
  parent?: string;
  labels: Record<string, string>;
  created: string;
  updated: string;
  /** overlay: short link name under l/ */
  link?: string;
  /** recorded at commit */
  usage?: Usage;
}

interface Db {
  nextId: number;
  snapshots: Record<string, SnapshotRecord>;
}

export class MetadataDb {
  private db: Db = { nextId: 1, snapshots: {} };
  private lock: Promise<unknown> = Promise.resolve();
  private constructor(private readonly file: string) {}

  static async open(file: string): Promise<MetadataDb> {
    const m = new MetadataDb(file);
    try {
      m.db = JSON.parse(await fsp.readFile(file, 'utf8')) as Db;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return m;
  }

  get(key: string): SnapshotRecord | undefined {
    return this.db.snapshots[key];
  }

  entries(): Array<[string, SnapshotRecord]> {
    return Object.entries(this.db.snapshots);
  }

  ids(): Set<number> {
    return new Set(Object.values(this.db.snapshots).map((r) => r.id));
  }

  /** Runs `fn` under the lock with a mutable view of the db, then persists it atomically. */
  async update<T>(fn: (db: Db) => Promise<T> | T): Promise<T> {
    const run = this.lock.then(async () => {
      const res = await fn(this.db);
      await this.save();
      return res;
    });
    this.lock = run.catch(() => {});
    return run;
  }

  private async save(): Promise<void> {
    const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(this.db));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.file);
  }

  static info(name: string, r: SnapshotRecord): SnapshotInfo {
    const i: SnapshotInfo = { name, kind: r.kind, labels: { ...r.labels }, created: r.created, updated: r.updated };
    if (r.parent !== undefined) i.parent = r.parent;
    return i;
  }

  /** Parent chain of a snapshot, nearest first (the snapshot itself excluded). */
  parents(parent: string | undefined): Array<[string, SnapshotRecord]> {
    const out: Array<[string, SnapshotRecord]> = [];
    let p = parent;
    while (p !== undefined) {
      const r = this.db.snapshots[p];
      if (!r) break;
      out.push([p, r]);
      p = r.parent;
    }
    return out;
  }
}

/** Removes stale temp files of the db and directories no record owns. */
export async function cleanOrphans(dir: string, known: Set<number>): Promise<void> {
  let names: string[] = [];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!known.has(Number(n))) await fsp.rm(path.join(dir, n), { recursive: true, force: true });
  }
}
