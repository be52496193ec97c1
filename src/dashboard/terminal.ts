/**
 * The dashboard's terminal: a WebSocket bridged to an exec session with a TTY. Binary frames carry terminal bytes in
 * both directions; text frames from the browser are JSON control messages (`{"type":"resize","rows":R,"cols":C}`).
 * The exec goes through the daemon's ExecService (same checks and errors as `docker exec -it`), seen here only as the
 * narrow TerminalBackend.
 */
import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** What the terminal needs from the daemon: docker exec's create/start/resize, nothing more. */
export interface TerminalBackend {
  /** Creates an exec with a TTY and stdin in a running container; throws the API's errors (404, 409 not running). */
  createExec(container: string, opts: { cmd: string[]; rows: number; cols: number; env: string[] }): { Id: string };
  /** Runs the exec attached to `stream` until it ends. */
  startExec(id: string, stream: Duplex): Promise<void>;
  resizeExec(id: string, rows: number, cols: number): void;
}

/** The shell a terminal starts: bash where the image has it, else sh. */
export const TERMINAL_COMMAND = ['/bin/sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi'];

function clampSize(n: unknown, fallback: number): number {
  const v = Math.floor(Number(n));
  return Number.isFinite(v) && v > 0 && v < 1000 ? v : fallback;
}

/** A Duplex over a WebSocket's binary frames, so the exec sees an ordinary hijacked connection. */
function webSocketDuplex(ws: WebSocket, onControl: (msg: Record<string, unknown>) => void): Duplex {
  const stream = new Duplex({
    read() {
      ws.resume?.();
    },
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) return cb();
      ws.send(chunk, { binary: true }, (err) => cb(err ?? undefined));
    },
    final(cb) {
      ws.close(1000, 'exited');
      cb();
    },
    destroy(err, cb) {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
      cb(err);
    },
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) {
      if (!stream.push(data)) ws.pause?.();
      return;
    }
    try {
      onControl(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
    } catch {
      /* not a control message: ignore */
    }
  });
  ws.on('close', () => {
    stream.push(null);
    stream.destroy();
  });
  ws.on('error', () => stream.destroy());
  return stream;
}

/** Serves one terminal session on an accepted WebSocket. */
export async function serveTerminal(ws: WebSocket, backend: TerminalBackend, container: string, size: { rows: unknown; cols: unknown }): Promise<void> {
  const rows = clampSize(size.rows, 24);
  const cols = clampSize(size.cols, 80);
  let execId: string;
  try {
    execId = backend.createExec(container, { cmd: TERMINAL_COMMAND, rows, cols, env: ['TERM=xterm-256color'] }).Id;
  } catch (e) {
    ws.send(Buffer.from(`\r\n${(e as Error).message}\r\n`), { binary: true });
    ws.close(1011, 'exec failed');
    return;
  }
  const stream = webSocketDuplex(ws, (msg) => {
    if (msg.type === 'resize') {
      try {
        backend.resizeExec(execId, clampSize(msg.rows, rows), clampSize(msg.cols, cols));
      } catch {
        /* the exec has ended */
      }
    }
  });
  try {
    await backend.startExec(execId, stream);
  } catch (e) {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.from(`\r\n${(e as Error).message}\r\n`), { binary: true });
  } finally {
    if (ws.readyState === ws.OPEN) ws.close(1000, 'exited');
  }
}
