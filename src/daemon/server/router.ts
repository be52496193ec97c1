/**
 * The Engine API router: a route table of `METHOD /path/{param}` patterns, and the request context every handler
 * receives.
 *
 * Terms:
 * - route pattern: a path with `{name}` (one segment) or `{name*}` (one or more segments, for image names such as
 *   `localhost:5000/a/b:tag`) placeholders. Static routes are tried before patterned ones.
 * - handler: `(ctx) => Promise<void>`. It answers through ctx (json, noContent, jsonStream, hijack, raw res) or
 *   throws; a thrown error is turned into Docker's `{"message": ...}` body with the status of its kind — in one place,
 *   `writeError` below. Handlers never choose an error status themselves.
 * - hijack: the attach/exec protocol. The client sends `Connection: Upgrade` + `Upgrade: tcp`; we answer
 *   `101 UPGRADED` and the socket becomes a raw byte stream both ways.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { EngineError, httpStatus, invalidArgument, kindOf, notFound } from '../../errdefs/index.js';
import { parseJson } from '../../api/decode/json.js';
import { drained } from '../../pkg/stream/drained.js';
import { Query } from './query.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** What a handler gets for one request. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: Method;
  /** Path parameters, URL-decoded. */
  readonly params: Record<string, string>;
  readonly query: Query;
  /** The API version the client asked for (from the /vX.Y prefix), or the default. */
  readonly apiVersion: string;
  /** Aborted when the client goes away before the handler is done. */
  readonly signal: AbortSignal;
  /** Parses the JSON body; undefined when the body is empty. Malformed JSON → 400. */
  body<T = unknown>(): Promise<T | undefined>;
  /** Sends a JSON response. */
  json(status: number, value: unknown): void;
  /** Sends a plain text response. */
  text(status: number, body: string, contentType?: string): void;
  /** Sends an empty response (204 by default). */
  noContent(status?: number): void;
  /** Starts a newline-delimited JSON stream (progress messages, events, stats). */
  jsonStream(status?: number, contentType?: string): JsonStream;
  /**
   * Takes over the connection for a raw stream (attach, exec start). For an upgrade request this writes
   * `101 UPGRADED`; otherwise `200 OK` and only output flows (the HTTP parser still owns the input side).
   */
  hijack(contentType?: string): Duplex;
  /** True when the client asked for a connection upgrade. */
  readonly upgrade: boolean;
}

/** A newline-delimited JSON response body. */
export interface JsonStream {
  write(value: unknown): boolean;
  end(): void;
  readonly closed: boolean;
  /** Waits until the socket drains (for back-pressure in long streams). */
  drain(): Promise<void>;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: Method;
  pattern: string;
  regex: RegExp;
  paramNames: string[];
  isStatic: boolean;
  handler: Handler;
}

/** Body size limit for JSON requests (uploads such as tars are streamed, not read through body()). */
export const MAX_JSON_BODY = 16 * 1024 * 1024;

export class Router {
  private readonly routes: Route[] = [];

  get(pattern: string, handler: Handler): this { return this.add('GET', pattern, handler); }
  head(pattern: string, handler: Handler): this { return this.add('HEAD', pattern, handler); }
  post(pattern: string, handler: Handler): this { return this.add('POST', pattern, handler); }
  put(pattern: string, handler: Handler): this { return this.add('PUT', pattern, handler); }
  delete(pattern: string, handler: Handler): this { return this.add('DELETE', pattern, handler); }

  add(method: Method, pattern: string, handler: Handler): this {
    const paramNames: string[] = [];
    const source = pattern.replace(/[.+?^$()[\]\\|]/g, '\\$&').replace(/\{(\w+)(\*?)\}/g, (_m, name: string, greedy: string) => {
      paramNames.push(name);
      return greedy ? '(.+)' : '([^/]+)';
    });
    const route: Route = { method, pattern, regex: new RegExp(`^${source}/?$`), paramNames, isStatic: paramNames.length === 0, handler };
    this.routes.push(route);
    // Static routes first so `/images/json` never falls into `/images/{name*}/json`-style patterns.
    this.routes.sort((a, b) => Number(b.isStatic) - Number(a.isStatic));
    return this;
  }

