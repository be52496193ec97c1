/**
 * HTTP/1.1 requests over a fresh connection on node:net alone. The CLI's requests go this way because loading
 * node:http costs a `berth ps` ~15 ms CPU, about a tenth of it (issue 17: CLI start-up). Three shapes:
 * - `exchange`: a plain request and its whole answer (lists, inspect, start, rm …);
 * - `exchangeHead`: resolves at the answer's head, its body still to come (`POST /wait`: the daemon answers the head
 *   once the wait is registered, the exit status when it happens);
 * - `upgrade`: a hijacked connection (`attach`, exec start): the socket itself once the daemon says 101.
 * Streamed request bodies and long streamed answers (pull, build, logs, events) still go through node:http.
 * `Connection: close` (or `Upgrade`): the daemon ends the connection after the answer.
 */
import net from 'node:net';

export interface ExchangeTarget {
  socketPath?: string;
  hostname: string;
  port?: number;
}

/** The status line and headers of an answer. */
export interface ExchangeHead {
  status: number;
  /** Lower-case names; repeated headers joined with ", " as node:http does for most. */
  headers: Record<string, string>;
}

export interface ExchangeAnswer extends ExchangeHead {
  body: Buffer;
}

/** An answer whose head has arrived: `body` resolves once the rest has; `close` ends the connection (a cancel). */
export interface PendingAnswer extends ExchangeHead {
  body: Promise<Buffer>;
  close(): void;
}

/** A hijacked connection: the raw stream after a 101 (or a 200 an older daemon sends), its head already read. */
export interface UpgradedAnswer extends ExchangeHead {
  socket: net.Socket;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** The head of an answer, or undefined while it is incomplete. */
function parseHead(buf: Buffer): (ExchangeHead & { bodyStart: number }) | undefined {
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

/** The body of an answer with `head` from the bytes after its head, or undefined while it is incomplete. */
function completeBody(method: string, head: ExchangeHead, rest: Buffer, ended: boolean): Buffer | undefined {
  if (method === 'HEAD' || head.status === 204 || head.status === 304) return Buffer.alloc(0);
  if (/\bchunked\b/i.test(head.headers['transfer-encoding'] ?? '')) return dechunk(rest);
  if (head.headers['content-length'] !== undefined) {
    const n = Number(head.headers['content-length']);
    return rest.length >= n ? rest.subarray(0, n) : undefined;
  }
  return ended ? rest : undefined;
}

const CUT_SHORT = 'the daemon closed the connection before the end of its answer';

/**
 * What a connection reports as it reads an answer: `head` once (it may return true to take the socket over: no more
 * reading here), then `body` once, or `error` once instead of whatever has not come yet.
 */
interface AnswerReader {
  head(head: ExchangeHead, socket: net.Socket, rest: Buffer): boolean;
  body(body: Buffer): void;
  error(err: Error): void;
}

/** Connects, sends the request, and reads the answer into `reader`. Connection errors keep their `code`. */
function send(target: ExchangeTarget, method: string, path: string, headers: Record<string, string>, body: Buffer | undefined, reader: AnswerReader): net.Socket {
  const socket = target.socketPath !== undefined ? net.connect(target.socketPath) : net.connect(target.port ?? 80, target.hostname);
  const host = target.socketPath !== undefined ? 'localhost' : `${target.hostname}${target.port !== undefined ? `:${target.port}` : ''}`;
  let text = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'connection')) text += 'Connection: close\r\n';
  for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
  if (body) text += `Content-Length: ${body.length}\r\n`;
  else if (method !== 'GET' && method !== 'HEAD') text += 'Content-Length: 0\r\n';
  socket.write(body ? Buffer.concat([Buffer.from(text + '\r\n', 'latin1'), body]) : text + '\r\n');

