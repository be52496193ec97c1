/**
 * The Engine API HTTP server: listens on unix sockets and TCP addresses, strips and checks the `/vX.Y` version
 * prefix, adds the headers every dockerd response carries, and dispatches to the router — for ordinary requests and
 * for upgrade (hijack) requests alike.
 */
import { trace } from '../../pkg/trace/trace.js';
import fs from 'node:fs';
import http, { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import path from 'node:path';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { API_VERSION, BERTH_VERSION, MIN_API_VERSION, compareVersions } from '../../api/version.js';
import { invalidArgument } from '../../errdefs/index.js';
import type { Logger } from '../logger.js';
import { readUpgradeBody } from './hijack.js';
import { MAX_JSON_BODY, Router, createContext, pageNotFound, writeError } from './router.js';

/** A listen address in dockerd's syntax: `unix:///path`, `tcp://host:port`, `fd://` is not supported. */
export interface ListenAddress {
  proto: 'unix' | 'tcp';
  /** Socket path (unix) or host (tcp). */
  address: string;
  port?: number;
}

export function parseListenAddress(spec: string): ListenAddress {
  if (spec.startsWith('unix://')) return { proto: 'unix', address: spec.slice('unix://'.length) || '/run/berth/berth.sock' };
  if (spec.startsWith('/')) return { proto: 'unix', address: spec };
  const m = /^(?:tcp:\/\/)?([^:/]*|\[[^\]]+\]):(\d+)\/?$/.exec(spec);
  if (m) return { proto: 'tcp', address: m[1].replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(m[2]) };
  throw invalidArgument(`invalid host address: ${spec} (want unix:///path or tcp://host:port)`);
}

const versionPrefix = /^\/v(\d+\.\d+)(\/.*)$/;

/** Headers dockerd puts on every response (see shared/dockerd-samples/ping-headers.txt). */
const commonHeaders: Record<string, string> = {
  'Api-Version': API_VERSION,
  'Docker-Experimental': 'false',
  Ostype: 'linux',
  Server: `berth/${BERTH_VERSION} (linux)`,
};

export interface ApiServerOptions {
  router: Router;
  logger: Logger;
  /** Unix socket group (numeric gid), if a `berth` group exists. */
  socketGid?: number;
  /** TLS server options for TCP listeners (see tcp-security.ts); plain HTTP when absent. Unix sockets never use TLS. */
  tls?: tls.TlsOptions;
  /** Called when a request begins and when its response ends (the idle memory trimmer listens). */
  onActivity?: () => void;
}

/** Owns the listening servers; `close()` stops accepting and ends idle connections. */
export class ApiServer {
  private readonly servers: http.Server[] = [];
  private readonly sockets = new Set<Socket | Duplex>();

  constructor(private readonly opts: ApiServerOptions) {}

  async listen(address: ListenAddress): Promise<void> {
    const useTls = address.proto === 'tcp' && this.opts.tls !== undefined;
    const server: http.Server = useTls ? https.createServer({ ...this.opts.tls, keepAlive: true, allowHalfOpen: true }) : http.createServer({ keepAlive: true });
    // allowHalfOpen: node:http sets it on its own server; for https it must be asked for, or a hijacked client's
    // half-close (docker run without -i shuts its writing side) would end the stream before the output.
    // A client without a valid certificate fails the handshake; that is its problem, not the daemon's.
    if (useTls) server.on('tlsClientError', (err: Error) => this.opts.logger.debug(`TLS handshake refused: ${err.message}`));
    // Long streams (logs -f, events, attach) must not be cut by Node's request timeouts.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 5_000;
    // A client may send its whole request and then shut down its writing side; it still gets the answer, as from Go's
    // server (Node's default would end the socket at the client's FIN and drop the response).
    (server as { httpAllowHalfOpen?: boolean }).httpAllowHalfOpen = true; // undocumented, but Node's own switch
    server.on('request', (req, res) => void this.dispatch(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const res = new ServerResponse(req);
      res.assignSocket(socket as Socket);
      res.shouldKeepAlive = false;
      void this.dispatch(req, res, { socket, head });
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // Malformed HTTP: answer 400 when the socket still can, then drop it. The daemon keeps serving.
      if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });

    if (address.proto === 'unix') {
      await fs.promises.rm(address.address, { force: true });
      await fs.promises.mkdir(path.dirname(address.address), { recursive: true });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(address.address, () => {
          server.off('error', reject);
          resolve();
        });
      });
      fs.chmodSync(address.address, 0o660);
      if (this.opts.socketGid !== undefined) fs.chownSync(address.address, 0, this.opts.socketGid);
    } else {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(address.port, address.address, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
    this.servers.push(server);
  }

  /** Stops listening and drops every connection, including hijacked and streaming ones (logs -f, events). */
  async close(): Promise<void> {
    const closed = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const s of this.sockets) s.destroy();
    await Promise.all(closed);
  }

  /**
   * Serves one ordinary (non-upgrade) request exactly as if it had arrived on a listener — same routes, version
   * checks, headers and errors. For in-process clients of the Engine API (the dashboard).
   */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.dispatch(req, res);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, upgrade?: { socket: Duplex; head: Buffer }): Promise<void> {
    const started = process.hrtime.bigint();
    if (this.opts.onActivity) {
      this.opts.onActivity();
      res.once('close', this.opts.onActivity);
    }
    for (const [k, v] of Object.entries(commonHeaders)) res.setHeader(k, v);
    const ctxLike = { req, res };
    try {
      const url = new URL(req.url ?? '/', 'http://berth');
      let urlPath = url.pathname;
      let apiVersion = API_VERSION;
      const m = versionPrefix.exec(urlPath);
      if (m) {
        apiVersion = m[1];
        urlPath = m[2];
        if (compareVersions(apiVersion, API_VERSION) > 0)
          throw invalidArgument(`client version ${apiVersion} is too new. Maximum supported API version is ${API_VERSION}`);
        if (compareVersions(apiVersion, MIN_API_VERSION) < 0)
          throw invalidArgument(
            `client version ${apiVersion} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
          );
      }
      const route = this.opts.router.match(req.method ?? 'GET', urlPath);
      if (!route) throw pageNotFound();
      trace('http', `> ${req.method} ${urlPath}`);
      const hijack = upgrade && { socket: upgrade.socket, ...(await readUpgradeBody(req, upgrade.socket, upgrade.head, MAX_JSON_BODY)) };
      const ctx = createContext(req, res, route.params, url.searchParams, apiVersion, hijack && { socket: hijack.socket, head: hijack.rest, body: hijack.body });
      await route.handler(ctx);
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') {
        res.destroy();
      } else {
        if (!(err as { kind?: string }).kind) this.opts.logger.error(`${req.method} ${req.url}: ${(err as Error)?.stack ?? err}`);
        else this.opts.logger.debug(`${req.method} ${req.url}: ${(err as Error).message}`);
        writeError(ctxLike, err);
      }
    } finally {
      trace('http', `< ${req.method} ${req.url} ${res.statusCode}`);
      if (this.opts.logger.debugEnabled) {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        this.opts.logger.debug(`${req.method} ${req.url} -> ${res.statusCode} (${ms.toFixed(1)} ms)`);
      }
    }
  }
}
