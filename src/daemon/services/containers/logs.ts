/**
 * Reading logs back in the two formats the container monitor writes, identical to Docker's:
 * - json: the json-file driver, one JSON object per line, `{"log":"text\n","stream":"stdout","time":"RFC3339Nano"}`;
 * - local: the local driver (and the cache beside syslog), protobuf LogEntry records framed by their big-endian
 *   uint32 length before and after (native/monitor/log-local.c).
 * A LogFormat says where records start and end and decodes one; everything else is shared.
 *
 * `readLogs` streams records with Docker's options: stream selection, --since/--until, --tail, and --follow, which
 * keeps reading appended records (inotify via fs.watch, no polling) until the container stops — also when the
 * monitor keeps writing across a berthd restart, since the file is the source of truth.
 *
 * Rotation (the monitor's, see native/monitor/log-file.h): history is read from the rotated files
 * (`<log>.N` … `<log>.1`, or `.N.gz` … `.1.gz`) oldest first, then the current file. A follower holds the current
 * file open; when the path names a new file it first reads the old one (now `<log>.1`) to its end, so a rotation
 * neither loses nor repeats a record.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface LogRecord {
  stream: 'stdout' | 'stderr';
  /** The text exactly as logged, including its trailing newline when it had one. */
  log: string;
  /** RFC3339Nano. */
  time: string;
  /** Extra attributes (json-file `labels`/`env` options). */
  attrs?: Record<string, string>;
}

/** A container's log as it can be read back: the current file and its format. */
export interface LogSource {
  file: string;
  format: 'json' | 'local';
}

export interface ReadLogsOptions {
  stdout: boolean;
  stderr: boolean;
  /** Only records at or after this time (ns since the epoch). */
  sinceNs?: bigint;
  /** Only records before this time (ns since the epoch). */
  untilNs?: bigint;
  /** Last N records only; undefined or negative = all. */
  tail?: number;
  follow: boolean;
  signal: AbortSignal;
  /** Resolves when the container stops (follow ends after draining what was written before). */
  stopped: Promise<void>;
}

/** Nanoseconds since the epoch of an RFC3339Nano timestamp. */
export function timeToNs(iso: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) return BigInt(Date.parse(iso)) * 1_000_000n;
  const secondsMs = Date.parse(m[1] + m[3]);
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  return BigInt(secondsMs) * 1_000_000n + BigInt(frac);
}

/**
 * A log file format: how to find record boundaries in a byte range and decode one record. `next` finds the record
 * starting at `start` (undefined: incomplete); `prev` finds the start of the record ending at `end` (undefined: it
 * starts before the bytes given, or they are not a record boundary).
 */
export interface LogFormat {
  next(buf: Buffer, start: number): { end: number; record: LogRecord | undefined } | undefined;
  prev(buf: Buffer, end: number): number | undefined;
}

function parseJsonLine(line: string): LogRecord | undefined {
  if (!line) return undefined;
  try {
    const r = JSON.parse(line) as LogRecord;
    return typeof r.log === 'string' ? r : undefined;
  } catch {
    return undefined; // a torn last line while the monitor writes; the follower re-reads it whole
  }
}

export const jsonFormat: LogFormat = {
  next(buf, start) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) return undefined;
    return { end: nl + 1, record: parseJsonLine(buf.toString('utf8', start, nl)) };
  },
  prev(buf, end) {
    if (end < 1 || buf[end - 1] !== 10) return undefined;
    const nl = buf.lastIndexOf(10, end - 2);
    if (nl < 0) return undefined; // may start further back (the caller knows when the buffer starts the file)
    return nl + 1;
  },
};

/** Nanoseconds since the epoch as RFC3339Nano (trailing zeros trimmed, as Go writes it). */
export function nsToTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return new Date(ms).toISOString().replace(/\.\d+Z$/, frac ? `.${frac}Z` : 'Z');
}

