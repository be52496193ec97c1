/**
 * Files COPY layers wrote before, by content and metadata, so the next layer holding the same file hard-links it
 * instead of creating a new inode (layers are never written, as with the hard links LayerPlan makes to a stage's
 * files already).
 *
 * Why: creating a small file costs the kernel far more than linking one (ext4 without a journal scans past every
 * recently freed inode of the block group on each create: 0.2–0.5 ms of kernel time per file on this machine while
 * other work deletes files), and a `--no-cache` rebuild of a context with one file changed writes the same 10k files again.
 *
 * A *file key* is the sha256 of the bytes with the mode, owner and mtime the layer gives the file. Entries are hints:
 * the file may have gone with its snapshot (the link fails) or be another one by now (the link is checked), and the
 * caller then creates the file as usual.
 */
import fs from 'node:fs';

/** How many files are remembered (the oldest are forgotten first). */
const MAX_FILES = 100_000;

export interface FileMeta {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
}

export class FileLinks {
  private readonly paths = new Map<string, string>();

  constructor(private readonly max = MAX_FILES) {}

  static key(digest: Buffer, m: FileMeta): string {
    return `${digest.toString('base64')} ${m.mode} ${m.uid} ${m.gid} ${m.mtime.getTime()}`;
  }

  /** Notes that `file` (in a layer being written) holds `key`. */
  remember(key: string, file: string): void {
    this.paths.delete(key);
    this.paths.set(key, file);
    if (this.paths.size > this.max) this.paths.delete(this.paths.keys().next().value!);
  }

  /**
   * Hard-links a remembered file with `key` to `target` (which must not exist); true when `target` is now that file
   * with metadata `m`. False (nothing left at `target`) when there is none, it is gone or it is not that file.
   */
  link(key: string, target: string, m: FileMeta): boolean {
    const file = this.paths.get(key);
    if (!file) return false;
    try {
      fs.linkSync(file, target);
    } catch {
      this.paths.delete(key);
      return false;
    }
    const st = fs.lstatSync(target);
    if (st.isFile() && (st.mode & 0o7777) === m.mode && st.uid === m.uid && st.gid === m.gid && st.size === m.size && Math.round(st.mtimeMs) === m.mtime.getTime()) return true;
    fs.unlinkSync(target);
    this.paths.delete(key);
    return false;
  }
}

/** The daemon's one registry (COPY layers of every build). */
export const fileLinks = new FileLinks();
