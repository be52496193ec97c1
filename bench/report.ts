/**
 * The one table of `npm run bench` (issue 17 item 5). Every bench calls `record(bench, rows)` with its figures; when
 * `BERTH_BENCH_DIR` is set (bench/all.ts sets it) the rows are appended as JSON lines to `<dir>/<bench>.jsonl`, and
 * `node dist/bench/report.js <dir>` prints all of them as one table of berth ÷ dockerd ratios with the date, the
 * machine and the load average around each bench. A bench run alone (no `BERTH_BENCH_DIR`) prints its own rows as
 * the same table at the end, so every bench stays runnable by itself. Never asserts on time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  /** What was measured, e.g. `docker run --rm busybox true, bridge`. */
  name: string;
  unit: string;
  /** The representative figure (usually the median). */
  berth: number;
  /** The same for dockerd (or the docker CLI); undefined when there is nothing to compare with. */
  dockerd?: number;
  /** Range over the repeats, [min, max]. */
  berthRange?: [number, number];
  dockerdRange?: [number, number];
  /** How many repeats the figure comes from. */
  runs?: number;
  /** The goal in words, e.g. `≤ 0.25`; `ratio` is compared with `goalRatio` when both are set. */
  goal?: string;
  /** The ratio berth ÷ dockerd must be at most (lower is better) or at least (`higherIsBetter`) this. */
  goalRatio?: number;
  higherIsBetter?: boolean;
  note?: string;
}

interface StoredRow extends BenchRow {
  bench: string;
  /** 1-minute load average when the bench started and when it recorded the row. */
  load: [number, number];
  at: string;
}

const startLoad = os.loadavg()[0];

/** Prints a bench's rows as a table and, when `$BERTH_BENCH_DIR` is set, appends them to `<dir>/<bench>.jsonl`. */
export function record(bench: string, rows: BenchRow[]): void {
  const load: [number, number] = [startLoad, os.loadavg()[0]];
  const stored: StoredRow[] = rows.map((r) => ({ bench, load, at: new Date().toISOString(), ...r }));
  const dir = process.env.BERTH_BENCH_DIR;
  if (dir) fs.appendFileSync(path.join(dir, `${bench}.jsonl`), stored.map((r) => JSON.stringify(r) + '\n').join(''));
  process.stdout.write('\n' + table(stored));
}

/** min, median and max of a list of repeats. */
export function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

export function machine(): string {
  const cpu = os.cpus();
  return `${os.hostname()}: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}`;
}

function num(x: number, unit: string): string {
  if (!Number.isFinite(x)) return '–';
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return `${x.toFixed(digits)}${unit ? ' ' + unit : ''}`;
}

function figure(x: number | undefined, range: [number, number] | undefined, unit: string): string {
  if (x === undefined) return '–';
  if (!range || range[0] === range[1]) return num(x, unit);
  return `${num(x, '')} (${num(range[0], '')}–${num(range[1], unit)})`;
}

function verdict(r: BenchRow, ratio: number): string {
  if (r.goalRatio === undefined || !Number.isFinite(ratio)) return r.goal ?? '';
  const met = r.higherIsBetter ? ratio >= r.goalRatio : ratio <= r.goalRatio;
  return `${r.goal ?? (r.higherIsBetter ? '≥ ' : '≤ ') + r.goalRatio} ${met ? 'met' : 'NOT met'}`;
}

/** The rows as one Markdown table (readable in a terminal and pasteable into the README). */
export function table(rows: StoredRow[]): string {
  const head = ['bench', 'measurement', 'berth', 'dockerd', 'ratio', 'goal', 'load'];
  const body = rows.map((r) => {
    const ratio = r.dockerd === undefined ? NaN : r.berth / r.dockerd;
    return [
      r.bench,
      r.name + (r.runs ? ` (median of ${r.runs})` : '') + (r.note ? ` — ${r.note}` : ''),
      figure(r.berth, r.berthRange, r.unit),
      figure(r.dockerd, r.dockerdRange, r.unit),
      Number.isFinite(ratio) ? ratio.toFixed(2) : '–',
      verdict(r, ratio),
      `${r.load[0].toFixed(1)}–${r.load[1].toFixed(1)}`,
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n') + '\n';
}

/** Reads every `<bench>.jsonl` in `dir` (in the order the benches ran) and prints the table with date and machine. */
export function printReport(dir: string, failed: string[] = []): void {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
  const rows = files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as StoredRow));
  const date = rows[0]?.at.slice(0, 10) ?? new Date().toISOString().slice(0, 10);
  let out = `\nberth ÷ dockerd, ${date}, ${machine()}; load = 1-minute load average at the bench's start–end\n\n`;
  out += table(rows);
  if (failed.length) out += `\nfailed (no rows): ${failed.join(', ')}\n`;
  process.stdout.write(out);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? process.env.BERTH_BENCH_DIR;
  if (!dir) {
    process.stderr.write('usage: node dist/bench/report.js DIR (a BERTH_BENCH_DIR the benches wrote rows into)\n');
    process.exitCode = 2;
  } else printReport(dir);
}
