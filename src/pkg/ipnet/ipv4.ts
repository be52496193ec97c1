/**
 * IPv4 arithmetic for IPAM and the bridge driver: addresses as unsigned 32-bit numbers, CIDR prefixes, overlap
 * checks, and Docker's MAC-from-IP rule (02:42 followed by the four address bytes).
 */
import { invalidArgument } from '../../errdefs/index.js';

export interface Prefix {
  /** The network address (host bits zero). */
  base: number;
  bits: number;
}

export function parseIp(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) throw invalidArgument(`invalid IP address: ${s}`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw invalidArgument(`invalid IP address: ${s}`);
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function isIp(s: string): boolean {
  try {
    parseIp(s);
    return true;
  } catch {
    return false;
  }
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** Parses "a.b.c.d/n". `strict` refuses host bits (Docker normalises them silently for --subnet; we do too). */
export function parseCidr(s: string): Prefix & { ip: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m || Number(m[2]) > 32) throw invalidArgument(`invalid CIDR address: ${s}`);
  const ip = parseIp(m[1]);
  const bits = Number(m[2]);
  return { ip, base: (ip & mask(bits)) >>> 0, bits };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.base)}/${p.bits}`;
}

export function contains(p: Prefix, ip: number): boolean {
  return ((ip & mask(p.bits)) >>> 0) === p.base;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  const bits = Math.min(a.bits, b.bits);
  return ((a.base & mask(bits)) >>> 0) === ((b.base & mask(bits)) >>> 0);
}

export function size(p: Prefix): number {
  return 2 ** (32 - p.bits);
}

export function broadcast(p: Prefix): number {
  return (p.base + size(p) - 1) >>> 0;
}

/** Docker's MAC for an address: 02:42:<the 4 address bytes>. */
export function macFromIp(ip: number): string {
  const b = [0x02, 0x42, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Splits a pool base into subnets of `bits` (Docker's default-address-pools): base 172.17.0.0/12 size 16 → 16 /16s. */
export function* subnetsOf(pool: Prefix, bits: number): Generator<Prefix> {
  if (bits < pool.bits) {
    yield pool;
    return;
  }
  const step = 2 ** (32 - bits);
  const n = 2 ** (bits - pool.bits);
  for (let i = 0; i < n; i++) yield { base: (pool.base + i * step) >>> 0, bits };
}