/** One protobuf LogEntry (fields 1 source, 2 time_nano, 3 line, 4 partial, 5 metadata with 1 last). */
function decodeLogEntry(b: Buffer): LogRecord | undefined {
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= b.length) throw new Error('short');
      const c = b[i++]!;
      v |= BigInt(c & 0x7f) << shift;
      if (c < 0x80) return v;
      shift += 7n;
    }
  };
  let source = '';
  let time = 0n;
  let line: Buffer = Buffer.alloc(0);
  let partial = false;
  let last = false;
  try {
    while (i < b.length) {
      const key = Number(varint());
      const field = key >> 3;
      const wire = key & 7;
      if (wire === 0) {
        const v = varint();
        if (field === 2) time = BigInt.asIntN(64, v);
        else if (field === 4) partial = v !== 0n;
      } else if (wire === 2) {
        const n = Number(varint());
        const v = b.subarray(i, i + n);
        i += n;
        if (field === 1) source = v.toString('utf8');
        else if (field === 3) line = v;
        else if (field === 5) last = v.length >= 2 && v[0] === 0x08 && v[1] === 1;
      } else if (wire === 5) i += 4;
      else if (wire === 1) i += 8;
      else return undefined;
    }
  } catch {
    return undefined;
  }
  if (source !== 'stdout' && source !== 'stderr') return undefined;
  // lines are stored without their newline. dockerd gives one back only to whole lines: the last piece of a split
  // line (partial, metadata last) comes back without it too, so `docker logs` joins it to the next line; berth
  // answers the same
  void last;
  const log = partial ? line.toString('utf8') : `${line.toString('utf8')}\n`;
  return { stream: source, log, time: nsToTime(time) };
}

export const localFormat: LogFormat = {
  next(buf, start) {
    if (buf.length - start < 4) return undefined;
    const n = buf.readUInt32BE(start);
    const end = start + 8 + n;
    if (end > buf.length) return undefined;
    return { end, record: decodeLogEntry(buf.subarray(start + 4, start + 4 + n)) };
  },
  prev(buf, end) {
    if (end < 8) return undefined;
    const n = buf.readUInt32BE(end - 4);
    const start = end - 8 - n;
    return start >= 0 && buf.readUInt32BE(start) === n ? start : undefined;
  },
};

export async function* readLogs(file: string, opts: ReadLogsOptions & { format?: LogFormat }): AsyncGenerator<LogRecord> {
  const wanted = (r: LogRecord) => {
    if (r.stream === 'stdout' ? !opts.stdout : !opts.stderr) return false;
    if (opts.sinceNs === undefined && opts.untilNs === undefined) return true;
    const t = timeToNs(r.time);
    if (opts.sinceNs !== undefined && t < opts.sinceNs) return false;
    if (opts.untilNs !== undefined && t >= opts.untilNs) return false;
    return true;
  };

  const format = opts.format ?? jsonFormat;
  const current = new LogFileReader(file, format);
  try {
    yield* followLog(file, current, format, wanted, opts);
  } finally {
    await current.close();
  }
}

async function* followLog(file: string, current: LogFileReader, format: LogFormat, wanted: (r: LogRecord) => boolean, opts: ReadLogsOptions): AsyncGenerator<LogRecord> {
  const readMore = async (): Promise<LogRecord[]> => (await current.read()).filter(wanted);

  // History first (with --tail applied to it only, as Docker does). A tail is read from the end of the files, so
  // `--tail 10` of a 1 GB log costs what 10 records cost.
  let first: LogRecord[];
  if (opts.tail !== undefined && opts.tail >= 0) {
    first = await current.tail(opts.tail, wanted);
    if (first.length < opts.tail) first = [...readRotated(file, format).filter(wanted).slice(-(opts.tail - first.length)), ...first];
  } else {
    first = [...readRotated(file, format).filter(wanted), ...(await readMore())];
  }
  for (const r of first) {
    if (opts.signal.aborted) return;
    yield r;
  }
  if (!opts.follow) return;

  let stopped = false;
  void opts.stopped.then(() => {
    stopped = true;
    wake();
  });
  let wake: () => void = () => {};
  let changed = true;
  const watcher = watchLog(file, () => {
    changed = true;
    wake();
  });
  const onAbort = () => wake();
  opts.signal.addEventListener('abort', onAbort);
  try {
    while (!opts.signal.aborted) {
      if (changed) {
        changed = false;
        for (const r of await readMore()) {
          if (opts.signal.aborted) return;
          if (opts.untilNs !== undefined && timeToNs(r.time) >= opts.untilNs) return;
          yield r;
        }
        continue;
      }
      if (stopped) {
        for (const r of await readMore()) yield r; // what the monitor flushed while exiting
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (changed || stopped || opts.signal.aborted) resolve();
      });
    }
  } finally {
    watcher.close();
    opts.signal.removeEventListener('abort', onAbort);
  }
}

