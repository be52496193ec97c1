/**
 * The host-port allocator: picks host ports for published container ports. A port is free when no berth endpoint
 * holds it, no other engine's DNAT rule publishes it (another berthd, a dockerd without userland proxy), and the
 * host lets us bind it (checked by binding and closing at once — a DNAT rule has no socket, so the host's own
 * listeners must be asked directly).
 *
 * Ephemeral ports come from the kernel's `ip_local_port_range` (dockerd's rule), handed out round robin per
 * protocol so a port just released is not reused at once; explicit bindings of a container are taken before its
 * ephemeral ones, so an ephemeral pick never steals a port the same container names.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import type { PortAllocator, PortBinding, PortProto, PortRequest } from '../../core/network/index.js';
import { conflict } from '../../errdefs/index.js';

/** dockerd's fallback when the kernel's range cannot be read. */
const DEFAULT_RANGE: [number, number] = [49153, 60999];

/** The kernel's ephemeral port range (/proc/sys/net/ipv4/ip_local_port_range). */
export function localPortRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  try {
    const [from, to] = fs.readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (from > 0 && to >= from && to <= 65535) return [from, to];
  } catch {
    /* fall back */
  }
  return DEFAULT_RANGE;
}

export interface HostPortAllocatorOptions {
  /** Ephemeral range; default the kernel's. */
  range?: [number, number];
  /** "proto/port" published by other engines' DNAT rules (asked only when an ephemeral port is needed). */
  foreign?: () => Promise<Set<string>>;
}

export class HostPortAllocator implements PortAllocator {
  private readonly range: [number, number];
  /** The last ephemeral port handed out, per protocol (round robin). */
  private readonly last = new Map<string, number>();

  constructor(private readonly o: HostPortAllocatorOptions = {}) {
    this.range = o.range ?? localPortRange();
  }

  async allocate(requests: PortRequest[], used: Set<string>, endpoint: { name: string; id: string }): Promise<PortBinding[]> {
    const failed = `driver failed programming external connectivity on endpoint ${endpoint.name} (${endpoint.id})`;
    const fixed = (w: PortRequest) => Boolean(w.range && w.range[0] === w.range[1]);
    // explicit ports first, so an ephemeral pick cannot take one of them; results keep the request order
    const order = [...requests.keys()].sort((a, b) => Number(fixed(requests[b])) - Number(fixed(requests[a])));
    const foreign = requests.some((w) => !fixed(w)) && this.o.foreign ? await this.o.foreign().catch(() => new Set<string>()) : new Set<string>();
    const chosenFor = new Map<number, PortBinding>();
    for (const idx of order) {
      const w = requests[idx];
      const ip = w.hostIp && w.hostIp !== '0.0.0.0' ? w.hostIp : '0.0.0.0';
      const v6 = ip.includes(':');
      const shown = v6 ? `[${ip}]` : ip;
      let chosen = 0;
      if (w.range && w.range[0] === w.range[1]) {
        const port = w.range[0];
        if (used.has(`${w.proto}/${port}`)) throw conflict(`${failed}: Bind for ${shown}:${port} failed: port is already allocated`);
        const err = await probePort(w.proto, ip, port);
        if (err) throw conflict(`${failed}: Error starting userland proxy: listen ${w.proto}${v6 ? 6 : 4} ${shown}:${port}: bind: ${err}`);
        chosen = port;
      } else {
        const [from, to] = w.range ?? this.range;
        const count = to - from + 1;
        // a user's range is searched from its start (dockerd); the ephemeral range round robin
        const start = w.range ? from : Math.min(Math.max((this.last.get(w.proto) ?? from - 1) + 1, from), to + 1);
        for (let i = 0; i < count && !chosen; i++) {
          const p = from + ((start - from + i) % count);
          if (used.has(`${w.proto}/${p}`) || foreign.has(`${w.proto}/${p}`)) continue;
          if (await probePort(w.proto, ip, p)) continue;
          chosen = p;
        }
        if (!chosen) throw conflict(`${failed}: Bind for ${shown}:${w.range ? w.range.join('-') : '0'} failed: port is already allocated`);
        if (!w.range) this.last.set(w.proto, chosen);
      }
      used.add(`${w.proto}/${chosen}`);
      chosenFor.set(idx, { proto: w.proto, hostIp: ip, hostPort: chosen, containerPort: w.containerPort });
    }
    return [...requests.keys()].filter((i) => chosenFor.has(i)).map((i) => chosenFor.get(i)!);
  }
}

/** Whether a host port is free: binds and closes at once. Returns the error text when it is not. */
export function probePort(proto: PortProto, ip: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const v6 = ip.includes(':');
    if (proto === 'udp') {
      const s = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
      s.once('error', (e: NodeJS.ErrnoException) => {
        s.close();
        resolve(describe(e));
      });
      s.bind({ port, address: ip, exclusive: true }, () => s.close(() => resolve(undefined)));
      return;
    }
    if (proto === 'sctp') return resolve(undefined);
    const srv = net.createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => resolve(describe(e)));
    srv.listen({ port, host: ip, exclusive: true, ipv6Only: v6 }, () => srv.close(() => resolve(undefined)));
  });
}

function describe(e: NodeJS.ErrnoException): string {
  if (e.code === 'EADDRINUSE') return 'address already in use';
  if (e.code === 'EADDRNOTAVAIL') return 'cannot assign requested address';
  if (e.code === 'EACCES') return 'permission denied';
  return e.message;
}
