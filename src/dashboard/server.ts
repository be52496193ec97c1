/**
 * The dashboard's web server: one HTTP(S) listener (loopback unless it has a certificate) that serves the page and
 * its bundled assets, proxies the page's Engine API calls to the daemon's own API handler in-process (so every
 * action goes through the same services and fails with the same errors as the API), and runs terminals over
 * WebSocket. Every request needs the token or the session cookie; every state change must also be same-origin and
 * carry the CSRF token (see auth.ts). Nothing here touches a store: the daemon is seen only through EngineApi and
 * TerminalBackend.
 *
 * Idle cost is kept small on purpose: no timers, no caches of assets (files are streamed from disk per request,
 * pre-compressed by the build), and the WebSocket library is loaded on the first terminal.
 */
import fs from 'node:fs';
import http, { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { invalidArgument } from '../errdefs/index.js';
import { isLoopbackHost } from '../daemon/server/tcp-security.js';
import { DashboardAuth, loadOrCreateToken } from './auth.js';
import { changesState, isDashboardEngineCall } from './engine-allowlist.js';
import { serveTerminal, type TerminalBackend } from './terminal.js';
import { checkDashboardAddress } from './controller.js';

/** The Engine API as an in-process handler: one ordinary request in, one response out (ApiServer.handle). */
export interface EngineApi {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export interface DashboardOptions {
  /** `host:port` (`[::1]:port` for IPv6); port 0 picks a free one. */
  address: string;
  dataRoot: string;
  engine: EngineApi;
  terminal: TerminalBackend;
  /** Server certificate and key files; required for a non-loopback address. */
  tlsCert?: string;
  tlsKey?: string;
  /** Where the built assets are (default: dist/dashboard of this checkout). */
  assetsDir?: string;
  log?: (msg: string) => void;
}

/** The repository's built assets: dist/src/dashboard/server.js → dist/dashboard. */
const defaultAssets = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dashboard');

const ENGINE_PREFIX = '/engine';

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** Headers on every dashboard response: no framing, no referrer (the token may be in the URL), only our own code. */
const securityHeaders: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export class DashboardServer {
  private server: http.Server | undefined;
  private auth!: DashboardAuth;
  private token = '';
  private readonly sockets = new Set<Socket>();
  private wss: import('ws').WebSocketServer | undefined;
  private readonly assetsDir: string;
  /** The address the server listens on, once started. */
  origin = '';

  constructor(private readonly o: DashboardOptions) {
    this.assetsDir = o.assetsDir ?? defaultAssets;
  }

  /** The URL to open: the origin with the token, which the page trades for a cookie. */
  get url(): string {
    return `${this.origin}/?token=${this.token}`;
  }

  async start(): Promise<void> {
    const { host, port } = await checkDashboardAddress(this.o.address, Boolean(this.o.tlsCert && this.o.tlsKey));
    const tls = Boolean(this.o.tlsCert && this.o.tlsKey);
    if (!fs.existsSync(path.join(this.assetsDir, 'index.html')))
      throw invalidArgument(`the dashboard's assets are missing in ${this.assetsDir} (run \`npm run build\`)`);
    this.token = loadOrCreateToken(this.o.dataRoot);
    const server = tls
      ? https.createServer({ cert: fs.readFileSync(this.o.tlsCert!), key: fs.readFileSync(this.o.tlsKey!), minVersion: 'TLSv1.2' })
      : http.createServer();
    server.requestTimeout = 0; // logs -f, stats and events stream for as long as the page is open
    server.headersTimeout = 30_000;
    server.on('request', (req, res) => void this.onRequest(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.onUpgrade(req, socket, head));
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('clientError', (_err, socket: Duplex) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const bound = (server.address() as net.AddressInfo).port;
    const shownHost = net.isIPv6(host) ? `[${host}]` : host;
    this.origin = `${tls ? 'https' : 'http'}://${shownHost}:${bound}`;
    const hosts = new Set([`${shownHost}:${bound}`.toLowerCase()]);
    if (await isLoopbackHost(host)) for (const h of ['127.0.0.1', 'localhost', '[::1]']) hosts.add(`${h}:${bound}`);
    this.auth = new DashboardAuth(this.token, this.origin, hosts, tls);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private refuse(res: ServerResponse, status: number, message: string): void {
    if (res.headersSent) return void res.destroy();
    const page = status === 401;
    res.writeHead(status, { ...securityHeaders, 'Content-Type': page ? 'text/html; charset=utf-8' : 'application/json', 'Cache-Control': 'no-store' });
    res.end(
      page
        ? `<!doctype html><html lang="en"><meta charset="utf-8"><title>berth dashboard: sign in</title><main style="font:16px system-ui;max-width:36em;margin:3em auto;padding:0 1em"><h1>401 — sign in needed</h1><p>${message}</p><p>Run <code>berth dashboard</code> and open the URL it prints (it carries the access token).</p></main></html>`
        : JSON.stringify({ message }),
    );
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.auth.knownHost(req)) return this.refuse(res, 403, `unknown Host header: ${req.headers.host ?? ''}`);
      const url = new URL(req.url ?? '/', this.origin);
      const method = req.method ?? 'GET';

      // The token in the URL logs the browser in: set the cookie, then drop the token from the address bar.
      if (url.searchParams.has('token') && method === 'GET') {
        if (!this.auth.isToken(url.searchParams.get('token'))) return this.refuse(res, 401, 'The access token in this URL is not valid (it changes when the token file is replaced).');
        url.searchParams.delete('token');
        res.writeHead(303, { ...securityHeaders, 'Set-Cookie': this.auth.sessionCookie(), Location: `${url.pathname}${url.search}`, 'Cache-Control': 'no-store' });
        return void res.end();
      }
      if (this.auth.authenticate(req) === 'none') return this.refuse(res, 401, 'This dashboard needs its access token.');

      if (url.pathname === ENGINE_PREFIX || url.pathname.startsWith(`${ENGINE_PREFIX}/`)) {
        const apiPath = url.pathname.slice(ENGINE_PREFIX.length) || '/';
        if (changesState(method)) {
          const why = this.auth.checkStateChange(req);
          if (why) {
            this.o.log?.(`dashboard: refused ${method} ${apiPath}: ${why}`);
            return this.refuse(res, 403, why);
          }
        }
        if (!isDashboardEngineCall(method, apiPath)) return this.refuse(res, 403, `${method} ${apiPath} is not a dashboard call`);
        for (const [k, v] of Object.entries(securityHeaders)) res.setHeader(k, v);
        res.setHeader('Cache-Control', 'no-store');
        req.url = `${apiPath}${url.search}`;
        return await this.o.engine.handle(req, res);
      }
      if (changesState(method)) return this.refuse(res, 405, 'method not allowed');
      if (url.pathname === '/' || url.pathname === '/index.html') return this.sendIndex(res);
      if (url.pathname.startsWith('/assets/')) return this.sendAsset(req, res, url.pathname.slice('/assets/'.length));
      return this.refuse(res, 404, 'page not found');
    } catch (e) {
      this.o.log?.(`dashboard: ${req.method} ${req.url}: ${(e as Error).stack ?? e}`);
      this.refuse(res, 500, (e as Error).message);
    }
  }

  private sendIndex(res: ServerResponse): void {
    // The CSRF token goes into the page, where only same-origin script can read it.
    const html = fs.readFileSync(path.join(this.assetsDir, 'index.html'), 'utf8').replace('__CSRF_TOKEN__', this.auth.csrf);
    res.writeHead(200, { ...securityHeaders, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(html);
  }

  private sendAsset(req: IncomingMessage, res: ServerResponse, name: string): void {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) return this.refuse(res, 404, 'page not found');
    const file = path.join(this.assetsDir, name);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return this.refuse(res, 404, 'page not found');
    }
    const etag = `"${st.size.toString(16)}-${st.mtimeMs.toString(16)}"`;
    const headers: Record<string, string> = { ...securityHeaders, 'Content-Type': contentTypes[path.extname(name)] ?? 'application/octet-stream', ETag: etag, 'Cache-Control': 'no-cache' };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      return void res.end();
    }
    let body = file;
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && fs.existsSync(`${file}.gz`)) {
      body = `${file}.gz`;
      headers['Content-Encoding'] = 'gzip';
      headers.Vary = 'Accept-Encoding';
    }
    res.writeHead(200, headers);
    fs.createReadStream(body).on('error', () => res.destroy()).pipe(res);
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const deny = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    try {
      if (!this.auth.knownHost(req)) return deny(403, 'Forbidden');
      if (this.auth.authenticate(req) === 'none') return deny(401, 'Unauthorized');
      const url = new URL(req.url ?? '/', this.origin);
      const m = /^\/terminal\/([^/]+)$/.exec(url.pathname);
      if (!m) return deny(404, 'Not Found');
      const why = this.auth.checkStateChange(req, url.searchParams.get('csrf'));
      if (why) {
        this.o.log?.(`dashboard: refused terminal: ${why}`);
        return deny(403, 'Forbidden');
      }
      if (!this.wss) {
        const { WebSocketServer } = await import('ws');
        this.wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
      }
      const container = decodeURIComponent(m[1]);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        void serveTerminal(ws, this.o.terminal, container, { rows: url.searchParams.get('rows'), cols: url.searchParams.get('cols') });
      });
    } catch (e) {
      this.o.log?.(`dashboard: terminal: ${(e as Error).message}`);
      deny(500, 'Internal Server Error');
    }
  }
}
