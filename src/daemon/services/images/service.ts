/**
 * ImageService: berthd's images — records and references, lookup, tag, delete/prune, container root filesystems —
 * over the interfaces bootstrap injects: a ContentStore (blobs), a Snapshotter (layers by chain ID), an ImageStore
 * (records) and a LeaseManager. The other image concepts have their own modules beside it: unpack (layer tar →
 * snapshot), gc (what is kept), views (Docker's API shapes), load/save (archives).
 *
 * Every write path follows one crash-safe order: take a lease → write blobs and snapshots under it → write the image
 * record (one atomic db replace) → end the lease. A daemon killed in between leaves only leased, unreferenced work,
 * which start-up GC removes. Nothing is ever referenced before it is complete and verified.
 */
import type { Readable } from 'node:stream';
import { parseImageConfig } from '../../../api/types/image.js';
import type { ContentStore, LeaseManager } from '../../../core/content/types.js';
import type { Mount } from '../../../core/mount/types.js';
import type { Snapshotter, Usage } from '../../../core/snapshots/types.js';
import type { ImageStore } from '../../../core/images/store.js';
import type { ImageConfig, ImageRecord, ImageUsage, LayerRecord } from '../../../core/images/types.js';
import type { ImageWriter } from '../../../core/images/writer.js';
import type { Digest } from '../../../pkg/digest/index.js';
import * as ref from '../../../pkg/reference/index.js';
import { Filters } from '../../../pkg/filters/filters.js';
import { conflict, EngineError, invalidArgument, isNotFound, notFound } from '../../../errdefs/index.js';
import { Collector, chainsOf } from './gc.js';
import { importTarball, loadArchive, type ProgressMessage } from './load.js';
import { safeNormalize, saveArchive } from './save.js';
import { Unpacker } from './unpack.js';
import { imageHistory, imagesDf, inspectImage, listImages, type ImageViewSource } from './views.js';

export type { ProgressMessage } from './load.js';

/** The parts of the image stack bootstrap wires in (plugins chosen there, by interface here). */
export interface ImageServiceDeps {
  content: ContentStore;
  leases: LeaseManager;
  snapshots: Snapshotter;
  store: ImageStore;
  log?: (msg: string) => void;
}

export interface DeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

export interface ImportLayerResult extends LayerRecord {
  chainID: Digest;
  size: number;
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

export class ImageService implements ImageWriter, ImageViewSource {
  private readonly configs = new Map<string, ImageConfig>();
  private readonly layerSizes = new Map<string, number>();
  private usage: (id: string) => ImageUsage = () => undefined;
  private readonly content: ContentStore;
  readonly leases: LeaseManager;
  readonly snapshots: Snapshotter;
  readonly store: ImageStore;
  /** Layer tars → committed snapshots; shared with the registry's pull. */
  readonly unpack: Unpacker;
  private readonly collector: Collector;
  private readonly log: (msg: string) => void;

  private constructor(d: ImageServiceDeps) {
    this.content = d.content;
    this.leases = d.leases;
    this.snapshots = d.snapshots;
    this.store = d.store;
    this.log = d.log ?? (() => {});
    this.unpack = new Unpacker(d.content, d.snapshots, d.leases);
    this.collector = new Collector({
      store: d.store,
      content: d.content,
      snapshots: d.snapshots,
      leases: d.leases,
      log: this.log,
      removed: (chain) => this.layerSizes.delete(chain),
    });
  }

  /** Builds the service over its stores, reads every config once (warming the cache) and collects garbage. */
  static async create(deps: ImageServiceDeps): Promise<ImageService> {
    const svc = new ImageService(deps);
    if (deps.store.damaged) await svc.rebuildIndex();
    for (const img of deps.store.all()) {
      try {
        await svc.config(img.id);
      } catch (e) {
        svc.log(`image ${img.id}: config unreadable: ${(e as Error).message}`);
      }
    }
    await svc.gc();
    return svc;
  }

