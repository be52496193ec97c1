/**
 * One HTTP/1.1 request and its whole answer over a fresh connection, on node:net alone. The client sends its plain
 * requests (a JSON or Buffer body, or none; the answer read to the end) this way because loading node:http costs
 * a `berth ps` ~15 ms CPU, about a tenth of it (issue 17: CLI start-up); streams, uploads and upgrades still go
 * through node:http. `Connection: close`: the daemon ends the connection after the answer.
 */
import net from 'node:net';

export interface ExchangeTarget {
  socketPath?: string;
  hostname: string;
  port?: number;
}

export interface ExchangeAnswer {
  status: number;
  /** Lower-case names; repeated headers joined with ", " as node:http does for most. */
  headers: Record<string, string>;
  body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** The head of an answer, or undefined while it is incomplete. */
function parseHead(buf: Buffer): { status: number; headers: Record<string, string>; bodyStart: number } | undefined {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return undefined;
  const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine!);
  if (!m) throw new Error(`malformed HTTP answer: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(m[1]), headers, bodyStart: end + HEAD_END.length };
}

/** A chunked body decoded, or undefined while its last chunk has not arrived. */
function dechunk(buf: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('malformed chunked HTTP answer');
    if (size === 0) return Buffer.concat(parts);
    if (buf.length < eol + 2 + size + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/**
 * Sends `method path` with `headers` and `body` and resolves with the answer once it is complete. Connection errors
 * reject with the socket's error (its `code`: ENOENT, ECONNREFUSED, …), as node:http's request does.
 */
export function exchange(target: ExchangeTarget, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<ExchangeAnswer> {
  return new Promise((resolve, reject) => {
    const socket = target.socketPath !== undefined ? net.connect(target.socketPath) : net.connect(target.port ?? 80, target.hostname);
    const host = target.socketPath !== undefined ? 'localhost' : `${target.hostname}${target.port !== undefined ? `:${target.port}` : ''}`;
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    if (body) head += `Content-Length: ${body.length}\r\n`;
    else if (method !== 'GET' && method !== 'HEAD') head += 'Content-Length: 0\r\n';
    socket.write(body ? Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), body]) : head + '\r\n');
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (ended: boolean): void => {
      if (done) return;
      const h = parseHead(buf);
      if (!h) {
        if (ended) fail(new Error('the daemon closed the connection without an answer'));
        return;
      }
      const rest = buf.subarray(h.bodyStart);
      let answer: Buffer | undefined;
      if (method === 'HEAD' || h.status === 204 || h.status === 304) answer = Buffer.alloc(0);
      else if (/\bchunked\b/i.test(h.headers['transfer-encoding'] ?? '')) answer = dechunk(rest);
      else if (h.headers['content-length'] !== undefined) {
        const n = Number(h.headers['content-length']);
        if (rest.length >= n) answer = rest.subarray(0, n);
      } else if (ended) answer = rest;
      if (answer === undefined) {
        if (ended) fail(new Error('the daemon closed the connection before the end of its answer'));
        return;
      }
      done = true;
      socket.destroy();
      resolve({ status: h.status, headers: h.headers, body: answer });
    };
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      socket.destroy();
      reject(err);
    };
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      try {
        finish(false);
      } catch (e) {
        fail(e as Error);
      }
    });
    socket.on('end', () => {
      try {
        finish(true);
      } catch (e) {
        fail(e as Error);
      }
    });
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the daemon closed the connection before the end of its answer')));
  });
}
