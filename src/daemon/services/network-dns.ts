/**
 * The files that feed the embedded DNS servers (one per container on user-defined networks, inside its monitor:
 * native/monitor/dns.h). berthd writes them under `<exec-root>/dns/`; each monitor re-reads a file when it changed,
 * checked at every query, so a container started, stopped, connected or disconnected shows at the next query —
 * also while berthd is down, because the files stay and the monitors keep answering.
 *
 *   net-<network id>    the network's name table: `network <name>`, then per endpoint `ep <IPv4|-> <IPv6|-> <names…>`
 *                       (first the container's name, then its short ID and aliases)
 *   ctr-<container id>  the container's resolver config: `net <table path>` per user-defined network it is on,
 *                       `upstream <ip>` per server queries are forwarded to (its --dns, else the host's resolvers)
 *
 * Every write is a temp file + rename, so a monitor never reads half a file.
 */
import fs from 'node:fs/promises';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface NameTableEntry {
  ip4?: string;
  ip6?: string;
  /** The container's name first (PTR answers use it), then its other names. */
  names: string[];
}

/** DNS names are single tokens here (the monitor splits on whitespace). */
const TOKEN = /^[^\s]+$/;

export function renderNameTable(network: string, entries: NameTableEntry[]): string {
  const lines = [`network ${TOKEN.test(network) ? network : ''}`]; // a name with spaces: no "<name>.<network>" form
  for (const e of entries) {
    const names = e.names.filter((n) => TOKEN.test(n));
    if (names.length && (e.ip4 || e.ip6)) lines.push(`ep ${e.ip4 || '-'} ${e.ip6 || '-'} ${names.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

export function renderResolverConfig(tables: string[], upstreams: string[]): string {
  return [...tables.map((t) => `net ${t}`), ...upstreams.map((u) => `upstream ${u}`)].join('\n') + '\n';
}

/** The host's nameservers (IPv4; loopback ones included: the monitor forwards from the host's namespace). */
export async function hostNameservers(resolvConf = '/etc/resolv.conf'): Promise<string[]> {
  let text = '';
  try {
    text = await fs.readFile(resolvConf, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const m = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(l);
    if (m) out.push(m[1]);
  }
  return out;
}

let seq = 0;

/** Writes `file` atomically (unique temp name, so two writers never share one). */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${++seq}`);
  await fs.writeFile(tmp, text, { mode: 0o644 });
  await fs.rename(tmp, file);
}

/**
 * The same in one synchronous step, for small files written while the network service's lock is held: two
 * metadata calls, where each async one is a thread-pool round trip that waits behind whatever fills the pool
 * (layer removals during a compose down) — tens of ms each, with every other container's teardown queued behind.
 */
export function writeAtomicSync(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${++seq}`);
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
}
