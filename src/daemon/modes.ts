/**
 * Permission modes of berth's own directories, as dockerd sets them: the data root may be traversed (0711) but not
 * listed, and every store below it is closed to other users, so no local user can read an image layer, a blob or a
 * container's files (`snapshots/…/fs` and blobs keep ordinary modes inside: what protects them is the directory
 * above). Applied at every start, so a data root made by an older berth is tightened too.
 *
 * Terms: a mode table lists directories relative to a root with their mode; `''` is the root itself. Directories
 * are created when missing and chmod'ed when present (mkdir's mode is subject to the umask and ignores existing
 * directories).
 */
import fs from 'node:fs';
import path from 'node:path';

export type ModeTable = ReadonlyArray<readonly [relative: string, mode: number]>;

export const DATA_ROOT_MODES: ModeTable = [
  ['', 0o711],
  ['containers', 0o710],
  ['content', 0o700],
  ['snapshots', 0o710],
  ['images', 0o700],
  ['leases', 0o700],
  ['network', 0o700],
  // Docker's volumes mode: named volumes' _data stay reachable for containers whose bind sources live there.
  ['volumes', 0o701],
  ['build', 0o700],
];

/** The exec root holds runtime state, bundles and mounted root filesystems: root only. */
export const EXEC_ROOT_MODES: ModeTable = [['', 0o700]];

export function applyModes(root: string, table: ModeTable): void {
  for (const [rel, mode] of table) {
    const dir = path.join(root, rel);
    fs.mkdirSync(dir, { recursive: true, mode });
    fs.chmodSync(dir, mode);
  }
}
