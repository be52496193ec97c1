/**
 * Where the file system puts snapshot directories.
 *
 * ext4 gives a new file an inode in its parent directory's block group, and skips every inode of that group freed in
 * the last minute or more (`recently_deleted`, while the journal may still need it) — one by one, for every create.
 * A group that just lost thousands of inodes (a removed layer, a test suite's temp files) makes each create there
 * scan past all of them: 10k small files took 1.0–2.5 s on this machine's disk, 63 % of it in recently_deleted
 * (perf). Marked as a top directory (`chattr +T`), the snapshots directory gets each new snapshot placed by Orlov in a
 * group of its own with many free inodes: the same 10k creates took 0.10–0.11 s in the same minute.
 */
import type { Kernel } from '../../core/kernel/index.js';
import { hostKernel } from '../../sys/kernel.js';

/** Asks the file system to spread `dir`'s subdirectories over its block groups; a no-op where it cannot. */
export function spreadSubdirectories(dir: string, kernel: Kernel = hostKernel): void {
  try {
    kernel.setTopDir(dir);
  } catch {
    /* no such flag on this file system (xfs, btrfs, tmpfs): placement is only an optimisation */
  }
}
