/**
 * ImageService: the image store of berthd, over the content store (blobs), the snapshotter (layers by chain ID)
 * and the image metadata store (records and references).
 *
 * Every write path follows one crash-safe order: take a lease → write blobs and snapshots under it → write the image
 * record (one atomic db replace) → end the lease. A daemon killed in between leaves only leased, unreferenced work,
 * which start-up GC removes. Nothing is ever referenced before it is complete and verified.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { decodeText } from '../../api/decode/schema.js';
import { archiveManifest, ociDocument, parseImageConfig } from '../../api/types/image.js';
import { LocalContentStore } from '../../plugins/content/local/store.js';
import { FileLeaseManager } from '../../plugins/content/local/leases.js';
import { OverlaySnapshotter, overlaySupported } from '../../plugins/snapshots/overlay/index.js';
import { NativeSnapshotter } from '../../plugins/snapshots/native/index.js';
import type { Snapshotter } from '../../core/snapshots/types.js';
import type { Mount } from '../../core/mount/types.js';
import { ImageStore } from '../../core/images/store.js';
import type { ContainerConfig, ImageConfig, ImageRecord, ImageUsage, LayerRecord } from '../../core/images/types.js';
import { MediaTypes } from '../../core/images/types.js';
import { applyChanges } from '../../core/images/changes.js';
import { tee, readAllLimited } from '../../core/images/stream-util.js';
import { applyLayer } from '../../pkg/archive/apply-layer.js';
import { detectCompression } from '../../pkg/archive/compression.js';
import { readTar } from '../../pkg/tar/reader.js';
import { TarWriter } from '../../pkg/tar/writer.js';
import { chainIDs, digestOf, isDigest, type Digest } from '../../pkg/digest/index.js';
import * as ref from '../../pkg/reference/index.js';
import { Filters } from '../../pkg/filters/filters.js';
import { conflict, EngineError, invalidArgument, isNotFound, notFound, notImplemented } from '../../errdefs/index.js';

const goArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
export const HOST_ARCH = goArch[process.arch] ?? process.arch;
const EXTRACT_PREFIX = 'extract-';
const MAX_JSON = 32 << 20;

export interface ImageServiceOptions {
  dataRoot: string;
  /** Force a snapshotter ('overlayfs' | 'native'); default: overlay when the kernel and filesystem allow it. */
  snapshotter?: string;
  log?: (msg: string) => void;
}

/** One line of a load/import progress stream. */
export type ProgressMessage = { stream?: string; status?: string; id?: string; progress?: string; progressDetail?: object; error?: string; errorDetail?: { message: string } };

export interface DeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

export interface ImportLayerResult extends LayerRecord {
  chainID: Digest;
  size: number;
}

/** Whether a blob's first bytes (up to 512) announce a layer: gzip, zstd, or a ustar/GNU tar header. */
function looksLikeLayer(head: Buffer): boolean {
  const c = detectCompression(head);
  if (c === 'gzip' || c === 'zstd') return true;
  return head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar';
}

