/**
 * Build routes: `POST /build` (the classic builder; the body is the build context tar, plain or compressed) and
 * `POST /build/prune`. HTTP ↔ Builder, nothing else.
 *
 * Progress is Docker's JSON-lines stream (`{"stream": ...}`, `{"aux": {"ID": ...}}`). The response starts with the
 * first message, so errors before any step (a bad Dockerfile, a missing one) are plain HTTP errors, as with dockerd;
 * later failures are an `errorDetail` message in the stream (with the RUN exit code the CLI exits with).
 */
import { decodeText, type Schema } from '../../api/decode/schema.js';
import { buildArgs as buildArgsSchema, buildLabels } from '../../api/types/build.js';
import { invalidArgument, notImplemented } from '../../errdefs/index.js';
import type { JsonStream, Router } from '../server/router.js';
import { BuildError, Builder, type BuildMessage } from '../../build/builder.js';

export function registerBuildRoutes(router: Router, builder: Builder): void {
  router.post('/build', async (ctx) => {
    const q = ctx.query;
    if (q.string('remote')) {
      ctx.req.resume();
      throw notImplemented('building from a remote context is not supported by berth; send the context as the request body');
    }
    const tags = q.strings('t').filter(Boolean);
    let buildArgs: Record<string, string | null>;
    let labels: Record<string, string>;
    try {
      buildArgs = jsonParam(q.string('buildargs'), buildArgsSchema, 'build args');
      labels = jsonParam(q.string('labels'), buildLabels, 'labels');
    } catch (e) {
      ctx.req.resume();
      throw e;
    }
    try {
      Builder.validateTags(tags);
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
      await builder.build(
        ctx.req,
        {
          dockerfile: q.string('dockerfile') || 'Dockerfile',
          tags,
          buildArgs,
          labels,
          noCache: q.bool('nocache'),
          rm: q.bool('rm', true),
          forceRm: q.bool('forcerm'),
          target: q.string('target') || undefined,
          quiet: q.bool('q'),
          networkMode: q.string('networkmode') || undefined,
          signal: ctx.signal,
        },
        emit,
      );
    } catch (e) {
      ctx.req.resume();
      if (!out) throw e;
      const message = (e as Error).message;
      const code = e instanceof BuildError ? e.code : undefined;
      out.write({ errorDetail: { ...(code !== undefined ? { code } : {}), message }, error: message });
    }
    out?.end();
  });

  router.post('/build/prune', async (ctx) => {
    ctx.json(200, builder.prune());
  });
}

/** A JSON query parameter decoded as dockerd does, with its `error reading <what>: ` prefix; absent → `{}`. */
function jsonParam<T>(text: string | undefined, schema: Schema, what: string): T {
  if (!text) return {} as T;
  try {
    return decodeText<T | null>(schema, text) ?? ({} as T);
  } catch (e) {
    throw invalidArgument(`error reading ${what}: ${(e as Error).message}`);
  }
}
