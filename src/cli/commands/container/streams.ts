/**
 * The client side of a hijacked attach/exec stream (docker's hijackedIOStreamer): the local terminal in raw mode
 * for `-it`, stdin copied to the connection (EOF half-closes it), output demultiplexed to stdout/stderr (or copied
 * raw with a TTY), client-side detach-key detection, TTY size monitoring and signal forwarding.
 */
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { FrameParser } from '../../../api/stdcopy.js';
import type { Client } from '../../../client/index.js';
import type { CliContext } from '../../command.js';
import { parseDetachKeys } from './opts.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

export interface StreamOptions {
  tty: boolean;
  /** Copy local stdin to the connection. */
  stdin: boolean;
  /** Whether any output stream is attached (stdout or stderr). */
  output: boolean;
  /** Detach key sequence (docker syntax); matched client-side when stdin is a terminal in TTY mode. */
  detachKeys?: string;
}

export interface StreamResult {
  /** The user typed the detach sequence. */
  detached: boolean;
}

/**
 * Detach-key detection on the local terminal's input (docker's escapeProxy). The sequence is found anywhere in a
 * read, not only in one-key reads, so keys that arrive together (pasted, or a fast pty) still detach; bytes of a
 * partial match are held back and replayed when the match fails.
 */
export class EscapeProxy {
  private pos = 0;
  constructor(private readonly keys: Buffer) {}

  /** Returns the bytes to forward, and whether the whole sequence was typed (input after it is dropped). */
  feed(chunk: Buffer): { out: Buffer; escape: boolean } {
    if (this.keys.length === 0) return { out: chunk, escape: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.pos]) {
        this.pos++;
        if (this.pos === this.keys.length) {
          this.pos = 0;
          return { out: Buffer.from(out), escape: true };
        }
        continue;
      }
      if (this.pos > 0) {
        out.push(...this.keys.subarray(0, this.pos));
        this.pos = 0;
        if (b === this.keys[0]) {
          this.pos = 1;
          continue;
        }
      }
      out.push(b);
    }
    return { out: Buffer.from(out), escape: false };
  }
}

/** node:child_process costs ~5 ms at start-up and only a TTY session needs it (stty); loaded synchronously then. */
const loadBuiltin = <T>(name: string): T => createRequire(import.meta.url)(name) as T;

/**
 * Pumps a hijacked connection until the output ends (or, with no output attached, until stdin ends), or the user
 * detaches. `abort` ends it early (container exited): the terminal is restored and stdin released either way.
 */
export function pumpStreams(ctx: CliContext, socket: Duplex, opts: StreamOptions, abort?: AbortSignal): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const stdin = ctx.stdin;
    const rawMode = opts.stdin && opts.tty && stdin.isTTY === true;
    let finished = false;
    let inputDone = false;
    const cleanups: (() => void)[] = [];

    const finish = (err?: Error, detached = false) => {
      if (finished) return;
      finished = true;
      for (const c of cleanups.reverse()) {
        try {
          c();
        } catch {
          /* best effort */
        }
      }
      if (err) reject(err);
      else resolve({ detached });
    };

    if (rawMode) {
      stdin.setRawMode(true);
      // libuv's raw mode keeps output post-processing (\n → \r\n), which doubles the container's own CRs;
      // docker's MakeRaw clears it. setRawMode(false) restores the saved settings, OPOST included.
      loadBuiltin<typeof import('node:child_process')>('node:child_process').spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
      cleanups.push(() => stdin.setRawMode(false));
    }

    // Input.
    if (opts.stdin) {
      const proxy = rawMode ? new EscapeProxy(parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS)) : undefined;
      const onData = (chunk: Buffer) => {
        const r = proxy ? proxy.feed(chunk) : { out: chunk, escape: false };
        if (r.out.length && !socket.destroyed && socket.writable) socket.write(r.out);
        if (r.escape) {
          socket.destroy();
          finish(undefined, true);
        }
      };
      const onEnd = () => {
        inputDone = true;
        if (!socket.destroyed && socket.writable) socket.end();
        if (!opts.output) finish();
      };
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      stdin.on('error', onEnd);
      stdin.resume();
      cleanups.push(() => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.off('error', onEnd);
        stdin.pause();
        // A paused terminal can still hold the event loop; the command is over with its input.
        (stdin as unknown as { unref?: () => void }).unref?.();
        if (!stdin.isTTY) stdin.destroy();
      });
    }

    // Output.
    const onClose = () => finish();
    if (opts.tty) {
      socket.on('data', (chunk: Buffer) => {
        if (!ctx.stdout.write(chunk)) {
          socket.pause();
          ctx.stdout.once('drain', () => socket.resume());
        }
      });
    } else {
      const parser = new FrameParser();
      socket.on('data', (chunk: Buffer) => {
        let frames;
        try {
          frames = parser.push(chunk);
        } catch (e) {
          socket.destroy();
          finish(e as Error);
          return;
        }
        for (const f of frames) {
          const out = f.stream === 1 ? ctx.stdout : ctx.stderr;
          if (!out.write(f.data)) {
            socket.pause();
            out.once('drain', () => socket.resume());
          }
        }
      });
    }
    socket.on('end', onClose);
    socket.on('close', onClose);
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // A reset after we half-closed (or after the container exited) is an ordinary end.
      if (inputDone || e.code === 'ECONNRESET' || e.code === 'EPIPE') finish();
      else finish(e);
    });
    if (!opts.output && !opts.stdin) {
      // Nothing to pump but the connection itself.
    }

    if (abort) {
      const onAbort = () => {
        socket.destroy();
        finish();
      };
      if (abort.aborted) onAbort();
      else {
        abort.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => abort.removeEventListener('abort', onAbort));
      }
    }
  });
}

/**
 * Sends the local terminal size through `resize` (a container's or an exec's) now and on every SIGWINCH (docker's
 * MonitorTtySize). Returns a function that stops monitoring. No-op unless stdout is a terminal.
 */
export function monitorTtySize(ctx: CliContext, resize: (height: number, width: number) => Promise<void>): () => void {
  if (!ctx.stdout.isTTY) return () => {};
  const send = () => {
    const h = ctx.stdout.rows;
    const w = ctx.stdout.columns;
    if (!h || !w) return;
    resize(h, w).catch(() => {});
  };
  send();
  process.on('SIGWINCH', send);
  return () => process.off('SIGWINCH', send);
}

/** The local terminal size for ConsoleSize fields, [0, 0] when stdout is not a terminal. */
export function consoleSize(ctx: CliContext): [number, number] {
  if (!ctx.stdout.isTTY) return [0, 0];
  return [ctx.stdout.rows ?? 0, ctx.stdout.columns ?? 0];
}

// Not SIGPROF, which docker forwards too: V8's CPU profiler (`node --cpu-prof`) ticks with it, and once the handler
// is removed each tick would kill the CLI (the signal's default action).
const PROXIED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2', 'SIGALRM', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGVTALRM', 'SIGXCPU', 'SIGXFSZ', 'SIGPWR'];

/** docker's ForwardAllSignals: every catchable signal the CLI gets is sent to the container with `POST /kill`. */
export function forwardSignals(client: Client, id: string): () => void {
  const handlers: [NodeJS.Signals, () => void][] = [];
  for (const sig of PROXIED_SIGNALS) {
    const h = () => {
      client.containers.kill(id, sig.slice(3)).catch(() => {});
    };
    try {
      process.on(sig, h);
      handlers.push([sig, h]);
    } catch {
      /* not catchable on this platform */
    }
  }
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}
