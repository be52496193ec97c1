/**
 * Image routes: list, inspect, history, tag, delete, prune, load, save, import. They map HTTP onto the narrow
 * `ImagesBackend` and nothing else.
 */
import type { Readable } from 'node:stream';
import type { Router, RequestContext, JsonStream } from '../server/router.js';
import { parseFilters, type Filters } from '../../pkg/filters/filters.js';
import { invalidArgument, notImplemented } from '../../errdefs/index.js';
import { decodeAuthHeader, type AuthConfig } from '../../api/types/auth.js';

export type LoadMessage = { stream?: string; status?: string; id?: string; error?: string; errorDetail?: { message: string } };

export interface ImagesBackend {
  list(opts: { all?: boolean; filters?: Filters; apiVersion?: string }): Promise<unknown[]>;
  inspect(name: string, apiVersion?: string): Promise<unknown>;
  history(name: string): Promise<unknown[]>;
  tag(source: string, repo: string, tag?: string): Promise<void>;
  remove(name: string, opts: { force?: boolean; noprune?: boolean }): Promise<unknown[]>;
  prune(filters: Filters): Promise<unknown>;
  load(input: Readable, progress: (m: LoadMessage) => void, opts: { signal?: AbortSignal; quiet?: boolean }): Promise<void>;
  save(names: string[]): Readable;
  importImage(input: Readable, opts: { repo?: string; tag?: string; changes?: string[]; message?: string; platform?: string; signal?: AbortSignal }): Promise<string>;
}

/** Pull and push through a registry (the RegistryService). Messages are Docker's JSON progress lines. */
export interface RegistryBackend {
  pull(opts: { fromImage: string; tag?: string; platform?: string; auth?: AuthConfig; signal?: AbortSignal }, progress: (m: object) => void): Promise<void>;
  push(opts: { name: string; tag?: string; auth?: AuthConfig; signal?: AbortSignal }, progress: (m: object) => void): Promise<void>;
  /** `GET /distribution/{name}/json`: the registry's descriptor for `name` and the platforms it serves. */
  distribution(name: string, auth?: AuthConfig, signal?: AbortSignal): Promise<unknown>;
}

/** Runs a progress-streaming operation: errors before the first message get a status code, later ones go in-band. */
async function streamed(ctx: RequestContext, fn: (write: (m: object) => void) => Promise<void>): Promise<void> {
  const out = lazyStream(ctx);
  try {
    await fn((m) => out.write(m));
    out.end();
  } catch (e) {
    if (!out.started()) throw e;
    out.write({ errorDetail: { message: (e as Error).message }, error: (e as Error).message });
    out.end();
  }
}

function registryAuth(ctx: RequestContext): AuthConfig | undefined {
  const h = ctx.req.headers['x-registry-auth'];
  return decodeAuthHeader(Array.isArray(h) ? h[0] : h);
}

/** A progress stream whose HTTP headers go out with the first message, so early errors still get a real status. */
function lazyStream(ctx: RequestContext) {
  let s: JsonStream | undefined;
  return {
    write(m: unknown) {
      s ??= ctx.jsonStream(200);
      s.write(m);
    },
    started: () => s !== undefined,
    end() {
      s ??= ctx.jsonStream(200);
      s.end();
    },
  };
}

/**
 * Streams a tar as the 200 answer. An error before the first byte is thrown, so the router answers it with the
 * status of its kind; after that the status is gone and the connection is cut (the client sees a short tar).
 */
function sendTar(ctx: RequestContext, tar: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    let started = false;
    tar.on('data', (c: Buffer) => {
      if (!started) {
        started = true;
        ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      }
      if (!ctx.res.write(c)) {
        tar.pause();
        ctx.res.once('drain', () => tar.resume());
      }
    });
    tar.on('end', () => {
      if (!started) ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      ctx.res.end();
      resolve();
    });
    tar.on('error', (e) => {
      if (!started) reject(e);
      else {
        ctx.res.destroy(e);
        resolve();
      }
    });
    ctx.signal.addEventListener('abort', () => tar.destroy(), { once: true });
  });
}

