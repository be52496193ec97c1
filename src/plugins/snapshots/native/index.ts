/**
 * Native (copying) snapshotter: the fallback where overlayfs is unavailable. Every snapshot is a full tree; preparing
 * on a parent copies the parent (`cp -a`, keeping hardlinks, xattrs, devices). Mounts are bind mounts. Layers are
 * therefore extracted on top of a copy of their parent, and whiteouts are applied as deletions.
 *
 * Layout: metadata.json, snapshots/<id>/fs.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Mount } from '../../../core/mount/types.js';
import type { SnapshotInfo, SnapshotOptions, Snapshotter, Usage } from '../../../core/snapshots/types.js';
import type { LeaseManager } from '../../../core/content/types.js';
import { alreadyExists, conflict, failedPrecondition, invalidArgument, notFound } from '../../../errdefs/index.js';
import { MetadataDb, cleanOrphans, type SnapshotRecord } from '../metadata.js';
import { dirUsage } from '../usage.js';

const run = promisify(execFile);

export class NativeSnapshotter implements Snapshotter {
  readonly name = 'native';
  readonly diffIsParentIndependent = false;
  readonly whiteoutMode = 'none' as const;
  private constructor(
    readonly root: string,
    private readonly db: MetadataDb,
    private readonly leases?: LeaseManager,
  ) {}

  static async open(root: string, opts: { leases?: LeaseManager } = {}): Promise<NativeSnapshotter> {
    await fsp.mkdir(path.join(root, 'snapshots'), { recursive: true });
    const db = await MetadataDb.open(path.join(root, 'metadata.json'));
    await cleanOrphans(path.join(root, 'snapshots'), db.ids());
    return new NativeSnapshotter(root, db, opts.leases);
  }

  private dir(r: SnapshotRecord): string {
    return path.join(this.root, 'snapshots', String(r.id), 'fs');
  }

  private must(key: string): SnapshotRecord {
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
    return dirUsage(this.dir(r));
  }

  async mounts(key: string): Promise<Mount[]> {
    const r = this.must(key);
    return [{ type: 'bind', source: this.dir(r), options: [r.kind === 'active' ? 'rw' : 'ro', 'rbind'] }];
  }

  private async create(kind: 'active' | 'view', key: string, parent: string | undefined, opts: SnapshotOptions): Promise<Mount[]> {
    if (!key) throw invalidArgument('snapshot key must not be empty');
    if (opts.lease) await this.leases?.addResource(opts.lease, { type: 'snapshot', id: key });
    await this.db.update(async (db) => {
      if (db.snapshots[key]) throw alreadyExists(`snapshot ${key} already exists`);
      const p = parent !== undefined ? db.snapshots[parent] : undefined;
      if (parent !== undefined && (!p || p.kind !== 'committed')) throw notFound(`parent snapshot ${parent} does not exist`);
      const id = db.nextId++;
      const now = new Date().toISOString();
      const r: SnapshotRecord = { id, kind, labels: opts.labels ?? {}, created: now, updated: now };
      if (parent !== undefined) r.parent = parent;
      await fsp.mkdir(path.dirname(this.dir(r)), { recursive: true });
      if (p) await run('cp', ['-a', '--reflink=auto', this.dir(p), this.dir(r)]);
      else await fsp.mkdir(this.dir(r), { mode: 0o755 });
      db.snapshots[key] = r;
    });
    return this.mounts(key);
  }

  prepare(key: string, parent?: string, opts: SnapshotOptions = {}): Promise<Mount[]> {
    return this.create('active', key, parent, opts);
  }

  view(key: string, parent?: string, opts: SnapshotOptions = {}): Promise<Mount[]> {
    return this.create('view', key, parent, opts);
  }

  async commit(name: string, key: string, opts: SnapshotOptions & { parent?: string } = {}): Promise<void> {
    const r0 = this.must(key);
    if (r0.kind !== 'active') throw failedPrecondition(`snapshot ${key} is not active`);
    if (opts.parent !== undefined && opts.parent !== r0.parent) {
      throw invalidArgument('the native snapshotter cannot re-base a snapshot on another parent');
    }
    const usage = await dirUsage(this.dir(r0));
    if (opts.lease) await this.leases?.addResource(opts.lease, { type: 'snapshot', id: name });
    await this.db.update((db) => {
      const r = db.snapshots[key];
      if (!r) throw notFound(`snapshot ${key} does not exist`);
      if (db.snapshots[name]) throw alreadyExists(`snapshot ${name} already exists`);
      delete db.snapshots[key];
      r.kind = 'committed';
      r.updated = new Date().toISOString();
      r.usage = usage;
      if (opts.labels) r.labels = { ...r.labels, ...opts.labels };
      db.snapshots[name] = r;
    });
  }

  async remove(key: string): Promise<void> {
    let dir = '';
    await this.db.update(async (db) => {
      const r = db.snapshots[key];
      if (!r) throw notFound(`snapshot ${key} does not exist`);
      for (const [k, o] of Object.entries(db.snapshots)) {
        if (o.parent === key) throw conflict(`cannot remove snapshot ${key}: snapshot ${k} depends on it`);
      }
      dir = path.dirname(this.dir(r));
      const trash = `${dir}-removing`;
      await fsp.rename(dir, trash).catch(() => {});
      dir = trash;
      delete db.snapshots[key];
    });
    await fsp.rm(dir, { recursive: true, force: true });
  }

  async walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void> {
    for (const [k, r] of this.db.entries()) await fn(MetadataDb.info(k, r));
  }

  async writableDir(key: string): Promise<string> {
    const r = this.must(key);
    if (r.kind !== 'active') throw failedPrecondition(`snapshot ${key} is not active`);
    return this.dir(r);
  }

  async diffDir(key: string): Promise<string> {
    return this.dir(this.must(key));
  }
}