  /** Finds the route for a method and an unversioned path. HEAD falls back to GET, as in Go's mux. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | undefined {
    for (const wanted of method === 'HEAD' ? ['HEAD', 'GET'] : [method]) {
      for (const r of this.routes) {
        if (r.method !== wanted) continue;
        const m = r.regex.exec(path);
        if (!m) continue;
        const params: Record<string, string> = {};
        r.paramNames.forEach((n, i) => {
          params[n] = safeDecode(m[i + 1]);
        });
        return { handler: r.handler, params };
      }
    }
    return undefined;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalidArgument(`invalid escape in path: ${s}`);
  }
}

/**
 * Builds the context handed to handlers. `upgradeSocket` is set when the request came through the upgrade event:
 * its request body already read, `head` the bytes after it.
 */
export function createContext(
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string>,
  query: URLSearchParams,
  apiVersion: string,
  upgradeSocket?: { socket: Duplex; head: Buffer; body: Buffer },
): RequestContext {
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  // The connection outlives the response under keep-alive: take the listener off again when the response is done,
  // or every request on that connection would leave one behind.
  const connection = upgradeSocket?.socket ?? req.socket;
  connection?.on('close', onClose);
  res.once('close', () => {
    onClose();
    if (!upgradeSocket) connection?.off('close', onClose);
  });

  // On an upgrade request the server has already taken the body off the raw socket (see hijack.ts): body() parses
  // it, and hijack() hands over only what follows, so a body never leaks into a container's stdin.
  let upgradeHead = upgradeSocket?.head ?? Buffer.alloc(0);

  const ctx: RequestContext = {
    req,
    res,
    method: req.method as Method,
    params,
    query: new Query(query),
    apiVersion,
    signal: abort.signal,
    upgrade: Boolean(upgradeSocket),
    async body<T>(): Promise<T | undefined> {
      let raw: Buffer;
      if (upgradeSocket) {
        raw = upgradeSocket.body;
      } else {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of req) {
          size += (chunk as Buffer).length;
          if (size > MAX_JSON_BODY) throw new EngineError('InvalidArgument', 'request body too large');
          chunks.push(chunk as Buffer);
        }
        raw = Buffer.concat(chunks);
      }
      const text = raw.toString('utf8').trim();
      if (text === '') return undefined;
      try {
        return parseJson(text) as T;
      } catch (e) {
        // Go's wording and depth limit (api/decode/json.ts), so nested input cannot overflow the stack later.
        throw invalidArgument(`invalid JSON: ${(e as Error).message}`);
      }
    },
    json(status, value) {
      const body = JSON.stringify(value) + '\n';
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
    text(status, body, contentType = 'text/plain; charset=utf-8') {
      res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
    noContent(status = 204) {
      res.writeHead(status);
      res.end();
    },
    jsonStream(status = 200, contentType = 'application/json') {
      res.writeHead(status, { 'Content-Type': contentType });
      res.flushHeaders();
      return {
        write: (value: unknown) => (res.writable ? res.write(JSON.stringify(value) + '\n') : false),
        end: () => {
          if (!res.writableEnded) res.end();
        },
        get closed() {
          return !res.writable || abort.signal.aborted;
        },
        drain: () => drained(res),
      };
    },
    hijack(contentType = 'application/vnd.docker.raw-stream') {
      if (upgradeSocket) {
        const { socket } = upgradeSocket;
        socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
        if (upgradeHead.length) socket.unshift(upgradeHead);
        upgradeHead = Buffer.alloc(0);
        (res as { _hijacked?: boolean })._hijacked = true;
        return socket;
      }
      // Without an upgrade the input side stays with the HTTP parser: only output can flow.
      const socket = req.socket;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nConnection: close\r\n\r\n`);
      (res as { _hijacked?: boolean })._hijacked = true;
      return socket;
    },
  };
  return ctx;
}

/** The one place an error becomes an HTTP answer. */
export function writeError(ctx: { req: IncomingMessage; res: ServerResponse }, err: unknown): void {
  const { req, res } = ctx;
  const status = httpStatus(kindOf(err));
  const message = err instanceof Error ? err.message : String(err);
  if ((res as { _hijacked?: boolean })._hijacked) {
    res.socket?.destroy();
    return;
  }
  if (res.headersSent) {
    // A stream already started: the status is gone, so end it (progress streams report errors in-band themselves).
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message }) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export const pageNotFound = () => notFound('page not found');
