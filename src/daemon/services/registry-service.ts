/**
 * RegistryService: `docker pull`, `docker push` and `docker login` against OCI Distribution registries, with
 * Docker's JSON progress messages.
 *
 * Pull: manifest (an index picks linux/<host arch> or the asked platform) → config → layers. Every missing layer
 * downloads at once (bounded concurrency) into the content store, verified against its digest on the way; layers
 * are applied strictly in order as soon as their parent is in place. The first layer to extract is streamed straight
 * from the network into both the content store and the snapshot (tee), so a single-layer image is never read back
 * from disk. Everything is written under a lease; the image record (tags + RepoDigest) is written last.
 *
 * Push: for every layer the compressed blob kept at import/load/pull time is pushed; uncompressed blobs (import,
 * commit) are gzipped once into the content store and the image record is updated to point at the gzip blob, so the
 * next push of any image sharing that layer reuses it. Blobs the registry already has are skipped (`HEAD`).
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { parseImageConfig } from '../../api/types/image.js';
import type { EventBus } from './events.js';
import type { ContentStore, LeaseManager } from '../../core/content/types.js';
import { HOST_ARCH } from '../../core/images/platform.js';
import { tee } from '../../core/images/stream-util.js';
import { MediaTypes, type ImageConfig, type ImageRecord, type LayerRecord } from '../../core/images/types.js';
import type { Unpacker } from './images/unpack.js';
import { indexClosure } from './images/gc.js';
import { chainIDs, digestOf, isDigest, type Digest } from '../../pkg/digest/index.js';
import * as ref from '../../pkg/reference/index.js';
import { EngineError, internal, invalidArgument, notFound, notImplemented, unauthorized } from '../../errdefs/index.js';
import type { AuthConfig } from '../../api/types/auth.js';
import type { Descriptor, Endpoint, FetchedManifest, Manifest, RegistryHosts, Remote } from '../../core/registry/types.js';
import { configMatches, formatPlatform, isIndex, parsePlatform, pickPlatform, type Platform } from '../../core/registry/platform.js';

export type PullMessage = {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: unknown;
  error?: string;
  errorDetail?: { message: string };
};

/** The image records a pull writes and a push reads (the image service). */
export interface RegistryImages {
  get(id: string): ImageRecord | undefined;
  /** The image a normalised reference points at. */
  byRef(reference: string): ImageRecord | undefined;
  all(): ImageRecord[];
  createImage(configBytes: Buffer, layers: LayerRecord[], tags: string[], opts?: { lease?: string }): Promise<unknown>;
  /** Records `name@digest` on image `id` (moving it from any other image). */
  addRepoDigest(id: Digest, repoDigest: string): Promise<void>;
  /** Points uncompressed layers `diffID` at a compressed blob made for push. */
  useCompressedBlob(diffID: Digest, blob: { digest: Digest; size: number; mediaType: string }, isCompressed: (l: LayerRecord) => boolean): Promise<void>;
}

export interface RegistryServiceOptions {
  images: RegistryImages;
  content: ContentStore;
  leases: LeaseManager;
  /** Layer tars → snapshots (shared with the image service). */
  unpack: Unpacker;
  /** Endpoints (mirrors, insecure rules) and connections to them. */
  hosts: RegistryHosts;
  events?: EventBus;
  /** Layers transferred at once per pull / push (dockerd's defaults: 3 and 5). */
  maxConcurrentDownloads?: number;
  maxConcurrentUploads?: number;
  /** Debug log (which endpoint served a pull, mirror fallbacks). */
  debug?: (msg: string) => void;
}

const PROGRESS_EVERY_MS = 100;

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

