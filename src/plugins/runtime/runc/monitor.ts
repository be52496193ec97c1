/**
 * berthd's side of `berth-monitor`: spawning one (detached, so it outlives berthd), talking to its attach socket,
 * and reading the exit file it leaves behind. The protocol is described in monitor-protocol.ts.
 *
 * Lifecycle of a container:
 *   startMonitor({mode:'create'}) → runc create has run; {pid} is the container's init, waiting for start
 *   startMonitor({mode:'run'}) → `runc run --detach` has run: the init runs, its output is held (logged, not sent)
 *   MonitorConnection.connect(socket) → conn.start() → 'started' → 'stdout'/'stderr' … → 'exit' (status)
 *     (run mode: the start frame releases the held output to the connections made by then)
 *   conn.signal(n) while it runs (monitors whose report names the `signal` feature only)
 *   readExitFile(exitFile) → exit code, signal, finishedAt, oomKilled (also after a berthd restart)
 *   runc delete is berthd's job (runc.ts), the monitor never deletes.
 * exec: startMonitor({mode:'exec'}) → connect → start() runs `runc exec -d` → same events.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { isAbsolute } from 'node:path';
import type { TaskLog } from '../../../core/runtime/runtime.js';
import { nativeArtifact } from '../../../pkg/native/artifact.js';
import { drained } from '../../../pkg/stream/drained.js';
import {
  ClientFrame,
  decodeNumber,
  encodeFrame,
  encodeResize,
  encodeSignal,
  encodeStdin,
  encodeSubscribe,
  FrameDecoder,
  MonitorFrame,
  NOT_RUNNING,
  parseReport,
  type ExitFile,
  type MonitorFeature,
  type Subscription,
} from './monitor-protocol.js';

export type { ExitFile, MonitorFeature, Subscription } from './monitor-protocol.js';

export interface StartMonitorOptions {
  /** Container id (runc's id). */
  id: string;
  /** create: `runc create`, start() runs `runc start`; run: `runc run --detach`, start() releases the output. */
  mode: 'create' | 'run' | 'exec';
  /** OCI bundle directory (create and run mode). */
  bundle?: string;
  /** process.json for `runc exec --process` (exec mode). */
  processFile?: string;
  tty?: boolean;
  /** Keep stdin open (docker -i); otherwise the process reads /dev/null. */
  stdin?: boolean;
  /** The log driver the monitor runs (create mode); absent: nothing is logged. */
  log?: TaskLog;
  /** Embedded DNS (create mode): the container's netns bind mount and its resolver config (native/monitor/dns.h). */
  dns?: { netnsPath: string; configPath: string };
  exitFile: string;
  /** Attach socket path; must fit a sockaddr_un (< 108 bytes), and so must `<socket>.tty`. */
  socketPath: string;
  /** Where runc writes the container (or exec process) pid. */
  pidFile: string;
  runcRoot: string;
  /** Default /usr/sbin/runc. */
  runcPath?: string;
  /** Default: native/build/berth-monitor of this checkout, or $BERTH_MONITOR. */
  monitorPath?: string;
}

export interface StartMonitorResult {
  /** Container init pid (create mode); 0 in exec mode, where the pid comes with the started event. */
  pid: number;
  monitorPid: number;
  /** What the monitor understands beyond the first protocol (its startup report). */
  features: MonitorFeature[];
}

/**
 * A signal the monitor did not deliver. `notRunning`: the process was already reaped. `unanswered`: the
 * connection was closed before an answer came (whether the signal was delivered is not known).
 */
export class MonitorSignalError extends Error {
  constructor(
    message: string,
    readonly unanswered = false,
  ) {
    super(message);
    this.name = 'MonitorSignalError';
  }

  get notRunning(): boolean {
    return this.message === NOT_RUNNING;
  }
}

/** The monitor (i.e. runc) refused to create the container; `message` is runc's own text. */
export class MonitorStartError extends Error {
  constructor(
    message: string,
    readonly monitorExitCode: number | null = null,
  ) {
    super(message);
    this.name = 'MonitorStartError';
  }
}

/** native/build/berth-monitor of this checkout, or $BERTH_MONITOR. */
export function defaultMonitorPath(): string {
  if (process.env.BERTH_MONITOR) return process.env.BERTH_MONITOR;
  const file = nativeArtifact('berth-monitor');
  if (!existsSync(file)) throw new Error('berth-monitor not found: run `node scripts/build-native.mjs` or set BERTH_MONITOR');
  return file;
}

