/**
 * Container routes beyond the lifecycle: archive (docker cp), export, changes (docker diff), commit, top, stats and
 * update. HTTP ↔ the ContainerExtrasBackend (the container service, which does each under its per-container lock).
 */
import { decode } from '../../api/decode/schema.js';
import { configFields, containerCreateBody, updateBody, type ContainerUpdateRequest, type PathStat } from '../../api/types/container.js';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidArgument } from '../../errdefs/index.js';
import type { ContainerRecord } from '../../core/containers/container.js';
import type { Router } from '../server/router.js';
import type { CommitOptions } from '../services/containers/commit.js';
import { statsJSON, type StatsSample } from '../services/containers/stats.js';
import type { EventType } from '../../api/types/system.js';
import type { ImageConfig } from '../../core/images/types.js';
import type { Change } from '../../pkg/archive/diff-layer.js';

/** What these routes need from the container service. */
export interface ContainerExtrasBackend {
  find(ref: string): ContainerRecord | undefined;
  /** NotFound `No such container: <ref>` when none matches. */
  get(ref: string): ContainerRecord;
  statPath(ref: string, path: string): Promise<PathStat>;
  archivePath(ref: string, path: string, signal?: AbortSignal): Promise<{ stat: PathStat; tar: Readable }>;
  extractToDir(ref: string, path: string, input: Readable, opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean; signal?: AbortSignal }): Promise<void>;
  export(ref: string, signal?: AbortSignal): Promise<Readable>;
  changes(ref: string): Promise<Change[]>;
  commit(opts: CommitOptions): Promise<{ Id: string }>;
  top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  /** One sample of a running container's counters; undefined when it is not running. */
  statsSample(rec: ContainerRecord): Promise<StatsSample | undefined>;
  update(ref: string, body: ContainerUpdateRequest): Promise<{ Warnings: string[] }>;
}

export interface ContainerExtraDeps {
  containers: ContainerExtrasBackend;
  events: { publish(type: EventType, action: string, id: string, attributes?: Record<string, string>): unknown };
  /** Interval between stats samples (tests shorten it). */
  statsIntervalMs?: number;
}

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

export function registerContainerExtraRoutes(router: Router, d: ContainerExtraDeps): void {
  const c = d.containers;
  const interval = d.statsIntervalMs ?? 1000;
  const attrs = (rec: ContainerRecord) => ({ image: rec.Config.Image, name: rec.Name.slice(1) });
  const statHeader = (s: unknown) => Buffer.from(JSON.stringify(s)).toString('base64');

  // ---------------------------------------------------------------- archive

  router.head('/containers/{id}/archive', async (ctx) => {
    const stat = await c.statPath(ctx.params.id, ctx.query.string('path') ?? '');
    ctx.res.writeHead(200, { [STAT_HEADER]: statHeader(stat), 'Content-Type': 'application/json' });
    ctx.res.end();
  });

  router.get('/containers/{id}/archive', async (ctx) => {
    const { stat, tar } = await c.archivePath(ctx.params.id, ctx.query.string('path') ?? '', ctx.signal);
    const rec = c.get(ctx.params.id);
    ctx.res.writeHead(200, { [STAT_HEADER]: statHeader(stat), 'Content-Type': 'application/x-tar' });
    d.events.publish('container', 'archive-path', rec.Id, attrs(rec));
    await pipeline(tar, ctx.res).catch(() => ctx.res.destroy());
  });

  router.put('/containers/{id}/archive', async (ctx) => {
    const rec = c.get(ctx.params.id);
    await c.extractToDir(ctx.params.id, ctx.query.string('path') ?? '', ctx.req, {
      noOverwriteDirNonDir: ctx.query.bool('noOverwriteDirNonDir'),
      copyUIDGID: ctx.query.bool('copyUIDGID'),
      signal: ctx.signal,
    });
    d.events.publish('container', 'extract-to-dir', rec.Id, attrs(rec));
    ctx.res.writeHead(200, { 'Content-Length': 0 });
    ctx.res.end();
  });

  // ---------------------------------------------------------------- export / changes

  router.get('/containers/{id}/export', async (ctx) => {
    const rec = c.get(ctx.params.id);
    const tar = await c.export(rec.Id, ctx.signal);
    ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    d.events.publish('container', 'export', rec.Id, attrs(rec));
    await pipeline(tar, ctx.res).catch(() => ctx.res.destroy());
  });

  router.get('/containers/{id}/changes', async (ctx) => {
    const list = await c.changes(ctx.params.id);
    ctx.json(200, list.length ? list : null);
  });

  // ---------------------------------------------------------------- commit

  router.post('/commit', async (ctx) => {
    // dockerd decodes the commit body as a create body and keeps its Config part.
    const decoded = decode(containerCreateBody, (await ctx.body()) ?? null);
    const config = decoded ? (Object.fromEntries(Object.entries(decoded).filter(([k]) => k in configFields)) as ImageConfig['config']) : null;
    const pauseRaw = ctx.query.string('pause');
    const r = await c.commit({
      container: ctx.query.string('container') ?? '',
      repo: ctx.query.string('repo'),
      tag: ctx.query.string('tag'),
      comment: ctx.query.string('comment'),
      author: ctx.query.string('author'),
      pause: pauseRaw === undefined || pauseRaw === '' ? true : ctx.query.bool('pause'),
      changes: ctx.query.strings('changes'),
      config,
      signal: ctx.signal,
    });
    ctx.json(201, r);
  });

  // ---------------------------------------------------------------- top / stats / update

  router.get('/containers/{id}/top', async (ctx) => {
    ctx.json(200, await c.top(ctx.params.id, ctx.query.string('ps_args') || '-ef'));
  });

  router.get('/containers/{id}/stats', async (ctx) => {
    const rec = c.get(ctx.params.id);
    const stream = ctx.query.bool('stream', true);
    const oneShot = ctx.query.bool('one-shot');
    if (stream && oneShot) throw invalidArgument('cannot have stream=true and one-shot=true');
    const wait = (ms: number) => sleep(ms, undefined, { signal: ctx.signal }).then(() => true, () => false);

    if (!stream) {
      let cur = await c.statsSample(rec);
      let prev: StatsSample | undefined;
      if (cur && !oneShot && (await wait(interval))) {
        const next = await c.statsSample(rec).catch(() => undefined);
        if (next) {
          prev = cur;
          cur = next;
        }
      }
      if (ctx.signal.aborted) return;
      ctx.json(200, statsJSON(rec, cur, prev));
      return;
    }

    const out = ctx.jsonStream();
    let prev: StatsSample | undefined;
    while (!out.closed) {
      const live = c.find(rec.Id);
      if (!live) break;
      const cur = await c.statsSample(live).catch(() => undefined);
      if (cur) {
        out.write(statsJSON(live, cur, prev));
        await out.drain();
        prev = cur;
      }
      if (!(await wait(interval))) break;
    }
    out.end();
  });

  router.post('/containers/{id}/update', async (ctx) => {
    const body = decode(updateBody, (await ctx.body()) ?? null);
    ctx.json(200, await c.update(ctx.params.id, body ?? {}));
  });
}