function parseRecords(buf: Buffer, format: LogFormat): LogRecord[] {
  const out: LogRecord[] = [];
  let at = 0;
  for (let r = format.next(buf, at); r; r = format.next(buf, at)) {
    if (r.record) out.push(r.record);
    at = r.end;
  }
  return out;
}

/** The rotated files of a log, oldest first: `<log>.N[.gz]` with the highest N first. */
export function rotatedFiles(file: string): string[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const byNumber = new Map<number, string>();
  for (const name of names) {
    const m = /^\.(\d+)(\.gz)?$/.exec(name.slice(base.length));
    if (!name.startsWith(base) || !m) continue;
    // while `.N` is being compressed both names exist with the same records: take the plain one
    if (!m[2] || !byNumber.has(Number(m[1]))) byNumber.set(Number(m[1]), name);
  }
  return [...byNumber.entries()].sort((a, b) => b[0] - a[0]).map(([, name]) => path.join(dir, name));
}

function readBytes(file: string): Buffer {
  const raw = fs.readFileSync(file);
  return file.endsWith('.gz') ? gunzipSync(raw) : raw;
}

function readRotated(file: string, format: LogFormat): LogRecord[] {
  const out: LogRecord[] = [];
  for (const f of rotatedFiles(file)) {
    try {
      out.push(...parseRecords(readBytes(f), format));
    } catch {
      /* rotated away (or half-compressed) while we listed: its records are in the next file */
    }
  }
  return out;
}

/**
 * Reads the current log file incrementally, following it across rotations (rename: a new file at the path) and
 * truncation (max-file 1).
 */
class LogFileReader {
  private fh: fs.promises.FileHandle | undefined;
  private ino = 0;
  private offset = 0;
  /** Bytes read past the last whole record. */
  private pending: Buffer = Buffer.alloc(0);
  private readonly buf = Buffer.alloc(256 * 1024);
  /** The open file's first record, raw: how it is found again among the rotated files (compression changes inodes). */
  private firstRecord: Buffer | undefined;

  constructor(
    private readonly file: string,
    private readonly format: LogFormat,
  ) {}

