/**
 * `POST /images/load` (docker-save tarballs and OCI image layouts) and `POST /images/create?fromSrc=-` (import of a
 * root filesystem tar).
 *
 * A load reads the archive once, in order: small JSON files are kept in memory, blobs stream into the content store;
 * where the snapshotter allows it (overlay) each layer blob is unpacked *while* it streams, into a parentless extract
 * snapshot re-based onto its chain once manifest.json says where it goes. Everything happens under one lease; image
 * records are written last, so a load cut short leaves nothing referenced. As dockerd, an uncompressed layer is kept
 * only unpacked, with the tar split berth-untar records while it extracts (Unpacker.applyDetached keepTar) to give the
 * exact tar back to save and push: its tar is never written, and nothing is read back. Only a tar the split cannot
 * rebuild (a later entry replaces or removes one the layer wrote) is stored as a blob.
 *
 * Crash safety: blobs and splits are fsynced by the content store; the snapshots a load extracted are made durable
 * with one syncfs before the first image record that names them (Unpacker.syncSnapshots).
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { decodeText } from '../../../api/decode/schema.js';
import { archiveManifest, ociDocument, parseImageConfig, type OciDescriptor, type OciDocument } from '../../../api/types/image.js';
import type { ContentStore, LeaseManager } from '../../../core/content/types.js';
import { applyChanges } from '../../../core/images/changes.js';
import { HOST_ARCH } from '../../../core/images/platform.js';
import { readAllLimited, tee } from '../../../core/images/stream-util.js';
import { MediaTypes, type ImageConfig, type ImageRecord, type LayerRecord } from '../../../core/images/types.js';
import { detectCompression } from '../../../pkg/archive/compression.js';
import { digestOf, isDigest, type Digest } from '../../../pkg/digest/index.js';
import * as ref from '../../../pkg/reference/index.js';
import { readTar } from '../../../pkg/tar/reader.js';
import { invalidArgument } from '../../../errdefs/index.js';
import { chainOf, layerMediaType, type Unpacker } from './unpack.js';

const MAX_JSON = 32 << 20;

/** One line of a load/import progress stream. */
export type ProgressMessage = { stream?: string; status?: string; id?: string; progress?: string; progressDetail?: object; error?: string; errorDetail?: { message: string } };

