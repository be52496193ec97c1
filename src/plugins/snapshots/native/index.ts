/**
 * Native (copying) snapshotter: the fallback where overlayfs is unavailable. Every snapshot is a full tree; preparing
 * on a parent copies the parent (`cp -a`, keeping hardlinks, xattrs, devices). Mounts are bind mounts. Layers are
 * therefore extracted on top of a copy of their parent, and whiteouts are applied as deletions.
 *
 * Layout: metadata.json, snapshots/<id>/fs.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Mount } from '../../../core/mount/types.js';
import type { LeaseManager } from '../../../core/content/types.js';
import { hostKernel } from '../../../sys/kernel.js';
import { MetadataSnapshotter } from '../base.js';
import { spreadSubdirectories } from '../placement.js';
import { MetadataDb, cleanOrphans, type SnapshotRecord } from '../metadata.js';

export class NativeSnapshotter extends MetadataSnapshotter {
  readonly name = 'native';
  readonly diffIsParentIndependent = false;
  readonly whiteoutMode = 'none' as const;

  static async open(root: string, opts: { leases?: LeaseManager } = {}): Promise<NativeSnapshotter> {
    await fsp.mkdir(path.join(root, 'snapshots'), { recursive: true });
    spreadSubdirectories(path.join(root, 'snapshots')); // placement.ts: creates away from recently freed inodes
    const db = await MetadataDb.open(path.join(root, 'metadata.json'));
    await cleanOrphans(path.join(root, 'snapshots'), db.ids());
    return new NativeSnapshotter(root, db, opts.leases);
  }

  protected async populate(r: SnapshotRecord, parent: SnapshotRecord | undefined): Promise<void> {
    await fsp.mkdir(this.recordDir(r), { recursive: true });
    if (parent) await hostKernel.copyTree(this.fsDir(parent), this.fsDir(r), { reflink: true });
    else await fsp.mkdir(this.fsDir(r), { mode: 0o755 });
  }

  protected mountsOf(r: SnapshotRecord): Mount[] {
    return [{ type: 'bind', source: this.fsDir(r), options: [r.kind === 'active' ? 'rw' : 'ro', 'rbind'] }];
  }
}
