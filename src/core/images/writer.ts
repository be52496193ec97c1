/**
 * ImageWriter: what makes new images from snapshots — the container commit and the Dockerfile builder both write
 * through it (the image service implements it).
 *
 * Lifecycle of a new image: `leases.create()` → prepare/edit snapshots (`snapshots`) → `importLayer` of each diff on
 * top of its parent chain (content blob + committed snapshot, both under the lease) → `createImage` with the config
 * bytes and the layer records (the config's `rootfs.diff_ids` must match them) → `leases.delete()`. Until the record
 * is written nothing refers to the new layers; a crash in between leaves leased work that GC reclaims.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../../pkg/digest/index.js';
import type { Snapshotter, Usage } from '../snapshots/types.js';
import type { ImageConfig, LayerRecord } from './types.js';

/** A layer imported from a tar stream: its diffID and the blob kept for save/push. */
export interface ImportedLayer {
  diffID: Digest;
  blob?: Digest;
  blobSize?: number;
  mediaType?: string;
}

export interface ImageWriter {
  readonly snapshots: Snapshotter;
  readonly leases: { create(): Promise<{ id: string }>; delete(id: string): Promise<void> };
  /** Docker's image lookup (ID, reference, ID prefix); throws NotFound. */
  resolve(name: string): { id: string; layers: LayerRecord[] };
  config(id: string): Promise<ImageConfig>;
  /** Imports a layer tar (plain/gzip/zstd) as the layer above `parentChain` (`syncSmallFiles`: see applyLayer). */
  importLayer(input: Readable, opts: { parentChain?: Digest; lease: string; signal?: AbortSignal; syncSmallFiles?: boolean }): Promise<ImportedLayer>;
  /**
   * Commits an active snapshot whose writable dir holds exactly the layer `diff` (an uncompressed tar of that dir) —
   * or will, once `fill` wrote it there (called only when the chain does not exist yet; returns the tree's usage):
   * the tar is stored as the blob and the snapshot becomes the layer's chain, with no second extraction. When the
   * chain already exists, `committed` is false and the caller removes `key`.
   */
  commitActive?(key: string, diff: Readable, opts: { parentChain?: Digest; lease: string; signal?: AbortSignal; fill?: () => Promise<Usage> }): Promise<ImportedLayer & { committed: boolean }>;
  /** Stores the config (its digest is the image ID) and the image record with `tags`; returns the record. */
  createImage(configBytes: Buffer, layers: LayerRecord[], tags: string[], opts?: { parent?: Digest; lease?: string }): Promise<{ id: string }>;
  /** `docker tag`. */
  tag(source: string, repo: string, tag?: string): Promise<void>;
}
