/**
 * The snapshot metadata db shared by the overlay and native snapshotters: one JSON file replaced atomically (write
 * temp, fsync, rename) after every change, and an in-process lock that serialises changes.
 *
 * What is on disk can rebuild it: each snapshot's directory holds a copy of its own record (`<id>/record.json`,
 * with its key, rewritten when the record changes), and the db before the last change stays as `metadata.json.bak`
 * (a hard link). A truncated or garbled db therefore never stops the daemon: it is kept aside
 * (`metadata.json.damaged-<ms>`), the records are rebuilt from the .bak overlaid with the per-snapshot copies
 * (dropping those whose directory is gone), and `damaged` says what happened so the daemon logs it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readJsonFile, replaceJsonFile } from '../../pkg/jsonfile/jsonfile.js';
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

const KINDS = new Set<string>(['active', 'view', 'committed']);

function validRecord(r: unknown): r is SnapshotRecord {
  const o = r as SnapshotRecord;
  return !!o && typeof o === 'object' && Number.isSafeInteger(o.id) && o.id > 0 && KINDS.has(o.kind) &&
    (o.parent === undefined || typeof o.parent === 'string') && (o.link === undefined || typeof o.link === 'string') &&
    !!o.labels && typeof o.labels === 'object' && typeof o.created === 'string' && typeof o.updated === 'string';
}

/** A db file's content; null when absent, undefined when unreadable or not a snapshot db. */
async function readDb(file: string): Promise<Db | null | undefined> {
  const db = (await readJsonFile(file)) as Db | null | undefined;
  if (db === null || db === undefined) return db;
  if (typeof db !== 'object' || !Number.isSafeInteger(db.nextId) || !db.snapshots || typeof db.snapshots !== 'object' || Array.isArray(db.snapshots)) return undefined;
  for (const r of Object.values(db.snapshots)) if (!validRecord(r)) return undefined;
  return db;
}

export class MetadataDb {
  private db: Db = { nextId: 1, snapshots: {} };
  private lock: Promise<unknown> = Promise.resolve();
  /** id → the record copy last written into that snapshot's directory */
  private written = new Map<number, string>();
  /** Set when the db was unreadable at open and had to be rebuilt: what was found and done, for the daemon's log. */
  damaged?: string;
  private constructor(private readonly file: string) {}

  /** `<dir of the db>/snapshots`: where each snapshot's directory (`<id>/`) lives. */
  private get dataDir(): string {
    return path.join(path.dirname(this.file), 'snapshots');
  }

  static async open(file: string): Promise<MetadataDb> {
    const m = new MetadataDb(file);
    const main = await readDb(file);
    if (main) m.db = main;
    else if (main === undefined) await m.rebuild();
    // note the copies already on disk; write those missing (a data root from before copies were kept)
    let missing = false;
    for (const [key, r] of Object.entries(m.db.snapshots)) {
      const text = JSON.stringify({ key, ...r });
      const onDisk = await fsp.readFile(path.join(m.dataDir, String(r.id), 'record.json'), 'utf8').catch(() => '');
      if (onDisk === text) m.written.set(r.id, text);
      else missing = true;
    }
    if (missing) await m.writeCopies();
    return m;
  }

  /** Rebuilds the records of an unreadable db from its .bak and the per-snapshot copies (see the file's comment). */
  private async rebuild(): Promise<void> {
    const aside = `${this.file}.damaged-${Date.now()}`;
    await fsp.rename(this.file, aside).catch(() => {});
    const bak = (await readDb(`${this.file}.bak`)) ?? undefined;
    const byId = new Map<number, [string, SnapshotRecord]>();
    for (const [k, r] of Object.entries(bak?.snapshots ?? {})) byId.set(r.id, [k, r]);
    let names: string[] = [];
    try {
      names = await fsp.readdir(this.dataDir);
    } catch {
      /* no snapshots yet */
    }
    const dirs = new Set(names.filter((n) => /^[1-9][0-9]*$/.test(n)).map(Number));
    let fromCopies = 0;
    for (const id of dirs) {
      try {
        const { key, ...r } = JSON.parse(await fsp.readFile(path.join(this.dataDir, String(id), 'record.json'), 'utf8')) as SnapshotRecord & { key: string };
        if (typeof key === 'string' && key && validRecord(r) && r.id === id) {
          byId.set(id, [key, r]);
          fromCopies++;
        }
      } catch {
        /* no copy (a snapshot made before copies were kept) or a torn one: the .bak may know it */
      }
    }
    const snapshots: Record<string, SnapshotRecord> = {};
    for (const [id, [k, r]] of byId) if (dirs.has(id) && !snapshots[k]) snapshots[k] = r;
    // a parent that did not survive makes its children unusable: drop them too (their directories go as orphans)
    for (let changed = true; changed; ) {
      changed = false;
      for (const [k, r] of Object.entries(snapshots)) if (r.parent !== undefined && !snapshots[r.parent]) { delete snapshots[k]; changed = true; }
    }
    const ids = Object.values(snapshots).map((r) => r.id);
    this.db = { nextId: Math.max(bak?.nextId ?? 1, ...dirs, ...ids) + 1, snapshots };
    const lost = dirs.size - ids.length;
    this.damaged = `${path.basename(this.file)} was unreadable (kept as ${path.basename(aside)}): ${ids.length} snapshot record(s) rebuilt from the snapshot directories (${fromCopies} from their record copies${bak ? ', the rest from metadata.json.bak' : ''})${lost ? `, ${lost} directory(ies) without a record will be removed` : ''}`;
    await this.save();
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
    await replaceJsonFile(this.file, this.db);
    await this.writeCopies();
  }

  /** Writes each changed record's copy into its snapshot's directory (best effort: the db stays the authority). */
  private async writeCopies(): Promise<void> {
    const live = new Set<number>();
    for (const [key, r] of Object.entries(this.db.snapshots)) {
      live.add(r.id);
      const text = JSON.stringify({ key, ...r });
      if (this.written.get(r.id) === text) continue;
      const f = path.join(this.dataDir, String(r.id), 'record.json');
      try {
        await fsp.writeFile(`${f}.tmp`, text);
        await fsp.rename(`${f}.tmp`, f);
        this.written.set(r.id, text);
      } catch {
        /* the directory is gone or the disk is full: a rebuild then relies on the .bak */
      }
    }
    for (const id of this.written.keys()) if (!live.has(id)) this.written.delete(id);
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