export interface LoadDeps {
  content: ContentStore;
  leases: LeaseManager;
  unpack: Unpacker;
  createImage(
    configBytes: Buffer,
    layers: LayerRecord[],
    tags: string[],
    opts: { lease?: string; onRetag?: (tag: string, oldId: string) => void; index?: ImageRecord['index'] },
  ): Promise<ImageRecord>;
  /** Publishes an image event (`load`, `import`). */
  emit(action: string, id: string, attributes: Record<string, string>): void;
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

export async function importTarball(
  d: LoadDeps,
  input: Readable,
  opts: { repo?: string; tag?: string; changes?: string[]; message?: string; platform?: string; signal?: AbortSignal } = {},
): Promise<string> {
  let tagRef: string | undefined;
  if (opts.repo) tagRef = ref.format(ref.parseRepoTag(opts.repo, opts.tag || undefined));
  const cfgRun = applyChanges({}, opts.changes ?? []);
  const lease = await d.leases.create();
  try {
    const layer = await d.unpack.importLayer(input, { lease: lease.id, signal: opts.signal });
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
    const rec = await d.createImage(bytes, [{ diffID: layer.diffID, blob: layer.blob, blobSize: layer.blobSize, mediaType: layer.mediaType }], tagRef ? [tagRef] : [], { lease: lease.id });
    d.emit('import', rec.id, tagRef ? { name: ref.familiarize(tagRef) } : {});
    return rec.id;
  } finally {
    await d.leases.delete(lease.id);
  }
}

export async function loadArchive(d: LoadDeps, input: Readable, progress: (m: ProgressMessage) => void, opts: { signal?: AbortSignal; quiet?: boolean } = {}): Promise<void> {
  const lease = await d.leases.create();
  /** Layer blobs applied while streaming: blob digest → parentless extract snapshot (until committed). */
  const extracts = new Map<Digest, { key: string; diffID: Digest }>();
  /** Uncompressed layers extracted with a clean tar split and not stored as blobs: diffID → tar split blob. */
  const splits = new Map<Digest, Digest>();
  /** A committed snapshot that holds each layer's files (layer blob digest → chain ID). */
  const unpackedAt = new Map<Digest, Digest>();
  /** Chains made durable by this load's syncfs (every snapshot committed before it). */
  const synced = new Set<Digest>();
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
      if (d.unpack.detachedApply && looksLikeLayer(head) && !(expected && (await d.content.exists(expected)))) {
        // An uncompressed layer is extracted with its tar split instead of being stored too (Unpacker.applyDetached
        // keepTar): its digest is the diffID berth-untar measures. A compressed one goes to the store as it is.
        const plain = detectCompression(head) === 'none';
        let layer: { digest: Digest; ex: { key: string; diffID: Digest } };
        if (plain) {
          const ex = await d.unpack.applyDetached(rest(), lease.id, opts.signal, { keepTar: true });
          if ((expected && ex.diffID !== expected) || extracts.has(ex.diffID)) await d.unpack.discard(ex.key);
          if (expected && ex.diffID !== expected) throw invalidArgument(`digest mismatch: expected ${expected}, got ${ex.diffID}`);
          if (ex.split && !splits.has(ex.diffID)) splits.set(ex.diffID, ex.split);
          layer = { digest: ex.diffID, ex };
        } else {
          const [toBlob, toApply] = tee(rest(), 2);
          const [ing, app] = await Promise.allSettled([d.content.ingest(toBlob!, ingestOpts), d.unpack.applyDetached(toApply!, lease.id, opts.signal)]);
          // the extract is kept for the first copy of a blob only
          if (app.status === 'fulfilled' && (ing.status === 'rejected' || extracts.has(ing.value.digest))) await d.unpack.discard(app.value.key);
          if (ing.status === 'rejected') throw ing.reason;
          if (app.status === 'rejected') throw app.reason;
          layer = { digest: ing.value.digest, ex: app.value };
        }
        blobs.set(name, { digest: layer.digest, size: header.size, head: head.subarray(0, 8) });
        if (!extracts.has(layer.digest)) extracts.set(layer.digest, layer.ex);
        continue;
      }
      const info = await d.content.ingest(Readable.from(rest()), ingestOpts);
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
        return { digest: b.digest, size: b.size, mediaType: layerMediaType(b.head) };
      }
      const s = small.get(rp);
      if (s) {
        const info = await d.content.put(s, { lease: lease.id });
        return { digest: info.digest, size: info.size, mediaType: MediaTypes.dockerLayer };
      }
      throw invalidArgument(`invalid archive: ${p} is missing`);
    };

    const images: LoadedImage[] = [];
    let legacy = false;
    const manifest = small.get('manifest.json');
    if (manifest) {
      const entries = decodeText(archiveManifest, manifest.toString('utf8'));
      if (!Array.isArray(entries)) throw invalidArgument('invalid archive: manifest.json is not a list');
      for (const e of entries) {
        if (!e.Config) throw invalidArgument('invalid archive: a manifest.json entry names no config');
        const config = fileBytes(e.Config);
        if (!config) throw invalidArgument(`invalid archive: config ${e.Config} is missing`);
        images.push({ config, layers: e.Layers ?? [], tags: e.RepoTags ?? [] });
      }
    } else if (small.has('index.json')) {
      await collectOci(d, small, images, (p) => blobs.has(p), lease.id);
    } else if (small.has('repositories')) {
      legacy = legacyImages(small, images);
    } else {
      throw invalidArgument('invalid archive: no manifest.json or index.json found');
    }

    for (const im of images) {
      if (im.legacyLayers) {
        // a v1 layer.tar is the uncompressed layer: its digest (or the diffID its streamed extract measured) is the
        // diffID the new config's rootfs lists
        const ids: string[] = [];
        for (const l of im.legacyLayers) {
          const b = await blobOf(l);
          const ex = extracts.get(b.digest);
          if (!ex && b.mediaType !== MediaTypes.dockerLayer)
            throw invalidArgument(`invalid archive: ${l} is compressed; a legacy layer.tar is a plain tar`);
          ids.push(ex?.diffID ?? b.digest);
        }
        im.config = legacyConfig(im.config, ids);
      }
      const cfg = parseImageConfig<ImageConfig>(im.config);
      const diffIDs = cfg.rootfs?.diff_ids ?? [];
      if (diffIDs.length !== im.layers.length) throw invalidArgument('invalid manifest, layers length mismatch');
      if (!diffIDs.every(isDigest)) throw invalidArgument('invalid image config: bad diff_ids');
      const layers: LayerRecord[] = [];
      const chains: Digest[] = [];
      let parent: Digest | undefined;
      for (let i = 0; i < im.layers.length; i++) {
        const b = await blobOf(im.layers[i]!);
        const ex = extracts.get(b.digest);
        let applied: { chain: Digest; extracted: boolean };
        if (ex) {
          if (ex.diffID !== diffIDs[i]) throw invalidArgument(`layer ${b.digest}: content has diffID ${ex.diffID}, the image config says ${diffIDs[i]}`);
          const chain = chainOf(parent, diffIDs[i]!);
          // an existing chain is reused (false: the extract stays, discarded below)
          const committed = await d.unpack.commitDetached(ex.key, chain, parent, lease.id);
          if (committed) extracts.delete(b.digest);
          applied = { chain, extracted: committed };
        } else {
          // a layer kept only as a split, met again on another parent: its tar is rebuilt from where it was applied
          const split = splits.get(b.digest);
          const at = unpackedAt.get(b.digest);
          const open = split && at && !(await d.content.exists(b.digest)) ? () => d.unpack.joinSplit(split, at, diffIDs[i]!) : undefined;
          applied = await d.unpack.applyStored(b.digest, diffIDs[i]!, parent, lease.id, opts.signal, open);
        }
        parent = applied.chain;
        unpackedAt.set(b.digest, applied.chain);
        let split = splits.get(b.digest);
        if (split && im.index && !(await d.content.exists(b.digest))) {
          // a kept OCI index is pushed blob by blob: the tar is stored after all, rebuilt from its split
          await d.content.ingest(await d.unpack.joinSplit(split, applied.chain, diffIDs[i]!), { expected: b.digest, lease: lease.id, signal: opts.signal });
        }
        if (im.index) split = undefined;
        chains.push(applied.chain);
        if (applied.extracted && !opts.quiet) progress({ status: 'Loading layer', id: shortID(b.digest), progressDetail: { current: b.size, total: b.size } });
        layers.push({ diffID: diffIDs[i]!, blob: b.digest, blobSize: b.size, mediaType: b.mediaType, ...(split ? { tarSplit: split } : {}) });
      }
      const tags: string[] = [];
      for (const t of im.tags) {
        try {
          tags.push(ref.normalize(t));
        } catch {
          throw invalidArgument(`invalid tag ${t} in archive`);
        }
      }
      // A layer kept only unpacked must be durable before the image record names it (blobs and splits are fsynced
      // by the store): one syncfs covers every snapshot committed so far.
      if (parent && layers.some((l, i) => l.tarSplit && !synced.has(chains[i]!))) {
        await d.unpack.syncSnapshots(parent);
        for (const c of chains) synced.add(c);
      }
      const rec = await d.createImage(im.config, layers, tags, {
        lease: lease.id,
        index: im.index,
        onRetag: (t, old) => {
          progress({ stream: `The image ${ref.familiarize(t)} already exists, renaming the old one with ID ${old} to empty string\n` });
        },
      });
      // dockerd's legacy load reports nothing; the others name what was loaded
      if (legacy) {
        /* as dockerd */
      } else if (tags.length) for (const t of tags) progress({ stream: `Loaded image: ${ref.familiarize(t)}\n` });
      else progress({ stream: `Loaded image ID: ${rec.id}\n` });
      d.emit('load', rec.id, tags.length ? { name: ref.familiarize(tags[0]) } : {});
    }
  } catch (e) {
    // a cut-short or garbled archive (or layer) is the client's: 400 with what was wrong, not a 500
    if ((e as { code?: string }).code === 'ETARFORMAT') throw invalidArgument(`invalid archive: ${(e as Error).message}`, e);
    throw e;
  } finally {
    for (const ex of extracts.values()) await d.unpack.discard(ex.key);
    await d.leases.delete(lease.id);
  }
}