function units(n: number): string {
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0).replace(/\.0+$/, '')}${u[i]}`;
}

/** Docker's progress bar: `[=====>        ]  1.2MB/3.4MB`. */
function bar(current: number, total: number | undefined): string {
  if (!total) return `${units(current)}`;
  const width = 50;
  const done = Math.min(width, Math.floor((current / total) * width));
  const b = '='.repeat(done) + (done < width ? '>' : '') + ' '.repeat(Math.max(0, width - done - 1));
  return `[${b}] ${units(current).padStart(8)}/${units(total)}`;
}

/** A pass-through that reports bytes seen (throttled) and checks the digest at the end. */
function meter(onBytes: (n: number) => void, expect?: Digest): Transform {
  let n = 0;
  let last = 0;
  const h = expect ? createHash('sha256') : undefined;
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      n += chunk.length;
      h?.update(chunk);
      const now = Date.now();
      if (now - last >= PROGRESS_EVERY_MS) {
        last = now;
        onBytes(n);
      }
      cb(null, chunk);
    },
    flush(cb) {
      onBytes(n);
      if (h && `sha256:${h.digest('hex')}` !== expect) return cb(invalidArgument(`filesystem layer verification failed for digest ${expect}`));
      cb();
    },
  });
}

/** Runs `fn` over items with at most `n` in flight; resolves per item in the returned promises. */
function limited<T, R>(items: T[], n: number, fn: (t: T, i: number) => Promise<R>): Promise<R>[] {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    active--;
    queue.shift()?.();
  };
  return items.map(
    (t, i) =>
      new Promise<R>((resolve, reject) => {
        const start = () => {
          active++;
          fn(t, i).then(resolve, reject).finally(next);
        };
        if (active < n) start();
        else queue.push(start);
      }),
  );
}

export class RegistryService {
  constructor(private readonly o: RegistryServiceOptions) {}

  private debug(msg: string): void {
    this.o.debug?.(msg);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Pull

  /**
   * `POST /images/create?fromImage=&tag=`. Errors before the first progress message are thrown (the route answers
   * with a status code); later ones go in-band.
   */
  async pull(
    opts: { fromImage: string; tag?: string; platform?: string; auth?: AuthConfig; signal?: AbortSignal },
    progress: (m: PullMessage) => void,
  ): Promise<void> {
    let r: ref.Reference;
    try {
      r = ref.parseNormalized(opts.fromImage);
      if (opts.tag) {
        if (isDigest(opts.tag)) r = { domain: r.domain, path: r.path, digest: opts.tag };
        else if (ref.isValidTag(opts.tag)) r = { domain: r.domain, path: r.path, tag: opts.tag };
        else throw invalidArgument(ref.ERR_INVALID_FORMAT);
      }
      if (r.tag === undefined && r.digest === undefined) r = ref.withDefaultTag(r);
    } catch (e) {
      if (e instanceof EngineError) throw e;
      throw invalidArgument((e as Error).message);
    }
    // dockerd refuses a malformed --platform with a 400 before it contacts the registry
    let want: Platform;
    try {
      want = opts.platform ? parsePlatform(opts.platform) : { os: 'linux', arch: HOST_ARCH };
    } catch (e) {
      if (e instanceof EngineError) throw e;
      throw invalidArgument((e as Error).message);
    }
    const { images, content, leases, unpack, hosts } = this.o;
    const shown = ref.familiarString(r);
    // Resolve the manifest and config on the first endpoint that serves them: mirrors first (docker.io), then the
    // upstream. A mirror that fails in any way is skipped (dockerd's continueOnError for mirrors); the upstream's
    // registry errors are final.
    const mirrorFailures: string[] = [];
    let resolved: { client: Remote; top: FetchedManifest; manifest: FetchedManifest; configBytes: Buffer } | undefined;
    let announced = false;
    for (const endpoint of await hosts.endpoints(r.domain, 'pull')) {
      const client = hosts.connect({ endpoint, repo: r.path, actions: ['pull'], auth: opts.auth, signal: opts.signal });
      try {
        await client.authorize();
        const top = await client.getManifest(r.digest ?? r.tag!);
        if (!announced) progress({ status: `Pulling from ${r.path}`, id: r.digest ?? r.tag }); // the repository path, as dockerd: library/busybox
        announced = true;
        let manifest = top;
        if (isIndex(top)) {
          const d = pickPlatform(top.manifest, want.os, want.arch, want.variant);
          manifest = await client.getManifest(d.digest);
          if (isIndex(manifest)) throw invalidArgument('nested manifest lists are not supported');
        }
        const m = manifest.manifest;
        if (!m.config || !Array.isArray(m.layers)) throw invalidArgument(`unsupported manifest media type ${manifest.mediaType}`);
        resolved = { client, top, manifest, configBytes: await client.getBlobBytes(m.config.digest) };
        this.debug(`pull ${shown}: served by ${endpoint.mirror ? 'mirror ' : ''}${endpoint.base}`);
        break;
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        if (endpoint.mirror && (e as EngineError).kind !== 'InvalidArgument') {
          this.debug(`pull ${shown}: mirror ${endpoint.base} failed, trying the next source: ${(e as Error).message}`);
          mirrorFailures.push(`registry mirror ${mirrorName(endpoint)} failed: ${(e as Error).message}`);
          continue;
        }
        const err = announced ? e : this.pullError(e, shown, r);
        if (mirrorFailures.length && err instanceof Error) throw new EngineError((err as EngineError).kind ?? 'Unavailable', `${err.message} (${mirrorFailures.join('; ')})`);
        throw err;
      }
    }
    if (!resolved) throw new EngineError('Unavailable', mirrorFailures.join('; '));
    const { client, top, manifest, configBytes } = resolved;
    const m = manifest.manifest;
    const layersOf = m.layers!;
    for (const l of layersOf) if (!isDigest(l.digest)) throw invalidArgument(`invalid layer digest ${l.digest}`);
    const cfg = parseImageConfig<ImageConfig>(configBytes);
    const diffIDs = cfg.rootfs?.diff_ids ?? [];
    if (diffIDs.length !== layersOf.length) throw invalidArgument('invalid manifest: the config lists a different number of layers');
    const chains = chainIDs(diffIDs);
    const configId = digestOf(configBytes);

    const lease = await leases.create();
    try {
      const present = await Promise.all(
        layersOf.map(async (l, i) => {
          const snap = await unpack.hasChain(chains[i]!);
          const blob = await content.exists(l.digest);
          if (snap) await leases.addResource(lease.id, { type: 'snapshot', id: chains[i]! });
          if (blob) await leases.addResource(lease.id, { type: 'content', id: l.digest });
          return { snap, blob };
        }),
      );
      for (let i = 0; i < layersOf.length; i++) {
        const l = layersOf[i]!;
        if (present[i]!.snap && present[i]!.blob) progress({ status: 'Already exists', progressDetail: {}, id: short(l.digest) });
        else progress({ status: 'Pulling fs layer', progressDetail: {}, id: short(l.digest) });
      }
      // The first layer to extract streams straight into its snapshot when every layer below it is in place.
      const firstMissing = present.findIndex((p) => !p.snap);
      const streamed = firstMissing >= 0 && !present[firstMissing]!.blob ? firstMissing : -1;
      let streamedApply: Promise<void> | undefined;
      const downloads = limited(layersOf, this.o.maxConcurrentDownloads ?? 3, async (l, i) => {
        if (present[i]!.blob) return;
        const id = short(l.digest);
        const stream = await client.getBlob(l.digest, l.size);
        const total = l.size;
        const counted = stream.pipe(
          meter((n) => progress({ status: 'Downloading', progressDetail: { current: n, total }, progress: bar(n, total), id }), l.digest),
        );
        stream.on('error', (e) => counted.destroy(e));
        if (i === streamed) {
          const [toBlob, toApply] = tee(counted);
          const ingest = content.ingest(toBlob!, { expected: l.digest, expectedSize: l.size, lease: lease.id, signal: opts.signal });
          streamedApply = this.extract(toApply!, i === 0 ? undefined : chains[i - 1], diffIDs[i]!, lease.id, opts.signal, ingest.then(() => {
            progress({ status: 'Verifying Checksum', progressDetail: {}, id });
            progress({ status: 'Download complete', progressDetail: {}, id });
          }));
          await ingest;
          return;
        }
        await content.ingest(counted, { expected: l.digest, expectedSize: l.size, lease: lease.id, signal: opts.signal });
        progress({ status: 'Verifying Checksum', progressDetail: {}, id });
        progress({ status: 'Download complete', progressDetail: {}, id });
      });
      downloads.forEach((p) => p.catch(() => {}));
      for (let i = 0; i < layersOf.length; i++) {
        const l = layersOf[i]!;
        await downloads[i];
        if (present[i]!.snap) continue;
        const id = short(l.digest);
        if (i === streamed) await streamedApply;
        else {
          const blob = await content.readStream(l.digest);
          const counted = blob.pipe(meter((n) => progress({ status: 'Extracting', progressDetail: { current: n, total: l.size }, progress: bar(n, l.size), id })));
          blob.on('error', (e) => counted.destroy(e));
          await this.extract(counted, i === 0 ? undefined : chains[i - 1], diffIDs[i]!, lease.id, opts.signal);
        }
        progress({ status: 'Pull complete', progressDetail: {}, id });
      }
      await Promise.all(downloads);

      const layers: LayerRecord[] = layersOf.map((l, i) => ({ diffID: diffIDs[i]!, blob: l.digest, blobSize: l.size, mediaType: l.mediaType ?? MediaTypes.dockerLayerGzip }));
      const tagRef = r.tag !== undefined ? ref.format({ domain: r.domain, path: r.path, tag: r.tag }) : undefined;
      const before = tagRef ? images.byRef(tagRef)?.id : images.get(configId) ? configId : undefined;
      await images.createImage(configBytes, layers, tagRef ? [tagRef] : [], { lease: lease.id });
      const repoDigest = ref.format({ domain: r.domain, path: r.path, digest: top.digest });
      await images.addRepoDigest(configId, repoDigest);
      progress({ status: `Digest: ${top.digest}` });
      progress({ status: before === configId ? `Status: Image is up to date for ${shown}` : `Status: Downloaded newer image for ${shown}` });
      if (opts.platform && !isIndex(top) && !configMatches(want, cfg)) {
        // a single-arch image is kept even when it is not the asked platform; dockerd warns in the stream
        const have = { os: cfg.os, arch: cfg.architecture, ...(cfg.variant ? { variant: cfg.variant } : {}) };
        progress({ status: `WARNING: image with reference ${ref.format(r)} was found but its platform (${formatPlatform(have)}) does not match the specified platform (${formatPlatform(want)})` });
      }
      this.o.events?.publish('image', 'pull', ref.familiarString(r), { name: ref.familiarString(r) });
    } finally {
      await leases.delete(lease.id);
    }
  }

  private pullError(e: unknown, shown: string, r: ref.Reference): unknown {
    if ((e as { status?: number }).status === 404) {
      return notFound(`manifest for ${shown} not found: ${(e as Error).message}`);
    }
    const kind = (e as EngineError | undefined)?.kind;
    if (kind === 'Unauthorized' || kind === 'Forbidden') {
      // dockerd answers 404 here (the CLI only offers an interactive login on 401)
      return notFound(`pull access denied for ${ref.familiarName(r)}, repository does not exist or may require 'docker login': ${(e as Error).message}`);
    }
    return e;
  }

  /**
   * Applies one layer stream above `parent`, checks its diffID and commits it as its chain (after `gate`, e.g. the
   * verified ingest of the same bytes, resolves). An existing chain is kept.
   */
  private async extract(input: Readable, parent: Digest | undefined, diffID: Digest, lease: string, signal?: AbortSignal, gate?: Promise<unknown>): Promise<void> {
    await this.o.unpack.apply(input, {
      parent,
      diffID,
      lease,
      signal,
      gate,
      mismatch: (got, want) => `filesystem layer verification failed: diffID ${got}, the image config says ${want}`,
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Push

  /** `POST /images/{name}/push?tag=`: pushes one tag, or every tag of the repository when none is given. */
  async push(opts: { name: string; tag?: string; auth?: AuthConfig; signal?: AbortSignal }, progress: (m: PullMessage) => void): Promise<void> {
    const images = this.o.images;
    let r = ref.parseNormalized(opts.name);
    if (opts.tag) {
      if (!ref.isValidTag(opts.tag)) throw invalidArgument(ref.ERR_INVALID_FORMAT);
      r = { domain: r.domain, path: r.path, tag: opts.tag };
    }
    const repo = ref.fullName(r);
    let tags: string[];
    if (r.tag !== undefined) tags = [r.tag];
    else {
      tags = images
        .all()
        .flatMap((i) => i.repoTags)
        .map((t) => ref.parseNormalized(t))
        .filter((t) => ref.fullName(t) === repo && t.tag !== undefined)
        .map((t) => t.tag!)
        .sort();
    }
    const targets: Array<{ tag: string; img: ImageRecord }> = [];
    for (const t of tags) {
      const img = images.byRef(ref.format({ domain: r.domain, path: r.path, tag: t }));
      if (img) targets.push({ tag: t, img });
    }
    if (!targets.length) throw notFound(`An image does not exist locally with the tag: ${ref.familiarName(r)}`);
    const [endpoint] = await this.o.hosts.endpoints(r.domain, 'push');
    // The token asks pull access to the repositories blobs may be mounted from, as dockerd's pusher does.
    const client = this.o.hosts.connect({
      endpoint: endpoint!,
      repo: r.path,
      actions: ['pull', 'push'],
      pullFrom: this.mountSources(targets.map((t) => t.img), r),
      auth: opts.auth,
      signal: opts.signal,
    });
    // As dockerd: the stream starts first, so authentication errors arrive in-band (no interactive CLI retry).
    progress({ status: `The push refers to repository [${repo}]` });
    await client.authorize();
    for (const { tag, img } of targets) {
      if (img.index && (await this.indexComplete(img.index.digest))) await this.pushIndex(client, r, tag, img, progress);
      else await this.pushOne(client, r, tag, img, progress, opts.signal);
    }
  }

  private async pushOne(client: Remote, r: ref.Reference, tag: string, img: ImageRecord, progress: (m: PullMessage) => void, signal?: AbortSignal): Promise<void> {
    const { content } = this.o;
    const configBytes = await content.readAll(img.id);
    // Docker lists layers top first.
    const order = img.layers.map((_, i) => i).reverse();
    for (const i of order) progress({ status: 'Preparing', progressDetail: {}, id: short(img.layers[i]!.diffID) });
    const blobs: Descriptor[] = new Array(img.layers.length);
    const chains = chainIDs(img.layers.map((l) => l.diffID));
    const uploads = limited(order, this.o.maxConcurrentUploads ?? 5, async (i) => {
      const layer = img.layers[i]!;
      const desc = await this.pushableBlob(layer, chains[i]!, signal);
      blobs[i] = desc;
      await this.uploadBlob(client, r, desc, short(layer.diffID), progress);
    });
    uploads.forEach((p) => p.catch(() => {}));
    await Promise.all(uploads);
    if (!(await client.hasBlob(img.id))) {
      await client.putBlob(img.id, configBytes.length, async (offset) => Readable.from([configBytes.subarray(offset)]));
    }
    const zstd = blobs.some((b) => b.mediaType === MediaTypes.ociLayerZstd);
    const manifest = zstd
      ? {
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          config: { mediaType: MediaTypes.ociConfig, size: configBytes.length, digest: img.id },
          layers: blobs.map((b) => ({ mediaType: b.mediaType === MediaTypes.ociLayerZstd ? MediaTypes.ociLayerZstd : MediaTypes.ociLayerGzip, size: b.size, digest: b.digest })),
        }
      : {
          schemaVersion: 2,
          mediaType: MediaTypes.dockerManifest,
          config: { mediaType: MediaTypes.dockerConfig, size: configBytes.length, digest: img.id },
          layers: blobs.map((b) => ({ mediaType: MediaTypes.dockerLayerGzip, size: b.size, digest: b.digest })),
        };
    const bytes = Buffer.from(JSON.stringify(manifest, null, 3));
    const digest = digestOf(bytes);
    await client.putManifest(tag, manifest.mediaType, bytes);
    await this.o.images.addRepoDigest(img.id, ref.format({ domain: r.domain, path: r.path, digest }));
    progress({ status: `${tag}: digest: ${digest} size: ${bytes.length}` });
    progress({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: bytes.length } });
    this.o.events?.publish('image', 'push', ref.familiarString({ domain: r.domain, path: r.path, tag }), { name: ref.familiarString({ domain: r.domain, path: r.path, tag }) });
  }

  /** Uploads one blob unless the registry has it (a cross-repository mount when a source is known), with progress as `id`. */
  private async uploadBlob(client: Remote, r: ref.Reference, desc: Descriptor, id: string, progress: (m: PullMessage) => void): Promise<void> {
    const { content } = this.o;
    if (await client.hasBlob(desc.digest)) {
      progress({ status: 'Layer already exists', progressDetail: {}, id });
      return;
    }
    const mountFrom = this.mountSource(desc.digest, r);
    const how = await client.putBlob(
      desc.digest,
      desc.size,
      async (offset) => {
        // bytes read from the store, counted from where the upload (re)starts: honest, also after a resume
        const s = await content.readStream(desc.digest, offset ? { start: offset } : {});
        const counted = s.pipe(meter((n) => progress({ status: 'Pushing', progressDetail: { current: offset + n, total: desc.size }, progress: bar(offset + n, desc.size), id })));
        s.on('error', (e) => counted.destroy(e));
        return counted;
      },
      { mountFrom },
    );
    progress({ status: how === 'mounted' ? `Mounted from ${mountFrom}` : 'Pushed', progressDetail: {}, id });
  }

  /**
   * Pushes an image's multi-platform index (kept from an OCI layout load): every platform's layers and config, each
   * manifest by its digest, then the index as `tag` — the registry ends up with what the layout held, byte for byte.
   */
  private async pushIndex(client: Remote, r: ref.Reference, tag: string, img: ImageRecord, progress: (m: PullMessage) => void): Promise<void> {
    const { content } = this.o;
    const idx = img.index!;
    const indexBytes = await content.readAll(idx.digest);
    const index = JSON.parse(indexBytes.toString('utf8')) as Manifest;
    const children = await Promise.all(
      (index.manifests ?? []).map(async (desc) => {
        const bytes = await content.readAll(desc.digest);
        return { desc, bytes, manifest: JSON.parse(bytes.toString('utf8')) as Manifest };
      }),
    );
    const layers = new Map<string, Descriptor>();
    const configs = new Map<string, Descriptor>();
    for (const c of children) {
      if (c.manifest.manifests) throw notImplemented('pushing nested indexes is not supported');
      if (c.manifest.config) configs.set(c.manifest.config.digest, c.manifest.config);
      for (const l of c.manifest.layers ?? []) layers.set(l.digest, l);
    }
    for (const d of [...layers.keys()].reverse()) progress({ status: 'Preparing', progressDetail: {}, id: short(d) });
    const uploads = limited([...layers.values()], this.o.maxConcurrentUploads ?? 5, (l) => this.uploadBlob(client, r, l, short(l.digest), progress));
    uploads.forEach((p) => p.catch(() => {}));
    await Promise.all(uploads);
    for (const c of configs.values()) {
      if (await client.hasBlob(c.digest)) continue;
      const bytes = await content.readAll(c.digest);
      await client.putBlob(c.digest, bytes.length, async (offset) => Readable.from([bytes.subarray(offset)]));
    }
    for (const c of children) await client.putManifest(c.desc.digest, c.desc.mediaType ?? c.manifest.mediaType ?? MediaTypes.ociManifest, c.bytes);
    await client.putManifest(tag, idx.mediaType, indexBytes);
    await this.o.images.addRepoDigest(img.id, ref.format({ domain: r.domain, path: r.path, digest: idx.digest }));
    progress({ status: `${tag}: digest: ${idx.digest} size: ${indexBytes.length}` });
    progress({ progressDetail: {}, aux: { Tag: tag, Digest: idx.digest, Size: indexBytes.length } });
    this.o.events?.publish('image', 'push', ref.familiarString({ domain: r.domain, path: r.path, tag }), { name: ref.familiarString({ domain: r.domain, path: r.path, tag }) });
  }

  /**
   * Repositories of the same registry that hold layers of `imgs` (known by their RepoDigests): the sources a push may
   * mount blobs from, so its token asks pull access to them.
   */
  private mountSources(imgs: ImageRecord[], target: ref.Reference): string[] {
    const diffIDs = new Set(imgs.flatMap((i) => i.layers.map((l) => l.diffID)));
    const out = new Set<string>();
    for (const img of this.o.images.all()) {
      if (!img.layers.some((l) => diffIDs.has(l.diffID))) continue;
      for (const d of img.repoDigests) {
        const r = ref.parseNormalized(d);
        if (r.domain === target.domain && r.path !== target.path) out.add(r.path);
      }
    }
    return [...out].sort();
  }

  /** A repository of the same registry this blob came from or went to (known by a RepoDigest), for a cross-repo mount. */
  private mountSource(blob: Digest, target: ref.Reference): string | undefined {
    for (const img of this.o.images.all()) {
      if (!img.layers.some((l) => l.blob === blob)) continue;
      for (const d of img.repoDigests) {
        const r = ref.parseNormalized(d);
        if (r.domain === target.domain && r.path !== target.path) return r.path;
      }
    }
    return undefined;
  }

  /**
   * The compressed blob to push for a layer: its own when compressed; else one another image already made for the
   * same diffID; else the stored tar gzipped once into the content store, recorded on every image with that layer.
   */
  private async pushableBlob(layer: LayerRecord, chain: Digest, signal?: AbortSignal): Promise<Descriptor> {
    const { images, content, leases } = this.o;
    const compressed = (l: LayerRecord) => l.mediaType === MediaTypes.dockerLayerGzip || l.mediaType === MediaTypes.ociLayerGzip || l.mediaType === MediaTypes.ociLayerZstd;
    const candidates = [layer, ...images.all().flatMap((i) => i.layers.filter((l) => l.diffID === layer.diffID))];
    for (const l of candidates) {
      if (l.blob && compressed(l) && (await content.exists(l.blob))) {
        return { digest: l.blob, size: l.blobSize ?? (await content.info(l.blob)).size, mediaType: l.mediaType };
      }
    }
    // an uncompressed blob, or a loaded layer's tar split (rebuilt from the snapshot `chain`, unpack.ts)
    let src: LayerRecord | undefined;
    for (const l of candidates) {
      if ((l.blob && (await content.exists(l.blob))) || (l.tarSplit && (await content.exists(l.tarSplit)))) {
        src = l;
        break;
      }
    }
    if (!src) throw notImplemented(`layer ${layer.diffID} has no stored content to push`);
    let once = this.gzipping.get(layer.diffID);
    if (!once) {
      once = (async () => {
        const lease = await leases.create();
        try {
          const gz = createGzip({ level: 6 });
          const input = await this.o.unpack.layerStream(src!, chain);
          const done = pipeline(input, gz);
          const info = await content.ingest(gz, { lease: lease.id, signal });
          await done;
          const desc = { digest: info.digest, size: info.size, mediaType: MediaTypes.dockerLayerGzip };
          await images.useCompressedBlob(layer.diffID, desc, compressed);
          return desc;
        } finally {
          await leases.delete(lease.id);
        }
      })();
      this.gzipping.set(layer.diffID, once);
      once.finally(() => this.gzipping.delete(layer.diffID)).catch(() => {});
    }
    return once;
  }

  /** Whether every blob of a kept index is still in the content store. */
  private async indexComplete(digest: Digest): Promise<boolean> {
    for (const d of await indexClosure(this.o.content, digest)) if (!(await this.o.content.exists(d))) return false;
    return true;
  }

  private readonly gzipping = new Map<string, Promise<Descriptor>>();

  // -------------------------------------------------------------------------------------------------------------
  // Distribution inspect

  /**
   * `GET /distribution/{name}/json` as dockerd answers it: the manifest's descriptor (mediaType, digest, size) for a
   * tag or digest, and the platforms it serves — every entry of a manifest list / OCI index, or the one in an image
   * manifest's config. Mirrors first for docker.io, as a pull; the last endpoint's error is the answer.
   */
  async distribution(name: string, auth?: AuthConfig, signal?: AbortSignal): Promise<{ Descriptor: { mediaType: string; digest: string; size: number }; Platforms: Array<Record<string, unknown>> | null }> {
    // a bare image ID parses as a digest in dockerd's ParseAnyReference, and has no manifest
    if (/^(sha256:)?[0-9a-f]{64}$/.test(name)) throw internal('no manifest found for full image ID');
    let r: ref.Reference;
    try {
      r = ref.parseNormalized(name);
    } catch (e) {
      throw invalidArgument((e as Error).message);
    }
    if (r.tag === undefined && r.digest === undefined) r = ref.withDefaultTag(r);
    let last: unknown;
    for (const endpoint of await this.o.hosts.endpoints(r.domain, 'pull')) {
      const client = this.o.hosts.connect({ endpoint, repo: r.path, actions: ['pull'], auth, signal });
      try {
        await client.authorize();
        const m = await client.getManifest(r.digest ?? r.tag!);
        const Descriptor = { mediaType: m.mediaType, digest: r.digest ?? m.digest, size: m.bytes.length };
        let Platforms: Array<Record<string, unknown>> | null = null;
        const platformOf = (p: Record<string, unknown> | undefined) => {
          if (!p || (!p.os && !p.architecture)) return undefined;
          // ocispec.Platform's JSON, in its field order
          const out: Record<string, unknown> = { architecture: p.architecture ?? '', os: p.os ?? '' };
          if (p['os.version']) out['os.version'] = p['os.version'];
          if (Array.isArray(p['os.features']) && p['os.features'].length) out['os.features'] = p['os.features'];
          if (p.variant) out.variant = p.variant;
          return out;
        };
        if (isIndex(m)) {
          Platforms = (m.manifest.manifests ?? []).map((d) => platformOf(d.platform as Record<string, unknown> | undefined) ?? { architecture: '', os: '' });
        } else if (m.manifest.config) {
          const cfg = await client.getBlobBytes(m.manifest.config.digest).then((b) => JSON.parse(b.toString('utf8')) as Record<string, unknown>, () => undefined);
          const p = platformOf(cfg);
          if (p) Platforms = [p];
        }
        return { Descriptor, Platforms };
      } catch (e) {
        if (signal?.aborted) throw e;
        last = e;
        if (endpoint.mirror) this.debug(`distribution ${name}: mirror ${endpoint.base} failed: ${(e as Error).message}`);
      }
    }
    // network failures are plain errors in dockerd (500), registry errors keep their status
    if ((last as EngineError)?.kind === 'Unavailable' && (last as { status?: number }).status === undefined) throw internal((last as Error).message, last);
    throw last;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Login

  /** `POST /auth`: checks credentials against the registry. */
  async login(auth: AuthConfig, signal?: AbortSignal): Promise<{ Status: string; IdentityToken: string }> {
    let server = (auth.serveraddress ?? '').trim();
    server = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    if (!server || server === 'index.docker.io' || server === 'docker.io') server = 'docker.io';
    const [endpoint] = await this.o.hosts.endpoints(server, 'login');
    const client = this.o.hosts.connect({ endpoint: endpoint!, auth, signal });
    let identityToken: string | undefined;
    try {
      ({ identityToken } = await client.login());
    } catch (e) {
      if ((e as EngineError).kind === 'Unauthorized') {
        // Docker's wording for a refused login
        const msg = /incorrect|unauthorized:|failed with status/.test((e as Error).message) ? (e as Error).message : `login attempt to ${endpoint!.base} failed with status: 401 Unauthorized`;
        throw unauthorized(msg);
      }
      throw e;
    }
    return { Status: 'Login Succeeded', IdentityToken: identityToken ?? '' };
  }
}

/** A mirror as the user configured it (`http://127.0.0.1:5000/`). */
function mirrorName(e: Endpoint): string {
  return e.base.replace(/v2\/$/, '');
}
