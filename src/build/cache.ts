/**
 * The build cache index: *cache key* → the image a step produced.
 *
 * A cache key is the sha256 of the parent image ID, the step's history text (`created_by`), the resulting config and
 * the checksums of what the step read (COPY/ADD source contents, bind-mounted context paths, run-mount specs) —
 * never mtimes, so a fresh checkout of the same files hits. The index lives in `<data-root>/build/cache.json` and so
 * survives daemon restarts; the images themselves are ordinary (untagged) images in the image store.
 *
 * Each record keeps what `system df` and `builder prune` need: when it was made and last used, how often it was used,
 * the size of the layer the step added, and whether it is the result of a build (`final`), which a plain
 * `builder prune` keeps (BuildKit keeps results in use the same way; `-a` removes them too).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface CacheRecord {
  /** The image the step produced. */
  image: string;
  /** The step, as `docker builder du` shows it (`[stage 2/3] RUN make`). */
  description: string;
  /** Bytes the step's own layer takes (0 for a metadata step). */
  size: number;
  created: string;
  lastUsed: string;
  usage: number;
  /** The last step of a build (the image a tag points at). */
  final?: boolean;
}

export class BuildCache {
  private entries: Record<string, CacheRecord> | undefined;
  constructor(private readonly file: string) {}

  private load(): Record<string, CacheRecord> {
    if (!this.entries) {
      try {
        const raw = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { version?: number; entries?: Record<string, unknown> };
        const now = new Date(0).toISOString();
        this.entries = {};
        for (const [k, v] of Object.entries(raw.entries ?? {})) {
          // version 1 mapped keys to image IDs only
          this.entries[k] = typeof v === 'string' ? { image: v, description: '', size: 0, created: now, lastUsed: now, usage: 0 } : (v as CacheRecord);
        }
      } catch {
        this.entries = {};
      }
    }
    return this.entries;
  }

  private save(): void {
    if (this.pending) {
      clearTimeout(this.pending);
      this.pending = undefined;
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ version: 2, entries: this.entries ?? {} }));
    fs.renameSync(tmp, this.file);
  }

  private pending: NodeJS.Timeout | undefined;

  /** The image for `key`, counting the use (written a moment later: losing a use count in a crash is harmless). */
  get(key: string): string | undefined {
    const r = this.load()[key];
    if (!r) return undefined;
    r.lastUsed = new Date().toISOString();
    r.usage++;
    this.pending ??= setTimeout(() => {
      this.pending = undefined;
      this.save();
    }, 250).unref();
    return r.image;
  }

  set(key: string, image: string, meta: { description: string; size: number }): void {
    const now = new Date().toISOString();
    this.load()[key] = { image, description: meta.description, size: meta.size, created: now, lastUsed: now, usage: 1 };
    this.save();
  }

  /** Marks the record of `image` as a build result. */
  markFinal(image: string): void {
    let changed = false;
    for (const r of Object.values(this.load())) {
      if (r.image === image && !r.final) {
        r.final = true;
        changed = true;
      }
    }
    if (changed) this.save();
  }

  list(): Array<[string, CacheRecord]> {
    return Object.entries(this.load());
  }

  delete(keys: string[]): void {
    const e = this.load();
    for (const k of keys) delete e[k];
    this.save();
  }
}