const V1_ID = /^[0-9a-f]{64}$/;

/**
 * The images of a pre-1.10 `docker save` archive: `repositories` ({repo: {tag: id}}) names the top images; each
 * `<id>/json` is a v1 image JSON whose `parent` leads down to the base, and `<id>/layer.tar` is that step's layer.
 * Each tagged top image becomes one image (its config is made once the layers' diffIDs are known: legacyConfig).
 */
function legacyImages(small: Map<string, Buffer>, images: LoadedImage[]): boolean {
  let repos: Record<string, Record<string, string>>;
  try {
    repos = JSON.parse(small.get('repositories')!.toString('utf8')) as Record<string, Record<string, string>>;
  } catch (e) {
    throw invalidArgument(`invalid archive: repositories: ${(e as Error).message}`);
  }
  if (!repos || typeof repos !== 'object' || Array.isArray(repos)) throw invalidArgument('invalid archive: repositories is not an object');
  const byTop = new Map<string, string[]>();
  for (const [repo, tags] of Object.entries(repos)) {
    if (!tags || typeof tags !== 'object' || Array.isArray(tags)) throw invalidArgument(`invalid archive: repositories: ${repo} is not an object`);
    for (const [tag, id] of Object.entries(tags)) {
      if (typeof id !== 'string' || !V1_ID.test(id)) throw invalidArgument(`invalid archive: repositories: ${repo}:${tag} names an invalid image ID`);
      byTop.set(id, [...(byTop.get(id) ?? []), `${repo}:${tag}`]);
    }
  }
  for (const [top, tags] of byTop) {
    const chain: Array<Record<string, unknown>> = [];
    const seen = new Set<string>();
    for (let id: string | undefined = top; id !== undefined; ) {
      if (!V1_ID.test(id)) throw invalidArgument(`invalid archive: invalid parent image ID ${JSON.stringify(id)}`);
      if (seen.has(id)) throw invalidArgument(`invalid archive: image ${id} is its own ancestor`);
      seen.add(id);
      const text = small.get(`${id}/json`);
      if (!text) throw invalidArgument(`invalid archive: ${id}/json is missing`);
      const v1 = parseImageConfig<Record<string, unknown>>(text);
      if (v1.id !== undefined && v1.id !== id) throw invalidArgument(`invalid archive: ${id}/json has the id ${String(v1.id)}`);
      chain.unshift(v1);
      id = (v1.parent as string | undefined) || undefined;
    }
    images.push({ config: Buffer.from(JSON.stringify(chain)), layers: [...seen].reverse().map((id) => `${id}/layer.tar`), tags, legacyLayers: [...seen].reverse().map((id) => `${id}/layer.tar`) });
  }
  return true;
}

