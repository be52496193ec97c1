/**
 * Big-layer fixtures for the pull, load and RSS benchmarks (no network): a tar of host directories under
 * /usr/lib/x86_64-linux-gnu capped near a target size (a Debian userland: many small files, some big ones), gzip'd as
 * a registry layer, and pushed to a test registry with the Distribution API (monolithic blob uploads).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function sha256File(p: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(p, 'r');
  const buf = Buffer.alloc(1 << 20);
  for (let n; (n = fs.readSync(fd, buf)) > 0; ) h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return h.digest('hex');
}

/** Top-level entries of `base` (relative to /), up to about `mb` MB, by name. */
function pick(base: string, mb: number): string[] {
  const candidates = fs
    .readdirSync(base, { withFileTypes: true })
    .filter((e) => e.isDirectory() || e.isFile())
    .map((e) => path.join(base.slice(1), e.name))
    .sort();
  const picked: string[] = [];
  let total = 0;
  for (const c of candidates) {
    if (total > mb * 0.95e6) break;
    const size = Number(execFileSync('du', ['-sb', '/' + c]).toString().split('\t')[0]);
    if (picked.length && total + size > mb * 1.05e6) continue; // keep near the target
    picked.push(c);
    total += size;
  }
  return picked;
}

/**
 * Writes `<dir>/layer.tar` of about `targetMB` of host files, a Debian-like mix: half from /usr/share (many small
 * files: docs, locales, man pages), half from /usr/lib/x86_64-linux-gnu (shared libraries); returns its path.
 */
export function hostLayerTar(dir: string, targetMB: number): string {
  const picked = [...pick('/usr/share', targetMB / 2), ...pick('/usr/lib/x86_64-linux-gnu', targetMB / 2)];
  const layer = path.join(dir, 'layer.tar');
  execFileSync('tar', ['-C', '/', '--numeric-owner', '-cf', layer, ...picked]);
  return layer;
}

/** gzip -6 of `tar` (what docker push makes) next to it; returns the .gz path. */
export function gzipFile(tar: string): string {
  const out = `${tar}.gz`;
  execFileSync('sh', ['-c', 'gzip -6 -n -c "$1" > "$2"', 'sh', tar, out]);
  return out;
}

async function putBlob(registry: string, repo: string, body: Buffer | fs.ReadStream, digest: string, size: number): Promise<void> {
  const start = await fetch(`http://${registry}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${await start.text()}`);
  const loc = new URL(start.headers.get('location')!, `http://${registry}`);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    body: body as unknown as BodyInit,
    duplex: 'half',
  } as RequestInit);
  if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`);
}

/**
 * Pushes a one-layer image (`layerTar` gzip'd at `layerGz`) as `<registry>/<repo>:<tag>` (Docker schema 2); returns
 * the layer blob digest.
 */
export async function pushOneLayerImage(registry: string, repo: string, tag: string, layerTar: string, layerGz: string): Promise<string> {
  const diffID = `sha256:${sha256File(layerTar)}`;
  const blob = `sha256:${sha256File(layerGz)}`;
  const blobSize = fs.statSync(layerGz).size;
  await putBlob(registry, repo, fs.createReadStream(layerGz), blob, blobSize);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [diffID] }, history: [{ created: '2024-01-01T00:00:00Z' }] }),
  );
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  await putBlob(registry, repo, config, configDigest, config.length);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: configDigest },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: blobSize, digest: blob }],
  });
  const r = await fetch(`http://${registry}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' },
    body: manifest,
  });
  if (r.status !== 201) throw new Error(`manifest put: ${r.status} ${await r.text()}`);
  return blob;
}

/** `load average` of the machine as "1.23 0.98 0.77" (1, 5, 15 minutes). */
export function loadAvg(): string {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
