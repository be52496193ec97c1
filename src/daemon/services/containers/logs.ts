/**
 * Reading json-file logs (the format the container monitor writes, identical to Docker's json-file driver):
 * one JSON object per line, `{"log":"text\n","stream":"stdout","time":"RFC3339Nano"}`.
 *
 * `readLogs` streams records with Docker's options: stream selection, --since/--until, --tail, and --follow, which
 * keeps reading appended records (inotify via fs.watch, no polling) until the container stops — also when the
 * monitor keeps writing across a berthd restart, since the file is the source of truth.
 *
 * Rotation (the monitor's, see native/monitor/monitor.c LOG ROTATION): history is read from the rotated files
 * (`<log>.N` … `<log>.1`, or `.N.gz` … `.1.gz`) oldest first, then the current file. A follower holds the current
 * file open; when the path names a new file it first reads the old one (now `<log>.1`) to its end, so a rotation
 * neither loses nor repeats a record.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
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

function parseLine(line: string): LogRecord | undefined {
  if (!line) return undefined;
  try {
    const r = JSON.parse(line) as LogRecord;
    return typeof r.log === 'string' ? r : undefined;
  } catch {
    return undefined; // a torn last line while the monitor writes; the follower re-reads it whole
  }
}

export async function* readLogs(file: string, opts: ReadLogsOptions): AsyncGenerator<LogRecord> {
  const wanted = (r: LogRecord) => {
    if (r.stream === 'stdout' ? !opts.stdout : !opts.stderr) return false;
    if (opts.sinceNs === undefined && opts.untilNs === undefined) return true;
    const t = timeToNs(r.time);
    if (opts.sinceNs !== undefined && t < opts.sinceNs) return false;
    if (opts.untilNs !== undefined && t >= opts.untilNs) return false;
    return true;
  };

  const current = new LogFileReader(file);
  try {
    yield* followLog(file, current, wanted, opts);
  } finally {
    await current.close();
  }
}

async function* followLog(file: string, current: LogFileReader, wanted: (r: LogRecord) => boolean, opts: ReadLogsOptions): AsyncGenerator<LogRecord> {
  const readMore = async (): Promise<LogRecord[]> => (await current.read()).filter(wanted);

  // History first (with --tail applied to it only, as Docker does). A tail is read from the end of the files, so
  // `--tail 10` of a 1 GB log costs what 10 records cost.
  let first: LogRecord[];
  if (opts.tail !== undefined && opts.tail >= 0) {
    first = await current.tail(opts.tail, wanted);
    if (first.length < opts.tail) first = [...readRotated(file).filter(wanted).slice(-(opts.tail - first.length)), ...first];
  } else {
    first = [...readRotated(file).filter(wanted), ...(await readMore())];
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

function parseRecords(text: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of text.split('\n')) {
    const r = parseLine(line);
    if (r) out.push(r);
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

function readText(file: string): string {
  const raw = fs.readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

function readRotated(file: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const f of rotatedFiles(file)) {
    try {
      out.push(...parseRecords(readText(f)));
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
  private pending = '';
  private decoder = new StringDecoder('utf8');
  private readonly buf = Buffer.alloc(256 * 1024);
  /** The open file's first line: how it is found again among the rotated files (compression changes inodes). */
  private firstLine: string | undefined;

  constructor(private readonly file: string) {}

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
        this.pending = '';
        this.firstLine = undefined;
        this.decoder = new StringDecoder('utf8');
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
        this.pending = '';
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
    if (this.firstLine === undefined) return;
    const rotated = rotatedFiles(this.file);
    let ours = -1;
    for (let i = rotated.length - 1; i >= 0 && ours < 0; i--) {
      try {
        const text = readText(rotated[i]!);
        if (text.slice(0, text.indexOf('\n')) === this.firstLine) ours = i;
      } catch {
        /* gone meanwhile */
      }
    }
    if (ours < 0) return;
    for (const f of rotated.slice(ours + 1)) {
      try {
        out.push(...parseRecords(readText(f)));
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
      this.fh = await fs.promises.open(this.file, 'r');
    } catch {
      return [];
    }
    const st = await this.fh.stat();
    this.ino = st.ino;
    this.pending = '';
    this.decoder = new StringDecoder('utf8');
    // the first line identifies the file after a rotation (see readSkipped)
    const head = Buffer.alloc(Math.min(st.size, 64 * 1024));
    const { bytesRead } = await this.fh.read(head, 0, head.length, 0);
    const nl0 = head.subarray(0, bytesRead).indexOf(10);
    this.firstLine = nl0 >= 0 ? head.subarray(0, nl0).toString('utf8') : undefined;

    const found: LogRecord[] = [];
    let end = st.size; // bytes before `end` are not yet scanned
    let carry = Buffer.alloc(0); // the start of a line whose beginning lies before `end`
    let complete = -1; // offset just past the last whole line, where reading goes on
    while (end > 0 && (found.length < n || complete < 0)) {
      const start = Math.max(0, end - 64 * 1024);
      const chunk = Buffer.alloc(end - start);
      await this.fh.read(chunk, 0, chunk.length, start);
      let data = Buffer.concat([chunk, carry]);
      if (complete < 0) {
        const lastNl = data.lastIndexOf(10);
        if (lastNl < 0 && start > 0) {
          carry = data;
          end = start;
          continue;
        }
        complete = start + lastNl + 1;
        data = data.subarray(0, lastNl + 1);
      }
      // whole lines of `data` from its end; the part before its first newline may continue further back
      let stop = data.length;
      for (let i = data.length - 2; i >= -1 && found.length < n; i--) {
        if (i >= 0 && data[i] !== 10) continue;
        if (i < 0 && start > 0) break; // the line starts in an earlier chunk
        const r = parseLine(data.subarray(i + 1, stop - 1).toString('utf8'));
        if (r && wanted(r)) found.push(r);
        stop = i + 1;
      }
      carry = data.subarray(0, stop);
      end = start;
    }
    this.offset = Math.max(complete, 0);
    return found.reverse();
  }

  private async drain(out: LogRecord[]): Promise<void> {
    for (;;) {
      const { bytesRead } = await this.fh!.read(this.buf, 0, this.buf.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      this.pending += this.decoder.write(this.buf.subarray(0, bytesRead));
      let nl;
      let start = 0;
      while ((nl = this.pending.indexOf('\n', start)) >= 0) {
        const line = this.pending.slice(start, nl);
        if (this.firstLine === undefined) this.firstLine = line;
        const r = parseLine(line);
        start = nl + 1;
        if (r) out.push(r);
      }
      this.pending = this.pending.slice(start);
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
