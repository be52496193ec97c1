/**
 * The host-port allocator: picks host ports for published container ports. A port is free when no berth endpoint
 * holds it and the host lets us bind it (checked by binding and closing at once — the DNAT rule that publishes it
 * has no socket, so the host's own listeners must be asked directly).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { PortAllocator, PortBinding, PortProto, PortRequest } from '../../core/network/index.js';
import { conflict } from '../../errdefs/index.js';

const EPHEMERAL_FROM = 49153;
const EPHEMERAL_TO = 60999;

export class HostPortAllocator implements PortAllocator {
  async allocate(requests: PortRequest[], used: Set<string>, endpoint: { name: string; id: string }): Promise<PortBinding[]> {
    const out: PortBinding[] = [];
    const failed = `driver failed programming external connectivity on endpoint ${endpoint.name} (${endpoint.id})`;
    for (const w of requests) {
      const ip = w.hostIp && w.hostIp !== '0.0.0.0' ? w.hostIp : '0.0.0.0';
      if (ip.includes(':')) continue; // IPv6 host addresses: not supported yet (Docker's ip6tables part)
      let chosen = 0;
      if (w.range && w.range[0] === w.range[1]) {
        const port = w.range[0];
        if (used.has(`${w.proto}/${port}`)) throw conflict(`${failed}: Bind for ${ip}:${port} failed: port is already allocated`);
        const err = await probePort(w.proto, ip, port);
        if (err) throw conflict(`${failed}: Error starting userland proxy: listen ${w.proto}4 ${ip}:${port}: bind: ${err}`);
        chosen = port;
      } else {
        const [from, to] = w.range ?? [EPHEMERAL_FROM, EPHEMERAL_TO];
        for (let p = from; p <= to && !chosen; p++) {
          if (used.has(`${w.proto}/${p}`)) continue;
          if (await probePort(w.proto, ip, p)) continue;
          chosen = p;
        }
        if (!chosen) throw conflict(`${failed}: Bind for ${ip}:${w.range ? w.range.join('-') : '0'} failed: port is already allocated`);
      }
      used.add(`${w.proto}/${chosen}`);
      out.push({ proto: w.proto, hostIp: ip, hostPort: chosen, containerPort: w.containerPort });
    }
    return out;
  }
}

/** Whether a host port is free: binds and closes at once. Returns the error text when it is not. */
export function probePort(proto: PortProto, ip: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const s = dgram.createSocket('udp4');
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
    srv.listen({ port, host: ip, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

function describe(e: NodeJS.ErrnoException): string {
  if (e.code === 'EADDRINUSE') return 'address already in use';
  if (e.code === 'EADDRNOTAVAIL') return 'cannot assign requested address';
  if (e.code === 'EACCES') return 'permission denied';
  return e.message;
}
