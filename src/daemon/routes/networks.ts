/**
 * Network routes: `GET /networks`, `GET /networks/{id}`, `POST /networks/create`, `DELETE /networks/{id}`,
 * `POST /networks/{id}/connect|disconnect`, `POST /networks/prune`.
 */
import { decode } from '../../api/decode/schema.js';
import { networkConnectBody, networkCreateBody, networkDisconnectBody } from '../../api/types/network.js';
import { invalidArgument } from '../../errdefs/index.js';
import { parseFilters, type Filters } from '../../pkg/filters/filters.js';
import type { Router } from '../server/router.js';

export interface NetworkBackend {
  list(filters?: Filters): Array<Record<string, unknown>>;
  inspect(ref: string): Record<string, unknown>;
  createNetwork(body: Record<string, unknown>): Promise<{ Id: string; Warning: string }>;
  removeNetwork(ref: string): Promise<void>;
  connect(ref: string, container: string, cfg: Record<string, unknown> | undefined): Promise<void>;
  disconnect(ref: string, container: string, force: boolean): Promise<void>;
  prune(filters?: Filters): Promise<{ NetworksDeleted: string[] }>;
}

export function registerNetworkRoutes(router: Router, backend: NetworkBackend): void {
  router.get('/networks', (ctx) => ctx.json(200, backend.list(parseFilters(ctx.query.string('filters')))));
  router.get('/networks/{id}', (ctx) => ctx.json(200, backend.inspect(ctx.params.id)));
  router.post('/networks/create', async (ctx) => {
    const raw = await ctx.body();
    if (raw === undefined) throw invalidArgument('got EOF while reading request body');
    ctx.json(201, await backend.createNetwork(decode(networkCreateBody, raw) ?? {}));
  });
  router.delete('/networks/{id}', async (ctx) => {
    await backend.removeNetwork(ctx.params.id);
    ctx.noContent();
  });
  router.post('/networks/prune', async (ctx) => ctx.json(200, await backend.prune(parseFilters(ctx.query.string('filters')))));
  router.post('/networks/{id}/connect', async (ctx) => {
    const body = decode(networkConnectBody, (await ctx.body()) ?? {}) ?? {};
    if (!body.Container) throw invalidArgument('no container specified');
    await backend.connect(ctx.params.id, body.Container, body.EndpointConfig);
    ctx.noContent(200);
  });
  router.post('/networks/{id}/disconnect', async (ctx) => {
    const body = decode(networkDisconnectBody, (await ctx.body()) ?? {}) ?? {};
    if (!body.Container) throw invalidArgument('no container specified');
    await backend.disconnect(ctx.params.id, body.Container, Boolean(body.Force));
    ctx.noContent(200);
  });
}
