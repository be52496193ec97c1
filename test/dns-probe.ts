/**
 * A small DNS client and upstream server for tests and bench/dns.ts (RFC 1035 wire format; A, AAAA, PTR).
 *
 * As a program it queries from whatever network namespace it runs in — tests start it with
 * `nsenter --net=<SandboxKey> node dns-probe.js …` to ask a container's 127.0.0.11 without berthd or the image:
 *   node dns-probe.js --name web [--type A|AAAA|PTR] [--tcp] [--server 127.0.0.11] [--count N]
 * and prints one JSON line: {"rcode":0,"answers":["10.1.0.2"],"tc":false,"count":N,"qps":…,"p50Ms":…,"p99Ms":…}.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const TYPES: Record<string, number> = { A: 1, PTR: 12, AAAA: 28 };

export interface DnsAnswer {
  id: number;
  rcode: number;
  tc: boolean;
  answers: string[];
}

export function buildQuery(id: number, name: string, type: number): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const parts = [Buffer.from([id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'ascii'));
  parts.push(Buffer.from([0, type >> 8, type & 255, 0, 1]));
  return Buffer.concat(parts);
}

function readName(m: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  let end = -1;
  for (let p = off, hops = 0; hops < 64; hops++) {
    const l = m[p];
    if (l === 0) {
      if (end < 0) end = p + 1;
      break;
    }
    if ((l & 0xc0) === 0xc0) {
      if (end < 0) end = p + 2;
      p = ((l & 0x3f) << 8) | m[p + 1];
      continue;
    }
    labels.push(m.subarray(p + 1, p + 1 + l).toString('ascii'));
    p += 1 + l;
  }
  return { name: labels.join('.'), end };
}

export function parseResponse(m: Buffer): DnsAnswer {
  const id = m.readUInt16BE(0);
  const flags = m.readUInt16BE(2);
  const qd = m.readUInt16BE(4);
  const an = m.readUInt16BE(6);
  let p = 12;
  for (let i = 0; i < qd; i++) p = readName(m, p).end + 4;
  const answers: string[] = [];
  for (let i = 0; i < an; i++) {
    p = readName(m, p).end;
    const type = m.readUInt16BE(p);
    const len = m.readUInt16BE(p + 8);
    const rd = m.subarray(p + 10, p + 10 + len);
    if (type === 1) answers.push([...rd].join('.'));
    else if (type === 28) answers.push(rd.toString('hex').match(/.{4}/g)!.join(':').replace(/(^|:)0{1,3}/g, '$1'));
    else if (type === 12) answers.push(readName(m, p + 10).name);
    p += 10 + len;
  }
  return { id, rcode: flags & 15, tc: Boolean(flags & 0x200), answers };
}

/** The PTR name of an IPv4 address. */
export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

export function udpQuery(server: string, port: number, q: Buffer, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      reject(new Error(`no answer from ${server}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.on('error', (e) => {
      clearTimeout(t);
      s.close();
      reject(e);
    });
    s.send(q, port, server);
  });
}

export function tcpQuery(server: string, port: number, q: Buffer, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: server, port });
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no TCP answer from ${server}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => {
      const l = Buffer.alloc(2);
      l.writeUInt16BE(q.length);
      s.write(Buffer.concat([l, q]));
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(t);
        s.end();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/**
 * A UDP DNS server answering A queries from `records` (name → address), NXDOMAIN otherwise; for tests of
 * forwarding. Resolves once it listens.
 */
export function startUpstream(ip: string, port: number, records: Record<string, string>): Promise<{ close(): void; queries: string[] }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const queries: string[] = [];
    s.on('message', (m, rinfo) => {
      const { name, end } = readName(m, 12);
      queries.push(name);
      const q = m.subarray(12, end + 4);
      const addr = records[name.toLowerCase()];
      const head = Buffer.from([m[0], m[1], 0x81, addr ? 0x80 : 0x83, 0, 1, 0, addr ? 1 : 0, 0, 0, 0, 0]);
      const rr = addr ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...addr.split('.').map(Number)]) : Buffer.alloc(0);
      s.send(Buffer.concat([head, q, rr]), rinfo.port, rinfo.address);
    });
    s.once('error', reject);
    s.bind(port, ip, () => resolve({ close: () => s.close(), queries }));
  });
}

async function main(argv: string[]): Promise<void> {
  const arg = (k: string, dflt?: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const server = arg('server', '127.0.0.11')!;
  const port = Number(arg('port', '53'));
  const name = arg('name')!;
  const type = TYPES[arg('type', 'A')!];
  const tcp = argv.includes('--tcp');
  const count = Number(arg('count', '1'));
  const times: number[] = [];
  let last: DnsAnswer | undefined;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const q = buildQuery((i * 7919 + 1) & 0xffff, name, type);
    const s = process.hrtime.bigint();
    last = parseResponse(await (tcp ? tcpQuery : udpQuery)(server, port, q));
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))];
  process.stdout.write(JSON.stringify({ ...last, count, qps: count / total, p50Ms: pct(0.5), p99Ms: pct(0.99) }) + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e) => {
    process.stdout.write(JSON.stringify({ error: (e as Error).message }) + '\n');
    process.exit(1);
  });
}
