/**
 * Overlay snapshotter (kernel overlayfs).
 *
 * Layout under its root:
 *   metadata.json                 snapshot records (see ../metadata.ts)
 *   snapshots/<id>/fs             the snapshot's own diff (upperdir while active; a lowerdir once committed)
 *   snapshots/<id>/work           overlay workdir (active snapshots with a parent)
 *   l/<26 chars> -> ../snapshots/<id>/fs   short names that keep a deep lowerdir list under one page
 *
 * Mounts: an active snapshot without parent is a bind mount of its fs dir; with parents it is an overlay with the
 * parents' short links as lowerdir (nearest first). A view of one parent is a read-only bind; of several, a lowerdir-
 * only overlay.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Mount } from '../../../core/mount/types.js';
import type { SnapshotInfo, SnapshotOptions, Snapshotter, Usage } from '../../../core/snapshots/types.js';
import { alreadyExists, conflict, failedPrecondition, invalidArgument, notFound } from '../../../errdefs/index.js';
import type { LeaseManager } from '../../../core/content/types.js';
import { MetadataDb, cleanOrphans, type SnapshotRecord } from '../metadata.js';
import { dirUsage } from '../usage.js';
import { mountAll, unmount } from '../../../core/mount/index.js';

const LINK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function newLink(): string {
  const b = randomBytes(26);
  let s = '';
  for (const x of b) s += LINK_ALPHABET[x & 31];
  return s;
}

export class OverlaySnapshotter implements Snapshotter {
  readonly name = 'overlayfs';
  readonly diffIsParentIndependent = true;
  readonly whiteoutMode = 'overlay' as const;
  private constructor(
    readonly root: string,
    private readonly db: MetadataDb,
    private readonly leases?: LeaseManager,
  ) {}

  static async open(root: string, opts: { leases?: LeaseManager } = {}): Promise<OverlaySnapshotter> {
    await fsp.mkdir(path.join(root, 'snapshots'), { recursive: true });
    await fsp.mkdir(path.join(root, 'l'), { recursive: true });
    const db = await MetadataDb.open(path.join(root, 'metadata.json'));
    const s = new OverlaySnapshotter(root, db, opts.leases);
    await cleanOrphans(path.join(root, 'snapshots'), db.ids());
    const links = new Set(db.entries().map(([, r]) => r.link));
    for (const n of await fsp.readdir(path.join(root, 'l'))) if (!links.has(n)) await fsp.rm(path.join(root, 'l', n), { force: true });
    for (const n of await fsp.readdir(root)) if (n.endsWith('.tmp')) await fsp.rm(path.join(root, n), { force: true });
    return s;
  }

  private dir(r: SnapshotRecord): string {
    return path.join(this.root, 'snapshots', String(r.id));
  }

  private lower(r: SnapshotRecord): string {
    return path.join(this.root, 'l', r.link!);
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
    return dirUsage(path.join(this.dir(r), 'fs'));
  }

  async mounts(key: string): Promise<Mount[]> {
    return this.mountsOf(this.must(key));
  }

  private mountsOf(r: SnapshotRecord): Mount[] {
    const parents = this.db.parents(r.parent);
    const fs = path.join(this.dir(r), 'fs');
    if (r.kind === 'view') {
      if (parents.length === 0) return [{ type: 'bind', source: fs, options: ['ro', 'rbind'] }];
      if (parents.length === 1) return [{ type: 'bind', source: path.join(this.dir(parents[0]![1]), 'fs'), options: ['ro', 'rbind'] }];
      return [{ type: 'overlay', source: 'overlay', options: ['ro', `lowerdir=${parents.map(([, p]) => this.lower(p)).join(':')}`] }];
    }
    if (r.kind === 'committed') {
      // Committed snapshots are not mounted writable; expose them read-only with their parents.
      const all = [this.lower(r), ...parents.map(([, p]) => this.lower(p))];
      if (all.length === 1) return [{ type: 'bind', source: fs, options: ['ro', 'rbind'] }];
      return [{ type: 'overlay', source: 'overlay', options: ['ro', `lowerdir=${all.join(':')}`] }];
    }
    if (parents.length === 0) return [{ type: 'bind', source: fs, options: ['rw', 'rbind'] }];
    return [
      {
        type: 'overlay',
        source: 'overlay',
        options: [
          'index=off',
          `workdir=${path.join(this.dir(r), 'work')}`,
          `upperdir=${fs}`,
          `lowerdir=${parents.map(([, p]) => this.lower(p)).join(':')}`,
        ],
      },
    ];
  }

  private async create(kind: 'active' | 'view', key: string, parent: string | undefined, opts: SnapshotOptions): Promise<Mount[]> {
    if (!key) throw invalidArgument('snapshot key must not be empty');
    if (opts.lease) await this.leases?.addResource(opts.lease, { type: 'snapshot', id: key });
    return this.db.update(async (db) => {
      if (db.snapshots[key]) throw alreadyExists(`snapshot ${key} already exists`);
      if (parent !== undefined) {
        const p = db.snapshots[parent];
        if (!p) throw notFound(`parent snapshot ${parent} does not exist`);
        if (p.kind !== 'committed') throw invalidArgument(`parent ${parent} is not committed`);
      }
      const id = db.nextId++;
      const now = new Date().toISOString();
      const r: SnapshotRecord = { id, kind, labels: opts.labels ?? {}, created: now, updated: now, link: newLink() };
      if (parent !== undefined) r.parent = parent;
      const d = this.dir(r);
      await fsp.mkdir(path.join(d, 'fs'), { recursive: true, mode: 0o755 });
      if (kind === 'active') await fsp.mkdir(path.join(d, 'work'), { mode: 0o700 });
      await fsp.symlink(path.join('..', 'snapshots', String(id), 'fs'), path.join(this.root, 'l', r.link!));
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

  async commit(name: string, key: string, opts: SnapshotOptions & { parent?: string } = {}): Promise<void> {
    const r0 = this.must(key);
    if (r0.kind !== 'active') throw failedPrecondition(`snapshot ${key} is not active`);
    const usage = await dirUsage(path.join(this.dir(r0), 'fs'));
    if (opts.lease) await this.leases?.addResource(opts.lease, { type: 'snapshot', id: name });
    await this.db.update(async (db) => {
      const r = db.snapshots[key];
      if (!r || r.kind !== 'active') throw notFound(`snapshot ${key} does not exist`);
      if (db.snapshots[name]) throw alreadyExists(`snapshot ${name} already exists`);
      if (opts.parent !== undefined) {
        const p = db.snapshots[opts.parent];
        if (!p || p.kind !== 'committed') throw notFound(`parent snapshot ${opts.parent} does not exist`);
        if (r.parent !== undefined && r.parent !== opts.parent) throw invalidArgument(`snapshot ${key} already has parent ${r.parent}`);
        r.parent = opts.parent;
      }
      await fsp.rm(path.join(this.dir(r), 'work'), { recursive: true, force: true });
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
    let link = '';
    await this.db.update(async (db) => {
      const r = db.snapshots[key];
      if (!r) throw notFound(`snapshot ${key} does not exist`);
      for (const [k, o] of Object.entries(db.snapshots)) {
        if (o.parent === key) throw conflict(`cannot remove snapshot ${key}: snapshot ${k} depends on it`);
      }
      dir = this.dir(r);
      link = path.join(this.root, 'l', r.link!);
      // Move the data aside first so the record and the directory disappear together as far as start-up can tell.
      const trash = `${dir}-removing`;
      await fsp.rename(dir, trash).catch(() => {});
      dir = trash;
      delete db.snapshots[key];
    });
    await fsp.rm(link, { force: true });
    await fsp.rm(dir, { recursive: true, force: true });
  }

  async walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void> {
    for (const [k, r] of this.db.entries()) await fn(MetadataDb.info(k, r));
  }

  async writableDir(key: string): Promise<string> {
    const r = this.must(key);
    if (r.kind !== 'active') throw failedPrecondition(`snapshot ${key} is not active`);
    return path.join(this.dir(r), 'fs');
  }

  async diffDir(key: string): Promise<string> {
    return path.join(this.dir(this.must(key)), 'fs');
  }
}

/**
 * Whether overlayfs works on the filesystem holding `root`: known to the kernel and able to mount a two-lower
 * overlay with an upper there (an overlay- or tmpfs-backed data root may refuse). Cleans up after itself.
 */
export async function overlaySupported(root: string): Promise<boolean> {
  try {
    const fss = await fsp.readFile('/proc/filesystems', 'utf8');
    if (!/\toverlay$/m.test(fss)) return false;
  } catch {
    return false;
  }
  await fsp.mkdir(root, { recursive: true });
  const dir = await fsp.mkdtemp(path.join(root, 'overlay-check-'));
  const target = path.join(dir, 'merged');
  try {
    for (const d of ['l1', 'l2', 'upper', 'work', 'merged']) await fsp.mkdir(path.join(dir, d));
    await fsp.writeFile(path.join(dir, 'l2', 'f'), 'x');
    mountAll(
      [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${dir}/l1:${dir}/l2`, `upperdir=${dir}/upper`, `workdir=${dir}/work`] }],
      target,
    );
    try {
      return (await fsp.readFile(path.join(target, 'f'), 'utf8')) === 'x';
    } finally {
      unmount(target);
    }
  } catch {
    return false;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