  // Read in paused mode ('readable'): when an upgrade takes the socket over, dropping the listener leaves it as a
  // fresh socket would be, so the new owner's first 'data' listener starts the flow and nothing is lost meanwhile.
  let buf: Buffer = Buffer.alloc(0);
  let head: (ExchangeHead & { bodyStart: number }) | undefined;
  let done = false;
  const release = (): void => {
    socket.removeListener('readable', onReadable);
    socket.removeListener('end', onEnd);
    socket.removeListener('error', fail);
    socket.removeListener('close', onClose);
  };
  const finish = (ended: boolean): void => {
    if (!head) {
      head = parseHead(buf);
      if (!head) {
        if (ended) fail(new Error('the daemon closed the connection without an answer'));
        return;
      }
      const rest = buf.subarray(head.bodyStart);
      if (reader.head(head, socket, rest)) {
        done = true;
        release();
        if (rest.length) socket.unshift(rest);
        return;
      }
    }
    const answer = completeBody(method, head, buf.subarray(head.bodyStart), ended);
    if (answer === undefined) {
      if (ended) fail(new Error(CUT_SHORT));
      return;
    }
    done = true;
    socket.destroy();
    reader.body(answer);
  };
  const fail = (err: Error): void => {
    if (done) return;
    done = true;
    socket.destroy();
    reader.error(err);
  };
  const guarded = (ended: boolean): void => {
    try {
      finish(ended);
    } catch (e) {
      fail(e as Error);
    }
  };
  const onReadable = (): void => {
    const read: Buffer[] = [];
    for (let chunk: Buffer | null; !done && (chunk = socket.read() as Buffer | null) !== null; ) read.push(chunk);
    if (!read.length || done) return;
    // Answers read whole are small (lists, inspect, wait results), so one concatenation per read is fine.
    buf = buf.length ? Buffer.concat([buf, ...read]) : read.length === 1 ? read[0]! : Buffer.concat(read);
    guarded(false);
  };
  const onEnd = (): void => guarded(true);
  const onClose = (): void => fail(new Error(CUT_SHORT));
  socket.on('readable', onReadable);
  socket.on('end', onEnd);
  socket.on('error', fail);
  socket.on('close', onClose);
  return socket;
}

/**
 * Sends `method path` with `headers` and `body` and resolves with the answer once it is complete. Connection errors
 * reject with the socket's error (its `code`: ENOENT, ECONNREFUSED, …), as node:http's request does.
 */
export function exchange(target: ExchangeTarget, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<ExchangeAnswer> {
  return new Promise((resolve, reject) => {
    let head: ExchangeHead;
    send(target, method, path, headers, body, {
      head: (h) => ((head = h), false),
      body: (b) => resolve({ status: head.status, headers: head.headers, body: b }),
      error: reject,
    });
  });
}

/** As `exchange`, but resolves as soon as the answer's head has arrived, with its body to come. */
export function exchangeHead(target: ExchangeTarget, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<PendingAnswer> {
  return new Promise((resolve, reject) => {
    let settle: { resolve(b: Buffer): void; reject(e: Error): void } | undefined;
    const bodyPromise = new Promise<Buffer>((res, rej) => (settle = { resolve: res, reject: rej }));
    bodyPromise.catch(() => {}); // a caller that only wanted the head
    const socket = send(target, method, path, headers, body, {
      head: (h) => {
        resolve({ status: h.status, headers: h.headers, body: bodyPromise, close: () => socket.destroy() });
        return false;
      },
      body: (b) => settle!.resolve(b),
      error: (e) => {
        reject(e); // before the head; a no-op after it
        settle!.reject(e);
      },
    });
  });
}

/**
 * Sends a request asking to upgrade the connection (`Connection: Upgrade`, `Upgrade: tcp`, as the docker CLI does for
 * attach and exec start). A 101 — or a 200, which daemons before API 1.24 answer with the raw stream — resolves with
 * the socket, any bytes read past the head put back; any other status resolves with the whole answer.
 */
export function upgrade(target: ExchangeTarget, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<UpgradedAnswer | ExchangeAnswer> {
  return new Promise((resolve, reject) => {
    let head: ExchangeHead;
    send(target, method, path, { ...headers, Connection: 'Upgrade', Upgrade: 'tcp' }, body, {
      head: (h, socket) => {
        head = h;
        if (h.status !== 101 && h.status !== 200) return false;
        resolve({ status: h.status, headers: h.headers, socket });
        return true;
      },
      body: (b) => resolve({ status: head.status, headers: head.headers, body: b }),
      error: reject,
    });
  });
}
