/**
 * Linux capabilities as Docker names them: "CAP_" + the kernel's name, upper case. A capability's *bit* is its
 * number in the kernel (CAP_CHOWN = 0 …), which is how /proc/<pid>/status prints the sets (CapEff etc.) in hex.
 */
import { invalidArgument } from '../../../errdefs/index.js';

/** Every capability berth knows, indexed by bit number (kernel 5.9+: up to CAP_CHECKPOINT_RESTORE = 40). */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** Docker's default set for non-privileged containers, in Docker's order (CapEff 00000000a80425fb). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

const bitOf = new Map(ALL_CAPABILITIES.map((c, i) => [c, i]));

/** Bit mask of a set of capability names, as /proc/<pid>/status shows it (16 hex digits via capMaskHex). */
export function capMask(caps: Iterable<string>): bigint {
  let m = 0n;
  for (const c of caps) {
    const b = bitOf.get(c);
    if (b === undefined) throw invalidArgument(`unknown capability: ${JSON.stringify(c)}`);
    m |= 1n << BigInt(b);
  }
  return m;
}

export function capMaskHex(caps: Iterable<string>): string {
  return capMask(caps).toString(16).padStart(16, '0');
}

/** Names of the known capabilities whose bits are set in a hex mask such as CapBnd's; unknown high bits are dropped. */
export function capsFromMask(hex: string): string[] {
  const m = BigInt('0x' + hex.trim());
  return ALL_CAPABILITIES.filter((_, i) => (m >> BigInt(i)) & 1n);
}

/**
 * Canonical form of a user-supplied name: upper case, `CAP_` prefixed; "ALL" stays "ALL".
 * Throws InvalidArgument `unknown capability: "CAP_FOO"` (Docker's wording) for names the kernel lacks.
 */
export function normalizeCapability(name: string): string {
  let c = name.toUpperCase();
  if (c === 'ALL') return c;
  if (!c.startsWith('CAP_')) c = 'CAP_' + c;
  if (!bitOf.has(c)) throw invalidArgument(`unknown capability: ${JSON.stringify(c)}`);
  return c;
}

export interface CapabilityOptions {
  capAdd?: readonly string[] | null;
  capDrop?: readonly string[] | null;
  privileged?: boolean;
  /** What the host's bounding set holds: nothing outside it is ever requested (runc would fail). */
  hostCaps: readonly string[];
}

/**
 * The container's capability set, by Docker's rules: privileged → every capability; `--cap-add ALL` → all minus
 * drops; `--cap-drop ALL` → only the adds; otherwise defaults minus drops plus adds. Implicit grants (defaults, ALL,
 * privileged) are trimmed to the host's set; an explicit --cap-add of a capability the host lacks is an error,
 * since silently running without it would surprise more than refusing.
 */
export function resolveCapabilities(o: CapabilityOptions): string[] {
  const host = new Set(o.hostCaps);
  const onHost = (caps: readonly string[]) => caps.filter((c) => host.has(c));
  if (o.privileged) return onHost(ALL_CAPABILITIES);
  const adds = (o.capAdd ?? []).map(normalizeCapability);
  const drops = new Set((o.capDrop ?? []).map(normalizeCapability));
  const explicit = adds.filter((c) => c !== 'ALL');
  for (const c of explicit) {
    if (!host.has(c)) throw invalidArgument(`capability ${c} is not in the host's bounding set and cannot be added`);
  }
  let caps: string[];
  if (adds.includes('ALL')) caps = onHost(ALL_CAPABILITIES).filter((c) => !drops.has(c));
  else if (drops.has('ALL')) caps = explicit;
  else caps = [...onHost(DEFAULT_CAPABILITIES).filter((c) => !drops.has(c)), ...explicit];
  return [...new Set(caps)];
}
