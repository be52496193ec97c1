/**
 * ContainerIO: the daemon's side of one container's (or exec's) stdio while it runs.
 *
 * Terms:
 * - monitor connection: one connection from berthd to the process's monitor attach socket. Output frames arrive on
 *   it, stdin/resize/start frames leave on it, and the exit frame tells berthd the process ended (no polling).
 * - attach client: a hijacked API connection (`docker attach`, `docker run` without -d, `docker exec`). It receives
 *   output raw (TTY) or in Docker's 8-byte multiplexed frames, and may send stdin. Clients can register before the
 *   process starts (docker run attaches first), so they see every byte.
 * - detach keys: a byte sequence (default ctrl-p ctrl-q) on a client's stdin that ends that client's attachment
 *   without touching the process.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { frame } from '../../../api/stdcopy.js';
import { invalidArgument } from '../../../errdefs/index.js';
import { MonitorConnection } from '../../../plugins/runtime/runc/monitor.js';

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Close the process's stdin when this client's stdin ends (docker run -i sets StdinOnce). */
  stdinOnce: boolean;
  detachKeys?: number[];
}

interface AttachClient {
  socket: Duplex;
  opts: AttachOptions;
  done: () => void;
}

/** ctrl-p ctrl-q. */
export const DEFAULT_DETACH_KEYS = [16, 17];

/** Parses Docker's detach-keys syntax: "ctrl-p,ctrl-q", "a,ctrl-@", "ctrl-\\". */
export function parseDetachKeys(spec: string): number[] {
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    if (k.length === 1) out.push(k.charCodeAt(0));
    else if (/^ctrl-[a-z@[\\\]^_]$/.test(k)) {
      const c = k[5];
      out.push(c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 96 : { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 }[c]!);
    } else throw invalidArgument(`Invalid detach keys (${spec}) provided`);
  }
  return out;
}

export class ContainerIO extends EventEmitter {
  private conn: MonitorConnection | undefined;
  private readonly clients = new Set<AttachClient>();
  private exited = false;
  /** True once berthd closed the connection itself (shutdown): that is not the process ending. */
  private closing = false;
  private resolveEnded!: (status: number | undefined) => void;
  /**
   * Resolves with the exit status once the process ended, or with undefined when the monitor connection was lost
   * without an exit frame. A promise (not only an event) because the exit frame can arrive in the same read as the
   * `started` frame, before anyone had a chance to subscribe.
   */
  readonly ended: Promise<number | undefined>;

  constructor(readonly tty: boolean) {
    super();
    this.ended = new Promise((r) => (this.resolveEnded = r));
  }

  /** Connects to the monitor's attach socket; output then flows to every attached client. */
  async connect(socketPath: string): Promise<MonitorConnection> {
    const conn = await MonitorConnection.connect(socketPath);
    this.conn = conn;
    conn.on('stdout', (b: Buffer) => this.broadcast(1, b));
    conn.on('stderr', (b: Buffer) => this.broadcast(2, b));
    conn.on('exit', (code: number) => this.finish(code));
    conn.on('close', () => {
      if (!this.exited && !this.closing) this.resolveEnded(undefined);
    });
    return conn;
  }

  get connection(): MonitorConnection | undefined {
    return this.conn;
  }

  private broadcast(stream: 1 | 2, data: Buffer): void {
    for (const c of this.clients) {
      if (stream === 1 ? !c.opts.stdout : !c.opts.stderr) continue;
      if (!c.socket.writable) continue;
      c.socket.write(this.tty ? data : frame(stream, data));
    }
  }

  private finish(code: number): void {
    if (this.exited) return;
    this.exited = true;
    for (const c of [...this.clients]) this.detachClient(c, true);
    this.resolveEnded(code);
    this.emit('exit', code);
    this.conn?.close();
  }

  /**
   * Attaches a hijacked client socket. Resolves when the client detaches, disconnects, or the process exits.
   */
  attach(socket: Duplex, opts: AttachOptions): Promise<void> {
    return new Promise((resolve) => {
      const client: AttachClient = { socket, opts, done: resolve };
      this.clients.add(client);
      if (this.exited) return this.detachClient(client, true);
      // As in dockerd, detach keys are only looked for on a TTY; non-TTY stdin is passed through byte for byte.
      const keys = this.tty ? opts.detachKeys ?? DEFAULT_DETACH_KEYS : [];
      let matched = 0;
      if (opts.stdin) {
        socket.on('data', (chunk: Buffer) => {
          if (!this.conn) return;
          // Scan for the detach sequence; bytes of a partial match are held back until the match fails.
          let start = 0;
          for (let i = 0; i < chunk.length; i++) {
            if (keys.length && chunk[i] === keys[matched]) {
              matched++;
              if (matched === keys.length) {
                if (i + 1 - matched > start) this.conn.writeStdin(chunk.subarray(start, i + 1 - matched));
                this.detachClient(client, false);
                return;
              }
            } else if (matched) {
              const held = Buffer.from(keys.slice(0, matched));
              matched = 0;
              this.conn.writeStdin(Buffer.concat([chunk.subarray(start, i), held]));
              start = i;
              i--;
            }
          }
          const end = chunk.length - matched;
          if (end > start) this.conn.writeStdin(chunk.subarray(start, end));
        });
        socket.on('end', () => {
          // As in dockerd, StdinOnce never closes a TTY's input: the docker CLI drops the connection when it sees
          // the detach keys itself (its escape proxy), and that must leave the process running.
          if (opts.stdinOnce && !this.tty && !this.exited) this.conn?.closeStdin();
        });
      } else {
        socket.resume();
      }
      socket.on('close', () => this.detachClient(client, false));
      socket.on('error', () => this.detachClient(client, false));
    });
  }

  private detachClient(c: AttachClient, processExited: boolean): void {
    if (!this.clients.delete(c)) {
      if (processExited) c.socket.end();
      c.done();
      return;
    }
    c.socket.end();
    c.done();
    if (!processExited) this.emit('detach');
  }

  get attachedCount(): number {
    return this.clients.size;
  }

  resize(rows: number, cols: number): void {
    this.conn?.resize(rows, cols);
  }

  close(): void {
    this.closing = true;
    this.conn?.close();
  }
}
