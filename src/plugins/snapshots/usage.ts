/** Disk usage of a directory tree: apparent bytes of regular files and symlinks (hardlinks counted once), inode count. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Usage } from '../../core/snapshots/types.js';

export async function dirUsage(root: string): Promise<Usage> {
  const seen = new Set<bigint>();
  let size = 0;
  let inodes = 0;
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    let entries;
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    inodes++;
    await Promise.all(
      entries.map(async (ent) => {
        const p = path.join(dir, ent.name);
        if (ent.isDirectory()) {
          stack.push(p);
          return;
        }
        const st = await fsp.lstat(p, { bigint: true }).catch(() => undefined);
        if (!st) return;
        if (st.nlink > 1n) {
          if (seen.has(st.ino)) return;
          seen.add(st.ino);
        }
        inodes++;
        if (st.isFile() || st.isSymbolicLink()) size += Number(st.size);
      }),
    );
  }
  return { size, inodes };
}