/**
 * The image config of a legacy chain (the v1 JSONs, base first, as legacyImages keeps them): the top's JSON without
 * its v1-only fields, with the layers' diffIDs as rootfs and one history entry per step (created_by from the step's
 * container_config.Cmd).
 */
function legacyConfig(chainJson: Buffer, diffIDs: string[]): Buffer {
  const chain = JSON.parse(chainJson.toString('utf8')) as Array<Record<string, unknown>>;
  const { id: _id, parent: _parent, Size: _size, parent_id: _pid, layer_id: _lid, checksum: _ck, throwaway: _tw, ...top } = chain[chain.length - 1]!;
  const history = chain.map((v1) => {
    const h: Record<string, unknown> = { created: v1.created };
    if (v1.author) h.author = v1.author;
    const cmd = (v1.container_config as { Cmd?: string[] | null } | undefined)?.Cmd;
    if (cmd?.length) h.created_by = cmd.join(' ');
    if (v1.comment) h.comment = v1.comment;
    return h;
  });
  return Buffer.from(JSON.stringify({ ...top, rootfs: { type: 'layers', diff_ids: diffIDs }, history }));
}


/** One image an archive holds: its config (built at the end for a legacy archive), layer files, tags. */
type LoadedImage = {
  config: Buffer;
  layers: string[];
  tags: string[];
  index?: ImageRecord['index'];
  /** legacy (pre-1.10) archives: the `<id>/layer.tar` files, base first; the config is built from them */
  legacyLayers?: string[];
};

/**
 * The images of an OCI layout: each entry of index.json (named by its annotations); a multi-platform index gives this
 * host's platform, and is kept with the image (for push) when the layout holds every platform's content.
 */
