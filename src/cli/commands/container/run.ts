/**
 * `berth run` and `berth create`, with docker's flow: create (pulling a missing image first), attach, wait
 * (registered before start), start, stream I/O, exit with the container's status.
 */
import fs from 'node:fs';
import type { ContainerCreateResponse } from '../../../api/types/container.js';
import type { Client } from '../../../client/index.js';
import { displayJSONMessages } from '../../output/progress.js';
import { familiarString, fullName, parseAny, withDefaultTag, type Reference } from '../../../pkg/reference/index.js';
import { CliExit, type CliContext, type Command } from '../../command.js';
import { buildCreateRequest, containerFlags, OptsError, runFlags, type ParsedCreate } from './opts.js';
import { consoleSize, forwardSignals, monitorTtySize, pumpStreams } from './streams.js';
import { errorText, isNotFound } from './util.js';
import type { FlagValues } from '../../../pkg/flags/flags.js';

const RUN_USAGE = 'run [OPTIONS] IMAGE [COMMAND] [ARG...]';
const CREATE_USAGE = 'create [OPTIONS] IMAGE [COMMAND] [ARG...]';

/** docker's withHelp: `berth: <msg>\n\nRun 'berth run --help' for more information`. */
function withHelp(ctx: CliContext, msg: string, cmd: string): string {
  return `${ctx.prog}: ${msg}\n\nRun '${ctx.prog} ${cmd} --help' for more information`;
}

/** docker's toStatusError: 127 for a missing executable, 126 for one that cannot be run, else 125. */
export function statusCodeFor(message: string): number {
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(message)) return 127;
  if (/permission denied|is a directory/.test(message)) return 126;
  return 125;
}

function toStatusError(ctx: CliContext, e: unknown, cmd = 'run'): CliExit {
  if (e instanceof CliExit) return e;
  const msg = errorText(e);
  return new CliExit(statusCodeFor(msg), withHelp(ctx, msg, cmd));
}

export { displayJSONMessages };

/** `POST /images/create?fromImage=&tag=` with progress on stderr (docker's pullImage for run/create). */
async function pullImage(ctx: CliContext, client: Client, ref: Reference, platform: string | undefined, quiet: boolean): Promise<void> {
  const res = await client.images.pull(ref.digest ? `${fullName(ref)}@${ref.digest}` : fullName(ref), { tag: ref.digest ? undefined : (ref.tag ?? 'latest'), platform });
  await displayJSONMessages(res, quiet ? undefined : ctx.stderr);
}

