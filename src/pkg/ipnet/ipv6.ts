/**
 * IPv6 arithmetic for IPAM and the bridge driver: addresses as 128-bit BigInts, CIDR prefixes, overlap checks, and
 * the canonical text form (RFC 5952: lower case, longest run of zero groups as `::`, no leading zeros), which is
 * how dockerd prints addresses in inspect.
 */
import { invalidArgument } from '../../errdefs/index.js';

export interface Prefix6 {
  /** The network address (host bits zero). */
  base: bigint;
  bits: number;
}

const ALL = (1n << 128n) - 1n;

export function isIp6(s: string): boolean {
  try {
    parseIp6(s);
    return true;
  } catch {
    return false;
  }
}

/** Parses an IPv6 address (with `::`, and an embedded dotted IPv4 tail); zone indexes are refused. */
export function parseIp6(s: string): bigint {
  const text = s.trim();
  const bad = () => invalidArgument(`invalid IP address: ${s}`);
  if (!text.includes(':') || /[^0-9a-fA-F:.]/.test(text)) throw bad();
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const groups = (h: string): number[] => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(p);
        if (!m || m.slice(1).some((x) => Number(x) > 255)) throw bad();
        const b = m.slice(1).map(Number);
        out.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) throw bad();
      out.push(parseInt(p, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) throw bad();
  const all = [...head, ...Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** RFC 5952 text form. */
export function formatIp6(n: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  // longest run (≥ 2) of zero groups, the first one on a tie
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

export function mask6(bits: number): bigint {
  return bits === 0 ? 0n : (ALL << BigInt(128 - bits)) & ALL;
}

/** Parses "addr/n"; host bits are dropped from `base` and kept in `ip`. */
export function parseCidr6(s: string): Prefix6 & { ip: bigint } {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s.trim());
  if (!m) throw invalidArgument(`invalid CIDR address: ${s}`);
  const bits = Number(m[2]);
  if (bits > 128) throw invalidArgument(`invalid CIDR address: ${s}`);
  let ip: bigint;
  try {
    ip = parseIp6(m[1]);
  } catch {
    throw invalidArgument(`invalid CIDR address: ${s}`);
  }
  return { ip, base: ip & mask6(bits), bits };
}

export function formatPrefix6(p: Prefix6): string {
  return `${formatIp6(p.base)}/${p.bits}`;
}

export function contains6(p: Prefix6, ip: bigint): boolean {
  return (ip & mask6(p.bits)) === p.base;
}

export function overlaps6(a: Prefix6, b: Prefix6): boolean {
  const bits = Math.min(a.bits, b.bits);
  return (a.base & mask6(bits)) === (b.base & mask6(bits));
}

/** The last address of a prefix. */
export function last6(p: Prefix6): bigint {
  return p.base | (~mask6(p.bits) & ALL);
}

/** Whether a string is an IPv6 CIDR (to tell the families of IPAM configs apart). */
export function isCidr6(s: string): boolean {
  return s.includes(':');
}
