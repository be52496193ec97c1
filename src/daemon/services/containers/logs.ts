/**
 * Reading json-file logs (the format the container monitor writes, identical to Docker's json-file driver):
 * one JSON object per line, `{"log":"text\n","stream":"stdout","time":"RFC3339Nano"}`.
 *
 * `readLogs` streams records with Docker's options: stream selection, --since/--until, --tail, and --follow, which
 * keeps reading appended records (inotify via fs.watch, no polling) until the container stops — also when the
 * monitor keeps writing across a berthd restart, since the file is the source of truth.
 */
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface LogRecord {
  stream: 'stdout' | 'stderr';
  /** The text exactly as logged, including its trailing newline when it had one. */
  log: string;
  /** RFC3339Nano. */
  time: string;
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

  let offset = 0;
  let pending = '';
  const decoder = new StringDecoder('utf8');
  const readMore = async (): Promise<LogRecord[]> => {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(file, 'r');
    } catch {
      return [];
    }
    const out: LogRecord[] = [];
    try {
      const buf = Buffer.alloc(256 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        pending += decoder.write(buf.subarray(0, bytesRead));
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const r = parseLine(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
          if (r && wanted(r)) out.push(r);
        }
      }
    } finally {
      await fh.close();
    }
    return out;
  };

  // History first (with --tail applied to it only, as Docker does).
  let first = await readMore();
  if (opts.tail !== undefined && opts.tail >= 0) first = opts.tail === 0 ? [] : first.slice(-opts.tail);
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
  const watcher = watchFile(file, () => {
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

/** fs.watch that tolerates a file that does not exist yet (watches its directory instead). */
function watchFile(file: string, onChange: () => void): { close(): void } {
  try {
    const w = fs.watch(file, { persistent: false }, onChange);
    w.on('error', () => {});
    return w;
  } catch {
    const dir = file.slice(0, file.lastIndexOf('/'));
    const w = fs.watch(dir, { persistent: false }, onChange);
    w.on('error', () => {});
    return w;
  }
}

/** Docker's --timestamps prefix: RFC3339Nano with nine fraction digits. */
export function fixedTimestamp(iso: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) return iso;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}${m[3]}`;
}
