/**
 * `GET /images/get` (`docker save`): streams a tar that both `docker load` and OCI tools accept — manifest.json +
 * repositories (Docker's layout) and oci-layout + index.json (OCI's), with every blob once under blobs/sha256/, as
 * dockerd 25+ writes it. Layers go out as the blobs kept at pull/import time; a loaded uncompressed layer is rebuilt
 * from its tar split and snapshot, byte for byte (checked against its diffID).
 */
import type { Readable } from 'node:stream';
import type { ContentStore } from '../../../core/content/types.js';
import type { ImageStore } from '../../../core/images/store.js';
import { MediaTypes, type ImageRecord, type LayerRecord } from '../../../core/images/types.js';
import { chainIDs, digestOf, type Digest } from '../../../pkg/digest/index.js';
import * as ref from '../../../pkg/reference/index.js';
import { TarWriter } from '../../../pkg/tar/writer.js';
import { invalidArgument, notImplemented } from '../../../errdefs/index.js';

export interface SaveDeps {
  content: ContentStore;
  store: Pick<ImageStore, 'byRef'>;
  resolve(name: string): ImageRecord;
  /** A layer's tar as stored, or rebuilt from its tar split and snapshot `chain` (loaded layers, unpack.ts). */
  layerStream(layer: LayerRecord, chain: Digest): Promise<Readable>;
}

export function saveArchive(d: SaveDeps, names: string[]): Readable {
  if (!names.length) throw invalidArgument('no images specified');
  type Sel = { img: ImageRecord; tags: string[] };
  const sel = new Map<string, Sel>();
  for (const n of names) {
    const img = d.resolve(n);
    const s = sel.get(img.id) ?? { img, tags: [] };
    let any: ref.AnyReference | undefined;
    try {
      any = ref.parseAny(n);
    } catch {
      any = undefined;
    }
    const isId = !any || any.kind === 'id' || (!d.store.byRef(safeNormalize(n)) && img.id.slice(7).startsWith(n.replace(/^sha256:/, '')));
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
      const addBlob = async (dg: string, size: number, stream?: () => Promise<Readable>) => {
        if (written.has(dg)) return;
        written.add(dg);
        await w.add({ name: `blobs/sha256/${dg.slice(7)}`, size, mode: 0o444, mtime }, await (stream ? stream() : d.content.readStream(dg)));
      };
      await w.add({ name: 'blobs/', type: 'dir', mode: 0o755, mtime });
      await w.add({ name: 'blobs/sha256/', type: 'dir', mode: 0o755, mtime });
      const manifest: Array<Record<string, unknown>> = [];
      const index: Array<Record<string, unknown>> = [];
      const repositories: Record<string, Record<string, string>> = {};
      for (const { img, tags } of sel.values()) {
        const cfgBytes = await d.content.readAll(img.id);
        await addBlob(img.id, cfgBytes.length);
        const chains = chainIDs(img.layers.map((l) => l.diffID));
        for (const [i, l] of img.layers.entries()) {
          await addBlob(l.blob!, l.blobSize ?? (await d.content.info(l.blob!)).size, () => d.layerStream(l, chains[i]!));
        }
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

function ociLayerType(mt: string | undefined): string {
  if (mt === MediaTypes.dockerLayerGzip || mt === MediaTypes.ociLayerGzip) return MediaTypes.ociLayerGzip;
  if (mt === MediaTypes.ociLayerZstd) return MediaTypes.ociLayerZstd;
  return MediaTypes.ociLayer;
}

export function safeNormalize(s: string): string {
  try {
    return ref.normalize(s);
  } catch {
    return '';
  }
}

