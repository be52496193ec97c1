/**
 * System routes: `/_ping`, `/version`, `/info`. The pattern every route group follows: a narrow backend interface,
 * and a `register…Routes(router, backend)` function that maps HTTP onto it and nothing else.
 */
import type { Router } from '../server/router.js';

export interface SystemBackend {
  version(): Promise<Record<string, unknown>>;
  info(): Promise<Record<string, unknown>>;
  df(): Promise<Record<string, unknown>>;
}

export function registerSystemRoutes(router: Router, backend: SystemBackend): void {
  const ping = (ctx: Parameters<Parameters<Router['get']>[1]>[0]) => {
    ctx.res.setHeader('Builder-Version', '1');
    ctx.res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    ctx.res.setHeader('Pragma', 'no-cache');
    if (ctx.method === 'HEAD') {
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 0 });
      ctx.res.end();
      return;
    }
    ctx.text(200, 'OK');
  };
  router.get('/_ping', ping);
  router.head('/_ping', ping);
  router.get('/version', async (ctx) => ctx.json(200, await backend.version()));
  router.get('/info', async (ctx) => ctx.json(200, await backend.info()));
  router.get('/system/df', async (ctx) => ctx.json(200, await backend.df()));
}
