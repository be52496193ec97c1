/**
 * The wire protocol between berthd and `berth-monitor` (native/monitor/monitor.c, whose header comment is the
 * reference for the monitor's behaviour).
 *
 * Startup report: the monitor writes ONE JSON line on its stdout, then closes it:
 *   `{"pid":N,"monitorPid":M,"features":[…]}` (create mode), `{"monitorPid":M,"features":[…]}` (exec mode, waiting
 *   for the start frame), or `{"error":"<runc's message>"}` (it has cleaned up and exits non-zero). `features` names
 *   the frames beyond the first protocol the monitor understands (`signal`); an older monitor has none and must be
 *   sent none of them (it ignores unknown frames, so a request would never be answered).
 *
 * Attach socket (unix stream, `--socket`): frames both ways, `type:u8 | length:u32be | payload`.
 *   client → monitor: 0 stdin data, 1 close stdin, 2 resize (u16be rows, u16be cols), 3 start,
 *                     4 subscribe (u8 flags: 1 stdout, 2 stderr; 0 makes a control connection),
 *                     5 signal (feature `signal`: the signal number, decimal text; kill(2) of the init or exec
 *                       process by its parent, the monitor, so never of a reused pid)
 *   monitor → client: 1 stdout, 2 stderr (a tty sends everything as stdout), 3 started (pid, decimal text),
 *                     4 exit (status, decimal text: exit code or 128+signal; the monitor closes afterwards),
 *                     5 start error (runc's message), 6 signal result (one per signal frame, in order: empty when
 *                       delivered, else why not — `container not running` once the process is reaped)
 * A client receives the output produced after it connected, of the streams it subscribed to (both until it sends a
 * subscribe frame; one sent right after connecting applies before any output reaches it). Back-pressure instead of
 * drops: while an output subscriber has 1 MiB queued the monitor stops reading the container's output, so a reader
 * that stops reading pauses the container's writes, and one that disconnects stops counting at once. A control
 * connection (flags 0) never receives output and never holds the container up: its exit frame arrives as soon as
 * the process is gone and its output is in the log. A client connecting after the exit gets the exit frame at once;
 * once the monitor is gone its socket is removed and the exit file (see `ExitFile`) is the record.
 *
 * The monitor's pid is in `<socket>.pid` while it runs (for re-adoption after a berthd restart).
 */

/** Frame types sent by the client. */
export const ClientFrame = {
  Stdin: 0,
  CloseStdin: 1,
  Resize: 2,
  Start: 3,
  Subscribe: 4,
  Signal: 5,
} as const;
export type ClientFrameType = (typeof ClientFrame)[keyof typeof ClientFrame];

/** Frame types sent by the monitor. */
export const MonitorFrame = {
  Stdout: 1,
  Stderr: 2,
  Started: 3,
  Exit: 4,
  StartError: 5,
  SignalResult: 6,
} as const;

/** The monitor's answer to a signal frame when the process was already reaped (runc kill's wording). */
export const NOT_RUNNING = 'container not running';

/** Features a monitor may name in its startup report. */
export type MonitorFeature = 'signal';
export type MonitorFrameType = (typeof MonitorFrame)[keyof typeof MonitorFrame];

export const HEADER_SIZE = 5;
/** Largest payload the monitor accepts from a client; larger stdin writes are split. */
export const MAX_CLIENT_PAYLOAD = 1 << 20;
/** Largest payload this decoder accepts from the monitor (its reads are at most 64 KiB). */
export const MAX_MONITOR_PAYLOAD = 16 << 20;

export interface Frame {
  type: number;
  payload: Buffer;
}

/** The startup report line. */
export interface MonitorReport {
  pid?: number;
  monitorPid?: number;
  error?: string;
  /** Frames beyond the first protocol this monitor understands; empty for an older monitor. */
  features?: MonitorFeature[];
}

