/**
 * An Engine API client over a unix socket (or TCP), used by the `berth` CLI, compose and the test harness.
 * Non-2xx answers become EngineErrors whose kind comes from the status and whose message is the daemon's own text.
 */
import type { Agent, IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { API_VERSION } from '../api/version.js';
import { EngineError, kindFromStatus } from '../errdefs/index.js';
import { exchange, exchangeHead, upgrade, type ExchangeTarget, type PendingAnswer } from './exchange.js';

export type QueryValue = string | number | boolean | undefined | null | string[];

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** A JSON value, a Buffer, or a stream (sent chunked). */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Raised when nothing answers on the daemon's socket (so callers can tell "no daemon" from API errors). */
export class DaemonUnreachableError extends Error {
  readonly kind = 'Unavailable';
  constructor(readonly host: string, cause: unknown) {
    super(`Cannot connect to the berth daemon at ${host}. Is the berth daemon running?`, { cause });
  }
}

export class EngineClient {
  private readonly socketPath?: string;
  private readonly hostname: string = 'localhost';
  private readonly port?: number;
  /** node:http and its keep-alive pool, loaded on the first request that needs them (see exchange.ts). */
  private http?: Promise<{ request: typeof import('node:http').request; agent: Agent }>;

  constructor(readonly host: string, readonly apiVersion: string = API_VERSION) {
    if (host.startsWith('unix://')) this.socketPath = host.slice(7);
    else if (host.startsWith('/')) this.socketPath = host;
    else {
      const u = new URL(host.replace(/^tcp:/, 'http:'));
      this.hostname = u.hostname;
      this.port = Number(u.port || 2375);
    }
  }

  /** Ends pooled keep-alive connections so the process can exit promptly. */
  close(): void {
    void this.http?.then(({ agent }) => agent.destroy());
  }

  private loadHttp(): Promise<{ request: typeof import('node:http').request; agent: Agent }> {
    this.http ??= import('node:http').then((http) => ({ request: http.request, agent: new http.Agent({ keepAlive: true, maxSockets: 16 }) }));
    return this.http;
  }

  private url(path: string, query?: Record<string, QueryValue>): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) for (const x of v) q.append(k, x);
      else q.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
    }
    const qs = q.toString();
    return `/v${this.apiVersion}${path}${qs ? `?${qs}` : ''}`;
  }

  private async raw(method: string, path: string, opts: RequestOptions, upgrade: boolean): Promise<{ res: IncomingMessage; socket?: Duplex }> {
    const http = await this.loadHttp();
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...opts.headers };
      let payload: Buffer | undefined;
      let stream: Readable | undefined;
      const body = opts.body;
      if (body !== undefined) {
        if (Buffer.isBuffer(body)) payload = body;
        else if (body && typeof (body as Readable).pipe === 'function') stream = body as Readable;
        else {
          payload = Buffer.from(JSON.stringify(body));
          headers['Content-Type'] ??= 'application/json';
        }
      }
      if (payload) headers['Content-Length'] = String(payload.length);
      if (upgrade) {
        headers.Connection = 'Upgrade';
        headers.Upgrade = 'tcp';
      }
      const req = http.request({
        method,
        path: this.url(path, opts.query),
        headers,
        socketPath: this.socketPath,
        hostname: this.hostname,
        port: this.port,
        agent: upgrade ? false : http.agent,
        signal: opts.signal,
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (['ENOENT', 'ECONNREFUSED', 'EACCES'].includes(err.code ?? '')) reject(new DaemonUnreachableError(this.host, err));
        else reject(err);
      });
      req.on('upgrade', (res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve({ res, socket });
      });
      req.on('response', (res) => resolve({ res }));
      if (stream) stream.pipe(req);
      else req.end(payload);
    });
  }

  /** Sends a request; resolves with the response for 2xx, rejects with an EngineError otherwise. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const { res } = await this.raw(method, path, opts, false);
    if ((res.statusCode ?? 500) >= 400) throw await errorFrom(res);
    return res;
  }

  /** The target, query string and JSON-encoded payload of a request exchange.ts can send (no streamed body). */
  private plain(path: string, opts: RequestOptions): { target: ExchangeTarget; url: string; headers: Record<string, string>; payload?: Buffer } {
    const headers: Record<string, string> = { ...opts.headers };
    let payload: Buffer | undefined;
    if (Buffer.isBuffer(opts.body)) payload = opts.body;
    else if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] ??= 'application/json';
    }
    return { target: { socketPath: this.socketPath, hostname: this.hostname, port: this.port }, url: this.url(path, opts.query), headers, payload };
  }

  /** Runs one exchange.ts call, mapping "nothing listens" to DaemonUnreachableError. */
  private async reach<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (err) {
      if (['ENOENT', 'ECONNREFUSED', 'EACCES'].includes((err as NodeJS.ErrnoException).code ?? '')) throw new DaemonUnreachableError(this.host, err);
      throw err;
    }
  }

  /** Whether a request needs node:http: a streamed body, or a signal to abort it with. */
  private static needsHttp(opts: RequestOptions): boolean {
    const body = opts.body;
    return !!opts.signal || (!!body && !Buffer.isBuffer(body) && typeof (body as Readable).pipe === 'function');
  }

  /**
   * Sends a request and resolves with the whole body of a 2xx answer, rejects with an EngineError otherwise. Without
   * a streamed body or a signal it is one exchange on node:net (exchange.ts), else node:http.
   */
  async buffer(method: string, path: string, opts: RequestOptions = {}): Promise<Buffer> {
    if (EngineClient.needsHttp(opts)) return readAll(await this.request(method, path, opts));
    const { target, url, headers, payload } = this.plain(path, opts);
    const answer = await this.reach(exchange(target, method, url, headers, payload));
    if (answer.status >= 400) throw engineError(answer.status, answer.body.toString('utf8'));
    return answer.body;
  }

  /**
   * Sends a request and resolves once a 2xx answer's head has arrived, its body to come (`POST /wait`); rejects with
   * an EngineError for any other status. On node:net (exchange.ts).
   */
  async head(method: string, path: string, opts: Omit<RequestOptions, 'signal'> = {}): Promise<PendingAnswer> {
    const { target, url, headers, payload } = this.plain(path, opts);
    const answer = await this.reach(exchangeHead(target, method, url, headers, payload));
    if (answer.status >= 400) throw engineError(answer.status, (await answer.body).toString('utf8'));
    return answer;
  }

  /** Sends a request and parses a JSON answer (undefined for an empty body). */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const text = await this.buffer(method, path, opts);
    return (text.length ? JSON.parse(text.toString('utf8')) : undefined) as T;
  }

  /** Opens a hijacked raw stream (attach, exec start): on node:net unless the body is a stream or there is a signal. */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<Duplex> {
    if (!EngineClient.needsHttp(opts)) {
      const { target, url, headers, payload } = this.plain(path, opts);
      const answer = await this.reach(upgrade(target, method, url, headers, payload));
      if ('socket' in answer) return answer.socket;
      throw engineError(answer.status, answer.body.toString('utf8'));
    }
    const { res, socket } = await this.raw(method, path, opts, true);
    if (socket) return socket;
    if ((res.statusCode ?? 500) >= 400) throw await errorFrom(res);
    return res.socket as Duplex;
  }

  async ping(signal?: AbortSignal): Promise<boolean> {
    try {
      await this.buffer('GET', '/_ping', { signal });
      return true;
    } catch {
      return false;
    }
  }
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function errorFrom(res: IncomingMessage): Promise<EngineError> {
  return engineError(res.statusCode ?? 500, (await readAll(res)).toString('utf8'));
}

/** The EngineError of a non-2xx answer: its kind from the status, the daemon's message from its JSON body. */
function engineError(status: number, text: string): EngineError {
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as { message?: string };
    if (parsed && typeof parsed.message === 'string') message = parsed.message;
  } catch {
    /* plain-text error body */
  }
  const err = new EngineError(kindFromStatus(status), message || `HTTP ${status}`);
  (err as EngineError & { status?: number }).status = status;
  return err;
}

/** Iterates the objects of a newline-delimited JSON stream. */
export async function* jsonLines<T = Record<string, unknown>>(stream: Readable): AsyncGenerator<T> {
  let buf = '';
  for await (const chunk of stream) {
    buf += (chunk as Buffer).toString('utf8');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line) as T;
    }
  }
  if (buf.trim()) yield JSON.parse(buf) as T;
}
