/**
 * Container and exec routes: HTTP ↔ the container and exec backends, nothing else. Each backend is the narrow
 * interface these routes need (moby style); bootstrap.ts hands in the services that implement them.
 */
import { decode } from '../../api/decode/schema.js';
import { frame } from '../../api/stdcopy.js';
import { containerCreateBody, execCreateBody, execStartBody, type ContainerCreateRequest, type ExecCreateRequest } from '../../api/types/container.js';
import { invalidArgument, notFound } from '../../errdefs/index.js';
import { parseFilters } from '../../pkg/filters/filters.js';
import { parseTimestamp } from '../../pkg/units/units.js';
import type { Duplex } from 'node:stream';
import type { ContainerRecord } from '../../core/containers/container.js';
import { parseDetachKeys, type AttachOptions } from '../../core/runtime/attach.js';
import type { Filters } from '../../pkg/filters/filters.js';
import type { RequestContext, Router } from '../server/router.js';
import { drained } from '../../pkg/stream/drained.js';
import { detailsPrefix } from '../services/containers/log-config.js';
import { fixedTimestamp, jsonFormat, localFormat, readLogs, type LogSource } from '../services/containers/logs.js';
import { inspectView, listItem, selectContainers } from '../services/containers/views.js';

/** The container lifecycle these routes drive (the container service). */
export interface ContainerBackend {
  list(): ContainerRecord[];
  find(ref: string): ContainerRecord | undefined;
  /** NotFound `No such container: <ref>` when none matches. */
  get(ref: string): ContainerRecord;
  create(name: string | undefined, body: ContainerCreateRequest, opts?: { apiVersion?: string }): Promise<{ Id: string; Warnings: string[] }>;
  start(ref: string): Promise<'started' | 'already'>;
  stop(ref: string, timeoutSeconds?: number, signal?: string): Promise<'stopped' | 'already'>;
  restart(ref: string, timeoutSeconds?: number, signal?: string): Promise<void>;
  kill(ref: string, signal: string): Promise<void>;
  wait(ref: string, condition: string, signal: AbortSignal): Promise<{ StatusCode: number; Error: { Message: string } | null }>;
  remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void>;
  rename(ref: string, newName: string): void;
  /** Inspect's HostConfig.Links (legacy links, `/<target>:/<me>/<alias>`), null when none. */
  links(rec: ContainerRecord): string[] | null;
  /** Drops the legacy link named `<me>/<alias>` (dockerd's rmLink). */
  removeLink(name: string): void;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  resize(ref: string, rows: number, cols: number): void;
  attach(ref: string, socket: Duplex, opts: AttachOptions): Promise<void>;
  /** Resolves when the container stops (at once when it is not running). */
  stopped(id: string): Promise<void>;
  /** Where the container's log can be read back; undefined when its driver keeps nothing to read. */
  logSource(id: string): LogSource | undefined;
  /** Removes the stopped containers the filters select; their IDs. */
  prune(filters: Filters): Promise<string[]>;
}

/** `docker exec` (the exec service). */
export interface ExecBackend {
  create(containerRef: string, req: ExecCreateRequest): { Id: string };
  start(id: string, opts: { detach: boolean }, socket?: Duplex): Promise<void>;
  resize(id: string, rows: number, cols: number): void;
  inspect(id: string): Record<string, unknown>;
  /** Forgets the exec instances of a removed container. */
  forgetContainer(containerId: string): void;
}

/** What the container routes need: the two backends, and image names for display and ancestor filters. */
export interface ContainerRouteDeps {
  containers: ContainerBackend;
  execs: ExecBackend;
  /** The reference a container's image is shown by in `ps` (its name as given, or the image ID when untagged). */
  imageDisplayName(imageId: string, asGiven: string): string;
  /** Image IDs an `ancestor=` filter value names. */
  ancestorIds(ref: string): string[];
  /** Inspect's GraphDriver block and size figures for a container's writable layer. */
  graphDriver(containerId: string): Promise<Record<string, unknown>>;
  layerSize?(containerId: string): Promise<{ rw: number; rootfs: number }>;
}

function nsFromTimestamp(v: string | undefined): bigint | undefined {
  if (!v) return undefined;
  const t = parseTimestamp(v);
  return BigInt(t.seconds) * 1_000_000_000n + BigInt(t.nanos);
}

