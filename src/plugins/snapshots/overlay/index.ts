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
import type { LeaseManager } from '../../../core/content/types.js';
import { MetadataSnapshotter } from '../base.js';
import { spreadSubdirectories } from '../placement.js';
import { MetadataDb, cleanOrphans, type SnapshotRecord } from '../metadata.js';
import { mountAll, unmount } from '../../../core/mount/index.js';

const LINK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function newLink(): string {
  const b = randomBytes(26);
  let s = '';
  for (const x of b) s += LINK_ALPHABET[x & 31];
  return s;
}

export class OverlaySnapshotter extends MetadataSnapshotter {
  readonly name = 'overlayfs';
  readonly diffIsParentIndependent = true;
  readonly whiteoutMode = 'overlay' as const;

  static async open(root: string, opts: { leases?: LeaseManager } = {}): Promise<OverlaySnapshotter> {
    await fsp.mkdir(path.join(root, 'snapshots'), { recursive: true });
    await fsp.mkdir(path.join(root, 'l'), { recursive: true });
    spreadSubdirectories(path.join(root, 'snapshots')); // placement.ts: creates away from recently freed inodes
    const db = await MetadataDb.open(path.join(root, 'metadata.json'));
    const s = new OverlaySnapshotter(root, db, opts.leases);
    await cleanOrphans(path.join(root, 'snapshots'), db.ids());
    const links = new Set(db.entries().map(([, r]) => r.link));
    for (const n of await fsp.readdir(path.join(root, 'l'))) if (!links.has(n)) await fsp.rm(path.join(root, 'l', n), { force: true });
    for (const n of await fsp.readdir(root)) if (n.endsWith('.tmp')) await fsp.rm(path.join(root, n), { force: true });
    return s;
  }

  private lower(r: SnapshotRecord): string {
    return path.join(this.root, 'l', r.link!);
  }

  protected override newRecordFields(): Partial<SnapshotRecord> {
    return { link: newLink() };
  }

  protected async populate(r: SnapshotRecord): Promise<void> {
    const d = this.recordDir(r);
    await fsp.mkdir(path.join(d, 'fs'), { recursive: true, mode: 0o755 });
    if (r.kind === 'active') await fsp.mkdir(path.join(d, 'work'), { mode: 0o700 });
    await fsp.symlink(path.join('..', 'snapshots', String(r.id), 'fs'), this.lower(r));
  }

  protected override async onCommit(r: SnapshotRecord): Promise<void> {
    await fsp.rm(path.join(this.recordDir(r), 'work'), { recursive: true, force: true });
  }

  protected override async afterRemove(r: SnapshotRecord): Promise<void> {
    await fsp.rm(this.lower(r), { force: true });
  }

  protected mountsOf(r: SnapshotRecord): Mount[] {
    const parents = this.db.parents(r.parent);
    const fs = this.fsDir(r);
    if (r.kind === 'view') {
      if (parents.length === 0) return [{ type: 'bind', source: fs, options: ['ro', 'rbind'] }];
      if (parents.length === 1) return [{ type: 'bind', source: this.fsDir(parents[0]![1]), options: ['ro', 'rbind'] }];
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
          `workdir=${path.join(this.recordDir(r), 'work')}`,
          `upperdir=${fs}`,
          `lowerdir=${parents.map(([, p]) => this.lower(p)).join(':')}`,
        ],
      },
    ];
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
  let dir: string;
  try {
    dir = await fsp.mkdtemp(path.join(root, 'overlay-check-'));
  } catch (e) {
    // a full disk cannot hold the probe: the kernel has overlay, so take it rather than refuse to start
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC' || (e as NodeJS.ErrnoException).code === 'EDQUOT') return true;
    throw e;
  }
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
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return true; // the probe's files did not fit: as above
    return false;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