/** The monitor's log options for a TaskLog (native/monitor/monitor.c COMMAND LINE). */
export function logArgs(log: TaskLog): string[] {
  const args = ['--log-driver', log.driver];
  const rot = (r: TaskLog['rotation'], prefix: string) => {
    if (!r || r.maxSize <= 0) return;
    args.push(`--${prefix}-max-size`, String(r.maxSize), `--${prefix}-max-file`, String(r.maxFile));
    if (r.compress) args.push(`--${prefix}-compress`);
  };
  if (log.driver === 'syslog') {
    const s = log.syslog!;
    args.push('--syslog-address', s.address, '--syslog-facility', String(s.facility), '--syslog-format', s.format, '--log-tag', s.tag);
    if (log.path) {
      args.push('--log-cache', log.path);
      rot(log.rotation, 'log-cache');
    }
  } else if (log.path) {
    args.push('--log', log.path);
    rot(log.rotation, 'log');
    if (log.attrs) args.push('--log-attrs', log.attrs);
  }
  if (log.mode === 'non-blocking') args.push('--log-mode', 'non-blocking', '--log-max-buffer', String(log.maxBuffer ?? 1 << 20));
  return args;
}

export function monitorArgs(opts: StartMonitorOptions): string[] {
  for (const [k, v] of Object.entries({
    bundle: opts.bundle,
    processFile: opts.processFile,
    logFile: opts.log?.path,
    exitFile: opts.exitFile,
    socketPath: opts.socketPath,
    pidFile: opts.pidFile,
    runcRoot: opts.runcRoot,
  })) {
    // the monitor is long-lived and must not depend on berthd's cwd
    if (v !== undefined && !isAbsolute(v)) throw new TypeError(`${k} must be an absolute path: ${v}`);
  }
  const args = ['--id', opts.id, '--mode', opts.mode, '--runc', opts.runcPath ?? '/usr/sbin/runc'];
  args.push('--runc-root', opts.runcRoot);
  if (opts.mode !== 'exec') {
    if (!opts.bundle) throw new TypeError(`${opts.mode} mode needs bundle`);
    args.push('--bundle', opts.bundle);
    if (opts.log) args.push(...logArgs(opts.log));
    if (opts.dns) args.push('--dns-netns', opts.dns.netnsPath, '--dns-config', opts.dns.configPath);
  } else {
    if (!opts.processFile) throw new TypeError('exec mode needs processFile');
    args.push('--process', opts.processFile);
  }
  if (opts.tty) args.push('--tty');
  if (opts.stdin) args.push('--stdin');
  args.push('--exit-file', opts.exitFile, '--socket', opts.socketPath, '--pid-file', opts.pidFile);
  return args;
}

/**
 * Spawns a monitor in its own session and waits for its one-line report. In create mode `runc create` has run when
 * this resolves; the attach socket is listening in both modes. Rejects with MonitorStartError carrying runc's
 * message (e.g. `… exec: "/nonexistent": stat /nonexistent: no such file or directory`).
 */
export function startMonitor(opts: StartMonitorOptions): Promise<StartMonitorResult> {
  const args = monitorArgs(opts);
  return new Promise((resolve, reject) => {
    const child = spawn(opts.monitorPath ?? defaultMonitorPath(), args, {
      detached: true, // own session: berthd's death (or its terminal's) must not reach the monitor
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref(); // never keep berthd's event loop alive for a monitor
      fn();
    };
    const onLine = (line: string) => {
      let report;
      try {
        report = parseReport(line);
      } catch (e) {
        return finish(() => reject(new MonitorStartError(`berth-monitor: ${(e as Error).message}`)));
      }
      if (report.error !== undefined) {
        // The monitor exits right after it cleaned up (socket, pid file): reject only then, so callers never see
        // its leftovers.
        const e = new MonitorStartError(report.error);
        if (child.exitCode !== null || child.signalCode !== null) return finish(() => reject(e));
        settled = true; // keep the child referenced until it exits (it is about to)
        child.once('exit', () => {
          settled = false;
          finish(() => reject(e));
        });
        return;
      }
      finish(() => resolve({ pid: report.pid ?? 0, monitorPid: report.monitorPid ?? child.pid ?? 0, features: report.features ?? [] }));
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) onLine(out.slice(0, nl));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (err.length < 8192) err += d;
    });
    child.on('error', (e) => finish(() => reject(new MonitorStartError(`berth-monitor: ${e.message}`))));
    child.on('exit', (code, signal) => {
      // the report line may still be in the pipe: give 'data' its turn first
      setImmediate(() => {
        if (settled) return;
        if (out.trim()) return onLine(out.trim());
        const why = err.trim() || `exited with ${signal ?? `code ${code}`} before reporting`;
        finish(() => reject(new MonitorStartError(`berth-monitor: ${why}`, code)));
      });
    });
  });
}

