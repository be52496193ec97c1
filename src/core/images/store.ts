/**
 * ImageStore: the image records and the reference index (containerd's image store, Docker's reference store).
 *
 * Terms (see types.ts): an *image record* is keyed by its image ID; every RepoTag and RepoDigest of every record is a
 * *reference* that resolves to exactly one image. Configs and layers live elsewhere (content store, snapshotter);
 * this store only holds records. Reads are synchronous over the in-memory state; `update` is the only write: it runs
 * a change against a copy, persists it atomically, and only then makes it visible — a failed or interrupted update
 * changes nothing.
 */
import type { ImageRecord } from './types.js';

export interface ImageStore {
  /** True when the persisted index was unreadable at open: records may be missing and should be re-added from disk. */
  readonly damaged?: boolean;
  get(id: string): ImageRecord | undefined;
  all(): ImageRecord[];
  /** The image a normalised reference (`docker.io/library/busybox:latest`, `…@sha256:…`) points at. */
  byRef(ref: string): ImageRecord | undefined;
  /** Images whose ID hex starts with `prefix` (hex only). */
  byPrefix(prefix: string): ImageRecord[];
  /** Images whose `parent` is `id`. */
  children(id: string): ImageRecord[];
  /** Applies `fn` to a copy of the records and persists the result atomically; serialised with other updates. */
  update<T>(fn: (images: Record<string, ImageRecord>) => T | Promise<T>): Promise<T>;
}
