/**
 * Volume routes: `GET /volumes`, `POST /volumes/create`, `GET /volumes/{name}`, `DELETE /volumes/{name}`,
 * `POST /volumes/prune` — HTTP ↔ the narrow VolumeBackend, nothing else.
 */
import { decode } from '../../api/decode/schema.js';
import { volumeCreateBody } from '../../api/types/volume.js';
import type { Volume, VolumeCreateRequest } from '../../core/volumes/types.js';
import { Filters, parseFilters } from '../../pkg/filters/filters.js';
import type { Router } from '../server/router.js';

export interface VolumeBackend {
  list(filters: Filters): Promise<{ Volumes: Volume[]; Warnings: string[] | null }>;
  createVolume(req: VolumeCreateRequest): Promise<Volume>;
  inspect(name: string): Promise<Volume>;
  removeVolume(name: string, force: boolean): Promise<void>;
  prune(filters: Filters, apiVersion: string): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }>;
}

export function registerVolumeRoutes(router: Router, backend: VolumeBackend): void {
  router.get('/volumes', async (ctx) => {
    ctx.json(200, await backend.list(parseFilters(ctx.query.string('filters'))));
  });
  router.post('/volumes/create', async (ctx) => {
    const body = decode(volumeCreateBody, (await ctx.body()) ?? {}) ?? {};
    ctx.json(201, await backend.createVolume(body));
  });
  router.post('/volumes/prune', async (ctx) => {
    ctx.json(200, await backend.prune(parseFilters(ctx.query.string('filters')), ctx.apiVersion));
  });
  router.get('/volumes/{name}', async (ctx) => {
    ctx.json(200, await backend.inspect(ctx.params.name!));
  });
  router.delete('/volumes/{name}', async (ctx) => {
    await backend.removeVolume(ctx.params.name!, ctx.query.bool('force'));
    ctx.noContent();
  });
}
