/**
 * Content store: immutable blobs addressed by their sha256 digest.
 *
 * Terms:
 * - *blob*: a byte sequence stored once under its digest (an image config, a manifest, a layer tar as received).
 * - *ingest*: writing a blob from a stream. The bytes go to a private temporary file; when the stream ends the digest
 *   (and size, when expected) are verified, the file is fsync'ed and renamed into place. A blob therefore either
 *   exists complete and verified, or not at all — a crash mid-write leaves only a temporary file that start-up removes.
 *   Two writers of the same blob both succeed: renames of identical content replace each other atomically.
 * - *lease*: a named, recorded claim on resources (blobs, snapshots) that work in progress is creating but that no
 *   image references yet. Garbage collection never removes a leased resource. A lease ends when the work ends
 *   (`delete`), when it expires, or — for leases of a process that died — at the next start-up.
 *
 * Lifecycle of a load: create lease → ingest blobs under it → apply layers into snapshots under it → write the image
 * record → delete the lease. If the daemon dies in between, start-up drops the lease and the next GC reclaims the
 * half-done work.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../../pkg/digest/index.js';

/** OCI descriptor: what a manifest says about a blob it points to. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

/** What the store knows about one blob. */
export interface Info {
  digest: Digest;
  size: number;
  /** When the blob was committed (file mtime). */
  createdAt: Date;
}

export interface IngestOptions {
  /** Digest the content must hash to; the ingest fails (and stores nothing) otherwise. */
  expected?: Digest;
  /** Exact byte count the content must have. */
  expectedSize?: number;
  /** Lease to record the blob under before it is committed (protects it from GC until the lease ends). */
  lease?: string;
  signal?: AbortSignal;
}

export interface ContentStore {
  /**
   * A fresh path in the store's scratch area (same filesystem as the blobs; whatever is left there is removed when
   * the store opens), for a writer that fills a file before it is ingested. The caller removes it.
   */
  tempPath(): string;
  /** Info of a committed blob; throws NotFound. */
  info(digest: Digest): Promise<Info>;
  /** Whether a committed blob exists. */
  exists(digest: Digest): Promise<boolean>;
  /** Streams a committed blob; throws NotFound. */
  readStream(digest: Digest, opts?: { start?: number; end?: number }): Promise<Readable>;
  /** Reads a whole (small) blob. */
  readAll(digest: Digest): Promise<Buffer>;
  /** Local path of a committed blob (read-only use). */
  path(digest: Digest): string;
  /** Streams `input` into the store; resolves with the committed blob's info. */
  ingest(input: Readable | AsyncIterable<Buffer>, opts?: IngestOptions): Promise<Info>;
  /** Stores a buffer (convenience over ingest). */
  put(data: Buffer, opts?: Omit<IngestOptions, 'expected'> & { expected?: Digest }): Promise<Info>;
  /** Removes a blob; throws NotFound when absent. */
  delete(digest: Digest): Promise<void>;
  /** Calls `fn` for every committed blob. */
  walk(fn: (info: Info) => void | Promise<void>): Promise<void>;
}

/** What a lease protects: a blob (`content`) or a snapshot key (`snapshot`). */
export interface LeaseResource {
  type: 'content' | 'snapshot';
  id: string;
}

export interface Lease {
  id: string;
  createdAt: string;
  /** ISO time after which the lease is void; absent = until deleted or until the owning daemon dies. */
  expiresAt?: string;
  /** Boot ID of the daemon process that created it; leases of other boots are void unless `expiresAt` is set. */
  boot: string;
  resources: LeaseResource[];
  labels?: Record<string, string>;
}

export interface LeaseManager {
  create(opts?: { id?: string; expiresInMs?: number; labels?: Record<string, string> }): Promise<Lease>;
  addResource(leaseId: string, res: LeaseResource): Promise<void>;
  delete(leaseId: string): Promise<void>;
  /** Live leases (expired ones are dropped as a side effect). */
  list(): Promise<Lease[]>;
  /** Every resource some live lease protects. */
  protectedResources(): Promise<{ content: Set<string>; snapshots: Set<string> }>;
}
