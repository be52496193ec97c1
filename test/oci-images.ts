/**
 * Tiny synthetic images for registry and load tests: one gzip'd layer holding `/platform` (its text names the
 * platform), a config for that os/arch, and a manifest — pushed to a test registry over its HTTP API or written into
 * an OCI image layout tar. Used where the real busybox cannot stand in (an arm64 image on an amd64 host).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tarFromEntries } from '../src/pkg/tar/writer.js';

export const MT = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function collect(s: AsyncIterable<Buffer | Uint8Array | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface SynthImage {
  platform: { os: string; architecture: string; variant?: string };
  layer: Blob;
  diffID: string;
  config: Blob;
  manifest: Blob;
}

const blob = (mediaType: string, bytes: Buffer): Blob => ({ mediaType, digest: sha256(bytes), size: bytes.length, bytes });

/** A one-layer image for `os/arch[/variant]`; `oci` picks OCI media types instead of Docker's. */
export async function synthImage(platform: string, opts: { oci?: boolean; text?: string } = {}): Promise<SynthImage> {
  const [os, architecture, variant] = platform.split('/') as [string, string, string | undefined];
  const text = opts.text ?? `${platform}\n`;
  const tar = await collect(tarFromEntries([{ header: { name: 'platform', type: 'file', mode: 0o644, size: Buffer.byteLength(text), mtime: new Date(0) }, body: text }]));
  const diffID = sha256(tar);
  const layer = blob(opts.oci ? MT.ociLayer : MT.dockerLayer, gzipSync(tar));
  const cfg = {
    architecture,
    os,
    ...(variant ? { variant } : {}),
    created: '2026-01-01T00:00:00Z',
    config: { Cmd: ['/platform'], Env: ['PATH=/'] },
    rootfs: { type: 'layers', diff_ids: [diffID] },
    history: [{ created: '2026-01-01T00:00:00Z', created_by: `synthetic ${platform}` }],
  };
  const config = blob(opts.oci ? MT.ociConfig : MT.dockerConfig, Buffer.from(JSON.stringify(cfg)));
  const man = {
    schemaVersion: 2,
    mediaType: opts.oci ? MT.ociManifest : MT.dockerManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
  };
  const manifest = blob(man.mediaType, Buffer.from(JSON.stringify(man, null, 2)));
  return { platform: { os, architecture, ...(variant ? { variant } : {}) }, layer, diffID, config, manifest };
}

/** An index (OCI) or manifest list (Docker) over `children`, each `{manifest, platform}`. */
export function indexOf(children: Array<{ manifest: Blob; platform: SynthImage['platform'] }>, opts: { oci?: boolean; annotations?: Record<string, string> } = {}): Blob {
  const doc = {
    schemaVersion: 2,
    mediaType: opts.oci ? MT.ociIndex : MT.dockerList,
    manifests: children.map((c) => ({ mediaType: c.manifest.mediaType, digest: c.manifest.digest, size: c.manifest.size, platform: c.platform })),
  };
  return blob(doc.mediaType, Buffer.from(JSON.stringify(doc, null, 2)));
}

/** Pushes a blob with a monolithic upload (POST + PUT ?digest=) unless the registry has it. */
export async function pushBlob(registry: string, repo: string, b: Blob): Promise<void> {
  const head = await fetch(`http://${registry}/v2/${repo}/blobs/${b.digest}`, { method: 'HEAD' });
  if (head.status === 200) return;
  const start = await fetch(`http://${registry}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: ${start.status} ${await start.text()}`);
  const loc = new URL(start.headers.get('location')!, `http://${registry}`);
  loc.searchParams.set('digest', b.digest);
  const put = await fetch(loc, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(b.bytes) });
  if (put.status !== 201) throw new Error(`upload ${b.digest}: ${put.status} ${await put.text()}`);
}

export async function pushManifest(registry: string, repo: string, reference: string, m: Blob): Promise<void> {
  const put = await fetch(`http://${registry}/v2/${repo}/manifests/${reference}`, { method: 'PUT', headers: { 'Content-Type': m.mediaType }, body: new Uint8Array(m.bytes) });
  if (put.status !== 201) throw new Error(`manifest ${reference}: ${put.status} ${await put.text()}`);
}

/** Pushes a synthetic image's blobs and its manifest (by digest, or as `tag`). */
export async function pushImage(registry: string, repo: string, img: SynthImage, tag?: string): Promise<void> {
  await pushBlob(registry, repo, img.layer);
  await pushBlob(registry, repo, img.config);
  await pushManifest(registry, repo, tag ?? img.manifest.digest, img.manifest);
}

/** Fetches a manifest as the registry stores it (Accept: every manifest type). */
export async function getManifest(registry: string, repo: string, reference: string): Promise<{ status: number; mediaType: string; digest: string; body: Buffer }> {
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/${reference}`, { headers: { Accept: Object.values(MT).filter((m) => /manifest|index/.test(m)).join(', ') } });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!, digest: res.headers.get('docker-content-digest') ?? '', body };
}

/**
 * An OCI image layout as a tar (what `docker load` reads): `oci-layout`, `index.json` naming `top` as `name`, and
 * every blob under `blobs/sha256/`.
 */
export async function ociLayoutTar(top: Blob, name: string, blobs: Blob[]): Promise<Buffer> {
  const index = {
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: [{ mediaType: top.mediaType, digest: top.digest, size: top.size, annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.replace(/^.*:/, '') } }],
  };
  const seen = new Set<string>();
  const entries: Array<{ header: { name: string; type: 'file' | 'dir'; mode: number; size?: number }; body?: Buffer }> = [
    { header: { name: 'oci-layout', type: 'file', mode: 0o644 }, body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { header: { name: 'index.json', type: 'file', mode: 0o644 }, body: Buffer.from(JSON.stringify(index)) },
    { header: { name: 'blobs/', type: 'dir', mode: 0o755 } },
    { header: { name: 'blobs/sha256/', type: 'dir', mode: 0o755 } },
  ];
  for (const b of [top, ...blobs]) {
    if (seen.has(b.digest)) continue;
    seen.add(b.digest);
    entries.push({ header: { name: `blobs/sha256/${b.digest.slice(7)}`, type: 'file', mode: 0o644 }, body: b.bytes });
  }
  return collect(tarFromEntries(entries.map((e) => ({ header: { ...e.header, size: e.body?.length ?? 0 }, body: e.body }))) as AsyncIterable<Buffer>);
}