/** Reads the exit file; undefined when it does not exist (yet). */
export async function readExitFile(path: string): Promise<ExitFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const v = JSON.parse(text) as Partial<ExitFile>;
  if (typeof v.exitCode !== 'number' || typeof v.finishedAt !== 'string') {
    throw new Error(`malformed exit file ${path}: ${text.slice(0, 200)}`);
  }
  return { ...v, oomKilled: v.oomKilled === true } as ExitFile;
}

/** Reads `<socket>.pid`; undefined when the monitor is gone (or never wrote it). */
export async function readMonitorPid(socketPath: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt(await readFile(`${socketPath}.pid`, 'utf8'), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export interface ConnectOptions {
  /**
   * When the socket is gone (the monitor finished), fall back to this exit file: the connection then emits
   * 'exit' with its status and closes, as if it had connected just before the monitor left.
   */
  exitFile?: string;
  signal?: AbortSignal;
  /**
   * The output this connection receives (default: both streams). `{stdout:false, stderr:false}` makes a control
   * connection: started/exit frames only, never held up behind output.
   */
  subscribe?: Subscription;
}

export interface MonitorConnectionEvents {
  stdout: [data: Buffer];
  stderr: [data: Buffer];
  started: [pid: number];
  startError: [error: Error];
  exit: [status: number];
  close: [];
  error: [error: Error];
}

/**
 * One attach-socket connection. Events: 'stdout'/'stderr' (Buffer), 'started' (pid), 'startError' (Error),
 * 'exit' (status), 'close', 'error'. `exited` resolves with the status (or undefined if the connection closed
 * without an exit frame, e.g. when the monitor dropped it for being slow).
 */
export class MonitorConnection extends EventEmitter<MonitorConnectionEvents> {
  private readonly decoder = new FrameDecoder();
  private closed = false;
  private exitStatus: number | undefined;
  /** Signal frames sent and not answered yet, oldest first (the monitor answers in order). */
  private readonly pendingSignals: { resolve(): void; reject(e: Error): void }[] = [];
  private resolveExited!: (status: number | undefined) => void;
  /** Resolves with the exit status once the exit frame arrived; undefined when closed without one. */
  readonly exited: Promise<number | undefined>;

  private constructor(private readonly socket: Socket | undefined) {
    super();
    this.exited = new Promise((r) => (this.resolveExited = r));
    if (!socket) return;
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = this.decoder.push(chunk);
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      for (const f of frames) this.dispatch(f.type, f.payload);
    });
    socket.on('error', (e) => this.fail(e));
    // The monitor only ever closes a connection completely (after the exit frame, or when it goes away).
    socket.on('end', () => socket.end());
    socket.on('close', () => this.onClose());
  }

  static connect(socketPath: string, opts: ConnectOptions = {}): Promise<MonitorConnection> {
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      const socket = netConnect({ path: socketPath, allowHalfOpen: true });
      const onAbort = () => {
        socket.destroy();
        reject(opts.signal!.reason);
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        opts.signal?.removeEventListener('abort', onAbort);
        socket.removeListener('error', onError);
        // Written before anything else, so the monitor reads it when it accepts us (see the protocol).
        if (opts.subscribe) socket.write(encodeSubscribe(opts.subscribe));
        resolve(new MonitorConnection(socket));
      });
      const onError = (e: NodeJS.ErrnoException) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (opts.exitFile && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')) {
          readExitFile(opts.exitFile).then((ef) => {
            if (!ef) return reject(e);
            const conn = new MonitorConnection(undefined);
            // emit after the caller had its chance to subscribe
            setImmediate(() => {
              conn.dispatch(MonitorFrame.Exit, Buffer.from(String(ef.exitCode)));
              conn.onClose();
            });
            resolve(conn);
          }, reject);
          return;
        }
        reject(e);
      };
      socket.once('error', onError);
    });
  }

  /** The exit status if the exit frame has arrived. */
  get status(): number | undefined {
    return this.exitStatus;
  }

  /** Sends stdin data; returns false when the socket's buffer is full (wait for 'drain' via waitDrain()). */
  writeStdin(data: Uint8Array): boolean {
    let ok = true;
    for (const f of encodeStdin(data)) ok = this.send(f) && ok;
    return ok;
  }

  closeStdin(): void {
    this.send(encodeFrame(ClientFrame.CloseStdin));
  }

  resize(rows: number, cols: number): void {
    this.send(encodeResize(rows, cols));
  }

  /**
   * Asks the monitor to start the container (create mode: runc start) or the exec (runc exec -d). Resolves with
   * the pid; rejects with runc's message on a start error or when the connection closes first.
   */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        this.off('started', onStarted);
        this.off('startError', onError);
        this.off('close', onClose);
      };
      const onStarted = (pid: number) => (cleanup(), resolve(pid));
      const onError = (e: Error) => (cleanup(), reject(e));
      const onClose = () => (cleanup(), reject(new Error('monitor connection closed before the start finished')));
      this.on('started', onStarted);
      this.on('startError', onError);
      this.on('close', onClose);
      this.send(encodeFrame(ClientFrame.Start));
    });
  }

  /**
   * Has the monitor kill(2) the process with `signal` (a number). Resolves once delivered; rejects with a
   * MonitorSignalError: `notRunning` once the process was reaped, `unanswered` when the connection was
   * closed before the answer. Only for
   * monitors that reported the `signal` feature: an older one never answers.
   */
  signal(signal: number): Promise<void> {
    const frame = encodeSignal(signal);
    if (this.closed || !this.socket || this.socket.destroyed) return Promise.reject(new MonitorSignalError('monitor connection closed', true));
    return new Promise((resolve, reject) => {
      this.pendingSignals.push({ resolve, reject });
      this.send(frame);
    });
  }

  /**
   * Stops reading (back-pressure): the monitor queues for us and, past 1 MiB, stops reading the container's output,
   * so the container's writes wait for us.
   */
  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  /** Resolves when stdin written so far has left our socket buffer (or the connection is gone). */
  waitDrain(): Promise<void> {
    return this.socket && !this.closed ? drained(this.socket) : Promise.resolve();
  }

  /** Detaches; the container is not affected. Frames already written (a close-stdin, say) are flushed first. */
  close(): void {
    const s = this.socket;
    if (!s) return this.onClose();
    if (s.destroyed) return;
    if (s.writableLength > 0 && !s.writableEnded) {
      s.end(() => s.destroy());
      // a monitor that stops reading (its container ignores a full stdin) does not keep the connection forever
      setTimeout(() => s.destroy(), 5000).unref();
    } else s.destroy();
  }

  private send(frame: Buffer): boolean {
    if (!this.socket || this.closed || this.socket.destroyed) return false;
    return this.socket.write(frame);
  }

  private dispatch(type: number, payload: Buffer): void {
    switch (type) {
      case MonitorFrame.Stdout:
        this.emit('stdout', payload);
        break;
      case MonitorFrame.Stderr:
        this.emit('stderr', payload);
        break;
      case MonitorFrame.Started:
        this.emit('started', decodeNumber(payload));
        break;
      case MonitorFrame.StartError:
        this.emit('startError', new Error(payload.toString('utf8')));
        break;
      case MonitorFrame.SignalResult: {
        const waiter = this.pendingSignals.shift();
        const why = payload.toString('utf8');
        if (why) waiter?.reject(new MonitorSignalError(why));
        else waiter?.resolve();
        break;
      }
      case MonitorFrame.Exit:
        this.exitStatus = decodeNumber(payload);
        this.emit('exit', this.exitStatus);
        this.resolveExited(this.exitStatus);
        break;
      default:
        break; // newer monitors may send more; ignore
    }
  }

  private fail(e: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
    this.socket?.destroy();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.pendingSignals.splice(0)) w.reject(new MonitorSignalError('monitor connection closed', true));
    this.resolveExited(this.exitStatus);
    this.emit('close');
  }
}