export function registerImageRoutes(router: Router, backend: ImagesBackend, registry?: RegistryBackend): void {
  router.get('/images/json', async (ctx) => {
    const filters = parseFilters(ctx.query.string('filters'));
    // legacy `filter=<reference>` parameter
    const legacy = ctx.query.string('filter');
    if (legacy) filters.add('reference', legacy);
    ctx.json(200, await backend.list({ all: ctx.query.bool('all'), filters, apiVersion: ctx.apiVersion }));
  });

  router.post('/images/create', async (ctx) => {
    const fromSrc = ctx.query.string('fromSrc');
    if (fromSrc !== undefined) {
      if (fromSrc !== '-') throw notImplemented('importing from a URL is not supported; use fromSrc=- with the tar as the body');
      const out = lazyStream(ctx);
      try {
        const id = await backend.importImage(ctx.req, {
          repo: ctx.query.string('repo') || undefined,
          tag: ctx.query.string('tag') || undefined,
          changes: ctx.query.strings('changes'),
          message: ctx.query.string('message') || undefined,
          platform: ctx.query.string('platform') || undefined,
          signal: ctx.signal,
        });
        out.write({ status: id });
        out.end();
      } catch (e) {
        if (!out.started()) throw e;
        out.write({ errorDetail: { message: (e as Error).message }, error: (e as Error).message });
        out.end();
      }
      return;
    }
    if (ctx.query.string('fromImage') !== undefined) {
      if (!registry) throw notImplemented('pulling images is not supported');
      const auth = registryAuth(ctx);
      return streamed(ctx, (write) =>
        registry.pull(
          { fromImage: ctx.query.string('fromImage')!, tag: ctx.query.string('tag') || undefined, platform: ctx.query.string('platform') || undefined, auth, signal: ctx.signal },
          write,
        ),
      );
    }
    throw invalidArgument('either fromSrc or fromImage must be given');
  });

  router.post('/images/load', async (ctx) => {
    const out = lazyStream(ctx);
    try {
      await backend.load(ctx.req, (m) => out.write(m), { signal: ctx.signal, quiet: ctx.query.bool('quiet') });
      out.end();
    } catch (e) {
      // drain the upload so the client sees our answer rather than a reset
      ctx.req.resume();
      if (!out.started()) throw e;
      out.write({ errorDetail: { message: (e as Error).message }, error: (e as Error).message });
      out.end();
    }
  });

  router.get('/images/get', async (ctx) => {
    const names = ctx.query.strings('names').flatMap((n) => n.split(',')).filter(Boolean);
    await sendTar(ctx, backend.save(names));
  });

  router.post('/images/prune', async (ctx) => {
    ctx.json(200, await backend.prune(parseFilters(ctx.query.string('filters'))));
  });

  router.get('/images/{name*}/get', async (ctx) => {
    await sendTar(ctx, backend.save([ctx.params.name!]));
  });

  router.get('/images/{name*}/json', async (ctx) => {
    ctx.json(200, await backend.inspect(ctx.params.name!, ctx.apiVersion));
  });

  router.get('/images/{name*}/history', async (ctx) => {
    ctx.json(200, await backend.history(ctx.params.name!));
  });

  router.post('/images/{name*}/tag', async (ctx) => {
    const repo = ctx.query.string('repo');
    if (!repo) throw invalidArgument('repository name (repo) is required');
    await backend.tag(ctx.params.name!, repo, ctx.query.string('tag') || undefined);
    ctx.noContent(201);
  });

  router.post('/images/{name*}/push', async (ctx) => {
    if (!registry) throw notImplemented('pushing images is not supported');
    const auth = registryAuth(ctx);
    await streamed(ctx, (write) => registry.push({ name: ctx.params.name!, tag: ctx.query.string('tag') || undefined, auth, signal: ctx.signal }, write));
  });

  router.get('/distribution/{name*}/json', async (ctx) => {
    if (!registry) throw notImplemented('registry access is not supported');
    ctx.json(200, await registry.distribution(ctx.params.name!, registryAuth(ctx), ctx.signal));
  });

  router.delete('/images/{name*}', async (ctx) => {
    ctx.json(200, await backend.remove(ctx.params.name!, { force: ctx.query.bool('force'), noprune: ctx.query.bool('noprune') }));
  });
}
