/**
 * The dashboard's life in the daemon: off unless `--dashboard` (or `dashboard` in daemon.json) names an address, or
 * `berth dashboard` asks for it through `POST /berth/dashboard` — then it starts on a free loopback port. The server
 * module is imported only when the dashboard starts, so a daemon without it pays nothing.
 */
import type { Router } from '../daemon/server/router.js';
import { invalidArgument, notFound } from '../errdefs/index.js';
import { isLoopbackHost } from '../daemon/server/tcp-security.js';
import type { DashboardOptions, DashboardServer } from './server.js';

export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address.replace(/^(https?|tcp):\/\//, '').replace(/\/$/, ''));
  if (!m) throw invalidArgument(`invalid dashboard address: ${address} (want host:port, e.g. 127.0.0.1:8080)`);
  const port = Number(m[3]);
  if (port > 65535) throw invalidArgument(`invalid dashboard address: ${address}: port out of range`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** Parses the dashboard address and refuses a non-loopback one without TLS (checked at daemon start, before anything). */
export async function checkDashboardAddress(address: string, tls: boolean): Promise<{ host: string; port: number }> {
  const hp = splitHostPort(address);
  if (!tls && !(await isLoopbackHost(hp.host)))
    throw invalidArgument(`refusing to serve the dashboard on ${address} without TLS: it is not a loopback address; give --dashboard-tls-cert and --dashboard-tls-key`);
  return hp;
}

export interface DashboardStatus {
  /** The URL to open, with the access token. */
  URL: string;
  /** The origin the dashboard serves (no token). */
  Address: string;
}

export class DashboardController {
  private server: DashboardServer | undefined;
  private starting: Promise<DashboardServer> | undefined;

  constructor(private readonly base: Omit<DashboardOptions, 'address' | 'tlsCert' | 'tlsKey'>) {}

  /** Starts the dashboard on `address` (default: a free loopback port) unless it already runs. */
  ensure(address = '127.0.0.1:0', tls?: { cert?: string; key?: string }): Promise<DashboardServer> {
    if (this.server) return Promise.resolve(this.server);
    this.starting ??= (async () => {
      const { DashboardServer } = await import('./server.js');
      const s = new DashboardServer({ ...this.base, address, tlsCert: tls?.cert, tlsKey: tls?.key });
      await s.start();
      this.server = s;
      return s;
    })().finally(() => (this.starting = undefined));
    return this.starting;
  }

  status(): DashboardStatus | undefined {
    return this.server && { URL: this.server.url, Address: this.server.origin };
  }

  async shutdown(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }
}

/** `GET /berth/dashboard` (where it runs) and `POST /berth/dashboard` (start it if needed): berth's own endpoints. */
export function registerDashboardRoutes(router: Router, dashboard: DashboardController): void {
  router.get('/berth/dashboard', (ctx) => {
    const s = dashboard.status();
    if (!s) throw notFound('the dashboard is not running');
    ctx.json(200, s);
  });
  router.post('/berth/dashboard', async (ctx) => {
    await dashboard.ensure();
    ctx.json(200, dashboard.status());
  });
}
