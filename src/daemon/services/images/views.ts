/**
 * Images in Docker's API shapes: `GET /images/json` (list), `/images/{name}/json` (inspect), `/history`, and the
 * image part of `/system/df`. Read-only views over an `ImageViewSource`; field names and defaults are dockerd's.
 */
import { ZERO_TIME } from '../../../pkg/units/units.js';
import path from 'node:path';
import { versionAtLeast } from '../../../api/version.js';
import type { ImageStore } from '../../../core/images/store.js';
import type { ContainerConfig, ImageConfig, ImageRecord } from '../../../core/images/types.js';
import { Filters } from '../../../pkg/filters/filters.js';
import * as ref from '../../../pkg/reference/index.js';
import { chainsOf } from './gc.js';
import { referenceMatch } from './filters.js';

/** What the views read: the records, the configs, sizes and where layers live. */
export interface ImageViewSource {
  readonly store: Pick<ImageStore, 'all' | 'get' | 'children'>;
  /** Docker's storage-driver name (`overlay2`, `vfs`). */
  readonly driverName: string;
  resolve(name: string): ImageRecord;
  config(id: string): Promise<ImageConfig>;
  /** Bytes of one layer's own diff. */
  layerSize(chain: string): Promise<number>;
  imageSize(img: ImageRecord): Promise<number>;
  /** Bytes of every layer any image uses, each counted once. */
  layersSize(): Promise<number>;
  /** Local directory of a layer's diff (GraphDriver data). */
  diffDir(chain: string): Promise<string>;
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

export async function inspectImage(src: ImageViewSource, name: string, apiVersion = '1.47'): Promise<Record<string, unknown>> {
  const img = src.resolve(name);
  const cfg = await src.config(img.id);
  const size = await src.imageSize(img);
  const chains = chainsOf(img);
  const dirs = await Promise.all(chains.map((c) => src.diffDir(c).catch(() => '')));
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
  out.GraphDriver = { Data: dirs.length ? graph : null, Name: src.driverName };
  out.RootFS = { Type: 'layers', Layers: cfg.rootfs.diff_ids };
  out.Metadata = { LastTagTime: img.lastTagTime ?? ZERO_TIME };
  return out;
}

export async function imageHistory(src: ImageViewSource, name: string): Promise<Array<Record<string, unknown>>> {
  const img = src.resolve(name);
  const cfg = await src.config(img.id);
  const chains = chainsOf(img);
  const out: Array<Record<string, unknown>> = [];
  let layer = 0;
  for (const h of cfg.history ?? []) {
    let size = 0;
    if (!h.empty_layer) {
      if (layer < chains.length) size = await src.layerSize(chains[layer]!);
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
    const pc: ImageConfig = await src.config(cur.id);
    const parent: ImageRecord | undefined = cur.parent ? src.store.get(cur.parent) : undefined;
    if (!parent) break;
    const pcfg = await src.config(parent.id);
    idx += (pc.history?.length ?? 0) - (pcfg.history?.length ?? 0);
    cur = parent;
  }
  return out;
}

async function summary(src: ImageViewSource, img: ImageRecord): Promise<Record<string, unknown>> {
  const cfg = await src.config(img.id);
  const size = await src.imageSize(img);
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
export async function listImages(src: ImageViewSource, opts: { all?: boolean; filters?: Filters; apiVersion?: string } = {}): Promise<Array<Record<string, unknown>>> {
  const f = opts.filters ?? new Filters();
  f.validate(['dangling', 'label', 'before', 'since', 'reference', 'until']);
  const all = src.store.all();
  let beforeT: number | undefined;
  let sinceT: number | undefined;
  for (const b of f.get('before')) beforeT = await createdMs(src, src.resolve(b));
  for (const s of f.get('since')) sinceT = await createdMs(src, src.resolve(s));
  const untilMs = f.until();
  const danglingF = f.has('dangling') ? f.bool('dangling') : undefined;
  const refPatterns = f.get('reference');
  const out: Array<{ t: number; v: Record<string, unknown> }> = [];
  for (const img of all) {
    const cfg = await src.config(img.id);
    const t = await createdMs(src, img);
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
    if (!opts.all && dangling && src.store.children(img.id).length) continue;
    const v = await summary(src, { ...img, repoTags: tags });
    if (opts.apiVersion && versionAtLeast(opts.apiVersion, '1.44') === false) v.VirtualSize = v.Size;
    out.push({ t, v });
  }
  out.sort((a, b) => b.t - a.t);
  return out.map((o) => o.v);
}

async function createdMs(src: ImageViewSource, img: ImageRecord): Promise<number> {
  const cfg = await src.config(img.id);
  return Date.parse(cfg.created ?? img.createdAt) || 0;
}

/** Image part of `/system/df`. `containersOf(id)` counts containers using each image. */
export async function imagesDf(src: ImageViewSource, containersOf: (id: string) => number = () => 0): Promise<{ LayersSize: number; Images: Array<Record<string, unknown>> }> {
  const all = src.store.all();
  const chainUse = new Map<string, number>();
  for (const img of all) for (const c of chainsOf(img)) chainUse.set(c, (chainUse.get(c) ?? 0) + 1);
  const images: Array<Record<string, unknown>> = [];
  for (const img of all) {
    const v = await summary(src, img);
    let shared = 0;
    for (const c of chainsOf(img)) if ((chainUse.get(c) ?? 0) > 1) shared += await src.layerSize(c);
    v.SharedSize = shared;
    v.Containers = containersOf(img.id);
    images.push(v);
  }
  images.sort((a, b) => (b.Created as number) - (a.Created as number));
  return { LayersSize: await src.layersSize(), Images: images };
}

