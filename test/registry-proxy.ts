/**
 * An HTTP proxy in front of a test registry on 127.0.0.1 that records every exchange and misbehaves on request:
 * it cuts connections in the middle of a response body (downloads) or a request body (uploads), answers 503 a
 * number of times, and throttles bodies — so the tests can prove retries, Range resumes and upload resumes against
 * the real Distribution behind it. The Host header is passed unchanged, so the registry's Location headers point
 * back at the proxy.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Exchange {
  method: string;
  path: string;
  status: number;
  /** Whether the proxy cut this exchange. */
  cut: boolean;
  range?: string;
  contentRange?: string;
}

/** A fault rule: the first `times` exchanges matching `method` and `path` get it. */
export interface Fault {
  method: string;
  path: RegExp;
  times: number;
  /** Matching exchanges to let through before the fault applies. */
  skip?: number;
  /** Cut the connection after this many body bytes (response body for GET, request body otherwise). */
  cutAfter?: number;
  /** Answer this status instead of forwarding. */
  status?: number;
}

export class RegistryProxy {
  readonly log: Exchange[] = [];
  faults: Fault[] = [];
  /** Body bytes per second in each direction (0: unthrottled). */
  throttle = 0;
  private server: http.Server | undefined;
  address = '';
  /** Blob downloads in flight now, and the most seen at once. */
  private blobGets = 0;
  maxBlobGets = 0;

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.address = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.address;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private fault(method: string, path: string): Fault | undefined {
    const f = this.faults.find((x) => x.times > 0 && x.method === method && x.path.test(path));
    if (!f) return undefined;
    if (f.skip) {
      f.skip--;
      return undefined;
    }
    f.times--;
    return f;
  }

  private async pace(n: number): Promise<void> {
    if (this.throttle > 0) await sleep(Math.ceil((n / this.throttle) * 1000));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const ex: Exchange = { method, path, status: 0, cut: false, range: req.headers.range, contentRange: req.headers['content-range'] as string | undefined };
    this.log.push(ex);
    const f = this.fault(method, path);
    if (f?.status) {
      ex.status = f.status;
      req.resume();
      res.writeHead(f.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'injected by the test proxy' }] }));
      return;
    }
    const blobGet = method === 'GET' && /\/blobs\/sha256:/.test(path);
    if (blobGet) {
      this.blobGets++;
      this.maxBlobGets = Math.max(this.maxBlobGets, this.blobGets);
      res.once('close', () => this.blobGets--);
    }
    const [host, port] = this.target.split(':');
    const up = http.request({ host, port: Number(port), method, path, headers: req.headers });
    const cutUpload = f?.cutAfter !== undefined && method !== 'GET' && method !== 'HEAD';
    const cutDownload = f?.cutAfter !== undefined && !cutUpload;
    up.on('response', async (ur) => {
      ex.status = ur.statusCode ?? 0;
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      let sent = 0;
      try {
        for await (const c of ur as AsyncIterable<Buffer>) {
          let chunk = c;
          if (cutDownload && sent + chunk.length > f!.cutAfter!) {
            chunk = chunk.subarray(0, Math.max(0, f!.cutAfter! - sent));
            if (chunk.length) res.write(chunk);
            ex.cut = true;
            ur.destroy();
            res.socket?.destroy();
            return;
          }
          sent += chunk.length;
          await this.pace(chunk.length);
          if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
        }
        res.end();
      } catch {
        res.socket?.destroy();
      }
    });
    up.on('error', () => res.socket?.destroy());
    let received = 0;
    try {
      for await (const c of req as AsyncIterable<Buffer>) {
        let chunk = c;
        if (cutUpload && received + chunk.length > f!.cutAfter!) {
          chunk = chunk.subarray(0, Math.max(0, f!.cutAfter! - received));
          if (chunk.length) up.write(chunk);
          ex.cut = true;
          // the client's connection goes; the registry's request is aborted mid-body as on a real network cut
          req.socket.destroy();
          up.destroy();
          return;
        }
        received += chunk.length;
        await this.pace(chunk.length);
        if (!up.write(chunk)) await new Promise((r) => up.once('drain', r));
      }
      up.end();
    } catch {
      up.destroy();
    }
  }
}
