/**
 * Name resolution between containers on user-defined networks.
 *
 * Choice: peers are written into each container's /etc/hosts (the per-container file berth bind-mounts), instead of
 * Docker's embedded resolver on 127.0.0.11. A resolver inside every container's namespace would need berthd to
 * enter namespaces (which Node cannot do safely: it is multi-threaded) or a helper process per container, and it
 * would stop answering while berthd is down. A hosts file needs no process, survives a berthd crash, and answers
 * through the libc resolver of any image; other names go to the host's resolvers through resolv.conf (as Docker's
 * forwarding does). Running peers' files are updated in place (same inode, so the bind mount sees the change) when
 * a container joins or leaves a network. Limits: no round-robin answers for a shared alias, no SRV, no live view for
 * a process that caches /etc/hosts.
 */
import fs from 'node:fs/promises';

/** The names a container answers to on a user-defined network: its name, its short ID, and its aliases. */
export function peerNames(containerName: string, containerId: string, aliases: string[]): string[] {
  const names = [containerName.replace(/^\//, ''), containerId.slice(0, 12), ...aliases];
  return [...new Set(names.filter(Boolean))];
}

/** `--add-host` style entries ("name:ip") for the container service's /etc/hosts writer. */
export function extraHostEntries(peers: Array<{ ip: string; names: string[] }>): string[] {
  return peers.flatMap((p) => p.names.map((n) => `${n}:${p.ip}`));
}

const locks = new Map<string, Promise<void>>();

/** Serialised read-modify-write of one hosts file, keeping its inode. */
async function edit(file: string, fn: (lines: string[]) => string[]): Promise<void> {
  const prev = locks.get(file) ?? Promise.resolve();
  const next = prev.then(async () => {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return; // the container is gone
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const out = fn(lines);
    await fs.writeFile(file, out.join('\n') + '\n'); // truncate + write: same inode
  });
  const settled = next.catch(() => {});
  locks.set(file, settled);
  void settled.then(() => {
    if (locks.get(file) === settled) locks.delete(file);
  });
  return next;
}

/** Adds (or replaces) a peer's line in a hosts file. */
export function addPeer(file: string, ip: string, names: string[]): Promise<void> {
  return edit(file, (lines) => [...lines.filter((l) => l.split(/\s+/)[0] !== ip), `${ip}\t${names.join(' ')}`]);
}

/** Removes a peer's lines (by address) from a hosts file. `keep` protects the container's own address. */
export function removePeer(file: string, ip: string, keep?: string): Promise<void> {
  if (ip === keep) return Promise.resolve();
  return edit(file, (lines) => lines.filter((l) => l.split(/\s+/)[0] !== ip));
}
