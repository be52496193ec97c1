/**
 * IPAM: address allocation inside one network's subnet, and subnet selection from the daemon's address pools.
 *
 * An `AddressSpace` is plain data (persisted by the network service with the network record): the subnet, the
 * optional ip-range addresses are handed out from, the gateway, and the allocated addresses with their owner
 * (endpoint id). Allocation is sequential after the last address handed out (wrapping), as Docker's bitmap
 * allocator does, so a just-released address is not reused at once.
 */
import { DEFAULT_POOLS, type AddressPool, type Ipam, type PoolSpec } from '../../core/network/index.js';
import { conflict, invalidArgument } from '../../errdefs/index.js';
import {
  broadcast, contains, formatIp, formatPrefix, overlaps, parseCidr, parseIp, Prefix, subnetsOf,
} from '../../pkg/ipnet/ipv4.js';
import {
  contains6, formatIp6, formatPrefix6, isCidr6, last6, overlaps6, parseCidr6, parseIp6,
} from '../../pkg/ipnet/ipv6.js';

/** A network's pool (core/network's `AddressPool`), under its historical name. */
export type AddressSpace = AddressPool;
export type { PoolSpec };
export { DEFAULT_POOLS };


/** Builds an address space (IPv4, or IPv6 for a subnet with colons); checks that gateway and range lie in it. */
export function newAddressSpace(subnet: string, gateway?: string, ipRange?: string): AddressSpace {
  if (isCidr6(subnet)) return newAddressSpace6(subnet, gateway, ipRange);
  const p = parseCidr(subnet);
  if (p.bits > 30) throw invalidArgument(`invalid subnet ${subnet}: too small for a network`);
  const sub = formatPrefix(p);
  let gw: number;
  if (gateway) {
    gw = parseIp(gateway);
    if (!contains(p, gw)) throw invalidArgument(`no matching subnet for gateway ${gateway}`);
  } else gw = (p.base + 1) >>> 0;
  let range: string | undefined;
  if (ipRange) {
    const r = parseCidr(ipRange);
    if (!contains(p, r.base) || r.bits < p.bits) throw invalidArgument(`no matching subnet for range ${ipRange}`);
    range = formatPrefix(r);
  }
  return { subnet: sub, gateway: formatIp(gw), ipRange: range, allocated: {} };
}

function newAddressSpace6(subnet: string, gateway?: string, ipRange?: string): AddressSpace {
  const p = parseCidr6(subnet);
  if (p.bits > 126) throw invalidArgument(`invalid subnet ${subnet}: too small for a network`);
  let gw: bigint;
  if (gateway) {
    gw = parseIp6(gateway);
    if (!contains6(p, gw)) throw invalidArgument(`no matching subnet for gateway ${gateway}`);
  } else gw = p.base + 1n;
  let range: string | undefined;
  if (ipRange) {
    const r = parseCidr6(ipRange);
    if (!contains6(p, r.base) || r.bits < p.bits) throw invalidArgument(`no matching subnet for range ${ipRange}`);
    range = formatPrefix6(r);
  }
  return { family: 6, subnet: formatPrefix6(p), gateway: formatIp6(gw), ipRange: range, allocated: {} };
}

/** IPv6 allocation: sequential from the last address handed out, the subnet's first (router anycast) address never. */
function allocate6(space: AddressSpace, owner: string, requested?: string): string {
  const subnet = parseCidr6(space.subnet);
  if (requested) {
    const ip = parseIp6(requested);
    if (!contains6(subnet, ip)) throw invalidArgument(`no available IPv6 addresses on this network's address pools: ${requested} is not in ${space.subnet}`);
    const s = formatIp6(ip);
    if (s === space.gateway || ip === subnet.base) throw invalidArgument(`Address already in use: ${s}`);
    if (space.allocated[s] && space.allocated[s] !== owner) throw conflict('Address already in use');
    space.allocated[s] = owner;
    return s;
  }
  const r = space.ipRange ? parseCidr6(space.ipRange) : subnet;
  const from = r.base === subnet.base ? r.base + 1n : r.base;
  const to = last6(r);
  const count = to - from + 1n;
  let start = space.last ? parseIp6(space.last) + 1n : from;
  if (start < from || start > to) start = from;
  // a /64 has 2^64 addresses: search at most as many as are taken, plus one
  const tries = BigInt(Object.keys(space.allocated).length + 2);
  for (let i = 0n; i < count && i < tries; i++) {
    const ip = from + ((start - from + i) % count);
    const s = formatIp6(ip);
    if (s === space.gateway || space.allocated[s]) continue;
    space.allocated[s] = owner;
    space.last = s;
    return s;
  }
  throw conflict(`no available IPv6 addresses on this network's address pools: ${space.subnet}`);
}

