/**
 * HTTP for the registry client, over node:http and node:https.
 *
 * Terms:
 * - *pool*: one keep-alive agent per TLS configuration (system CAs plus a host's certs directory, a client
 *   certificate, or no verification for insecure hosts); a handful exist for the daemon's life.
 * - *RegistryResponse*: the part of fetch's Response the client uses, with the body as a Node stream.
 *
 * Why not fetch: undici (npm's, or the one inside Node) costs berthd ~6–11 MB of resident memory once loaded, which
 * every pull does, against ~1 MB for node:http, which the API server has loaded anyway (issue 17 item 4). What the
 * client needs of fetch is small: redirects followed (blob downloads are redirected to object storage), the
 * Authorization header dropped when a redirect leaves the origin (signed storage URLs refuse a second credential, as
 * fetch and Go's client do), abort signals, and streamed request bodies.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { EndpointTLS } from '../../core/registry/types.js';

export interface RegistryRequest {
  method?: string;
  headers?: Record<string, string>;
  /** A buffered body is re-sent across redirects; a stream is sent once and redirects are not followed. */
  body?: Buffer | string | Readable;
  signal?: AbortSignal;
}

export interface RegistryResponse {
  readonly status: number;
  readonly statusText: string;
  /** status 200–299 */
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  /** The body; read it, or call `discard()`. */
  readonly body: Readable;
  text(): Promise<string>;
  json(): Promise<unknown>;
  buffer(): Promise<Buffer>;
  /** Drops the body: a short one is read to its end so the connection is reused, a long one closes it. */
  discard(): Promise<void>;
}

const MAX_REDIRECTS = 10;
/** Bodies up to this size are drained by `discard()` (keeping the connection); longer ones close it. */
const DRAIN_LIMIT = 64 << 10;
/** A connection with no bytes either way for this long fails (undici's default headers and body timeouts). */
const IDLE_TIMEOUT_MS = 300_000;

const pools = new Map<string, { http: http.Agent; https: https.Agent }>();

/** The connection pools for one TLS configuration. */
function poolFor(tls: EndpointTLS | undefined): { http: http.Agent; https: https.Agent } {
  const key = tls ? createHash('sha256').update(JSON.stringify([tls.ca, tls.cert, tls.key, Boolean(tls.insecureSkipVerify)])).digest('hex') : '';
  let p = pools.get(key);
  if (!p) {
    const opts: https.AgentOptions = { keepAlive: true, timeout: 60_000 };
    // extra CAs add to the system's, as Go's SystemCertPool + AppendCertsFromPEM
    if (tls?.ca?.length) opts.ca = [...rootCertificates, ...tls.ca];
    if (tls?.cert && tls.key) Object.assign(opts, { cert: tls.cert, key: tls.key });
    if (tls?.insecureSkipVerify) opts.rejectUnauthorized = false;
    p = { http: new http.Agent({ keepAlive: true, timeout: 60_000 }), https: new https.Agent(opts) };
    // an idle pooled socket that errors must not take the daemon down
    for (const agent of [p.http, p.https]) agent.on('free', (socket) => socket.on('error', () => undefined));
    pools.set(key, p);
  }
  return p;
}

/** One exchange under `tls`, following redirects as fetch's `redirect: 'follow'` does. */
export async function registryFetch(url: string | URL, init: RegistryRequest, tls: EndpointTLS | undefined): Promise<RegistryResponse> {
  let target = new URL(url);
  let method = (init.method ?? 'GET').toUpperCase();
  let headers = { ...init.headers };
  let body = init.body;
  for (let redirects = 0; ; redirects++) {
    const res = await exchange(target, method, headers, body, init.signal, tls);
    const location = res.headers.location;
    const redirect = res.statusCode !== undefined && [301, 302, 303, 307, 308].includes(res.statusCode) && location;
    if (!redirect || body instanceof Readable || redirects >= MAX_REDIRECTS) return wrap(res, method);
    res.resume();
    const next = new URL(location, target);
    if (next.origin !== target.origin) headers = withoutHeader(headers, 'authorization');
    // 303 always, and 301/302 after a POST, become a GET without a body (fetch's rules)
    if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
      if (method !== 'HEAD') method = 'GET';
      body = undefined;
      headers = withoutHeader(withoutHeader(headers, 'content-type'), 'content-length');
    }
    target = next;
  }
}

function withoutHeader(h: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([k]) => k.toLowerCase() !== name));
}

function exchange(url: URL, method: string, headers: Record<string, string>, body: RegistryRequest['body'], signal: AbortSignal | undefined, tls: EndpointTLS | undefined): Promise<http.IncomingMessage> {
  const secure = url.protocol === 'https:';
  const pool = poolFor(tls);
  const h: Record<string, string> = { ...headers };
  if (body !== undefined && !(body instanceof Readable) && !Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) h['Content-Length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    // An abort while the body streams must reach its reader as the abort, not as the reset node:http makes of it:
    // this listener is added before node:http's own (which destroys the socket), so it runs first.
    let response: http.IncomingMessage | undefined;
    const onAbort = () => response?.destroy(signal!.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    const req = (secure ? https : http).request(url, { method, headers: h, agent: secure ? pool.https : pool.http, signal }, (res) => {
      response = res;
      res.on('error', () => undefined); // readers get the error through their own listeners; none must crash berthd
      res.once('close', () => signal?.removeEventListener('abort', onAbort));
      resolve(res);
    });
    req.once('close', () => {
      if (!response) signal?.removeEventListener('abort', onAbort);
    });
    req.on('error', reject);
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('i/o timeout'), { code: 'ETIMEDOUT' })));
    if (body instanceof Readable) {
      body.once('error', (e) => req.destroy(e));
      body.pipe(req);
    } else req.end(body);
  });
}

function wrap(res: http.IncomingMessage, method: string): RegistryResponse {
  const status = res.statusCode ?? 0;
  const buffer = async (): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
    return Buffer.concat(chunks);
  };
  return {
    status,
    statusText: res.statusMessage ?? '',
    ok: status >= 200 && status < 300,
    headers: {
      get(name: string): string | null {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    },
    body: res,
    buffer,
    text: async () => (await buffer()).toString('utf8'),
    json: async () => JSON.parse((await buffer()).toString('utf8')) as unknown,
    discard: async () => {
      const length = Number(res.headers['content-length'] ?? NaN);
      if (res.complete || res.destroyed) return;
      if (method === 'HEAD' || length <= DRAIN_LIMIT) {
        await new Promise<void>((resolve) => {
          res.once('end', resolve).once('error', () => resolve()).once('close', resolve);
          res.resume();
        });
      } else res.destroy();
    },
  };
}
