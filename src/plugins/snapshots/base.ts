/**
 * What the overlay and native snapshotters share: the metadata db walk-through of containerd's Snapshotter contract
 * (key namespace, parent rules, active → committed, removal order, usage recorded at commit, lease hooks). A
 * subclass only says where a snapshot's data lives, how it is laid out on creation and which mounts show it.
 *
 * Every change runs under the metadata db's lock and is persisted before it resolves; directories are moved aside
 * (`<dir>-removing`) in the same step that drops a record, so start-up's orphan clean-up sees the two agree.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Mount } from '../../core/mount/types.js';
import type { SnapshotInfo, SnapshotKind, SnapshotOptions, Snapshotter, Usage } from '../../core/snapshots/types.js';
import type { LeaseManager } from '../../core/content/types.js';
import { alreadyExists, conflict, failedPrecondition, invalidArgument, notFound } from '../../errdefs/index.js';
import { MetadataDb, type SnapshotRecord } from './metadata.js';
import { dirUsage } from './usage.js';

export abstract class MetadataSnapshotter implements Snapshotter {
  abstract readonly name: string;
  abstract readonly diffIsParentIndependent: boolean;
  abstract readonly whiteoutMode: 'overlay' | 'none';

  protected constructor(
    readonly root: string,
    protected readonly db: MetadataDb,
    private readonly leases?: LeaseManager,
  ) {}

  /** Set when the metadata db was unreadable at open and was rebuilt from the snapshot directories (what happened). */
  get damaged(): string | undefined {
    return this.db.damaged;
  }

  /** `<root>/snapshots/<id>`: everything a snapshot owns on disk. */
  protected recordDir(r: SnapshotRecord): string {
    return path.join(this.root, 'snapshots', String(r.id));
  }

  /** The snapshot's own diff (overlay) or full tree (native). */
  protected fsDir(r: SnapshotRecord): string {
    return path.join(this.recordDir(r), 'fs');
  }

  /** Mounts that show snapshot `r` (active: writable; view and committed: read-only). */
  protected abstract mountsOf(r: SnapshotRecord): Mount[];
  /** Lays out a new snapshot's directories (`parent` is its committed parent's record). */
  protected abstract populate(r: SnapshotRecord, parent: SnapshotRecord | undefined): Promise<void>;
  /** Extra record fields a new snapshot gets (overlay: its short link name). */
  protected newRecordFields(): Partial<SnapshotRecord> {
    return {};
  }
  /** Tidies an active snapshot's directory as it becomes committed (overlay: drops the workdir). */
  protected async onCommit(_r: SnapshotRecord): Promise<void> {}
  /** Removes what lives outside `recordDir` once a record is gone (overlay: its short link). */
  protected async afterRemove(_r: SnapshotRecord): Promise<void> {}

  protected must(key: string): SnapshotRecord {
    const r = this.db.get(key);
    if (!r) throw notFound(`snapshot ${key} does not exist`);
    return r;
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return MetadataDb.info(key, this.must(key));
  }

  async usage(key: string): Promise<Usage> {
    const r = this.must(key);
    if (r.kind === 'committed' && r.usage) return r.usage;
    return dirUsage(this.fsDir(r));
  }

  async mounts(key: string): Promise<Mount[]> {
    return this.mountsOf(this.must(key));
  }

  private async create(kind: Exclude<SnapshotKind, 'committed'>, key: string, parent: string | undefined, opts: SnapshotOptions): Promise<Mount[]> {
    if (!key) throw invalidArgument('snapshot key must not be empty');
    if (opts.lease) await this.leases?.addResource(opts.lease, { type: 'snapshot', id: key });
    return this.db.update(async (db) => {
      if (db.snapshots[key]) throw alreadyExists(`snapshot ${key} already exists`);
      let p: SnapshotRecord | undefined;
      if (parent !== undefined) {
        p = db.snapshots[parent];
        if (!p) throw notFound(`parent snapshot ${parent} does not exist`);
        if (p.kind !== 'committed') throw invalidArgument(`parent ${parent} is not committed`);
      }
      const now = new Date().toISOString();
      const r: SnapshotRecord = { id: db.nextId++, kind, labels: opts.labels ?? {}, created: now, updated: now, ...this.newRecordFields() };
      if (parent !== undefined) r.parent = parent;
      await this.populate(r, p);
      db.snapshots[key] = r;
      return this.mountsOf(r);
    });
  }

  prepare(key: string, parent?: string, opts: SnapshotOptions = {}): Promise<Mount[]> {
    return this.create('active', key, parent, opts);
  }

  view(key: string, parent?: string, opts: SnapshotOptions = {}): Promise<Mount[]> {
    return this.create('view', key, parent, opts);
  }

  async commit(name: string, key: string, opts: SnapshotOptions & { parent?: string; usage?: Usage } = {}): Promise<void> {
    const r0 = this.must(key);
    if (r0.kind !== 'active') throw failedPrecondition(`snapshot ${key} is not active`);
    if (opts.parent !== undefined && opts.parent !== r0.parent && !this.diffIsParentIndependent) {
      throw invalidArgument(`the ${this.name} snapshotter cannot re-base a snapshot on another parent`);
    }
    const usage = opts.usage ?? (await dirUsage(this.fsDir(r0)));
    if (opts.lease) await this.leases?.addResource(opts.lease, { type: 'snapshot', id: name });
    await this.db.update(async (db) => {
      const r = db.snapshots[key];
      if (!r || r.kind !== 'active') throw notFound(`snapshot ${key} does not exist`);
      if (db.snapshots[name]) throw alreadyExists(`snapshot ${name} already exists`);
      if (opts.parent !== undefined && opts.parent !== r.parent) {
        const p = db.snapshots[opts.parent];
        if (!p || p.kind !== 'committed') throw notFound(`parent snapshot ${opts.parent} does not exist`);
        if (r.parent !== undefined) throw invalidArgument(`snapshot ${key} already has parent ${r.parent}`);
        r.parent = opts.parent;
      }
      await this.onCommit(r);
      delete db.snapshots[key];
      r.kind = 'committed';
      r.updated = new Date().toISOString();
      r.usage = usage;
      if (opts.labels) r.labels = { ...r.labels, ...opts.labels };
      db.snapshots[name] = r;
    });
  }

  async remove(key: string): Promise<void> {
    let removed: SnapshotRecord | undefined;
    let trash = '';
    await this.db.update(async (db) => {
      const r = db.snapshots[key];
      if (!r) throw notFound(`snapshot ${key} does not exist`);
      for (const [k, o] of Object.entries(db.snapshots)) {
        if (o.parent === key) throw conflict(`cannot remove snapshot ${key}: snapshot ${k} depends on it`);
      }
      // Move the data aside first so the record and the directory disappear together as far as start-up can tell.
      const dir = this.recordDir(r);
      trash = `${dir}-removing`;
      await fsp.rename(dir, trash).catch(() => {});
      delete db.snapshots[key];
      removed = r;
    });
    await this.afterRemove(removed!);
    // The record is gone and the data moved aside: the tree's deletion is off the caller's path (a `--rm` reply
    // waits for this). One that a crash or a failure interrupts is finished by start-up's orphan clean-up.
    void fsp.rm(trash, { recursive: true, force: true }).catch(() => {});
  }

  async walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void> {
    for (const [k, r] of this.db.entries()) await fn(MetadataDb.info(k, r));
  }

  async writableDir(key: string): Promise<string> {
    const r = this.must(key);
    if (r.kind !== 'active') throw failedPrecondition(`snapshot ${key} is not active`);
    return this.fsDir(r);
  }

  async diffDir(key: string): Promise<string> {
    return this.fsDir(this.must(key));
  }
}
