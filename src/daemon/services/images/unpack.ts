/**
 * Unpacker: turns layer tars into committed snapshots named by chain ID — for pull, load, import, commit and build.
 *
 * A layer is applied into a fresh *extract* snapshot (`extract-…` keys, which GC reclaims when abandoned), its diffID
 * is hashed on the way and checked against what the image config says, and the snapshot is committed as the layer's
 * chain ID. A chain that already exists is reused (the extract is dropped): layers shared by images are stored once.
 * Everything is recorded under the caller's lease, so a crash mid-way leaves only reclaimable work.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip, createGzip } from 'node:zlib';
import type { ContentStore, Info, LeaseManager } from '../../../core/content/types.js';
import type { Snapshotter, Usage } from '../../../core/snapshots/types.js';
import { MediaTypes } from '../../../core/images/types.js';
import type { ImportedLayer } from '../../../core/images/writer.js';
import { tee } from '../../../core/images/stream-util.js';
import { applyLayer } from '../../../pkg/archive/apply-layer.js';
import { joinTar } from '../../../pkg/tar/split.js';
import type { LayerRecord } from '../../../core/images/types.js';
import { detectCompression } from '../../../pkg/archive/compression.js';
import { digestOf, type Digest } from '../../../pkg/digest/index.js';
import { invalidArgument, type EngineError } from '../../../errdefs/index.js';

/** Key prefix of extraction snapshots: active snapshots GC may remove once no lease protects them. */
export const EXTRACT_PREFIX = 'extract-';

const execFileAsync = promisify(execFile);

export function extractKey(): string {
  return `${EXTRACT_PREFIX}${Date.now()}-${randomBytes(6).toString('hex')}`;
}

/** The chain ID of a layer `diffID` above `parent` (pkg/digest `chainIDs`, one step). */
export function chainOf(parent: Digest | undefined, diffID: Digest): Digest {
  return parent ? digestOf(`${parent} ${diffID}`) : diffID;
}

/** Media type of a stored layer blob by its first bytes. */
export function layerMediaType(head: Buffer | undefined): string {
  const comp = head ? detectCompression(head) : 'none';
  return comp === 'gzip' ? MediaTypes.dockerLayerGzip : comp === 'zstd' ? MediaTypes.ociLayerZstd : MediaTypes.dockerLayer;
}

export interface ApplyOptions {
  /** Chain ID of the layer below (undefined: a base layer). */
  parent?: Digest;
  /** The diffID the content must have (the image config's); checked after applying. */
  diffID?: Digest;
  lease: string;
  signal?: AbortSignal;
  /** Awaited with the apply before committing (e.g. the verified ingest of the same bytes). */
  gate?: Promise<unknown>;
  /** The error text when the content's diffID is not `diffID`. */
  mismatch?: (got: Digest, want: Digest) => string;
  /** See ApplyLayerOptions.syncSmallFiles. */
  syncSmallFiles?: boolean;
}

export interface AppliedLayer {
  diffID: Digest;
  chain: Digest;
  /** False when the chain already existed and was reused. */
  committed: boolean;
}

export class Unpacker {
  constructor(
    private readonly content: ContentStore,
    private readonly snapshots: Snapshotter,
    private readonly leases: LeaseManager,
  ) {}

  /** Whether a layer can be extracted without its parent and re-based at commit (overlay). */
  get detachedApply(): boolean {
    return this.snapshots.diffIsParentIndependent;
  }

  hasChain(chain: Digest): Promise<boolean> {
    return this.snapshots.stat(chain).then(
      () => true,
      () => false,
    );
  }

  /** Applies a layer stream above `opts.parent`, verifies its diffID and commits it as its chain (or reuses it). */
  async apply(input: Readable | AsyncIterable<Buffer>, opts: ApplyOptions): Promise<AppliedLayer> {
    if (opts.diffID) await this.leases.addResource(opts.lease, { type: 'snapshot', id: chainOf(opts.parent, opts.diffID) });
    const key = extractKey();
    await this.snapshots.prepare(key, opts.parent, { lease: opts.lease });
    let committed = false;
    try {
      const [res] = await Promise.all([
        applyLayer(input as Readable, await this.snapshots.writableDir(key), { whiteouts: this.snapshots.whiteoutMode, signal: opts.signal, syncSmallFiles: opts.syncSmallFiles }),
        opts.gate,
      ]);
      const diffID = res.diffID as Digest;
      if (opts.diffID && diffID !== opts.diffID) {
        throw invalidArgument(opts.mismatch ? opts.mismatch(diffID, opts.diffID) : `layer content has diffID ${diffID}, the image config says ${opts.diffID}`);
      }
      const chain = chainOf(opts.parent, diffID);
      committed = await this.commitChain(chain, key, opts.lease);
      return { diffID, chain, committed };
    } catch (e) {
      (input as Readable).destroy?.();
      throw e;
    } finally {
      if (!committed) await this.snapshots.remove(key).catch(() => {});
    }
  }

