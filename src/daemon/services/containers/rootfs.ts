/**
 * The one owner of each container's root filesystem mount: the container's writable snapshot, mounted at the
 * runtime's rootfs path (`<exec-root>/containers/<id>/rootfs`), reference counted. A running task holds one
 * reference from start to exit; `docker cp`, `export` and `diff` of a stopped container hold one while they read or
 * write. The first reference mounts, the last unmounts — so there is never a second mount of the same overlay upper
 * directory, and a copy into a stopped container sees the same tree its next start will.
 *
 * After a berthd restart, running containers are `adopt`ed: their mount (made by the previous berthd) is counted
 * without mounting again. A mount left behind by a crash of a stopped container is replaced at its first acquire.
 */
import fs from 'node:fs';
import type { Mount } from '../../../core/mount/types.js';
import { mountAll, unmount } from '../../../core/mount/index.js';
import type { Kernel } from '../../../core/kernel/index.js';
import { hostKernel } from '../../../sys/kernel.js';
import type { Logger } from '../../logger.js';

export interface RootfsOptions {
  /** The snapshot's mounts for a container (by its record's snapshot key). */
  layerMounts(snapshotKey: string): Promise<Mount[]>;
  /** Where the container's root filesystem is mounted (the runtime's rootfs path). */
  path(id: string): string;
  logger: Logger;
  /** The kernel seam (the host's unless a test passes a RecordingKernel). */
  kernel?: Kernel;
}

/** A held reference; `release` is idempotent. */
export interface RootfsLease {
  root: string;
  release(): void;
}

interface Entry {
  refs: number;
  ready: Promise<void>;
}

export class RootfsOwner {
  private readonly entries = new Map<string, Entry>();
  private readonly kernel: Kernel;

  constructor(private readonly o: RootfsOptions) {
    this.kernel = o.kernel ?? hostKernel;
  }

  /** Takes a reference, mounting the snapshot if nobody holds it yet. */
  async acquire(id: string, snapshotKey: string): Promise<RootfsLease> {
    const dir = this.o.path(id);
    let e = this.entries.get(id);
    if (!e) {
      const entry: Entry = { refs: 0, ready: Promise.resolve() };
      entry.ready = (async () => {
        const mounts = await this.o.layerMounts(snapshotKey);
        await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
        this.unmountQuiet(dir); // a leftover from a crash
        mountAll(mounts, dir, this.kernel);
      })();
      this.entries.set(id, entry);
      entry.ready.catch(() => {
        if (this.entries.get(id) === entry) this.entries.delete(id);
      });
      e = entry;
    }
    e.refs++;
    try {
      await e.ready;
    } catch (err) {
      e.refs--;
      throw err;
    }
    return this.lease(id, e, dir);
  }

  /** Counts the mount a running container kept across a berthd restart (nothing is mounted). */
  adopt(id: string): RootfsLease {
    let e = this.entries.get(id);
    if (!e) {
      e = { refs: 0, ready: Promise.resolve() };
      this.entries.set(id, e);
    }
    e.refs++;
    return this.lease(id, e, this.o.path(id));
  }

  /** Removal: unmounts a leftover mount nobody holds (a crash's) and its directory. */
  clear(id: string): void {
    if (this.held(id)) return;
    const dir = this.o.path(id);
    this.unmountQuiet(dir);
    try {
      fs.rmdirSync(dir);
    } catch {
      /* gone already */
    }
  }

  /** Whether anyone holds the container's rootfs. */
  held(id: string): boolean {
    return (this.entries.get(id)?.refs ?? 0) > 0;
  }

  private lease(id: string, entry: Entry, dir: string): RootfsLease {
    let released = false;
    return {
      root: dir,
      release: () => {
        if (released) return;
        released = true;
        if (--entry.refs > 0) return;
        if (this.entries.get(id) === entry) this.entries.delete(id);
        this.unmountQuiet(dir);
        try {
          fs.rmdirSync(dir);
        } catch {
          /* already gone, or a leftover the next acquire replaces */
        }
      },
    };
  }

  private unmountQuiet(dir: string): void {
    try {
      unmount(dir, { detach: true }, this.kernel);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'EINVAL' && code !== 'ENOENT') this.o.logger.warn(`unmount ${dir}: ${(e as Error).message}`);
    }
  }
}