/**
 * An IPv6 subnet for a network that asked for IPv6 without naming one: the first /64 of `base` (a ULA /48 of the
 * daemon's, as dockerd ≥ 27 derives one) that overlaps no subnet in `taken` nor the host's routes.
 */
export function pickSubnet6(base: string, taken: string[], hostRoutes: string[] = []): string {
  const b = parseCidr6(base);
  const busy = [...taken, ...hostRoutes].filter(isCidr6).map((t) => parseCidr6(t));
  const n = 1n << BigInt(Math.max(0, Math.min(16, 64 - b.bits)));
  for (let i = 0n; i < n; i++) {
    const sub = { base: b.base + (i << 64n), bits: 64 };
    if (!busy.some((x) => overlaps6(x, sub))) return formatPrefix6(sub);
  }
  throw invalidArgument('could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network');
}

function usable(space: AddressSpace): { from: number; to: number; subnet: Prefix } {
  const subnet = parseCidr(space.subnet);
  const r = space.ipRange ? parseCidr(space.ipRange) : subnet;
  let from = r.base;
  let to = broadcast(r);
  if (from === subnet.base) from++;
  if (to === broadcast(subnet)) to--;
  return { from, to, subnet };
}

/** Allocates an address for `owner`: the requested one (must be in the subnet and free) or the next free one. */
export function allocate(space: AddressSpace, owner: string, requested?: string): string {
  if (space.family === 6) return allocate6(space, owner, requested);
  const { from, to, subnet } = usable(space);
  if (requested) {
    const ip = parseIp(requested);
    if (!contains(subnet, ip)) throw invalidArgument(`no available IPv4 address on this network's address pools: ${requested} is not in ${space.subnet}`);
    const s = formatIp(ip);
    if (s === space.gateway || ip === subnet.base || ip === broadcast(subnet)) throw invalidArgument(`Address already in use: ${s}`);
    if (space.allocated[s] && space.allocated[s] !== owner) throw conflict(`Address already in use`);
    space.allocated[s] = owner;
    return s;
  }
  const count = to - from + 1;
  const last = space.last ? parseIp(space.last) : from - 1;
  let start = last + 1;
  if (start < from || start > to) start = from;
  for (let i = 0; i < count; i++) {
    const ip = from + ((start - from + i) % count);
    const s = formatIp(ip >>> 0);
    if (s === space.gateway || space.allocated[s]) continue;
    space.allocated[s] = owner;
    space.last = s;
    return s;
  }
  throw conflict(`no available IPv4 address on this network's address pools: ${space.subnet}`);
}

/** Releases `ip` if `owner` holds it (or any owner when owner is undefined). */
export function release(space: AddressSpace, ip: string, owner?: string): void {
  if (space.allocated[ip] && (owner === undefined || space.allocated[ip] === owner)) delete space.allocated[ip];
}

/**
 * Picks the first subnet from `pools` overlapping neither `taken` (other networks' subnets) nor the host's routes.
 * `skip` names subnets never to pick (Docker's 172.17.0.0/16, so docker0 can come up beside berth).
 */
export function pickSubnet(pools: readonly PoolSpec[], taken: string[], hostRoutes: string[], skip: string[] = []): string {
  const busy = [...taken, ...hostRoutes, ...skip].map((s) => parseCidr(s));
  for (const pool of pools) {
    for (const sub of subnetsOf(parseCidr(pool.base), pool.size)) {
      if (busy.some((b) => overlaps(b, sub))) continue;
      return formatPrefix(sub);
    }
  }
  throw invalidArgument('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

/** The default IPAM driver (Docker's `default`): sequential allocation in each pool. */
export const defaultIpam: Ipam = { newPool: newAddressSpace, allocate, release, pickSubnet, pickSubnet6 };