export function registerContainerRoutes(router: Router, d: ContainerRouteDeps): void {
  const { containers, execs } = d;

  router.get('/containers/json', async (ctx) => {
    const filters = parseFilters(ctx.query.string('filters'));
    const list = selectContainers(containers.list(), {
      all: ctx.query.bool('all'),
      limit: ctx.query.int('limit'),
      filters,
      ancestorIds: d.ancestorIds,
      find: (ref) => containers.find(ref),
    });
    const withSize = ctx.query.bool('size');
    const items = await Promise.all(
      list.map(async (c) => listItem(c, d.imageDisplayName(c.Image, c.Config.Image), withSize && d.layerSize ? await d.layerSize(c.Id) : undefined)),
    );
    ctx.json(200, items);
  });

  router.post('/containers/create', async (ctx) => {
    const raw = await ctx.body();
    if (raw === undefined || raw === null) throw invalidArgument('config cannot be empty in order to create a container');
    ctx.json(201, await containers.create(ctx.query.string('name'), decode(containerCreateBody, raw) ?? {}, { apiVersion: ctx.apiVersion }));
  });

  router.get('/containers/{id}/json', async (ctx) => {
    const rec = containers.get(ctx.params.id);
    const size = ctx.query.bool('size') && d.layerSize ? await d.layerSize(rec.Id) : undefined;
    ctx.json(200, inspectView(rec, await d.graphDriver(rec.Id), size, containers.links(rec)));
  });

  router.post('/containers/{id}/start', async (ctx) => {
    const r = await containers.start(ctx.params.id);
    ctx.noContent(r === 'already' ? 304 : 204);
  });

  router.post('/containers/{id}/stop', async (ctx) => {
    const r = await containers.stop(ctx.params.id, ctx.query.int('t'), ctx.query.string('signal'));
    ctx.noContent(r === 'already' ? 304 : 204);
  });

  router.post('/containers/{id}/restart', async (ctx) => {
    await containers.restart(ctx.params.id, ctx.query.int('t'), ctx.query.string('signal'));
    ctx.noContent();
  });

  router.post('/containers/{id}/kill', async (ctx) => {
    await containers.kill(ctx.params.id, ctx.query.string('signal') || 'KILL');
    ctx.noContent();
  });

  router.post('/containers/{id}/wait', async (ctx) => {
    const condition = ctx.query.string('condition') ?? '';
    containers.get(ctx.params.id); // 404 before the headers go out
    // Docker sends the headers at once so clients know the wait is registered before they start the container.
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    try {
      const r = await containers.wait(ctx.params.id, condition, ctx.signal);
      ctx.res.end(JSON.stringify(r) + '\n');
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      ctx.res.end(JSON.stringify({ StatusCode: -1, Error: { Message: (e as Error).message } }) + '\n');
    }
  });

  // a link's name is `<me>/<alias>`: one more path segment than a container's
  router.delete('/containers/{id}/{alias}', async (ctx) => {
    if (!ctx.query.bool('link')) throw notFound('page not found');
    containers.removeLink(`${ctx.params.id}/${ctx.params.alias}`);
    ctx.noContent();
  });

  router.delete('/containers/{id}', async (ctx) => {
    if (ctx.query.bool('link')) {
      containers.removeLink(ctx.params.id);
      return ctx.noContent();
    }
    const rec = containers.get(ctx.params.id);
    await containers.remove(rec.Id, { force: ctx.query.bool('force'), volumes: ctx.query.bool('v') });
    execs.forgetContainer(rec.Id);
    ctx.noContent();
  });

  router.post('/containers/{id}/rename', async (ctx) => {
    containers.rename(ctx.params.id, ctx.query.string('name') ?? '');
    ctx.noContent();
  });

  router.post('/containers/{id}/pause', async (ctx) => {
    await containers.pause(ctx.params.id);
    ctx.noContent();
  });

  router.post('/containers/{id}/unpause', async (ctx) => {
    await containers.unpause(ctx.params.id);
    ctx.noContent();
  });

  router.post('/containers/{id}/resize', async (ctx) => {
    const { h, w } = dims(ctx);
    containers.resize(ctx.params.id, h, w);
    ctx.text(200, '');
  });

  router.post('/containers/{id}/attach', async (ctx) => {
    const rec = containers.get(ctx.params.id);
    const detachKeys = ctx.query.string('detachKeys') ? parseDetachKeys(ctx.query.string('detachKeys')!) : undefined;
    const opts = {
      stdin: ctx.query.bool('stdin'),
      stdout: ctx.query.bool('stdout'),
      stderr: ctx.query.bool('stderr'),
      stdinOnce: rec.Config.StdinOnce,
      detachKeys,
    };
    const tty = rec.Config.Tty;
    const socket = ctx.hijack(tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
    if (ctx.query.bool('logs')) {
      const src = containers.logSource(rec.Id);
      const logs = src ? readLogs(src.file, { format: src.format === 'local' ? localFormat : jsonFormat, stdout: opts.stdout, stderr: opts.stderr, follow: false, signal: ctx.signal, stopped: Promise.resolve() }) : [];
      for await (const r of logs) {
        socket.write(tty ? r.log : frame(r.stream === 'stdout' ? 1 : 2, r.log));
      }
    }
    if (!ctx.query.bool('stream')) {
      socket.end();
      return;
    }
    await containers.attach(rec.Id, socket, opts);
  });

  router.get('/containers/{id}/logs', async (ctx) => {
    const rec = containers.get(ctx.params.id);
    // drivers that keep nothing to read back (none; syslog with cache-disabled)
    const src = containers.logSource(rec.Id);
    if (!src) throw invalidArgument('configured logging driver does not support reading');
    const stdout = ctx.query.bool('stdout');
    const stderr = ctx.query.bool('stderr');
    if (!stdout && !stderr) throw invalidArgument('Bad parameters: you must choose at least one stream');
    const tailRaw = ctx.query.string('tail');
    let tail: number | undefined;
    if (tailRaw && tailRaw !== 'all') {
      if (!/^-?\d+$/.test(tailRaw)) throw invalidArgument(`invalid value for "tail": "${tailRaw}"`);
      tail = Number(tailRaw);
    }
    const sinceNs = nsFromTimestamp(ctx.query.string('since'));
    const untilNs = nsFromTimestamp(ctx.query.string('until'));
    const timestamps = ctx.query.bool('timestamps');
    const details = ctx.query.bool('details');
    const tty = rec.Config.Tty;
    ctx.res.writeHead(200, { 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
    ctx.res.flushHeaders();
    const follow = ctx.query.bool('follow') && rec.State.Running;
    const format = src.format === 'local' ? localFormat : jsonFormat;
    for await (const r of readLogs(src.file, { format, stdout, stderr, tail, sinceNs, untilNs, follow, signal: ctx.signal, stopped: containers.stopped(rec.Id) })) {
      // dockerd's order: timestamp, then the attributes, then the line
      const line = details ? `${detailsPrefix(r.attrs)} ${r.log}` : r.log;
      const text = timestamps ? `${fixedTimestamp(r.time)} ${line}` : line;
      const ok = ctx.res.write(tty ? text : frame(r.stream === 'stdout' ? 1 : 2, text));
      if (!ok) await drained(ctx.res);
    }
    ctx.res.end();
  });

  router.post('/containers/prune', async (ctx) => {
    const deleted = await containers.prune(parseFilters(ctx.query.string('filters')));
    for (const id of deleted) execs.forgetContainer(id);
    ctx.json(200, { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: 0 });
  });

  // ---------------------------------------------------------------- exec

  router.post('/containers/{id}/exec', async (ctx) => {
    const body = decode(execCreateBody, (await ctx.body()) ?? {}) ?? {};
    ctx.json(201, execs.create(ctx.params.id, body));
  });

  router.post('/exec/{id}/start', async (ctx) => {
    const body = decode(execStartBody, (await ctx.body()) ?? {}) ?? {};
    if (body.Detach) {
      await execs.start(ctx.params.id, { detach: true });
      ctx.noContent(200);
      return;
    }
    execs.inspect(ctx.params.id); // 404 before hijacking
    const tty = Boolean((execs.inspect(ctx.params.id).ProcessConfig as { tty: boolean }).tty);
    const socket = ctx.hijack(tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
    try {
      await execs.start(ctx.params.id, { detach: false }, socket);
    } catch (e) {
      const msg = `${(e as Error).message}\r\n`;
      if (socket.writable) socket.end(tty ? msg : frame(3, msg));
    }
  });

  router.post('/exec/{id}/resize', async (ctx) => {
    const { h, w } = dims(ctx);
    execs.resize(ctx.params.id, h, w);
    ctx.text(200, '');
  });

  router.get('/exec/{id}/json', async (ctx) => ctx.json(200, execs.inspect(ctx.params.id)));

}

function dims(ctx: RequestContext): { h: number; w: number } {
  const h = ctx.query.int('h');
  const w = ctx.query.int('w');
  if (h === undefined || w === undefined || h < 0 || w < 0) throw invalidArgument('invalid resize dimensions');
  return { h, w };
}
