/**
 * Snapshotter: stores filesystem trees as stacks of layers and hands out mounts for them (containerd's model).
 *
 * Terms:
 * - *snapshot*: a filesystem tree identified by a *key* (active/view) or a *name* (committed). Keys and names share
 *   one namespace.
 * - *parent*: the committed snapshot a snapshot is based on. A snapshot's contents are its parent's plus its own diff.
 * - *active* snapshot: writable, made by `prepare(key, parent)`. Container root filesystems and layer extraction use
 *   them. Only active snapshots can be committed.
 * - *view*: a read-only snapshot of a parent, made by `view(key, parent)`; it can be removed but never committed.
 * - *committed* snapshot: immutable, made by `commit(name, key)` from an active one (which ceases to exist). Image
 *   layers are committed snapshots named by their *chain ID*, so a layer shared by many images is stored once.
 *
 * The snapshotter never mounts anything itself: `prepare`, `view` and `mounts` return `Mount[]` as data for the
 * caller (core/mount's `mountAll`, or runc through the OCI spec).
 *
 * Lifecycle of a layer: prepare("extract-…", parentChain) → apply the layer tar into `writableDir` → commit(chainID,
 * "extract-…"). Lifecycle of a container: prepare(containerId, imageTopChain) → mount → run → unmount →
 * remove(containerId).
 */
import type { Mount } from '../mount/types.js';

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface SnapshotInfo {
  /** Key (active/view) or name (committed). */
  name: string;
  kind: SnapshotKind;
  parent?: string;
  labels: Record<string, string>;
  created: string;
  updated: string;
}

/** Disk usage of a snapshot's own data (its diff, not its parents'). */
export interface Usage {
  size: number;
  inodes: number;
}

export interface SnapshotOptions {
  labels?: Record<string, string>;
  /** Lease that protects the new snapshot from garbage collection until the work that creates it ends. */
  lease?: string;
}

export interface Snapshotter {
  /** Short name of the implementation (`overlayfs`, `native`); also Docker's GraphDriver name mapping. */
  readonly name: string;
  /**
   * Whether an active snapshot's writable directory holds exactly its diff (overlay) — then a layer can be extracted
   * without its parent and committed on top of any parent with `commit(..., { parent })`.
   */
  readonly diffIsParentIndependent: boolean;
  stat(key: string): Promise<SnapshotInfo>;
  /** Throws NotFound; for active snapshots usage is computed now, for committed ones it was recorded at commit. */
  usage(key: string): Promise<Usage>;
  /** Mounts of an active snapshot or view. */
  mounts(key: string): Promise<Mount[]>;
  prepare(key: string, parent?: string, opts?: SnapshotOptions): Promise<Mount[]>;
  view(key: string, parent?: string, opts?: SnapshotOptions): Promise<Mount[]>;
  /**
   * Commits active snapshot `key` as `name`. `opts.parent` (only when `diffIsParentIndependent`) re-bases a diff
   * extracted without its parent. `opts.usage`: the diff's usage as the caller that wrote it counted it (spares a
   * walk of it). Throws AlreadyExists if `name` exists.
   */
  commit(name: string, key: string, opts?: SnapshotOptions & { parent?: string; usage?: Usage }): Promise<void>;
  /** Removes a snapshot; Conflict while other snapshots have it as parent. */
  remove(key: string): Promise<void>;
  walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void>;
  /**
   * The directory where a layer's contents may be written directly for an active snapshot (overlay: the upper dir,
   * whiteouts in overlay form; native: the full tree, whiteouts applied as deletions). See `whiteoutMode`.
   */
  writableDir(key: string): Promise<string>;
  /** How whiteouts must be written into `writableDir`. */
  readonly whiteoutMode: 'overlay' | 'none';
  /** Local path of a committed snapshot's own diff directory (for `docker save` fallbacks and inspect). */
  diffDir(key: string): Promise<string>;
}
