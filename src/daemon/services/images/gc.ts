/**
 * Image garbage collection, containerd-style: what is kept is computed from roots (image records and live leases),
 * never from reference counts. Roots: every image's config blob, layer blobs and layer chains; every resource a live
 * lease protects; every active snapshot that is not an abandoned extraction (container layers, build steps). Kept
 * snapshots keep their parents. Everything else — committed snapshots no image needs, `extract-…` snapshots of dead
 * work, unreferenced blobs — is removed, children before parents.
 */
import type { ContentStore, LeaseManager } from '../../../core/content/types.js';
import type { Snapshotter } from '../../../core/snapshots/types.js';
import type { ImageStore } from '../../../core/images/store.js';
import type { ImageRecord } from '../../../core/images/types.js';
import { chainIDs, type Digest } from '../../../pkg/digest/index.js';
import { isNotFound } from '../../../errdefs/index.js';
import { EXTRACT_PREFIX } from './unpack.js';

export interface CollectorDeps {
  store: ImageStore;
  content: ContentStore;
  snapshots: Snapshotter;
  leases: LeaseManager;
  log: (msg: string) => void;
  /** Told of every snapshot removed (the service drops its cached size). */
  removed: (chain: string) => void;
}

/** Chain IDs of an image's layers, bottom first. */
export function chainsOf(img: ImageRecord): Digest[] {
  return chainIDs(img.layers.map((l) => l.diffID));
}

/**
 * Every blob an image's multi-platform index keeps: the index, each manifest in it, their configs and layers (those
 * present; a broken or missing document keeps what was found so far).
 */
export async function indexClosure(content: ContentStore, digest: Digest): Promise<Digest[]> {
  const out: Digest[] = [digest];
  const doc = async (d: Digest): Promise<{ manifests?: Array<{ digest: Digest }>; config?: { digest: Digest }; layers?: Array<{ digest: Digest }> } | undefined> => {
    try {
      return JSON.parse((await content.readAll(d)).toString('utf8'));
    } catch {
      return undefined;
    }
  };
  const top = await doc(digest);
  for (const m of top?.manifests ?? []) {
    out.push(m.digest);
    const man = await doc(m.digest);
    if (man?.config?.digest) out.push(man.config.digest);
    for (const l of man?.layers ?? []) out.push(l.digest);
  }
  return out;
}

/** One collection at a time: a call while one runs joins it. */
export class Collector {
  private running: Promise<void> | undefined;
  constructor(private readonly d: CollectorDeps) {}

  collect(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    const { store, content, snapshots, leases, log } = this.d;
    const prot = await leases.protectedResources();
    const keepSnaps = new Set<string>(prot.snapshots);
    const keepBlobs = new Set<string>(prot.content);
    for (const img of store.all()) {
      keepBlobs.add(img.id);
      for (const l of img.layers) {
        if (l.blob) keepBlobs.add(l.blob);
        if (l.tarSplit) keepBlobs.add(l.tarSplit);
      }
      for (const c of chainsOf(img)) keepSnaps.add(c);
      if (img.index) for (const b of await indexClosure(content, img.index.digest)) keepBlobs.add(b);
    }
    const infos = new Map<string, { kind: string; parent?: string }>();
    await snapshots.walk((i) => {
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
          await snapshots.remove(name);
          this.d.removed(name);
        } catch (e) {
          log(`gc: snapshot ${name}: ${(e as Error).message}`);
        }
        infos.delete(name);
        progress = true;
      }
    }
    const blobs: string[] = [];
    await content.walk((i) => {
      if (!keepBlobs.has(i.digest)) blobs.push(i.digest);
    });
    for (const b of blobs) {
      // re-check leases: work may have started since we looked
      if ((await leases.protectedResources()).content.has(b)) continue;
      await content.delete(b).catch(() => {});
    }
  }

  /**
   * Removes a deleted image's layer snapshots that no other image, lease or snapshot needs, top-down; returns the
   * removed chain IDs (Docker lists them as `Deleted:` entries).
   */
  async releaseChains(img: ImageRecord): Promise<string[]> {
    const used = new Set<string>();
    for (const o of this.d.store.all()) for (const c of chainsOf(o)) used.add(c);
    const prot = await this.d.leases.protectedResources();
    const removed: string[] = [];
    for (const chain of chainsOf(img).reverse()) {
      if (used.has(chain) || prot.snapshots.has(chain)) break;
      try {
        await this.d.snapshots.remove(chain);
        this.d.removed(chain);
        removed.push(chain);
      } catch (e) {
        if (isNotFound(e)) continue;
        break; // a container layer or another snapshot still builds on it
      }
    }
    return removed;
  }
}
