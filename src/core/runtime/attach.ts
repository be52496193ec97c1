/**
 * Attaching clients to a task's processes: the options a client asks for, the session it gets, and Docker's detach
 * keys.
 *
 * Terms:
 * - attach client: a hijacked API connection (`docker attach`, `docker run` without -d, `docker exec`). It receives
 *   output raw (TTY) or in Docker's 8-byte multiplexed frames, and may send stdin.
 * - attach session: one attach client's connection to the process's output and input, with back-pressure both
 *   ways; it ends after the process's exit once the client was sent every byte, or when the client detaches or
 *   goes away (a client never holds the process up).
 * - detach keys: a byte sequence (default ctrl-p ctrl-q) on a client's stdin that ends that client's session
 *   without touching the process. Only looked for on a TTY, as in dockerd.
 */
import { invalidArgument } from '../../errdefs/index.js';

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Close the process's stdin when this client's stdin ends (docker run -i sets StdinOnce). */
  stdinOnce: boolean;
  detachKeys?: number[];
}

/** One attach client's session (see the terms above). */
export interface AttachSession {
  /** Resolves once output can flow to the client (or the session already ended). Never rejects. */
  readonly ready: Promise<void>;
  /**
   * Resolves when the session is over: 'exited' once the client was sent everything up to the process's exit (or
   * the process was gone already), 'detached' when the client detached or disconnected first.
   */
  readonly done: Promise<'exited' | 'detached'>;
}

/** ctrl-p ctrl-q. */
export const DEFAULT_DETACH_KEYS = [16, 17];

const CTRL_PUNCT: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/**
 * Docker's detach-keys syntax (term.ToBytes): "ctrl-p,ctrl-q", "a,ctrl-@", "ctrl-\\" → bytes; the one parser of the
 * daemon and the CLI. Keys are trimmed; `ignoreCase` (the CLI's) also takes "ctrl-P". A key it cannot read throws
 * `error(key)` — by default the daemon's InvalidArgument in dockerd's wording.
 */
export function parseDetachKeys(
  spec: string,
  opts: { ignoreCase?: boolean; error?: (key: string) => Error } = {},
): number[] {
  const error = opts.error ?? (() => invalidArgument(`Invalid detach keys (${spec}) provided`));
  const out: number[] = [];
  for (const raw of spec.split(',')) {
    const key = raw.trim();
    if (key.length === 1) {
      out.push(key.charCodeAt(0));
      continue;
    }
    const m = (opts.ignoreCase ? /^ctrl-(.)$/i : /^ctrl-(.)$/).exec(key);
    const c = opts.ignoreCase ? m?.[1]?.toLowerCase() : m?.[1];
    if (c !== undefined && c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
    else if (c !== undefined && c in CTRL_PUNCT) out.push(CTRL_PUNCT[c]!);
    else throw error(key);
  }
  return out;
}

/**
 * Finds the detach sequence in a client's stdin. Bytes of a partial match are held back until the match fails or
 * completes, so the process never sees a sequence that detached the client.
 */
export class DetachKeyScanner {
  private matched = 0;

  constructor(private readonly keys: number[]) {}

  /** Returns the bytes to pass on, and whether the sequence completed (bytes after it are discarded). */
  push(chunk: Buffer): { data: Buffer; detach: boolean } {
    const keys = this.keys;
    if (keys.length === 0) return { data: chunk, detach: false };
    const out: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === keys[this.matched]) {
        this.matched++;
        if (this.matched === keys.length) {
          const end = i + 1 - keys.length;
          if (end > start) out.push(chunk.subarray(start, end));
          this.matched = 0;
          return { data: Buffer.concat(out), detach: true };
        }
      } else if (this.matched) {
        // the held bytes were data after all: pass them on, then look at this byte afresh
        const heldInChunk = Math.min(this.matched, i - start);
        const heldBefore = this.matched - heldInChunk;
        if (heldBefore) out.push(Buffer.from(keys.slice(0, heldBefore)));
        out.push(chunk.subarray(start, i));
        start = i;
        this.matched = 0;
        i--;
      }
    }
    const end = Math.max(start, chunk.length - this.matched);
    if (end > start) out.push(chunk.subarray(start, end));
    return { data: out.length === 1 ? out[0]! : Buffer.concat(out), detach: false };
  }
}