/** Contents of the exit file the monitor writes atomically when the process exits. */
export interface ExitFile {
  /** Docker semantics: exit code, or 128+signal; -1 when an exec could not be started (see startError). */
  exitCode: number;
  /** The signal that killed the process, if any. */
  signal?: number;
  /** RFC3339Nano, UTC. */
  finishedAt: string;
  /** The container's memory cgroup counted an OOM kill while it ran (create mode only). */
  oomKilled: boolean;
  pid?: number;
  /** exec mode: runc exec failed with this message; nothing ran. */
  startError?: string;
}

export function encodeFrame(type: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  frame.writeUInt8(type, 0);
  frame.writeUInt32BE(payload.length, 1);
  frame.set(payload, HEADER_SIZE);
  return frame;
}

/** Output streams a connection receives; neither makes it a control connection (started/exit frames only). */
export interface Subscription {
  stdout: boolean;
  stderr: boolean;
}

export function encodeSubscribe(s: Subscription): Buffer {
  return encodeFrame(ClientFrame.Subscribe, Buffer.from([(s.stdout ? 1 : 0) | (s.stderr ? 2 : 0)]));
}

/** Stdin data as frames, split so that no frame exceeds what the monitor accepts. */
export function encodeStdin(data: Uint8Array): Buffer[] {
  const frames: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_CLIENT_PAYLOAD) {
    frames.push(encodeFrame(ClientFrame.Stdin, data.subarray(off, off + MAX_CLIENT_PAYLOAD)));
  }
  return frames;
}

export function encodeResize(rows: number, cols: number): Buffer {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || rows > 0xffff || cols > 0xffff) {
    throw new RangeError(`invalid terminal size ${rows}x${cols}`);
  }
  const p = Buffer.allocUnsafe(4);
  p.writeUInt16BE(rows, 0);
  p.writeUInt16BE(cols, 2);
  return encodeFrame(ClientFrame.Resize, p);
}

export function decodeResize(payload: Buffer): { rows: number; cols: number } {
  if (payload.length < 4) throw new RangeError('resize payload too short');
  return { rows: payload.readUInt16BE(0), cols: payload.readUInt16BE(2) };
}

export function encodeSignal(signal: number): Buffer {
  if (!Number.isInteger(signal) || signal <= 0 || signal > 64) throw new RangeError(`invalid signal ${signal}`);
  return encodeFrame(ClientFrame.Signal, Buffer.from(String(signal), 'ascii'));
}

/** Parses the decimal text payload of started/exit frames. */
export function decodeNumber(payload: Buffer): number {
  const text = payload.toString('ascii');
  if (!/^-?\d+$/.test(text)) throw new Error(`monitor protocol: expected a decimal number, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Parses the monitor's startup line. */
export function parseReport(line: string): MonitorReport {
  const v: unknown = JSON.parse(line);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`monitor report is not an object: ${line}`);
  const o = v as Record<string, unknown>;
  const r: MonitorReport = {};
  if (typeof o.pid === 'number') r.pid = o.pid;
  if (typeof o.monitorPid === 'number') r.monitorPid = o.monitorPid;
  if (typeof o.error === 'string') r.error = o.error;
  if (Array.isArray(o.features)) r.features = o.features.filter((f): f is MonitorFeature => f === 'signal');
  if (r.error === undefined && r.monitorPid === undefined) throw new Error(`monitor report lacks monitorPid: ${line}`);
  return r;
}

/**
 * Incremental frame decoder: feed it whatever chunks a socket delivers, get whole frames back. Frames may span
 * chunks and one chunk may hold many frames. Payloads are copies, safe to keep.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxPayload = MAX_MONITOR_PAYLOAD) {}

  /** Bytes held back waiting for the rest of a frame. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.buffered >= HEADER_SIZE) {
      const head = this.peek(HEADER_SIZE);
      const length = head.readUInt32BE(1);
      if (length > this.maxPayload) throw new Error(`monitor protocol: frame of ${length} bytes exceeds the limit`);
      if (this.buffered < HEADER_SIZE + length) break;
      const whole = this.take(HEADER_SIZE + length);
      frames.push({ type: whole[0]!, payload: whole.subarray(HEADER_SIZE) });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = Buffer.from(first.subarray(0, n));
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks);
      out = Buffer.from(all.subarray(0, n));
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }
}
