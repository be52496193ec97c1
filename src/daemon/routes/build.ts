/**
 * Build routes: `POST /build` (the body is the build context tar, plain or compressed) and `POST /build/prune`.
 * HTTP ↔ Builder, nothing else.
 *
 * Progress is Docker's JSON-lines stream (`{"stream": ...}`, `{"aux": {"ID": ...}}`), or per-step events with
 * berth's `berthprogress=1` (see build/progress.ts). The response starts with the first message, so errors before
 * any step (a bad Dockerfile, a missing one) are plain HTTP errors, as with dockerd; later failures are an
 * `errorDetail` message in the stream (with the RUN exit code the CLI exits with, and for berth clients the step's
 * last output lines).
 *
 * Secrets (`RUN --mount=type=secret`) come in the `X-Berth-Build-Secrets` header — base64 of a JSON object
 * id → base64 value — since the classic API has no session channel for them; they stay in memory.
 */
import { decodeText, type Infer, type Schema } from '../../api/decode/schema.js';
import { buildArgs as buildArgsSchema, buildCacheFrom, buildLabels } from '../../api/types/build.js';
import { invalidArgument, notImplemented } from '../../errdefs/index.js';
import type { JsonStream, Router } from '../server/router.js';
import type { Builder, BuildMessage } from '../../build/builder.js';
import { parseFilters } from '../../pkg/filters/filters.js';

/**
 * `builder` gives the Builder, loading it on first use: the builder's modules are a seventh of the daemon's code,
 * and a daemon that never builds need not keep them compiled (issue 17 item 4).
 */
export function registerBuildRoutes(router: Router, builder: () => Promise<Builder>): void {
  router.post('/build', async (ctx) => {
    const q = ctx.query;
    let opts: Parameters<Builder['build']>[1];
    let b: Builder;
    let mod: typeof import('../../build/builder.js');
    try {
      [b, mod] = await Promise.all([builder(), import('../../build/builder.js')]);
      if (q.string('remote')) throw notImplemented('building from a remote context is not supported by berth; send the context as the request body');
      if (q.string('version') === '2') throw invalidArgument('BuildKit sessions (version=2) are not supported by berth; its builder speaks BuildKit\'s Dockerfile syntax through the classic API (version=1)');
      const tags = q.strings('t').filter(Boolean);
      mod.Builder.validateTags(tags);
      const num = (name: string) => {
        const v = q.int(name);
        return v === undefined || v === 0 ? undefined : v;
      };
      opts = {
        dockerfile: q.string('dockerfile') || 'Dockerfile',
        tags,
        buildArgs: jsonParam(q.string('buildargs'), buildArgsSchema, 'build args', {}),
        labels: jsonParam(q.string('labels'), buildLabels, 'labels', {}),
        cacheFrom: jsonParam(q.string('cachefrom'), buildCacheFrom, 'cache from', []),
        noCache: q.bool('nocache'),
        noCacheFilter: (q.string('nocachefilter') ?? '').split(',').filter(Boolean),
        rm: q.bool('rm', true),
        forceRm: q.bool('forcerm'),
        pull: q.bool('pull'),
        target: q.string('target') || undefined,
        quiet: q.bool('q'),
        platform: q.string('platform') || undefined,
        networkMode: q.string('networkmode') || undefined,
        extraHosts: q.strings('extrahosts').flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean),
        resources: {
          Memory: num('memory'),
          MemorySwap: num('memswap'),
          ShmSize: num('shmsize'),
          CpuShares: num('cpushares'),
          CpuPeriod: num('cpuperiod'),
          CpuQuota: num('cpuquota'),
          CpusetCpus: q.string('cpusetcpus') || undefined,
          CpusetMems: q.string('cpusetmems') || undefined,
        },
        secrets: secretsHeader(ctx.req.headers['x-berth-build-secrets']),
        structuredProgress: q.bool('berthprogress'),
        signal: ctx.signal,
      };
      if (!Array.isArray(opts.cacheFrom)) opts.cacheFrom = [];
      const nm = opts.networkMode;
      if (nm && !['default', 'bridge', 'host', 'none'].includes(nm) && !nm.startsWith('container:') && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(nm)) throw invalidArgument(`invalid network mode: ${nm}`);
    } catch (e) {
      ctx.req.resume();
      throw e;
    }
    let out: JsonStream | undefined;
    const emit = (m: BuildMessage) => {
      out ??= ctx.jsonStream(200);
      if (!out.closed) out.write(m);
    };
    try {
      await b.build(ctx.req, opts, emit);
    } catch (e) {
      ctx.req.resume();
      if (!out) throw e;
      const message = (e as Error).message;
      const code = e instanceof mod.BuildError ? e.code : undefined;
      const tail = (e as { tail?: string }).tail;
      out.write({ errorDetail: { ...(code !== undefined ? { code } : {}), message }, error: message, ...(opts.structuredProgress && tail ? { berthTail: tail } : {}) });
    }
    out?.end();
  });

  router.post('/build/prune', async (ctx) => {
    const filters = parseFilters(ctx.query.string('filters'));
    const all = ctx.query.bool('all');
    const keep = ctx.query.int('keep-storage') ?? ctx.query.int('reserved-space');
    filters.validate(['until', 'unused-for', 'type', 'id', 'description', 'private', 'shared', 'inuse']);
    const until = filters.until() ?? filters.until('unused-for');
    ctx.json(200, await (await builder()).prune({ all, until, keepStorage: keep }));
  });
}

function secretsHeader(h: string | string[] | undefined): Map<string, Buffer> | undefined {
  if (!h || Array.isArray(h)) return undefined;
  try {
    const obj = JSON.parse(Buffer.from(h, 'base64').toString('utf8')) as Record<string, string>;
    return new Map(Object.entries(obj).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  } catch {
    throw invalidArgument('invalid X-Berth-Build-Secrets header: want base64 of a JSON object of base64 values');
  }
}

/** A JSON query parameter decoded as dockerd does, with its `error reading <what>: ` prefix; absent or null → `absent`. */
function jsonParam<S extends Schema>(text: string | undefined, schema: S, what: string, absent: NonNullable<Infer<S>>): NonNullable<Infer<S>> {
  if (!text) return absent;
  try {
    return decodeText(schema, text) ?? absent;
  } catch (e) {
    throw invalidArgument(`error reading ${what}: ${(e as Error).message}`);
  }
}