function shortID(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

function noSuchImage(name: string): EngineError {
  let shown = name;
  try {
    const r = ref.parseAny(name);
    if (r.kind === 'named') shown = ref.familiarString(ref.withDefaultTag(r.ref));
  } catch {
    /* show as given */
  }
  return notFound(`No such image: ${shown}`);
}

/** The full ContainerConfig shape Docker shows in inspect (every key present). */
function fullConfig(c: ContainerConfig | undefined): Record<string, unknown> {
  const base: Record<string, unknown> = {
    Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false,
    OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null, WorkingDir: '', Entrypoint: null,
    OnBuild: null, Labels: null,
  };
  return { ...base, ...(c ?? {}) };
}

export class ImageService {
  private readonly configs = new Map<string, ImageConfig>();
  private readonly layerSizes = new Map<string, number>();
  private usage: (id: string) => ImageUsage = () => undefined;
  private gcRunning: Promise<void> | undefined;

  private constructor(
    readonly dataRoot: string,
    readonly content: LocalContentStore,
    readonly leases: FileLeaseManager,
    readonly snapshots: Snapshotter,
    readonly store: ImageStore,
    private readonly log: (msg: string) => void,
  ) {}

  static async open(opts: ImageServiceOptions): Promise<ImageService> {
    const log = opts.log ?? (() => {});
    const leases = await FileLeaseManager.open(opts.dataRoot);
    const content = await LocalContentStore.open(opts.dataRoot, { leases });
    const snapRoot = path.join(opts.dataRoot, 'snapshots');
    let snapshots: Snapshotter;
    const want = opts.snapshotter;
    if (want === 'native' || (want !== 'overlayfs' && !(await overlaySupported(snapRoot)))) {
      snapshots = await NativeSnapshotter.open(path.join(snapRoot, 'native'), { leases });
      log('snapshotter: native (copying); overlayfs unavailable or disabled');
    } else {
      snapshots = await OverlaySnapshotter.open(path.join(snapRoot, 'overlay'), { leases });
    }
    const store = await ImageStore.open(path.join(opts.dataRoot, 'images'));
    const svc = new ImageService(opts.dataRoot, content, leases, snapshots, store, log);
    for (const img of store.all()) {
      try {
        await svc.config(img.id);
      } catch (e) {
        log(`image ${img.id}: config unreadable: ${(e as Error).message}`);
      }
    }
    await svc.gc();
    return svc;
  }

  private emit: (action: string, id: string, attributes: Record<string, string>) => void = () => {};

  /** Where image events (tag, untag, delete, import, load, save) go: the daemon's event bus. */
  setEventSink(fn: (action: string, id: string, attributes: Record<string, string>) => void): void {
    this.emit = fn;
  }

  /** Publishes the `untag` events of a delete/prune (`delete` events come from deleteHelper, per image). */
  private emitDeleteRecords(records: DeleteResponseItem[]): void {
    for (const r of records) if (r.Untagged) this.emit('untag', r.Untagged, { name: r.Untagged });
  }

  /** The container service tells the image service which container uses an image (for delete conflicts). */
  setUsageProvider(fn: (imageId: string) => ImageUsage): void {
    this.usage = fn;
  }

  /** Docker's storage-driver name for /info and inspect. */
  get driverName(): string {
    return this.snapshots.name === 'overlayfs' ? 'overlay2' : 'vfs';
  }

  count(): number {
    return this.store.all().length;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Lookup

  async config(id: string): Promise<ImageConfig> {
    let c = this.configs.get(id);
    if (!c) {
      const bytes = await this.content.readAll(id);
      try {
        c = parseImageConfig<ImageConfig>(bytes);
      } catch {
        // Stored before configs were checked at ingest: show it as it is rather than hide the image.
        c = JSON.parse(bytes.toString('utf8')) as ImageConfig;
      }
      this.configs.set(id, c);
    }
    return c;
  }

  /** Docker's GetImage: full ID or `sha256:` digest, then a reference, then a unique ID prefix. Throws NotFound. */
  resolve(name: string): ImageRecord {
    const any = ref.parseAny(name);
    if (any.kind === 'id') {
      const img = this.store.get(any.id);
      if (!img) throw noSuchImage(name);
      return img;
    }
    const r = any.ref;
    if (r.digest !== undefined) {
      const img = this.store.byRef(ref.format({ domain: r.domain, path: r.path, digest: r.digest }));
      if (img) return img;
    } else {
      const img = this.store.byRef(ref.format(ref.withDefaultTag(r)));
      if (img) return img;
    }
    if (ref.isIDPrefix(name)) {
      const hex = name.replace(/^sha256:/, '');
      const found = this.store.byPrefix(hex);
      if (found.length === 1) return found[0]!;
      if (found.length > 1) throw invalidArgument(`multiple IDs found with provided prefix: ${hex}`);
    }
    throw noSuchImage(name);
  }

  /** Like resolve, but undefined instead of NotFound. */
  tryResolve(name: string): ImageRecord | undefined {
    try {
      return this.resolve(name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private chainsOf(img: ImageRecord): Digest[] {
    return chainIDs(img.layers.map((l) => l.diffID));
  }

  private async layerSize(chain: string): Promise<number> {
    let s = this.layerSizes.get(chain);
    if (s === undefined) {
      try {
        s = (await this.snapshots.usage(chain)).size;
      } catch {
        s = 0;
      }
      this.layerSizes.set(chain, s);
    }
    return s;
  }

  async imageSize(img: ImageRecord): Promise<number> {
    let total = 0;
    for (const c of this.chainsOf(img)) total += await this.layerSize(c);
    return total;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Layers

  /**
   * Imports one layer tar (plain/gzip/zstd) on top of `parentChain`: the stream is teed to the content store (the
   * blob, kept for save/push) and to applyLayer into a prepared snapshot, hashing the diffID on the way; then the
   * snapshot is committed under its chain ID — or dropped when that chain already exists. No temp files.
   */
  async importLayer(input: Readable, opts: { parentChain?: Digest; lease: string; signal?: AbortSignal }): Promise<ImportLayerResult> {
    const key = `${EXTRACT_PREFIX}${Date.now()}-${randomBytes(6).toString('hex')}`;
    await this.snapshots.prepare(key, opts.parentChain, { lease: opts.lease });
    let committed = false;
    try {
      const dir = await this.snapshots.writableDir(key);
      const [toBlob, toApply] = tee(input);
      let head: Buffer | undefined;
      toBlob!.once('data', (c: Buffer) => {
        head = c;
      });
      const [blob, applied] = await Promise.all([
        this.content.ingest(toBlob!, { lease: opts.lease, signal: opts.signal }),
        applyLayer(toApply!, dir, { whiteouts: this.snapshots.whiteoutMode, signal: opts.signal }),
      ]);
      const comp = head ? detectCompression(head) : 'none';
      const mediaType = comp === 'gzip' ? MediaTypes.dockerLayerGzip : comp === 'zstd' ? MediaTypes.ociLayerZstd : MediaTypes.dockerLayer;
      const chain = opts.parentChain ? digestOf(`${opts.parentChain} ${applied.diffID}`) : applied.diffID;
      committed = await this.commitChain(chain, key, opts.lease);
      const size = await this.layerSize(chain);
      return { diffID: applied.diffID, blob: blob.digest, blobSize: blob.size, mediaType, chainID: chain, size };
    } finally {
      if (!committed) await this.snapshots.remove(key).catch(() => {});
    }
  }

  /** Commits `key` as `chain`; false (caller removes key) when the chain already exists. */
  private async commitChain(chain: string, key: string, lease: string, parent?: string): Promise<boolean> {
    await this.leases.addResource(lease, { type: 'snapshot', id: chain });
    try {
      await this.snapshots.stat(chain);
      return false;
    } catch {
      /* absent: commit */
    }
    try {
      await this.snapshots.commit(chain, key, parent === undefined ? { lease } : { lease, parent });
      return true;
    } catch (e) {
      if ((e as EngineError).kind === 'AlreadyExists') return false;
      throw e;
    }
  }

  /** Applies a stored blob as the layer above `parentChain`, checking its diffID; reuses an existing chain. */
  private async applyStoredLayer(
    blob: Digest,
    diffID: Digest,
    parentChain: Digest | undefined,
    lease: string,
    signal?: AbortSignal,
  ): Promise<{ chain: Digest; extracted: boolean }> {
    const chain = parentChain ? digestOf(`${parentChain} ${diffID}`) : diffID;
    await this.leases.addResource(lease, { type: 'snapshot', id: chain });
    try {
      await this.snapshots.stat(chain);
      return { chain, extracted: false };
    } catch {
      /* extract below */
    }
    const key = `${EXTRACT_PREFIX}${Date.now()}-${randomBytes(6).toString('hex')}`;
    await this.snapshots.prepare(key, parentChain, { lease });
    let committed = false;
    try {
      const res = await applyLayer(await this.content.readStream(blob), await this.snapshots.writableDir(key), {
        whiteouts: this.snapshots.whiteoutMode,
        signal,
      });
      if (res.diffID !== diffID) throw invalidArgument(`layer ${blob}: content has diffID ${res.diffID}, the image config says ${diffID}`);
      committed = await this.commitChain(chain, key, lease);
      return { chain, extracted: true };
    } finally {
      if (!committed) await this.snapshots.remove(key).catch(() => {});
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Creating images and references

  /**
   * Stores an image: config bytes into the content store (the ID is their digest), then the record with its tags,
   * atomically. Layers must already be committed snapshots. Tags moved from other images are reported through
   * `onRetag`.
   */
  async createImage(
    configBytes: Buffer,
    layers: LayerRecord[],
    tags: string[],
    opts: { parent?: Digest; lease?: string; onRetag?: (tag: string, oldId: string) => void } = {},
  ): Promise<ImageRecord> {
    const cfg = parseImageConfig<ImageConfig>(configBytes);
    if (!cfg.rootfs || !Array.isArray(cfg.rootfs.diff_ids)) throw invalidArgument('invalid image config: missing rootfs.diff_ids');
    if (cfg.rootfs.diff_ids.length !== layers.length || cfg.rootfs.diff_ids.some((d, i) => d !== layers[i]!.diffID)) {
      throw invalidArgument('invalid image config: rootfs.diff_ids do not match the layers');
    }
    const info = await this.content.put(configBytes, { lease: opts.lease });
    const id = info.digest;
    this.configs.set(id, cfg);
    const full = tags.map((t) => ref.normalize(t));
    const now = new Date().toISOString();
    const rec = await this.store.update((images) => {
      const existing = images[id];
      const rec: ImageRecord = existing ?? { id, repoTags: [], repoDigests: [], layers, createdAt: now };
      // keep known blob digests
      rec.layers = layers.map((l, i) => ({ ...(existing?.layers[i] ?? {}), ...Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)) }) as LayerRecord);
      if (opts.parent) rec.parent = opts.parent;
      for (const t of full) {
        for (const other of Object.values(images)) {
          if (other.id !== id && other.repoTags.includes(t)) {
            other.repoTags = other.repoTags.filter((x) => x !== t);
            opts.onRetag?.(t, other.id);
          }
        }
        if (!rec.repoTags.includes(t)) rec.repoTags.push(t);
      }
      if (full.length) rec.lastTagTime = now;
      images[id] = rec;
      return rec;
    });
    return rec;
  }

  /** `docker tag`: adds `repo[:tag]` to the image `source` resolves to. */
  async tag(source: string, repo: string, tag?: string): Promise<void> {
    const img = this.resolve(source);
    const r = ref.parseRepoTag(repo, tag);
    if (r.path === 'sha256' || (r.domain === ref.DEFAULT_DOMAIN && r.path === 'library/sha256')) {
      throw invalidArgument('refusing to create an ambiguous tag using digest algorithm as name');
    }
    const t = ref.format(r);
    await this.store.update((images) => {
      for (const other of Object.values(images)) if (other.id !== img.id) other.repoTags = other.repoTags.filter((x) => x !== t);
      const rec = images[img.id]!;
      if (!rec.repoTags.includes(t)) rec.repoTags.push(t);
      rec.lastTagTime = new Date().toISOString();
    });
    this.emit('tag', img.id, { name: ref.familiarize(t) });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Delete, prune, GC

  private usedBy(id: string): ImageUsage {
    return this.usage(id);
  }

  /** Docker's ImageDelete (untag vs delete, force, noprune; conflicts). */
  async remove(name: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<DeleteResponseItem[]> {
    const img = this.resolve(name);
    const records: DeleteResponseItem[] = [];
    const isIDRef = ref.isIDPrefix(name) && (name.startsWith('sha256:') || img.id.slice(7).startsWith(name)) && !this.store.byRef(safeNormalize(name));
    let quiet = false;
    if (!isIDRef) {
      const parsed = ref.parseNormalized(name);
      const key = parsed.digest !== undefined ? ref.format({ domain: parsed.domain, path: parsed.path, digest: parsed.digest }) : ref.format(ref.withDefaultTag(parsed));
      let remaining = 0;
      await this.store.update((images) => {
        const rec = images[img.id]!;
        rec.repoTags = rec.repoTags.filter((t) => t !== key);
        rec.repoDigests = rec.repoDigests.filter((t) => t !== key);
        // a removed tag whose repository keeps only digest references: drop those too
        const repo = ref.fullName(parsed);
        if (!rec.repoTags.some((t) => ref.fullName(ref.parseNormalized(t)) === repo)) {
          const gone = rec.repoDigests.filter((d) => ref.fullName(ref.parseNormalized(d)) === repo);
          rec.repoDigests = rec.repoDigests.filter((d) => !gone.includes(d));
        }
        remaining = rec.repoTags.length + rec.repoDigests.length;
      });
      records.push({ Untagged: ref.familiarize(key) });
      if (remaining > 0) {
        this.emitDeleteRecords(records);
        return records;
      }
      quiet = true;
    } else {
      const u = this.usedBy(img.id);
      if (u?.running) throw this.conflictErr(img.id, true, `image is being used by running container ${shortID(u.containerId)}`);
      const refs = [...img.repoTags, ...img.repoDigests];
      if (refs.length > 1 && !opts.force) {
        throw this.conflictErr(img.id, false, 'image is referenced in multiple repositories');
      }
      if (refs.length && (opts.force || refs.length === 1)) {
        await this.store.update((images) => {
          const rec = images[img.id]!;
          rec.repoTags = [];
          rec.repoDigests = [];
        });
        for (const r of refs) records.push({ Untagged: ref.familiarize(r) });
      }
    }
    await this.deleteHelper(img.id, records, Boolean(opts.force), !opts.noprune, quiet);
    this.emitDeleteRecords(records);
    void this.gc();
    return records;
  }

  private conflictErr(id: string, hard: boolean, why: string): EngineError {
    return conflict(`conflict: unable to delete ${shortID(id)} (${hard ? 'cannot' : 'must'} be forced) - ${why}`);
  }

  private checkConflict(id: string, soft: boolean): { err: EngineError; used: boolean } | undefined {
    if (this.store.children(id).length) return { err: this.conflictErr(id, true, 'image has dependent child images'), used: false };
    const u = this.usedBy(id);
    if (u?.running) return { err: this.conflictErr(id, true, `image is being used by running container ${shortID(u.containerId)}`), used: true };
    if (!soft) return undefined;
    const img = this.store.get(id)!;
    if (img.repoTags.length || img.repoDigests.length) return { err: this.conflictErr(id, false, 'image is referenced in one or more repositories'), used: false };
    if (u) return { err: this.conflictErr(id, false, `image is being used by stopped container ${shortID(u.containerId)}`), used: true };
    return undefined;
  }

  private async deleteHelper(id: string, records: DeleteResponseItem[], force: boolean, prune: boolean, quiet: boolean): Promise<void> {
    const c = this.checkConflict(id, !force);
    if (c) {
      const img = this.store.get(id)!;
      const dangling = img.repoTags.length === 0 && img.repoDigests.length === 0;
      if (quiet && (!dangling || c.used)) return;
      throw c.err;
    }
    const img = this.store.get(id)!;
    await this.store.update((images) => {
      delete images[id];
    });
    this.configs.delete(id);
    records.push({ Deleted: id });
    this.emit('delete', id, { name: id });
    for (const chain of await this.releaseChains(img)) records.push({ Deleted: chain });
    if (!prune || !img.parent) return;
    const parent = this.store.get(img.parent);
    if (!parent || parent.repoTags.length || parent.repoDigests.length) return;
    await this.deleteHelper(parent.id, records, false, true, true);
  }

  /** Removes the image's layer snapshots no other image or container needs, top-down; returns removed chain IDs. */
  private async releaseChains(img: ImageRecord): Promise<string[]> {
    const used = new Set<string>();
    for (const o of this.store.all()) for (const c of this.chainsOf(o)) used.add(c);
    const prot = await this.leases.protectedResources();
    const removed: string[] = [];
    for (const chain of this.chainsOf(img).reverse()) {
      if (used.has(chain) || prot.snapshots.has(chain)) break;
      try {
        await this.snapshots.remove(chain);
        this.layerSizes.delete(chain);
        removed.push(chain);
      } catch (e) {
        if (isNotFound(e)) continue;
        break; // a container layer or another snapshot still builds on it
      }
    }
    return removed;
  }

  /**
   * Garbage collection: removes committed snapshots no image chain needs, abandoned extraction snapshots, and blobs
   * no image references — never anything a live lease protects, never container layers (active snapshots not made
   * for extraction).
   */
  gc(): Promise<void> {
    this.gcRunning ??= this.runGC().finally(() => {
      this.gcRunning = undefined;
    });
    return this.gcRunning;
  }

  private async runGC(): Promise<void> {
    const prot = await this.leases.protectedResources();
    const keepSnaps = new Set<string>(prot.snapshots);
    const keepBlobs = new Set<string>(prot.content);
    for (const img of this.store.all()) {
      keepBlobs.add(img.id);
      for (const l of img.layers) if (l.blob) keepBlobs.add(l.blob);
      for (const c of this.chainsOf(img)) keepSnaps.add(c);
    }
    const infos = new Map<string, { kind: string; parent?: string }>();
    await this.snapshots.walk((i) => {
      infos.set(i.name, i);
      if (i.kind !== 'committed' && !i.name.startsWith(EXTRACT_PREFIX)) keepSnaps.add(i.name);
    });
    // keep parents of everything kept
    for (const k of [...keepSnaps]) {
      let p = infos.get(k)?.parent;
      while (p !== undefined && !keepSnaps.has(p)) {
        keepSnaps.add(p);
        p = infos.get(p)?.parent;
      }
    }
    let progress = true;
    while (progress) {
      progress = false;
      const parents = new Set([...infos.values()].map((i) => i.parent).filter(Boolean));
      for (const [name] of infos) {
        if (keepSnaps.has(name) || parents.has(name)) continue;
        try {
          await this.snapshots.remove(name);
          this.layerSizes.delete(name);
        } catch (e) {
          this.log(`gc: snapshot ${name}: ${(e as Error).message}`);
        }
        infos.delete(name);
        progress = true;
      }
    }
    const blobs: string[] = [];
    await this.content.walk((i) => {
      if (!keepBlobs.has(i.digest)) blobs.push(i.digest);
    });
    for (const b of blobs) {
      // re-check leases: work may have started since we looked
      if ((await this.leases.protectedResources()).content.has(b)) continue;
      await this.content.delete(b).catch(() => {});
    }
  }

  /** `POST /images/prune`: dangling images (or all unused with dangling=false), filtered by until/label. */
  async prune(filters: Filters): Promise<{ ImagesDeleted: DeleteResponseItem[] | null; SpaceReclaimed: number }> {
    filters.validate(['dangling', 'until', 'label', 'label!']);
    const danglingOnly = filters.has('dangling') ? filters.bool('dangling', true) : true;
    const until = filters.get('until')[0];
    const untilMs = until ? parseUntil(until) : undefined;
    const deleted: DeleteResponseItem[] = [];
    let reclaimed = 0;
    const before = await this.layersSize();
    for (const img of this.store.all()) {
      if (!this.store.get(img.id)) continue;
      const dangling = img.repoTags.length === 0 && img.repoDigests.length === 0;
      if (danglingOnly && !dangling) continue;
      if (this.usedBy(img.id)) continue;
      const cfg = await this.config(img.id);
      if (untilMs !== undefined && Date.parse(cfg.created ?? img.createdAt) >= untilMs) continue;
      if (!filters.matchKVList('label', cfg.config?.Labels ?? {})) continue;
      if (filters.has('label!') && matchesAnyLabel(filters.get('label!'), cfg.config?.Labels ?? {})) continue;
      if (this.store.children(img.id).length) continue;
      try {
        const recs: DeleteResponseItem[] = [];
        if (!dangling) {
          for (const r of [...img.repoTags, ...img.repoDigests]) recs.push({ Untagged: ref.familiarize(r) });
          await this.store.update((images) => {
            images[img.id]!.repoTags = [];
            images[img.id]!.repoDigests = [];
          });
        }
        await this.deleteHelper(img.id, recs, false, true, false);
        this.emitDeleteRecords(recs);
        deleted.push(...recs);
      } catch {
        /* conflicts: skip */
      }
    }
    await this.gc();
    reclaimed = Math.max(0, before - (await this.layersSize()));
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  private async layersSize(): Promise<number> {
    const chains = new Set<string>();
    for (const img of this.store.all()) for (const c of this.chainsOf(img)) chains.add(c);
    let total = 0;
    for (const c of chains) total += await this.layerSize(c);
    return total;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Views (Docker's API shapes)

  async inspect(name: string, apiVersion = '1.47'): Promise<Record<string, unknown>> {
    const img = this.resolve(name);
    const cfg = await this.config(img.id);
    const size = await this.imageSize(img);
    const chains = this.chainsOf(img);
    const dirs = await Promise.all(chains.map((c) => this.snapshots.diffDir(c).catch(() => '')));
    const graph: Record<string, string> = {};
    if (dirs.length) {
      graph.UpperDir = dirs[dirs.length - 1]!;
      graph.MergedDir = path.join(path.dirname(graph.UpperDir), 'merged');
      graph.WorkDir = path.join(path.dirname(graph.UpperDir), 'work');
      if (dirs.length > 1) graph.LowerDir = dirs.slice(0, -1).reverse().join(':');
    }
    const out: Record<string, unknown> = {
      Id: img.id,
      RepoTags: img.repoTags.map(ref.familiarize),
      RepoDigests: img.repoDigests.map(ref.familiarize),
      Parent: img.parent ?? '',
      Comment: cfg.comment ?? '',
      Created: cfg.created ?? '',
    };
    const old = !versionAtLeast(apiVersion, '1.44');
    if (old) {
      out.Container = cfg.container ?? '';
      out.ContainerConfig = fullConfig(cfg.container_config);
    }
    Object.assign(out, {
      DockerVersion: cfg.docker_version ?? '',
      Author: cfg.author ?? '',
      Config: fullConfig(cfg.config),
      Architecture: cfg.architecture,
    });
    if (cfg.variant) out.Variant = cfg.variant;
    out.Os = cfg.os;
    if (cfg['os.version']) out.OsVersion = cfg['os.version'];
    out.Size = size;
    if (old) out.VirtualSize = size;
    out.GraphDriver = { Data: dirs.length ? graph : null, Name: this.driverName };
    out.RootFS = { Type: 'layers', Layers: cfg.rootfs.diff_ids };
    out.Metadata = { LastTagTime: img.lastTagTime ?? '0001-01-01T00:00:00Z' };
    return out;
  }

  async history(name: string): Promise<Array<Record<string, unknown>>> {
    const img = this.resolve(name);
    const cfg = await this.config(img.id);
    const chains = this.chainsOf(img);
    const out: Array<Record<string, unknown>> = [];
    let layer = 0;
    for (const h of cfg.history ?? []) {
      let size = 0;
      if (!h.empty_layer) {
        if (layer < chains.length) size = await this.layerSize(chains[layer]!);
        layer++;
      }
      out.push({
        Comment: h.comment ?? '',
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
        CreatedBy: h.created_by ?? '',
        Id: '<missing>',
        Size: size,
        Tags: null,
      });
    }
    out.reverse();
    // Walk the parent chain to put IDs on entries that belong to known images.
    let cur: ImageRecord | undefined = img;
    let idx = 0;
    while (cur && idx < out.length) {
      out[idx]!.Id = cur.id;
      out[idx]!.Tags = cur.repoTags.length ? cur.repoTags.map(ref.familiarize) : null;
      const pc: ImageConfig = await this.config(cur.id);
      const parent: ImageRecord | undefined = cur.parent ? this.store.get(cur.parent) : undefined;
      if (!parent) break;
      const pcfg = await this.config(parent.id);
      idx += (pc.history?.length ?? 0) - (pcfg.history?.length ?? 0);
      cur = parent;
    }
    return out;
  }

  private async summary(img: ImageRecord, all: ImageRecord[]): Promise<Record<string, unknown>> {
    void all;
    const cfg = await this.config(img.id);
    const size = await this.imageSize(img);
    const dangling = img.repoTags.length === 0;
    return {
      Containers: -1,
      Created: Math.floor(Date.parse(cfg.created ?? img.createdAt) / 1000) || 0,
      Id: img.id,
      Labels: cfg.config?.Labels ?? null,
      ParentId: img.parent ?? '',
      RepoDigests: img.repoDigests.length ? img.repoDigests.map(ref.familiarize) : dangling ? ['<none>@<none>'] : [],
      RepoTags: dangling ? ['<none>:<none>'] : img.repoTags.map(ref.familiarize),
      SharedSize: -1,
      Size: size,
    };
  }

  /** `GET /images/json`. */
  async list(opts: { all?: boolean; filters?: Filters; apiVersion?: string } = {}): Promise<Array<Record<string, unknown>>> {
    const f = opts.filters ?? new Filters();
    f.validate(['dangling', 'label', 'before', 'since', 'reference', 'until']);
    const all = this.store.all();
    let beforeT: number | undefined;
    let sinceT: number | undefined;
    for (const b of f.get('before')) beforeT = await this.createdMs(this.resolve(b));
    for (const s of f.get('since')) sinceT = await this.createdMs(this.resolve(s));
    const untilV = f.get('until')[0];
    const untilMs = untilV ? parseUntil(untilV) : undefined;
    const danglingF = f.has('dangling') ? f.bool('dangling') : undefined;
    const refPatterns = f.get('reference');
    const out: Array<{ t: number; v: Record<string, unknown> }> = [];
    for (const img of all) {
      const cfg = await this.config(img.id);
      const t = await this.createdMs(img);
      const dangling = img.repoTags.length === 0;
      if (danglingF !== undefined && danglingF !== dangling) continue;
      if (beforeT !== undefined && t >= beforeT) continue;
      if (sinceT !== undefined && t <= sinceT) continue;
      if (untilMs !== undefined && t >= untilMs) continue;
      if (!f.matchKVList('label', cfg.config?.Labels ?? {})) continue;
      let tags = img.repoTags;
      if (refPatterns.length) {
        tags = tags.filter((tag) => refPatterns.some((p) => referenceMatch(p, tag)));
        if (!tags.length) continue;
      }
      if (!opts.all && dangling && this.store.children(img.id).length) continue;
      const v = await this.summary({ ...img, repoTags: tags }, all);
      if (opts.apiVersion && versionAtLeast(opts.apiVersion, '1.44') === false) v.VirtualSize = v.Size;
      out.push({ t, v });
    }
    out.sort((a, b) => b.t - a.t);
    return out.map((o) => o.v);
  }

  private async createdMs(img: ImageRecord): Promise<number> {
    const cfg = await this.config(img.id);
    return Date.parse(cfg.created ?? img.createdAt) || 0;
  }

  /** Image part of `/system/df`. `containersOf(id)` counts containers using each image. */
  async df(containersOf: (id: string) => number = () => 0): Promise<{ LayersSize: number; Images: Array<Record<string, unknown>> }> {
    const all = this.store.all();
    const chainUse = new Map<string, number>();
    for (const img of all) for (const c of this.chainsOf(img)) chainUse.set(c, (chainUse.get(c) ?? 0) + 1);
    const images: Array<Record<string, unknown>> = [];
    for (const img of all) {
      const v = await this.summary(img, all);
      let shared = 0;
      for (const c of this.chainsOf(img)) if ((chainUse.get(c) ?? 0) > 1) shared += await this.layerSize(c);
      v.SharedSize = shared;
      v.Containers = containersOf(img.id);
      images.push(v);
    }
    images.sort((a, b) => (b.Created as number) - (a.Created as number));
    return { LayersSize: await this.layersSize(), Images: images };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Containers' root filesystems

  /** Prepares a writable snapshot `containerKey` on the image's top layer; returns its mounts as data. */
  async rootfsMounts(imageId: string, containerKey: string): Promise<Mount[]> {
    const img = this.resolve(imageId);
    const chains = this.chainsOf(img);
    return this.snapshots.prepare(containerKey, chains[chains.length - 1]);
  }

  /** Mounts of an existing container layer (after a daemon restart). */
  containerMounts(containerKey: string): Promise<Mount[]> {
    return this.snapshots.mounts(containerKey);
  }

  async removeContainerLayer(containerKey: string): Promise<void> {
    await this.snapshots.remove(containerKey).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Import (`POST /images/create?fromSrc=-`)

  async importImage(
    input: Readable,
    opts: { repo?: string; tag?: string; changes?: string[]; message?: string; platform?: string; signal?: AbortSignal } = {},
  ): Promise<string> {
    let tagRef: string | undefined;
    if (opts.repo) tagRef = ref.format(ref.parseRepoTag(opts.repo, opts.tag || undefined));
    const cfgRun = applyChanges({}, opts.changes ?? []);
    const lease = await this.leases.create();
    try {
      const layer = await this.importLayer(input, { lease: lease.id, signal: opts.signal });
      const created = new Date().toISOString();
      const comment = opts.message || 'Imported from -';
      const config: ImageConfig = {
        architecture: HOST_ARCH,
        comment,
        config: cfgRun,
        created,
        history: [{ created, comment }],
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [layer.diffID] },
      };
      const bytes = Buffer.from(JSON.stringify(config));
      const rec = await this.createImage(bytes, [{ diffID: layer.diffID, blob: layer.blob, blobSize: layer.blobSize, mediaType: layer.mediaType }], tagRef ? [tagRef] : [], { lease: lease.id });
      this.emit('import', rec.id, tagRef ? { name: ref.familiarize(tagRef) } : {});
      return rec.id;
    } finally {
      await this.leases.delete(lease.id);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Load (`POST /images/load`): docker-save tarballs and OCI image layouts

  async load(input: Readable, progress: (m: ProgressMessage) => void, opts: { signal?: AbortSignal; quiet?: boolean } = {}): Promise<void> {
    const lease = await this.leases.create();
    /** Layer blobs applied while streaming: blob digest → parentless extract snapshot (until committed). */
    const extracts = new Map<Digest, { key: string; diffID: Digest }>();
    try {
      const small = new Map<string, Buffer>();
      const blobs = new Map<string, { digest: Digest; size: number; head?: Buffer }>();
      const links = new Map<string, string>();
      for await (const { header, body } of readTar(input, { signal: opts.signal })) {
        const name = header.name.replace(/^\.\//, '').replace(/\/+$/, '');
        if (header.type === 'symlink' || header.type === 'hardlink') {
          const target = header.type === 'symlink' ? path.posix.normalize(path.posix.join(path.posix.dirname(name), header.linkname)) : header.linkname.replace(/^\.\//, '');
          links.set(name, target);
          continue;
        }
        if (header.type !== 'file') continue;
        const base = path.posix.basename(name);
        const isMeta = ['manifest.json', 'repositories', 'index.json', 'oci-layout', 'json', 'VERSION'].includes(base) || name.endsWith('.json');
        // Peek the first chunk to tell JSON from a layer.
        const it = body[Symbol.asyncIterator]();
        const firsts: Buffer[] = [];
        let got = 0;
        while (got < 512) {
          const r = await it.next();
          if (r.done) break;
          firsts.push(r.value as Buffer);
          got += (r.value as Buffer).length;
        }
        const head: Buffer = firsts.length === 1 ? firsts[0]! : Buffer.concat(firsts);
        async function* rest(): AsyncGenerator<Buffer> {
          if (head.length) yield head;
          for (;;) {
            const r = await it.next();
            if (r.done) return;
            yield r.value as Buffer;
          }
        }
        const looksJson = /^\s*[{[]/.test(head.subarray(0, 16).toString('latin1'));
        if ((isMeta || looksJson) && header.size <= MAX_JSON) {
          small.set(name, await readAllLimited(rest(), MAX_JSON));
          continue;
        }
        const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
        const expected = m ? (`sha256:${m[1]}` as Digest) : undefined;
        const ingestOpts = { expected, expectedSize: header.size, lease: lease.id, signal: opts.signal };
        // A layer blob (tar/gzip/zstd by its magic bytes) is applied while it streams, into its own parentless extract
        // snapshot, when the snapshotter's diffs do not depend on the parent; it is re-based on its chain at the end.
        // Blobs already in the content store are most likely layers we already have: they are applied at the end,
        // and only when their chain is missing.
        if (
          this.snapshots.diffIsParentIndependent &&
          looksLikeLayer(head) &&
          !(expected && (await this.content.exists(expected)))
        ) {
          const key = `${EXTRACT_PREFIX}${Date.now()}-${randomBytes(6).toString('hex')}`;
          await this.snapshots.prepare(key, undefined, { lease: lease.id });
          let kept = false;
          try {
            const dir = await this.snapshots.writableDir(key);
            const [toBlob, toApply] = tee(rest());
            const [ing, app] = await Promise.allSettled([
              this.content.ingest(toBlob!, ingestOpts),
              applyLayer(toApply!, dir, { whiteouts: this.snapshots.whiteoutMode, signal: opts.signal }),
            ]);
            if (ing.status === 'rejected') throw ing.reason;
            if (app.status === 'rejected') throw app.reason;
            blobs.set(name, { digest: ing.value.digest, size: ing.value.size, head: head.subarray(0, 8) });
            if (!extracts.has(ing.value.digest)) {
              extracts.set(ing.value.digest, { key, diffID: app.value.diffID as Digest });
              kept = true;
            }
          } finally {
            if (!kept) await this.snapshots.remove(key).catch(() => {});
          }
          continue;
        }
        const info = await this.content.ingest(Readable.from(rest()), ingestOpts);
        blobs.set(name, { digest: info.digest, size: info.size, head: head.subarray(0, 8) });
      }
      const resolveLink = (p: string): string => {
        let cur = p.replace(/^\.\//, '');
        for (let i = 0; i < 16 && links.has(cur); i++) cur = links.get(cur)!;
        return cur;
      };
      const fileBytes = (p: string): Buffer | undefined => small.get(resolveLink(p));
      const blobOf = async (p: string): Promise<{ digest: Digest; size: number; mediaType?: string }> => {
        const rp = resolveLink(p);
        const b = blobs.get(rp);
        if (b) {
          const comp = b.head ? detectCompression(b.head) : 'none';
          return { digest: b.digest, size: b.size, mediaType: comp === 'gzip' ? MediaTypes.dockerLayerGzip : comp === 'zstd' ? MediaTypes.ociLayerZstd : MediaTypes.dockerLayer };
        }
        const s = small.get(rp);
        if (s) {
          const info = await this.content.put(s, { lease: lease.id });
          return { digest: info.digest, size: info.size, mediaType: MediaTypes.dockerLayer };
        }
        throw invalidArgument(`invalid archive: ${p} is missing`);
      };

      const images: Array<{ config: Buffer; layers: string[]; tags: string[] }> = [];
      const manifest = small.get('manifest.json');
      if (manifest) {
        const entries = decodeText<Array<{ Config: string; RepoTags?: string[] | null; Layers: string[] | null }> | null>(archiveManifest, manifest.toString('utf8'));
        if (!Array.isArray(entries)) throw invalidArgument('invalid archive: manifest.json is not a list');
        for (const e of entries) {
          if (!e.Config) throw invalidArgument('invalid archive: a manifest.json entry names no config');
          const config = fileBytes(e.Config);
          if (!config) throw invalidArgument(`invalid archive: config ${e.Config} is missing`);
          images.push({ config, layers: e.Layers ?? [], tags: e.RepoTags ?? [] });
        }
      } else if (small.has('index.json')) {
        await this.collectOci(small, images);
      } else if (small.has('repositories')) {
        throw notImplemented('loading legacy v1 image archives (without manifest.json) is not supported');
      } else {
        throw invalidArgument('invalid archive: no manifest.json or index.json found');
      }

      for (const im of images) {
        const cfg = parseImageConfig<ImageConfig>(im.config);
        const diffIDs = cfg.rootfs?.diff_ids ?? [];
        if (diffIDs.length !== im.layers.length) throw invalidArgument('invalid manifest, layers length mismatch');
        if (!diffIDs.every(isDigest)) throw invalidArgument('invalid image config: bad diff_ids');
        const layers: LayerRecord[] = [];
        let parent: Digest | undefined;
        for (let i = 0; i < im.layers.length; i++) {
          const b = await blobOf(im.layers[i]!);
          const ex = extracts.get(b.digest);
          let applied: { chain: Digest; extracted: boolean };
          if (ex) {
            if (ex.diffID !== diffIDs[i]) throw invalidArgument(`layer ${b.digest}: content has diffID ${ex.diffID}, the image config says ${diffIDs[i]}`);
            const chain = parent ? digestOf(`${parent} ${diffIDs[i]!}`) : diffIDs[i]!;
            // commitChain reuses an existing chain (false: the extract stays, discarded below)
            const committed = await this.commitChain(chain, ex.key, lease.id, parent);
            if (committed) extracts.delete(b.digest);
            applied = { chain, extracted: committed };
          } else {
            applied = await this.applyStoredLayer(b.digest, diffIDs[i]!, parent, lease.id, opts.signal);
          }
          parent = applied.chain;
          if (applied.extracted && !opts.quiet) progress({ status: 'Loading layer', id: shortID(b.digest), progressDetail: { current: b.size, total: b.size } });
          layers.push({ diffID: diffIDs[i]!, blob: b.digest, blobSize: b.size, mediaType: b.mediaType });
        }
        const tags: string[] = [];
        for (const t of im.tags) {
          try {
            tags.push(ref.normalize(t));
          } catch {
            throw invalidArgument(`invalid tag ${t} in archive`);
          }
        }
        const rec = await this.createImage(im.config, layers, tags, {
          lease: lease.id,
          onRetag: (t, old) => {
            progress({ stream: `The image ${ref.familiarize(t)} already exists, renaming the old one with ID ${old} to empty string\n` });
          },
        });
        if (tags.length) for (const t of tags) progress({ stream: `Loaded image: ${ref.familiarize(t)}\n` });
        else progress({ stream: `Loaded image ID: ${rec.id}\n` });
        this.emit('load', rec.id, tags.length ? { name: ref.familiarize(tags[0]) } : {});
      }
    } finally {
      for (const ex of extracts.values()) await this.snapshots.remove(ex.key).catch(() => {});
      await this.leases.delete(lease.id);
    }
  }

  private async collectOci(small: Map<string, Buffer>, images: Array<{ config: Buffer; layers: string[]; tags: string[] }>): Promise<void> {
    const blobPath = (d: string) => `blobs/${d.replace(':', '/')}`;
    const readJson = async (d: string): Promise<Record<string, unknown>> => {
      const p = blobPath(d);
      const b = small.get(p) ?? (await this.content.readAll(d).catch(() => undefined));
      if (!b) throw invalidArgument(`invalid OCI layout: ${p} is missing`);
      if (digestOf(b) !== d) throw invalidArgument(`invalid OCI layout: ${p} does not match its digest`);
      return decodeText<Record<string, unknown> | null>(ociDocument, b.toString('utf8')) ?? {};
    };
    type Desc = { mediaType?: string; digest: string; annotations?: Record<string, string>; platform?: { architecture?: string; os?: string } };
    const visit = async (desc: Desc, names: string[]): Promise<void> => {
      const doc = await readJson(desc.digest);
      const mt = (doc.mediaType as string | undefined) ?? desc.mediaType;
      if (Array.isArray(doc.manifests)) {
        const ms = doc.manifests as Desc[];
        // pick this platform from a multi-platform index
        const pick = ms.filter((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === HOST_ARCH));
        for (const m of pick.length ? pick.slice(0, 1) : ms.slice(0, 1)) await visit(m, names);
        return;
      }
      if (mt && !/manifest/.test(mt) && !doc.config) throw invalidArgument(`unsupported OCI media type ${mt}`);
      const config = doc.config as Desc | undefined;
      if (!config?.digest || !Array.isArray(doc.layers)) throw invalidArgument(`invalid OCI layout: manifest ${desc.digest} lacks a config or layers`);
      const cfgBytes = small.get(blobPath(config.digest)) ?? (await this.content.readAll(config.digest));
      if (digestOf(cfgBytes) !== config.digest) throw invalidArgument('invalid OCI layout: config digest mismatch');
      images.push({ config: cfgBytes, layers: (doc.layers as Desc[]).map((l) => blobPath(l.digest)), tags: names });
    };
    const index = decodeText<{ manifests?: Desc[] } | null>(ociDocument, small.get('index.json')!.toString('utf8')) ?? {};
    for (const m of index.manifests ?? []) {
      const names: string[] = [];
      const full = m.annotations?.['io.containerd.image.name'];
      const short = m.annotations?.['org.opencontainers.image.ref.name'];
      if (full) names.push(full);
      else if (short && /[:/]/.test(short)) names.push(short);
      await visit(m, names);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Save (`GET /images/get`)

  /**
   * Streams a tar that `docker load` accepts: manifest.json + repositories (Docker) and oci-layout + index.json
   * (OCI), with every blob once under blobs/sha256/.
   */
  save(names: string[]): Readable {
    if (!names.length) throw invalidArgument('no images specified');
    type Sel = { img: ImageRecord; tags: string[] };
    const sel = new Map<string, Sel>();
    for (const n of names) {
      const img = this.resolve(n);
      const s = sel.get(img.id) ?? { img, tags: [] };
      let any: ref.AnyReference | undefined;
      try {
        any = ref.parseAny(n);
      } catch {
        any = undefined;
      }
      const isId = !any || any.kind === 'id' || (!this.store.byRef(safeNormalize(n)) && img.id.slice(7).startsWith(n.replace(/^sha256:/, '')));
      if (isId) {
        // by ID: no tags (Docker saves an ID-only image without RepoTags)
      } else if (any && any.kind === 'named') {
        const r = any.ref;
        if (r.tag === undefined && r.digest === undefined) {
          // whole repository: every tag of it on this image
          const repo = ref.fullName(r);
          for (const t of img.repoTags) if (ref.fullName(ref.parseNormalized(t)) === repo && !s.tags.includes(t)) s.tags.push(t);
        } else if (r.tag !== undefined) {
          const t = ref.format({ domain: r.domain, path: r.path, tag: r.tag });
          if (!s.tags.includes(t)) s.tags.push(t);
        }
      }
      sel.set(img.id, s);
    }
    for (const s of sel.values()) {
      for (const l of s.img.layers) if (!l.blob) throw notImplemented(`image ${s.img.id}: layer ${l.diffID} has no stored blob to export`);
    }
    const w = new TarWriter();
    const mtime = new Date(0);
    void (async () => {
      try {
        const written = new Set<string>();
        const addBlob = async (d: string, size: number) => {
          if (written.has(d)) return;
          written.add(d);
          await w.add({ name: `blobs/sha256/${d.slice(7)}`, size, mode: 0o444, mtime }, await this.content.readStream(d));
        };
        await w.add({ name: 'blobs/', type: 'dir', mode: 0o755, mtime });
        await w.add({ name: 'blobs/sha256/', type: 'dir', mode: 0o755, mtime });
        const manifest: Array<Record<string, unknown>> = [];
        const index: Array<Record<string, unknown>> = [];
        const repositories: Record<string, Record<string, string>> = {};
        for (const { img, tags } of sel.values()) {
          const cfgBytes = await this.content.readAll(img.id);
          await addBlob(img.id, cfgBytes.length);
          for (const l of img.layers) await addBlob(l.blob!, l.blobSize ?? (await this.content.info(l.blob!)).size);
          const layerPaths = img.layers.map((l) => `blobs/sha256/${l.blob!.slice(7)}`);
          const familiar = tags.map(ref.familiarize);
          manifest.push({ Config: `blobs/sha256/${img.id.slice(7)}`, RepoTags: familiar.length ? familiar : null, Layers: layerPaths });
          const top = img.layers.length ? img.layers[img.layers.length - 1]!.blob!.slice(7) : img.id.slice(7);
          for (const t of tags) {
            const r = ref.parseNormalized(t);
            (repositories[ref.familiarName(r)] ??= {})[r.tag!] = top;
          }
          const ociManifest = Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: MediaTypes.ociManifest,
              config: { mediaType: MediaTypes.ociConfig, digest: img.id, size: cfgBytes.length },
              layers: img.layers.map((l) => ({ mediaType: ociLayerType(l.mediaType), digest: l.blob!, size: l.blobSize })),
            }),
          );
          const md = digestOf(ociManifest);
          if (!written.has(md)) {
            written.add(md);
            await w.add({ name: `blobs/sha256/${md.slice(7)}`, mode: 0o444, mtime }, ociManifest);
          }
          const base = { mediaType: MediaTypes.ociManifest, digest: md, size: ociManifest.length };
          if (tags.length === 0) index.push(base);
          for (const t of tags) {
            const r = ref.parseNormalized(t);
            index.push({ ...base, annotations: { 'io.containerd.image.name': t, 'org.opencontainers.image.ref.name': r.tag } });
          }
        }
        await w.add({ name: 'index.json', mode: 0o644, mtime }, JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: index }));
        await w.add({ name: 'manifest.json', mode: 0o644, mtime }, JSON.stringify(manifest));
        await w.add({ name: 'oci-layout', mode: 0o644, mtime }, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
        if (Object.keys(repositories).length) await w.add({ name: 'repositories', mode: 0o644, mtime }, JSON.stringify(repositories));
        await w.finish();
      } catch (e) {
        w.destroy(e as Error);
      }
    })();
    return w.readable;
  }
}

function ociLayerType(mt: string | undefined): string {
  if (mt === MediaTypes.dockerLayerGzip || mt === MediaTypes.ociLayerGzip) return MediaTypes.ociLayerGzip;
  if (mt === MediaTypes.ociLayerZstd) return MediaTypes.ociLayerZstd;
  return MediaTypes.ociLayer;
}

function safeNormalize(s: string): string {
  try {
    return ref.normalize(s);
  } catch {
    return '';
  }
}

function versionAtLeast(v: string, min: string): boolean {
  const [a, b] = v.split('.').map(Number);
  const [c, d] = min.split('.').map(Number);
  return a! !== c! ? a! > c! : b! >= d!;
}

/** `until` filter values: a Unix timestamp or a Go duration before now (`24h`, `10m`). */
function parseUntil(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (!Number.isNaN(t)) return t;
  const m = /^(\d+)(h|m|s)$/.exec(v);
  if (m) return Date.now() - Number(m[1]) * { h: 3600e3, m: 60e3, s: 1e3 }[m[2] as 'h' | 'm' | 's'];
  throw invalidArgument(`invalid filter 'until=${v}'`);
}

function matchesAnyLabel(values: string[], labels: Record<string, string>): boolean {
  return values.some((v) => {
    const i = v.indexOf('=');
    return i < 0 ? v in labels : labels[v.slice(0, i)] === v.slice(i + 1);
  });
}

/** Docker's reference filter: glob over the familiar name, or over familiar name:tag. */
export function referenceMatch(pattern: string, fullTag: string): boolean {
  const r = ref.parseNormalized(fullTag);
  const re = globToRegExp(pattern);
  return re.test(ref.familiarName(r)) || re.test(ref.familiarString(r)) || re.test(ref.format(r));
}

function globToRegExp(p: string): RegExp {
  let s = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') s += '[^/]*';
    else if (c === '?') s += '[^/]';
    else if (c === '[') {
      const j = p.indexOf(']', i);
      if (j < 0) s += '\\[';
      else {
        s += `[${p.slice(i + 1, j).replace(/^!/, '^')}]`;
        i = j;
      }
    } else s += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${s}$`);
}
