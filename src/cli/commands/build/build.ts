/**
 * `berth build` (and `berth image build`, `berth builder build`): docker's flags over `POST /build`.
 *
 * The context (a directory, `-` for a Dockerfile or an archive on stdin, or a tar file) is streamed, filtered by
 * .dockerignore on this side. Progress is BuildKit's: a live display on a TTY, plain `#n` lines otherwise
 * (`--progress=auto|plain|tty`); `-q` prints only the image ID. A failing step shows its command, exit code and
 * last output lines. `-o type=local,dest=DIR` / `type=tar,dest=FILE` export the result's filesystem (through a
 * created container's export); `--iidfile`, `--metadata-file` write what docker writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { CliExit, type Command, type CliContext } from '../../command.js';
import { readAll, type ImageBuildOptions } from '../../../client/index.js';
import { applyLayer } from '../../../pkg/archive/apply-layer.js';
import { parseBytes } from '../../../pkg/units/units.js';
import { directoryContext, stdinContext, type ContextSource } from './context.js';
import { PlainProgress, TtyProgress, type ProgressDisplay } from './progress.js';

type Msg = {
  stream?: string;
  aux?: { ID?: string };
  error?: string;
  errorDetail?: { message: string; code?: number };
  berthStep?: { id: number; name: string; started?: number; completed?: number; cached?: boolean; error?: string };
  berthLog?: { id: number; data: string };
  berthTail?: string;
};

/** `-o`: `type=local,dest=DIR`, `type=tar,dest=FILE|-`, or a bare `DIR` (local) / `-` (tar to stdout). */
export function parseOutput(spec: string): { type: 'local' | 'tar'; dest: string } {
  if (!spec.includes('=')) return spec === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: spec };
  const kv = new Map(spec.split(',').map((p) => {
    const i = p.indexOf('=');
    return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as [string, string];
  }));
  const type = kv.get('type') ?? 'local';
  if (type !== 'local' && type !== 'tar') throw new CliExit(1, `ERROR: output type ${type} is not supported by berth build (use local or tar)`);
  const dest = kv.get('dest');
  if (!dest) throw new CliExit(1, `ERROR: dest is required for ${type} exporter`);
  return { type, dest };
}

/** `--secret id=x,src=file` | `id=x,env=VAR` | `id=x` (the env var x if set, else the file x). */
export function readSecret(spec: string, env: NodeJS.ProcessEnv = process.env): [string, Buffer] {
  const kv = new Map(spec.split(',').map((p) => {
    const i = p.indexOf('=');
    return i < 0 ? ([p, ''] as [string, string]) : ([p.slice(0, i), p.slice(i + 1)] as [string, string]);
  }));
  const id = kv.get('id');
  if (!id) throw new CliExit(1, `ERROR: invalid secret ${JSON.stringify(spec)}: id is required`);
  const src = kv.get('src') ?? kv.get('source');
  const envName = kv.get('env');
  try {
    if (src) return [id, fs.readFileSync(src)];
    if (envName) {
      if (env[envName] === undefined) throw new Error(`env ${envName} is not set`);
      return [id, Buffer.from(env[envName]!)];
    }
    if (env[id] !== undefined) return [id, Buffer.from(env[id]!)];
    return [id, fs.readFileSync(id)];
  } catch (e) {
    throw new CliExit(1, `ERROR: failed to read secret ${id}: ${(e as Error).message}`);
  }
}

function buildArgs(list: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const a of list) {
    const i = a.indexOf('=');
    if (i < 0) out[a] = process.env[a] ?? null;
    else out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}

function labels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const i = a.indexOf('=');
    out[i < 0 ? a : a.slice(0, i)] = i < 0 ? '' : a.slice(i + 1);
  }
  return out;
}

