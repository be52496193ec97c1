/**
 * ContainerIO: berthd's side of one task process's stdio (the init or an exec) while it runs, over its monitor.
 *
 * Terms:
 * - control connection: berthd's one connection to the process's monitor that carries no output. The start and
 *   resize frames leave on it; the started and exit frames arrive on it. Because no output queues on it, the exit
 *   frame arrives as soon as the process is gone and its output is in the log, whoever is attached.
 * - attach client: a hijacked API connection (`docker attach`, `docker run` without -d, `docker exec`). It receives
 *   output raw (TTY) or in Docker's 8-byte multiplexed frames, and may send stdin.
 * - attach session: one attach client together with its own monitor connection, subscribed to the streams the
 *   client asked for. Bytes flow with back-pressure both ways: when the client's socket is full the session stops
 *   reading from the monitor (which then stops reading the container's output); when the monitor's stdin is full
 *   the session stops reading the client. A session ends after its own exit frame, i.e. after the client was sent
 *   every byte; a client that goes away closes its monitor connection, so it never holds the container up.
 *   Sessions can open before the process starts (docker run attaches first): `ready` resolves once the monitor
 *   has the subscription, and the start frame is only sent after that, so they see every byte.
 * - detach keys: a byte sequence (default ctrl-p ctrl-q) on a client's stdin that ends that client's session
 *   without touching the process.
 */
import type { Duplex } from 'node:stream';
import { frame } from '../../../api/stdcopy.js';
import { DEFAULT_DETACH_KEYS, DetachKeyScanner, type AttachOptions, type AttachSession } from '../../../core/runtime/attach.js';
import { MonitorConnection } from './monitor.js';
import { hostKernel } from '../../../sys/kernel.js';

/** Whether a client that sent end-of-file has closed its socket entirely (unix sockets tell; TCP does not). */
function clientGone(client: Duplex): boolean {
  const fd = (client as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return false;
  try {
    return hostKernel.peerClosed(fd);
  } catch {
    return false;
  }
}

export class ContainerIO {
  private control: MonitorConnection | undefined;
  private socketPath = '';
  private readonly sessions = new Set<{ close(): void }>();
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
    this.ended = new Promise((r) => (this.resolveEnded = r));
  }

  /** Opens the control connection to the monitor's attach socket. */
  async connect(socketPath: string): Promise<MonitorConnection> {
    this.socketPath = socketPath;
    const conn = await MonitorConnection.connect(socketPath, { subscribe: { stdout: false, stderr: false } });
    this.control = conn;
    conn.on('exit', (code: number) => this.finish(code));
    conn.on('close', () => {
      if (!this.exited && !this.closing) this.resolveEnded(undefined);
    });
    return conn;
  }

  get connection(): MonitorConnection | undefined {
    return this.control;
  }

  private finish(code: number): void {
    if (this.exited) return;
    this.exited = true;
    this.resolveEnded(code);
    this.control?.close();
  }

  /**
   * Attaches a hijacked client socket on a session of its own. The caller may await `ready` before starting the
   * process so the client sees every byte.
   */
  attach(client: Duplex, opts: AttachOptions): AttachSession {
    let resolveDone!: (how: 'exited' | 'detached') => void;
    const done = new Promise<'exited' | 'detached'>((r) => (resolveDone = r));
    let conn: MonitorConnection | undefined;
    let ended = false;
    /** An exec that could not start: its caller writes the error to the client and ends it. */
    let startFailed = false;
    const session = {
      close: () => {
        // berthd is shutting down: leave the client's stream open-ended, as a crash would
        conn?.close();
      },
    };
    const end = (detached: boolean) => {
      if (ended) return;
      ended = true;
      this.sessions.delete(session);
      conn?.close();
      if (!client.destroyed && !startFailed) client.end();
      resolveDone(detached ? 'detached' : 'exited');
    };
    client.on('close', () => end(!this.exited));
    client.on('error', () => end(!this.exited));
    // End-of-file from the client is a half-close (it still reads: `docker run -i` when its stdin ends) unless the
    // peer closed entirely; then nobody reads, and a quiet process would never show it by a failed write.
    client.on('end', () => {
      if (clientGone(client)) setImmediate(() => end(!this.exited)); // after the stdin handler's close-stdin
    });
    if (!opts.stdin) client.resume(); // discard anything the client sends

    const ready = (async () => {
      if (this.exited || !this.socketPath) return end(false);
      try {
        conn = await MonitorConnection.connect(this.socketPath, { subscribe: { stdout: opts.stdout, stderr: opts.stderr } });
      } catch {
        return end(false); // the monitor is gone: the process has exited
      }
      if (ended) return conn.close(); // the client left while we connected
      this.sessions.add(session);
      conn.on('startError', () => (startFailed = true));
      this.pipeOutput(conn, client);
      if (opts.stdin) this.pipeStdin(client, conn, opts, () => end(true));
      // The exit frame follows the last output frame, so by now the client has been handed everything.
      conn.on('exit', () => end(false));
      conn.on('close', () => end(false));
    })();
    return { ready, done };
  }

  /** Monitor → client, pausing the monitor connection while the client's socket is full. */
  private pipeOutput(conn: MonitorConnection, client: Duplex): void {
    let waiting = false;
    const resume = () => {
      waiting = false;
      conn.resume();
    };
    const write = (stream: 1 | 2, data: Buffer) => {
      if (!client.writable) return;
      if (!client.write(this.tty ? data : frame(stream, data)) && !waiting) {
        waiting = true;
        conn.pause();
        client.once('drain', resume);
      }
    };
    conn.on('stdout', (b: Buffer) => write(1, b));
    conn.on('stderr', (b: Buffer) => write(2, b));
    conn.on('close', () => client.off('drain', resume));
  }

  /** Client → monitor (stdin), pausing the client while the monitor connection's buffer is full. */
  private pipeStdin(client: Duplex, conn: MonitorConnection, opts: AttachOptions, detach: () => void): void {
    // As in dockerd, detach keys are only looked for on a TTY; non-TTY stdin is passed through byte for byte.
    const scanner = new DetachKeyScanner(this.tty ? opts.detachKeys ?? DEFAULT_DETACH_KEYS : []);
    let stdinClosed = false;
    client.on('data', (chunk: Buffer) => {
      if (stdinClosed) return;
      const { data, detach: detached } = scanner.push(chunk);
      const ok = data.length === 0 || conn.writeStdin(data);
      if (detached) return detach();
      if (!ok) {
        client.pause();
        void conn.waitDrain().then(() => client.resume());
      }
    });
    client.on('end', () => {
      // As in dockerd, StdinOnce never closes a TTY's input: the docker CLI drops the connection when it sees
      // the detach keys itself (its escape proxy), and that must leave the process running.
      if (opts.stdinOnce && !this.tty && !this.exited) {
        stdinClosed = true;
        conn.closeStdin();
      }
    });
  }

  resize(rows: number, cols: number): void {
    this.control?.resize(rows, cols);
  }

  /** Closes every monitor connection (berthd shutting down); the process and its monitor go on. */
  close(): void {
    this.closing = true;
    for (const s of this.sessions) s.close();
    this.control?.close();
  }
}