async function collectOci(d: LoadDeps, small: Map<string, Buffer>, images: LoadedImage[], streamed: (path: string) => boolean, lease: string): Promise<void> {
  const blobPath = (dg: string) => `blobs/${dg.replace(':', '/')}`;
  const readJson = async (dg: string): Promise<OciDocument> => {
    const p = blobPath(dg);
    const b = small.get(p) ?? (await d.content.readAll(dg).catch(() => undefined));
    if (!b) throw invalidArgument(`invalid OCI layout: ${p} is missing`);
    if (digestOf(b) !== dg) throw invalidArgument(`invalid OCI layout: ${p} does not match its digest`);
    return decodeText(ociDocument, b.toString('utf8')) ?? {};
  };
  const visit = async (desc: OciDescriptor, names: string[]): Promise<void> => {
    if (!desc.digest) throw invalidArgument('invalid OCI layout: a descriptor lacks its digest');
    const doc = await readJson(desc.digest);
    const mt = doc.mediaType ?? desc.mediaType;
    if (doc.manifests) {
      const ms = doc.manifests;
      // pick this platform from a multi-platform index
      const pick = ms.filter((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === HOST_ARCH));
      const before = images.length;
      for (const m of pick.length ? pick.slice(0, 1) : ms.slice(0, 1)) await visit(m, names);
      const index = await keepIndex(desc, ms);
      if (index) for (const im of images.slice(before)) im.index ??= index;
      return;
    }
    if (mt && !/manifest/.test(mt) && !doc.config) throw invalidArgument(`unsupported OCI media type ${mt}`);
    const config = doc.config;
    if (!config?.digest || !doc.layers) throw invalidArgument(`invalid OCI layout: manifest ${desc.digest} lacks a config or layers`);
    const cfgBytes = small.get(blobPath(config.digest)) ?? (await d.content.readAll(config.digest));
    if (digestOf(cfgBytes) !== config.digest) throw invalidArgument('invalid OCI layout: config digest mismatch');
    images.push({ config: cfgBytes, layers: doc.layers.map((l) => blobPath(l.digest ?? '')), tags: names });
  };
  /**
   * When every manifest of a multi-platform index has its config and layers in the layout (or already in the store),
   * the index, its manifests and the small blobs go into the content store and the index is returned; else undefined
   * (a push then sends this platform's manifest only).
   */
  const keepIndex = async (desc: OciDescriptor, ms: OciDescriptor[]): Promise<ImageRecord['index'] | undefined> => {
    const present = async (dg: string) => small.has(blobPath(dg)) || streamed(blobPath(dg)) || (await d.content.exists(dg));
    const docs: Array<{ digest: string; bytes: Buffer }> = [];
    const smallBlobs: string[] = [];
    for (const m of [desc, ...ms]) {
      if (!isDigest(m.digest) || !(await present(m.digest))) return undefined;
      docs.push({ digest: m.digest, bytes: small.get(blobPath(m.digest)) ?? (await d.content.readAll(m.digest)) });
    }
    for (const m of ms) {
      const man = await readJson(m.digest!); // checked by isDigest above
      if (man.manifests) return undefined; // nested indexes are not kept
      for (const b of [man.config, ...(man.layers ?? [])]) {
        if (!b?.digest || !isDigest(b.digest) || !(await present(b.digest))) return undefined;
        const bytes = small.get(blobPath(b.digest));
        if (bytes && digestOf(bytes) !== b.digest) return undefined;
        if (bytes) smallBlobs.push(b.digest);
      }
    }
    for (const doc of docs) await d.content.put(doc.bytes, { lease });
    for (const dg of smallBlobs) await d.content.put(small.get(blobPath(dg))!, { lease });
    const top = docs[0]!;
    return { digest: top.digest as Digest, mediaType: desc.mediaType ?? MediaTypes.ociIndex, size: top.bytes.length };
  };
  const index = decodeText(ociDocument, small.get('index.json')!.toString('utf8')) ?? {};
  for (const m of index.manifests ?? []) {
    const names: string[] = [];
    const full = m.annotations?.['io.containerd.image.name'];
    const short = m.annotations?.['org.opencontainers.image.ref.name'];
    if (full) names.push(full);
    else if (short && /[:/]/.test(short)) names.push(short);
    await visit(m, names);
  }
}

