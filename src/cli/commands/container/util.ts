/**
 * Helpers shared by the container commands: docker's error wording, "one operation per argument" commands,
 * confirmation prompts.
 */
import type { Readable } from 'node:stream';
import { DaemonUnreachableError, readAll } from '../../../client/index.js';
import { CliExit, type CliContext } from '../../command.js';

/** `Error response from daemon: <msg>` for API errors, the plain message for anything else. */
export function errorText(e: unknown): string {
  const err = e as Error & { status?: number; kind?: string };
  if (err instanceof DaemonUnreachableError) return err.message;
  if (err.status !== undefined) return `Error response from daemon: ${err.message}`;
  return err.message;
}

/** True for a 404 from the daemon. */
export function isNotFound(e: unknown): boolean {
  const err = e as { status?: number; kind?: string };
  return err.status === 404 || err.kind === 'NotFound';
}

/** Rethrows errors that must end the command at once (no daemon). */
export function fatal(e: unknown): void {
  if (e instanceof DaemonUnreachableError) throw e;
}

/**
 * docker's pattern for `stop a b c`: run `op` for every argument (in parallel, or one after the other with
 * `sequential`, as docker does for restart and wait), print each argument that succeeded (in argument order; not
 * with `print: false`, when `op` prints its own result), then fail with every error joined (exit 1).
 */
export async function forEachContainer(
  ctx: CliContext,
  names: string[],
  op: (name: string) => Promise<void>,
  opts: { print?: boolean; sequential?: boolean; ignore?: (e: unknown) => boolean } = {},
): Promise<void> {
  let results: PromiseSettledResult<void>[];
  if (opts.sequential) {
    results = [];
    for (const n of names) {
      results.push(await op(n).then(
        () => ({ status: 'fulfilled', value: undefined }) as const,
        (reason: unknown) => ({ status: 'rejected', reason }) as const,
      ));
    }
  } else results = await Promise.allSettled(names.map((n) => op(n)));
  const errs: string[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      if (opts.print !== false) ctx.stdout.write(names[i] + '\n');
      return;
    }
    fatal(r.reason);
    if (opts.ignore?.(r.reason)) {
      ctx.stderr.write(errorText(r.reason) + '\n');
      return;
    }
    errs.push(errorText(r.reason));
  });
  if (errs.length) throw new CliExit(1, errs.join('\n'));
}

/** Reads one line from stdin (for y/N prompts). */
export async function readLine(input: Readable): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (s: string) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.pause();
      resolve(s);
    };
    const onData = (c: Buffer) => {
      buf += c.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(buf.slice(0, nl));
    };
    const onEnd = () => done(buf);
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}

/** docker's PromptForConfirmation: prints the message and `Are you sure you want to continue? [y/N] `. */
export async function confirm(ctx: CliContext, message: string): Promise<boolean> {
  ctx.stdout.write(`${message}\nAre you sure you want to continue? [y/N] `);
  const answer = (await readLine(ctx.stdin)).trim();
  return answer.toLowerCase() === 'y';
}


/** Copies a response to stdout; a closed stdout (`| head`) ends the copy quietly. */
export async function pipeToStdout(ctx: CliContext, src: Readable): Promise<void> {
  const { pipeline } = await import('node:stream/promises');
  try {
    await pipeline(src, ctx.stdout, { end: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') {
      src.destroy();
      return;
    }
    throw e;
  }
}

/** Drains a response body (so keep-alive sockets are reused). */
export async function drain(res: Readable): Promise<void> {
  await readAll(res);
}
