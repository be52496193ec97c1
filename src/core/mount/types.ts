/**
 * A mount as plain data: what a snapshotter returns and `mountAll` performs. The same shape as containerd's and the
 * OCI runtime spec's `mounts[]` entries, so a container's rootfs mounts can be handed to runc unchanged.
 *
 * - `type`: filesystem type (`overlay`, `bind`, `tmpfs`...). `bind` is a bind mount of `source`.
 * - `source`: device or directory (`overlay` for overlay mounts).
 * - `options`: fstab-style options; flags such as `ro`, `rbind`, `nosuid` are translated, the rest is passed as data
 *   (`lowerdir=…`, `upperdir=…`, `workdir=…`).
 */
export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}