/** docker's createContainer: pull when asked or missing, create, print warnings, write --cidfile. Returns the ID. */
async function createContainer(ctx: CliContext, client: Client, req: ParsedCreate, quiet: boolean, cidfile: string): Promise<string> {
  if (cidfile && fs.existsSync(cidfile)) {
    throw new Error(`container ID file found, make sure the other container isn't running or delete ${cidfile}`);
  }
  const image = req.body.Image ?? '';
  let namedRef: Reference | undefined;
  try {
    const any = parseAny(image);
    if (any.kind === 'named') namedRef = withDefaultTag(any.ref);
  } catch {
    // The daemon reports invalid references in its own words.
  }
  if (req.pull === 'always' && namedRef) await pullImage(ctx, client, namedRef, req.platform, quiet);
  const query = { name: req.name, platform: req.platform };
  let resp: ContainerCreateResponse;
  try {
    resp = await client.containers.create(req.body, query);
  } catch (e) {
    if (!(isNotFound(e) && namedRef && req.pull === 'missing' && /no such image/i.test((e as Error).message))) throw e;
    if (!quiet) ctx.stderr.write(`Unable to find image '${familiarString(namedRef)}' locally\n`);
    await pullImage(ctx, client, namedRef, req.platform, quiet);
    resp = await client.containers.create(req.body, query);
  }
  for (const w of resp.Warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
  if (cidfile) fs.writeFileSync(cidfile, resp.Id);
  return resp.Id;
}

function parseRequest(ctx: CliContext, flags: FlagValues, set: Set<string>, args: string[], cmd: string, usage: string): ParsedCreate {
  try {
    return buildCreateRequest(flags, set, args);
  } catch (e) {
    if (e instanceof OptsError && e.flag) {
      throw new CliExit(125, `${e.message}\n\nUsage:  ${ctx.prog} ${usage}\n\nRun '${ctx.prog} ${cmd} --help' for more information`);
    }
    throw new CliExit(125, withHelp(ctx, (e as Error).message, cmd));
  }
}

/**
 * Registers a wait (`next-exit`, or `removed` with --rm) and resolves once the daemon has acknowledged it (its
 * headers arrive at once), returning the promise of the exit status.
 */
export async function waitExitOrRemoved(ctx: CliContext, client: Client, id: string, removed: boolean): Promise<{ status: Promise<number>; cancel: () => void }> {
  const waiter = await client.containers.wait(id, removed ? 'removed' : 'next-exit');
  let cancelled = false;
  const cancel = () => {
    cancelled = true;
    waiter.cancel();
  };
  const status = (async () => {
    try {
      const body = (await waiter.result) ?? { StatusCode: undefined };
      if (body.Error?.Message) {
        ctx.stderr.write(`Error waiting for container: ${body.Error.Message}\n`);
        return 125;
      }
      return body.StatusCode ?? 125;
    } catch (e) {
      if (cancelled) return 0;
      ctx.stderr.write(`error waiting for container: ${(e as Error).message}\n`);
      return 125;
    }
  })();
  return { status, cancel };
}

export interface AttachFlow {
  id: string;
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  detachKeys?: string;
  autoRemove: boolean;
  sigProxy: boolean;
  /** Start the container (run, start -a); omitted for attach to a running one. */
  start?: () => Promise<void>;
  /** Wait for exit before streaming: run and start -a do (so the exit code is caught), attach does its own. */
  wait: boolean;
  /** What a detach means: run and start return 0; `attach` reports `read escape sequence` (exit 1), as docker does. */
  onDetach?: () => number;
}

/**
 * The attached part of `run` / `start -a`: hijack the attach stream, register the wait, start, pump I/O, and
 * return the container's exit code (0 after a detach).
 */
export async function attachAndRun(ctx: CliContext, client: Client, f: AttachFlow, onStartError: (e: unknown) => never): Promise<number> {
  const stopSignals = f.sigProxy ? forwardSignals(client, f.id) : () => {};
  // The attach and the wait are independent requests: both are sent at once (the docker CLI sends them one after the
  // other), and start waits for both to be acknowledged, so neither can miss the container's output or exit.
  const waiting = f.wait ? waitExitOrRemoved(ctx, client, f.id, f.autoRemove) : undefined;
  waiting?.catch(() => {});
  let socket;
  try {
    socket = await client.containers.attach(f.id, { stream: true, stdin: f.stdin, stdout: f.stdout, stderr: f.stderr, detachKeys: f.detachKeys });
  } catch (e) {
    stopSignals();
    void waiting?.then((w) => w.cancel(), () => {});
    throw e;
  }
  const abort = new AbortController();
  const pump = pumpStreams(ctx, socket, { tty: f.tty, stdin: f.stdin, output: f.stdout || f.stderr, detachKeys: f.detachKeys }, abort.signal);
  pump.catch(() => {});
  let stopResize = () => {};
  let cancelWait = () => {};
  try {
    const waiter = waiting ? await waiting : undefined;
    cancelWait = waiter?.cancel ?? cancelWait;
    const status = waiter?.status;
    if (f.start) {
      try {
        await f.start();
      } catch (e) {
        abort.abort();
        await pump.catch(() => {});
        // The daemon removes an --rm container whose start failed; don't hang if it does not.
        if (f.autoRemove && status) await Promise.race([status, new Promise((r) => setTimeout(r, 5000).unref())]);
        onStartError(e);
      }
    }
    if (f.tty && ctx.stdout.isTTY) stopResize = monitorTtySize(ctx, (h, w) => client.containers.resize(f.id, h, w));
    if (!status) {
      const r = await pump;
      return r.detached && f.onDetach ? f.onDetach() : 0;
    }
    const first = await Promise.race([pump.then((r) => ({ kind: 'stream' as const, r })), status.then((code) => ({ kind: 'status' as const, code }))]);
    if (first.kind === 'stream') {
      if (first.r.detached) return f.onDetach ? f.onDetach() : 0;
      return await status;
    }
    // The container is gone: let the last output drain, then stop.
    const grace = setTimeout(() => abort.abort(), 2000);
    await pump.catch(() => {});
    clearTimeout(grace);
    return first.code;
  } finally {
    stopResize();
    stopSignals();
    cancelWait();
    socket.destroy();
  }
}

async function runOrCreate(ctx: CliContext, args: string[], flags: FlagValues, set: Set<string>, mode: 'run' | 'create'): Promise<number> {
  const usage = mode === 'run' ? RUN_USAGE : CREATE_USAGE;
  const req = parseRequest(ctx, flags, set, args, mode, usage);
  const cfg = req.body;
  const hostConfig = req.body.HostConfig;
  const detach = mode === 'create' || flags.detach === true;
  if (mode === 'run') {
    if (!detach) {
      if (cfg.AttachStdin && cfg.Tty && !ctx.stdin.isTTY) throw new CliExit(1, 'the input device is not a TTY');
    } else {
      if (((flags.attach as string[]) ?? []).length) throw new CliExit(1, 'conflicting options: cannot specify both --attach and --detach');
      cfg.AttachStdin = false;
      cfg.AttachStdout = false;
      cfg.AttachStderr = false;
      cfg.StdinOnce = false;
    }
  }
  hostConfig.ConsoleSize = consoleSize(ctx);
  const client = await ctx.client();
  const quiet = flags.quiet === true;
  const cidfile = (flags.cidfile as string | undefined) ?? '';

  if (mode === 'create') {
    let id: string;
    try {
      id = await createContainer(ctx, client, req, quiet, cidfile);
    } catch (e) {
      if (e instanceof CliExit || (e as { status?: number }).status !== undefined) throw e;
      throw new CliExit(1, errorText(e));
    }
    ctx.stdout.write(id + '\n');
    return 0;
  }

  let id: string;
  try {
    id = await createContainer(ctx, client, req, quiet, cidfile);
  } catch (e) {
    throw toStatusError(ctx, e);
  }
  const attach = Boolean(cfg.AttachStdin || cfg.AttachStdout || cfg.AttachStderr);
  const start = async () => {
    await client.containers.start(id);
  };
  if (!attach) {
    const stopSignals = flags['sig-proxy'] === true && !cfg.Tty ? forwardSignals(client, id) : () => {};
    try {
      await start();
    } catch (e) {
      throw toStatusError(ctx, e);
    } finally {
      stopSignals();
    }
    ctx.stdout.write(id + '\n');
    return 0;
  }
  return attachAndRun(
    ctx,
    client,
    {
      id,
      tty: cfg.Tty === true,
      stdin: cfg.AttachStdin === true,
      stdout: cfg.AttachStdout === true,
      stderr: cfg.AttachStderr === true,
      detachKeys: (flags['detach-keys'] as string | undefined) || undefined,
      autoRemove: hostConfig.AutoRemove === true,
      sigProxy: flags['sig-proxy'] === true && !cfg.Tty,
      start,
      wait: true,
    },
    (e) => {
      throw toStatusError(ctx, e);
    },
  );
}

export const runCommand: Command = {
  name: 'run',
  usage: RUN_USAGE,
  description: 'Create and run a new container from an image',
  flags: runFlags,
  interspersed: false,
  minArgs: 1,
  async run(ctx, args, flags, set) {
    return runOrCreate(ctx, args, flags, set, 'run');
  },
};

export const createCommand: Command = {
  name: 'create',
  usage: CREATE_USAGE,
  description: 'Create a new container',
  flags: containerFlags,
  interspersed: false,
  minArgs: 1,
  async run(ctx, args, flags, set) {
    return runOrCreate(ctx, args, flags, set, 'create');
  },
};