  /**
   * Applies a blob of the content store as the layer above `parent`, unless that chain already exists; `open` gives
   * the layer's tar another way (rebuilt from a tar split when the blob is not kept).
   */
  async applyStored(blob: Digest, diffID: Digest, parent: Digest | undefined, lease: string, signal?: AbortSignal, open = () => this.content.readStream(blob)): Promise<{ chain: Digest; extracted: boolean }> {
    const chain = chainOf(parent, diffID);
    await this.leases.addResource(lease, { type: 'snapshot', id: chain });
    if (await this.hasChain(chain)) return { chain, extracted: false };
    const r = await this.apply(await open(), {
      parent,
      diffID,
      lease,
      signal,
      mismatch: (got, want) => `layer ${blob}: content has diffID ${got}, the image config says ${want}`,
    });
    return { chain: r.chain, extracted: r.committed };
  }

  /**
   * Imports a layer tar of unknown diffID above `parentChain`: the stream is teed to the content store (the blob,
   * kept for save/push) and into the snapshot, hashing the diffID on the way. No temp files.
   */
  async importLayer(input: Readable, opts: { parentChain?: Digest; lease: string; signal?: AbortSignal; syncSmallFiles?: boolean }): Promise<ImportedLayer & { chainID: Digest }> {
    const [toBlob, toApply] = tee(input);
    let head: Buffer | undefined;
    toBlob!.once('data', (c: Buffer) => {
      head = c;
    });
    const [blob, applied] = await Promise.all([
      this.content.ingest(toBlob!, { lease: opts.lease, signal: opts.signal }),
      this.apply(toApply!, { parent: opts.parentChain, lease: opts.lease, signal: opts.signal, syncSmallFiles: opts.syncSmallFiles }),
    ]);
    return { diffID: applied.diffID, blob: blob.digest, blobSize: blob.size, mediaType: layerMediaType(head), chainID: applied.chain };
  }

  /**
   * Applies a layer into its own parentless extract snapshot (only where `detachedApply`), so a load can unpack
   * layers in archive order before it knows their parents; `commitDetached` re-bases it later, `discard` drops it.
   *
   * `keepTar` (an uncompressed layer whose exact tar `docker save` and push need back): berth-untar records the
   * layer's tar split while it extracts (ApplyLayerOptions.split), stored gzip'd as the blob `split`, and the tar
   * itself is never written; only when the split cannot rebuild it is the tar stored, as the blob `blob` (its digest
   * is the diffID). Exactly one of the two is set. Both are durable; the snapshot's files are not (syncSnapshots).
   */
  async applyDetached(input: Readable | AsyncIterable<Buffer>, lease: string, signal?: AbortSignal, opts: { keepTar?: boolean } = {}): Promise<{ key: string; diffID: Digest; split?: Digest; blob?: Info }> {
    const key = extractKey();
    await this.snapshots.prepare(key, undefined, { lease });
    const scratch = opts.keepTar ? { split: this.content.tempPath(), blob: this.content.tempPath() } : undefined;
    try {
      const res = await applyLayer(input as Readable, await this.snapshots.writableDir(key), { whiteouts: this.snapshots.whiteoutMode, signal, split: scratch });
      const diffID = res.diffID as Digest;
      if (!scratch) return { key, diffID };
      if (res.split?.clean) {
        const gz = createGzip({ level: 6 });
        pipeline(createReadStream(scratch.split), gz).catch(() => {}); // a read error reaches the ingest through gz
        const info = await this.content.ingest(gz, { lease, signal });
        return { key, diffID, split: info.digest as Digest };
      }
      const blob = await this.content.ingest(createReadStream(scratch.blob), { expected: diffID, lease, signal });
      return { key, diffID, blob };
    } catch (e) {
      await this.discard(key);
      throw e;
    } finally {
      if (scratch) await Promise.all([rm(scratch.split, { force: true }), rm(scratch.blob, { force: true })]);
    }
  }