  /**
   * Re-adds the images a damaged index lost, from what is on disk: every image config in the content store whose
   * layers are all committed snapshots becomes a record again (without its tags, which only the index held; plain-tar
   * layer blobs are found by their diffID). Runs before GC, which would otherwise reclaim them.
   */
  private async rebuildIndex(): Promise<void> {
    const found: Array<ImageRecord & { configParent?: string }> = [];
    const candidates: string[] = [];
    await this.content.walk((i) => {
      if (i.size < 4 << 20 && !this.store.get(i.digest)) candidates.push(i.digest);
    });
    for (const id of candidates) {
      let cfg: ImageConfig;
      try {
        cfg = JSON.parse((await this.content.readAll(id)).toString('utf8')) as ImageConfig;
      } catch {
        continue; // not JSON: a layer or something else
      }
      const diffIDs = cfg?.rootfs?.diff_ids;
      if (!Array.isArray(diffIDs) || typeof cfg.architecture !== 'string' || typeof cfg.os !== 'string') continue;
      const chains = chainsOf({ layers: diffIDs.map((d) => ({ diffID: d })) } as ImageRecord);
      if (chains.length && !(await this.unpack.hasChain(chains[chains.length - 1]!))) continue;
      const layers: LayerRecord[] = [];
      for (const d of diffIDs) layers.push((await this.content.exists(d)) ? { diffID: d, blob: d, mediaType: 'application/vnd.docker.image.rootfs.diff.tar' } : { diffID: d });
      found.push({ id: id as Digest, repoTags: [], repoDigests: [], layers, createdAt: cfg.created ?? new Date().toISOString(), configParent: cfg.parent });
    }
    const ids = new Set(found.map((f) => f.id));
    await this.store.update((images) => {
      for (const { configParent, ...rec } of found) {
        if (configParent && (ids.has(configParent as Digest) || images[configParent])) rec.parent = configParent as Digest;
        images[rec.id] = rec;
      }
    });
    this.log(`images/db.json was unreadable: ${found.length} image record(s) re-added from the content store (tags are lost); the damaged file is kept beside it`);
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

  get(id: string): ImageRecord | undefined {
    return this.store.get(id);
  }

  /** The image a normalised reference points at. */
  byRef(reference: string): ImageRecord | undefined {
    return this.store.byRef(reference);
  }

  all(): ImageRecord[] {
    return this.store.all();
  }

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
    // `sha256:<short hex>` is an ID prefix (dockerd's imageStore.Search), not the repository "sha256"
    if (/^sha256:[a-f0-9]{1,63}$/.test(name)) {
      const found = this.store.byPrefix(name.slice(7));
      if (found.length === 1) return found[0]!;
      if (found.length > 1) throw invalidArgument(`multiple IDs found with provided prefix: ${name.slice(7)}`);
      throw notFound(`No such image: ${name}`);
    }
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

  async layerSize(chain: string): Promise<number> {
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
    for (const c of chainsOf(img)) total += await this.layerSize(c);
    return total;
  }

  diffDir(chain: string): Promise<string> {
    return this.snapshots.diffDir(chain);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Layers

  /** Imports one layer tar (plain/gzip/zstd) on top of `parentChain` (see Unpacker.importLayer). */
  /** ImageWriter.commitActive: the active snapshot `key` becomes the layer above `parentChain` (see Unpacker). */
  async commitActive(key: string, diff: Readable, opts: { parentChain?: Digest; lease: string; signal?: AbortSignal; fill?: () => Promise<Usage> }): Promise<ImportLayerResult & { committed: boolean }> {
    const layer = await this.unpack.commitActive(key, diff, { parent: opts.parentChain, lease: opts.lease, signal: opts.signal, fill: opts.fill });
    return { ...layer, size: await this.layerSize(layer.chainID) };
  }

  async importLayer(input: Readable, opts: { parentChain?: Digest; lease: string; signal?: AbortSignal; syncSmallFiles?: boolean }): Promise<ImportLayerResult> {
    const layer = await this.unpack.importLayer(input, opts);
    return { ...layer, size: await this.layerSize(layer.chainID) };
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
    opts: { parent?: Digest; lease?: string; onRetag?: (tag: string, oldId: string) => void; index?: ImageRecord['index'] } = {},
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
      if (opts.index) rec.index = opts.index;
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
    for (const chain of await this.collector.releaseChains(img)) records.push({ Deleted: chain });
    if (!prune || !img.parent) return;
    const parent = this.store.get(img.parent);
    if (!parent || parent.repoTags.length || parent.repoDigests.length) return;
    await this.deleteHelper(parent.id, records, false, true, true);
  }

  /** Garbage collection (see gc.ts): never anything a live lease protects, never container layers. */
  gc(): Promise<void> {
    return this.collector.collect();
  }

  /** `POST /images/prune`: dangling images (or all unused with dangling=false), filtered by until/label. */
  async prune(filters: Filters): Promise<{ ImagesDeleted: DeleteResponseItem[] | null; SpaceReclaimed: number }> {
    filters.validate(['dangling', 'until', 'label', 'label!']);
    const danglingOnly = filters.has('dangling') ? filters.bool('dangling', true) : true;
    const untilMs = filters.until();
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
      if (!filters.matchLabels(cfg.config?.Labels)) continue;
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

  async layersSize(): Promise<number> {
    const chains = new Set<string>();
    for (const img of this.store.all()) for (const c of chainsOf(img)) chains.add(c);
    let total = 0;
    for (const c of chains) total += await this.layerSize(c);
    return total;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Containers' root filesystems

  /** Prepares a writable snapshot `containerKey` on the image's top layer; returns its mounts as data. */
  async rootfsMounts(imageId: string, containerKey: string): Promise<Mount[]> {
    const img = this.resolve(imageId);
    const chains = chainsOf(img);
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

  /** Disk usage of a container's writable layer (`SizeRw`); zero when it has none. */
  async containerLayerUsage(containerKey: string): Promise<Usage> {
    return this.snapshots.usage(containerKey).catch(() => ({ size: 0, inodes: 0 }));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Registry bookkeeping

  /** Records `name@digest` on image `id` (moving it from any other image). */
  async addRepoDigest(id: Digest, repoDigest: string): Promise<void> {
    await this.store.update((all) => {
      for (const other of Object.values(all)) if (other.id !== id) other.repoDigests = other.repoDigests.filter((d) => d !== repoDigest);
      const rec = all[id];
      if (rec && !rec.repoDigests.includes(repoDigest)) rec.repoDigests.push(repoDigest);
    });
  }

  /** Points every uncompressed layer `diffID` of every image at a compressed blob made for push. */
  async useCompressedBlob(diffID: Digest, blob: { digest: Digest; size: number; mediaType: string }, isCompressed: (l: LayerRecord) => boolean): Promise<void> {
    await this.store.update((all) => {
      for (const rec of Object.values(all))
        for (const l of rec.layers)
          if (l.diffID === diffID && !isCompressed(l)) {
            l.blob = blob.digest;
            l.blobSize = blob.size;
            l.mediaType = blob.mediaType;
          }
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Views, archives

  inspect(name: string, apiVersion = '1.47'): Promise<Record<string, unknown>> {
    return inspectImage(this, name, apiVersion);
  }

  history(name: string): Promise<Array<Record<string, unknown>>> {
    return imageHistory(this, name);
  }

  /** `GET /images/json`. */
  list(opts: { all?: boolean; filters?: Filters; apiVersion?: string } = {}): Promise<Array<Record<string, unknown>>> {
    return listImages(this, opts);
  }

  /** Image part of `/system/df`. `containersOf(id)` counts containers using each image. */
  df(containersOf: (id: string) => number = () => 0): Promise<{ LayersSize: number; Images: Array<Record<string, unknown>> }> {
    return imagesDf(this, containersOf);
  }

  private get loadDeps() {
    return {
      content: this.content,
      leases: this.leases,
      unpack: this.unpack,
      createImage: (c: Buffer, l: LayerRecord[], t: string[], o: { lease?: string; onRetag?: (tag: string, oldId: string) => void }) => this.createImage(c, l, t, o),
      emit: (a: string, id: string, attrs: Record<string, string>) => this.emit(a, id, attrs),
    };
  }

  /** `POST /images/create?fromSrc=-`. */
  importImage(
    input: Readable,
    opts: { repo?: string; tag?: string; changes?: string[]; message?: string; platform?: string; signal?: AbortSignal } = {},
  ): Promise<string> {
    return importTarball(this.loadDeps, input, opts);
  }

  /** `POST /images/load`. */
  load(input: Readable, progress: (m: ProgressMessage) => void, opts: { signal?: AbortSignal; quiet?: boolean } = {}): Promise<void> {
    return loadArchive(this.loadDeps, input, progress, opts);
  }

  /** `GET /images/get`. */
  save(names: string[]): Readable {
    for (const n of names) {
      try {
        this.emit('save', this.resolve(n).id, { name: n }); // dockerd: one per image, named as asked
      } catch {
        /* the archive stream reports it */
      }
    }
    return saveArchive({ content: this.content, store: this.store, resolve: (n) => this.resolve(n), layerStream: (l, chain) => this.unpack.layerStream(l, chain) }, names);
  }
}