async function openContext(ctx: CliContext, arg: string, file: string | undefined): Promise<ContextSource> {
  if (arg === '-') {
    if (file === '-') throw new CliExit(125, 'invalid argument: can\'t use stdin for both build context and dockerfile');
    const src = await stdinContext(ctx.stdin);
    return { stream: src.stream, dockerfile: src.isArchive ? file ?? 'Dockerfile' : 'Dockerfile' };
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(arg);
  } catch {
    throw new CliExit(1, `ERROR: unable to prepare context: path "${arg}" not found`);
  }
  if (st.isFile()) {
    // a context archive on disk
    return { stream: fs.createReadStream(arg), dockerfile: file ?? 'Dockerfile' };
  }
  if (file === '-') {
    const text = (await readAll(ctx.stdin as unknown as Readable)).toString('utf8');
    return directoryContext(arg, undefined, text);
  }
  if (file && !fs.existsSync(file)) throw new CliExit(1, `ERROR: unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${path.resolve(file)}: no such file or directory`);
  if (!file && !fs.existsSync(path.join(arg, 'Dockerfile'))) throw new CliExit(1, `ERROR: failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory`);
  return directoryContext(arg, file);
}

export const buildCommand: Command = {
  name: 'build',
  aliases: ['buildx', 'b'],
  usage: 'build [OPTIONS] PATH | URL | -',
  description: 'Build an image from a Dockerfile',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: 'tag', short: 't', type: 'list', description: 'Name and optionally a tag (format: "name:tag")', valueName: 'stringArray' },
    { name: 'file', short: 'f', type: 'string', description: 'Name of the Dockerfile (default: "PATH/Dockerfile")', valueName: 'string' },
    { name: 'build-arg', type: 'list', description: 'Set build-time variables', valueName: 'stringArray' },
    { name: 'target', type: 'string', description: 'Set the target build stage to build', valueName: 'string' },
    { name: 'label', type: 'list', description: 'Set metadata for an image', valueName: 'stringArray' },
    { name: 'network', type: 'string', description: 'Set the networking mode for the "RUN" instructions during build', default: 'default', valueName: 'string' },
    { name: 'add-host', type: 'list', description: 'Add a custom host-to-IP mapping ("host:ip")', valueName: 'stringSlice' },
    { name: 'iidfile', type: 'string', description: 'Write the image ID to a file', valueName: 'string' },
    { name: 'metadata-file', type: 'string', description: 'Write build result metadata to a file', valueName: 'string' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the build output and print image ID on success' },
    { name: 'pull', type: 'bool', description: 'Always attempt to pull all referenced images' },
    { name: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
    { name: 'no-cache-filter', type: 'list', description: 'Do not cache specified stages', valueName: 'stringArray' },
    { name: 'cache-from', type: 'list', description: 'External cache sources (e.g., "user/app:cache")', valueName: 'stringArray' },
    { name: 'secret', type: 'list', description: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")', valueName: 'stringArray' },
    { name: 'progress', type: 'string', description: 'Set type of progress output ("auto", "plain", "tty", "quiet")', default: 'auto', valueName: 'string' },
    { name: 'output', short: 'o', type: 'list', description: 'Output destination (format: "type=local,dest=path")', valueName: 'stringArray' },
    { name: 'platform', type: 'string', description: 'Set target platform for build', valueName: 'string' },
    { name: 'memory', short: 'm', type: 'string', description: 'Memory limit', valueName: 'bytes' },
    { name: 'memory-swap', type: 'string', description: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap', valueName: 'bytes' },
    { name: 'shm-size', type: 'string', description: 'Size of "/dev/shm"', valueName: 'bytes' },
    { name: 'rm', type: 'bool', description: 'Remove intermediate containers after a successful build', default: true },
    { name: 'force-rm', type: 'bool', description: 'Always remove intermediate containers' },
  ],
  async run(ctx, args, flags) {
    const progressMode = String(flags.progress ?? 'auto');
    if (!['auto', 'plain', 'tty', 'quiet', 'rawjson'].includes(progressMode)) throw new CliExit(1, `ERROR: invalid progress mode "${progressMode}"`);
    const quiet = !!flags.quiet || progressMode === 'quiet';
    const outputs = ((flags.output as string[]) ?? []).map(parseOutput);
    if (outputs.length > 1) throw new CliExit(1, 'ERROR: multiple outputs are not supported');
    const output = outputs[0];
    if (output?.type === 'tar' && output.dest === '-' && ctx.stdout.isTTY) throw new CliExit(1, 'ERROR: refusing to write the tar output to a terminal: use -o type=tar,dest=FILE or redirect stdout');
    const secrets = Object.fromEntries(((flags.secret as string[]) ?? []).map((s) => {
      const [id, v] = readSecret(s);
      return [id, v.toString('base64')];
    }));
    const file = flags.file as string | undefined;
    const source = await openContext(ctx, args[0]!, file);
    const tags = (flags.tag as string[]) ?? [];
    const bytes = (f: string) => (flags[f] ? (String(flags[f]) === '-1' ? -1 : parseBytes(String(flags[f]))) : undefined);
    const buildOptions: ImageBuildOptions = {
      tags,
      dockerfile: source.dockerfile,
      buildArgs: buildArgs((flags['build-arg'] as string[]) ?? []),
      labels: labels((flags.label as string[]) ?? []),
      target: (flags.target as string) || undefined,
      networkMode: (flags.network as string) || 'default',
      extraHosts: (flags['add-host'] as string[]) ?? [],
      noCache: flags['no-cache'] === true,
      noCacheFilter: (flags['no-cache-filter'] as string[]) ?? [],
      cacheFrom: (flags['cache-from'] as string[]) ?? [],
      pull: flags.pull === true,
      quiet,
      remove: flags.rm !== false,
      forceRemove: flags['force-rm'] === true,
      platform: (flags.platform as string) || undefined,
      memory: bytes('memory'),
      memorySwap: bytes('memory-swap'),
      shmSize: bytes('shm-size'),
      berthProgress: !quiet,
      secrets,
    };
    const client = await ctx.client();
    const useTty = progressMode === 'tty' || (progressMode === 'auto' && !!ctx.stderr.isTTY);
    const display: ProgressDisplay | undefined = quiet ? undefined : useTty ? new TtyProgress(ctx.stderr) : new PlainProgress(ctx.stderr);
    let res;
    try {
      res = await client.images.build(source.stream, buildOptions);
    } catch (e) {
      display?.close(false);
      throw new CliExit(1, `ERROR: ${(e as Error).message}`);
    }
    let imageId: string | undefined;
    let failure: Msg | undefined;
    for await (const message of res) {
      const m = message as Msg;
      if (m.berthStep) display?.step(m.berthStep);
      else if (m.berthLog) display?.log(m.berthLog.id, m.berthLog.data);
      else if (m.aux?.ID) imageId = m.aux.ID;
      else if (m.error || m.errorDetail) failure = m;
      else if (m.stream && !quiet && display) {
        // classic text from an older berthd: pass it on
        for (const l of m.stream.split('\n').filter(Boolean)) display.note(l);
      }
    }
    if (failure) {
      display?.close(false);
      const msg = failure.errorDetail?.message ?? failure.error ?? 'build failed';
      const failed = display?.steps().find((s) => s.error !== undefined);
      if (failed) {
        ctx.stderr.write(`------\n > ${failed.name}:\n`);
        const tail = (failure.berthTail ?? failed.logs.slice(-10).join('\n')).split('\n').filter((l) => l !== '');
        for (const l of tail.slice(-10)) ctx.stderr.write(`${l}\n`);
        ctx.stderr.write('------\n');
      }
      const code = failure.errorDetail?.code;
      const run = /^The command '([\s\S]*)' returned a non-zero code: (\d+)$/.exec(msg);
      ctx.stderr.write(run ? `ERROR: failed to solve: process "${run[1]}" did not complete successfully: exit code: ${run[2]}\n` : `ERROR: failed to solve: ${msg}\n`);
      return code && code > 0 ? code : 1;
    }
    if (!imageId) {
      display?.close(false);
      throw new CliExit(1, 'ERROR: the daemon did not report an image ID');
    }
    for (const t of tags) display?.note(`naming to ${t.includes('/') || t.includes(':') ? t : `${t}:latest`} done`);
    if (output) {
      display?.note(`exporting to ${output.type === 'local' ? 'client directory' : 'client tarball'}`);
      await exportImage(ctx, imageId, output);
    }
    display?.close(true);
    if (quiet) ctx.stdout.write(`${imageId}\n`);
    if (flags.iidfile) fs.writeFileSync(String(flags.iidfile), imageId);
    if (flags['metadata-file']) {
      const meta: Record<string, unknown> = { 'containerimage.config.digest': imageId };
      if (tags.length) meta['image.name'] = tags.join(',');
      fs.writeFileSync(String(flags['metadata-file']), JSON.stringify(meta, null, 2));
    }
    return 0;
  },
};

/** The image's filesystem, out of a created (never started) container's export. */
async function exportImage(ctx: CliContext, imageId: string, out: { type: 'local' | 'tar'; dest: string }): Promise<void> {
  const client = await ctx.client();
  const { Id } = await client.containers.create({ Image: imageId, Cmd: ['/'], Entrypoint: [''], Labels: { 'io.berth.build.export': 'true' } });
  try {
    const res = await client.containers.export(Id);
    if (out.type === 'local') {
      fs.mkdirSync(out.dest, { recursive: true });
      await applyLayer(res, path.resolve(out.dest), { whiteouts: 'none' });
    } else if (out.dest === '-') await pipeline(res, ctx.stdout);
    else await pipeline(res, fs.createWriteStream(out.dest));
  } finally {
    await client.containers.remove(Id, { force: true, volumes: true }).catch(() => {});
  }
}

/** `berth builder prune` (docker's wording and output). */
export const builderCommand: Command = {
  name: 'builder',
  usage: 'builder COMMAND',
  description: 'Manage builds',
  subcommands: [
    { ...buildCommand, aliases: [] },
    {
      name: 'prune',
      usage: 'builder prune [OPTIONS]',
      description: 'Remove build cache',
      flags: [
        { name: 'all', short: 'a', type: 'bool', description: 'Remove all unused build cache, not just dangling ones' },
        { name: 'filter', type: 'list', description: 'Provide filter values (e.g. "until=24h")', valueName: 'filter' },
        { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
        { name: 'keep-storage', type: 'string', description: 'Amount of disk space to keep for cache', valueName: 'bytes' },
      ],
      maxArgs: 0,
      async run(ctx, _args, flags) {
        if (!flags.force) {
          ctx.stdout.write(`WARNING! This will remove all ${flags.all ? '' : 'dangling '}build cache. Are you sure you want to continue? [y/N] `);
          const answer = await new Promise<string>((resolve) => {
            ctx.stdin.once('data', (d) => resolve(String(d)));
            ctx.stdin.once('end', () => resolve(''));
          });
          ctx.stdin.pause();
          if (!/^y(es)?$/i.test(answer.trim())) return 0;
        }
        const filters: Record<string, string[]> = {};
        for (const f of (flags.filter as string[]) ?? []) {
          const i = f.indexOf('=');
          (filters[f.slice(0, i)] ??= []).push(f.slice(i + 1));
        }
        const client = await ctx.client();
        const r = await client.images.pruneBuildCache({
          all: flags.all === true,
          filters,
          keepStorage: flags['keep-storage'] ? parseBytes(String(flags['keep-storage'])) : undefined,
        });
        if (r.CachesDeleted?.length) {
          ctx.stdout.write('Deleted build cache objects:\n');
          for (const id of r.CachesDeleted) ctx.stdout.write(`${id}\n`);
          ctx.stdout.write('\n');
        }
        const { humanSize } = await import('../../../pkg/units/units.js');
        ctx.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
        return 0;
      },
    },
  ],
};