  /**
   * Makes the files of committed snapshots durable: one syncfs of the snapshots' filesystem (`sync -f`), cheaper
   * than an fsync per file. Needed before an image record names a layer kept only unpacked (a tar split's layer:
   * its files are the only copy); a layer whose blob is kept can always be extracted again.
   */
  async syncSnapshots(chain: Digest): Promise<void> {
    await execFileAsync('sync', ['--file-system', await this.snapshots.diffDir(chain)]);
  }

  /** Commits a detached extract as `chain` above `parent`; false (the extract stays for `discard`) when it exists. */
  commitDetached(key: string, chain: Digest, parent: Digest | undefined, lease: string): Promise<boolean> {
    return this.commitChain(chain, key, lease, parent);
  }

  async discard(key: string): Promise<void> {
    await this.snapshots.remove(key).catch(() => {});
  }

  /**
   * Makes the active snapshot `key` the layer above `parent` without extracting anything again: `diff` (the layer as
   * an uncompressed tar) is stored as the blob and the snapshot is committed as the chain. Its writable dir holds the
   * layer already (the builder edited it through a mount), or `fill` writes it there, returning its usage: called once
   * the blob is stored and only when the chain does not exist yet, so a layer already present (a `--no-cache` rebuild
   * of the same files on the same parent) is never written twice. `committed` false: the chain existed, `key` is the
   * caller's to remove.
   *
   * Crash safety: the one fsync is the content store's, of the finished blob before it is renamed into place (the
   * image record naming it is written after). The snapshot's files are never fsynced one by one (nor are dockerd's
   * overlay2 layers); the snapshot record is replaced atomically after them.
   */
  async commitActive(key: string, diff: Readable, opts: { parent?: Digest; lease: string; signal?: AbortSignal; fill?: () => Promise<Usage> }): Promise<ImportedLayer & { chainID: Digest; committed: boolean }> {
    let head: Buffer | undefined;
    diff.once('data', (c: Buffer) => {
      head ??= c;
    });
    const blob = await this.content.ingest(diff, { lease: opts.lease, signal: opts.signal });
    // an uncompressed tar: the blob digest is the diffID
    const diffID = blob.digest as Digest;
    const chainID = chainOf(opts.parent, diffID);
    const layer = { diffID, blob: blob.digest as Digest, blobSize: blob.size, mediaType: layerMediaType(head), chainID };
    let usage: Usage | undefined;
    if (opts.fill) {
      // the lease holds the existing chain from here on
      await this.leases.addResource(opts.lease, { type: 'snapshot', id: chainID });
      if (await this.hasChain(chainID)) return { ...layer, committed: false };
      usage = await opts.fill();
    }
    return { ...layer, committed: await this.commitChain(chainID, key, opts.lease, undefined, usage) };
  }

  /** The layer tar rebuilt from a tar split and the committed snapshot `chain`; fails when it is not `diffID`. */
  async joinSplit(split: Digest, chain: Digest, diffID: Digest): Promise<Readable> {
    const dir = await this.snapshots.diffDir(chain);
    const records = (await this.content.readStream(split)).pipe(createGunzip());
    const hash = createHash('sha256');
    async function* checked(): AsyncGenerator<Buffer> {
      for await (const b of joinTar(records, dir)) {
        hash.update(b);
        yield b;
      }
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== diffID) throw new Error(`layer ${diffID}: the files of ${chain} give back a tar with digest ${got}`);
    }
    return Readable.from(checked(), { objectMode: false, highWaterMark: 1 << 20 });
  }

  /**
   * A layer's tar (uncompressed, or as stored): the kept blob when there is one, else rebuilt from its tar split and
   * snapshot `chain`.
   */
  async layerStream(layer: LayerRecord, chain: Digest): Promise<Readable> {
    if (layer.blob && (await this.content.exists(layer.blob))) return this.content.readStream(layer.blob);
    if (layer.tarSplit && (await this.content.exists(layer.tarSplit))) return this.joinSplit(layer.tarSplit, chain, layer.diffID);
    throw new Error(`layer ${layer.diffID} has no stored content`);
  }

  /** Commits `key` as `chain`; false (caller removes key) when the chain already exists. */
  private async commitChain(chain: Digest, key: string, lease: string, parent?: Digest, usage?: Usage): Promise<boolean> {
    await this.leases.addResource(lease, { type: 'snapshot', id: chain });
    if (await this.hasChain(chain)) return false;
    try {
      await this.snapshots.commit(chain, key, { lease, ...(parent !== undefined ? { parent } : {}), ...(usage ? { usage } : {}) });
      return true;
    } catch (e) {
      if ((e as EngineError).kind === 'AlreadyExists') return false;
      throw e;
    }
  }
}