  async read(): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    for (;;) {
      if (!this.fh) {
        try {
          this.fh = await fs.promises.open(this.file, 'r');
          this.ino = (await this.fh.stat()).ino;
        } catch {
          this.fh = undefined;
          return out;
        }
        this.offset = 0;
        this.pending = Buffer.alloc(0);
        this.firstRecord = undefined;
      }
      await this.drain(out);
      let st: fs.Stats;
      try {
        st = await fs.promises.stat(this.file);
      } catch {
        return out;
      }
      if (st.ino !== this.ino) {
        // rotated: everything the monitor wrote to the old file is there by now
        await this.drain(out);
        await this.close();
        this.readSkipped(out);
        continue;
      }
      if (st.size < this.offset) {
        this.offset = 0; // truncated
        this.pending = Buffer.alloc(0);
        continue;
      }
      return out;
    }
  }

  /**
   * After more than one rotation between two reads, the files rotated after ours (newer than it, older than the
   * new current file) hold records we have not seen.
   */
  private readSkipped(out: LogRecord[]): void {
    if (this.firstRecord === undefined) return;
    const rotated = rotatedFiles(this.file);
    let ours = -1;
    for (let i = rotated.length - 1; i >= 0 && ours < 0; i--) {
      try {
        const bytes = readBytes(rotated[i]!);
        const r = this.format.next(bytes, 0);
        if (r && bytes.subarray(0, r.end).equals(this.firstRecord)) ours = i;
      } catch {
        /* gone meanwhile */
      }
    }
    if (ours < 0) return;
    for (const f of rotated.slice(ours + 1)) {
      try {
        out.push(...parseRecords(readBytes(f), this.format));
      } catch {
        /* gone meanwhile */
      }
    }
  }

  /**
   * Opens the current file and returns its last `n` wanted records, scanning backwards from its end; reading then
   * goes on after them (a record still being written at the end is left for the next read).
   */
  async tail(n: number, wanted: (r: LogRecord) => boolean): Promise<LogRecord[]> {
    await this.close();
    try {
      this.fh = await this.openCurrent();
    } catch {
      return [];
    }
    const st = await this.fh.stat();
    this.ino = st.ino;
    this.pending = Buffer.alloc(0);
    // the first record identifies the file after a rotation (see readSkipped)
    const head = Buffer.alloc(Math.min(st.size, 64 * 1024));
    const { bytesRead } = await this.fh.read(head, 0, head.length, 0);
    const r0 = this.format.next(head.subarray(0, bytesRead), 0);
    this.firstRecord = r0 ? Buffer.from(head.subarray(0, r0.end)) : undefined;

    // the end of the last whole record: forwards from a record boundary found near the end of the file
    const complete = await this.lastBoundary(st.size);
    const found: LogRecord[] = [];
    let winStart = complete; // the window holds bytes [winStart, winStart + win.length)
    let win: Buffer = Buffer.alloc(0);
    let stop = complete; // records before `stop` are not yet decoded
    while (found.length < n && stop > 0) {
      const s = this.format.prev(win, stop - winStart);
      if (s === undefined || (s === 0 && winStart > 0 && this.format === jsonFormat)) {
        if (winStart === 0) {
          // the whole file is in the window: a json first line has no newline before it
          const r = this.format.next(win, 0);
          if (r && r.end === stop && r.record && wanted(r.record)) found.push(r.record);
          break;
        }
        const from = Math.max(0, winStart - Math.max(64 * 1024, win.length));
        const chunk = Buffer.alloc(winStart - from);
        await this.fh.read(chunk, 0, chunk.length, from);
        win = Buffer.concat([chunk, win.subarray(0, stop - winStart)]);
        winStart = from;
        continue;
      }
      const r = this.format.next(win, s);
      if (r?.record && wanted(r.record)) found.push(r.record);
      stop = winStart + s;
    }
    this.offset = complete;
    return found.reverse();
  }

  private async openCurrent(): Promise<fs.promises.FileHandle> {
    return fs.promises.open(this.file, 'r');
  }

  /** The offset just past the last whole record of the open file (a record being written may follow it). */
  private async lastBoundary(size: number): Promise<number> {
    if (this.format === jsonFormat) {
      // the last newline
      let end = size;
      while (end > 0) {
        const start = Math.max(0, end - 64 * 1024);
        const chunk = Buffer.alloc(end - start);
        await this.fh!.read(chunk, 0, chunk.length, start);
        const nl = chunk.lastIndexOf(10);
        if (nl >= 0) return start + nl + 1;
        end = start;
      }
      return 0;
    }
    // length-framed: a trailing record is whole when its header and footer agree; otherwise walk from the start
    if (size >= 8) {
      const tail = Buffer.alloc(Math.min(size, 64 * 1024));
      await this.fh!.read(tail, 0, tail.length, size - tail.length);
      const s = this.format.prev(tail, tail.length);
      if (s !== undefined) return size;
    }
    let at = 0;
    const hdr = Buffer.alloc(4);
    while (at + 4 <= size) {
      await this.fh!.read(hdr, 0, 4, at);
      const end = at + 8 + hdr.readUInt32BE(0);
      if (end > size) break;
      at = end;
    }
    return at;
  }

  private async drain(out: LogRecord[]): Promise<void> {
    for (;;) {
      const { bytesRead } = await this.fh!.read(this.buf, 0, this.buf.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      const data = this.pending.length ? Buffer.concat([this.pending, this.buf.subarray(0, bytesRead)]) : this.buf.subarray(0, bytesRead);
      let at = 0;
      for (let r = this.format.next(data, at); r; r = this.format.next(data, at)) {
        if (this.firstRecord === undefined) this.firstRecord = Buffer.from(data.subarray(at, r.end));
        if (r.record) out.push(r.record);
        at = r.end;
      }
      this.pending = Buffer.from(data.subarray(at));
    }
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => {});
  }
}

/**
 * Watches a log and its rotations: the directory is watched (a watch on the file itself would stay with the old
 * file after a rename), and only events for the log's own names count.
 */
function watchLog(file: string, onChange: () => void): { close(): void } {
  const base = path.basename(file);
  try {
    const w = fs.watch(path.dirname(file), { persistent: false }, (_event, name) => {
      if (!name || String(name).startsWith(base)) onChange();
    });
    w.on('error', () => {});
    return w;
  } catch {
    return { close() {} };
  }
}

/** Docker's --timestamps prefix: RFC3339Nano with nine fraction digits. */
export function fixedTimestamp(iso: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) return iso;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}${m[3]}`;
}
