/**
 * Logging cost, berth and dockerd side by side through the same docker CLI: a detached container writes
 * BENCH_LOG_BYTES (default 1 GB) to stdout with the json-file and the local driver. Printed per driver and engine:
 * - wall: `docker run -d` to the end of `docker wait`, minus the container's closing 2 s sleep (the output is all
 *   logged by then: both engines' log writers are line-synchronous with the pipe);
 * - CPU: user+system seconds of the engine's own processes over the run — berthd and the container's monitor for
 *   berth; dockerd, containerd and containerd-shim for dockerd (found by their command lines naming the engine's
 *   temp root, sampled every 100 ms so processes that exit are counted up to their last sample);
 * - `docker logs --tail 10` on that log (median of BENCH_RUNS, goal < 50 ms: read from the end);
 * - the engine's RSS before and after (goal: flat).
 * Ratios are berth ÷ dockerd (goal ≤ 0.5 for CPU). Never asserts on time.
 */
import fs from 'node:fs';
import { BENCH_IMAGE, benchRootfsTar, Engine, engineRssMb, median, startBerth, startDockerd, timeIt } from './engines.js';
import { BenchRow, record } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BYTES = Number(process.env.BENCH_LOG_BYTES ?? 1_000_000_000);
const SCRIPT = `yes 0123456789012345678901234567890123456789 | head -c ${BYTES}; sleep 2`;
const TICKS = 100; // USER_HZ on Linux

/** utime+stime in seconds of one process, undefined when it is gone. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return undefined;
  }
}

/** The engine's processes: its daemon pids and every process whose command line names its temp root. */
function enginePids(e: Engine, root: string): number[] {
  const out = new Set(e.pids());
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(root)) out.add(Number(d));
    } catch {
      /* gone */
    }
  }
  return [...out];
}

/** CPU seconds the engine's processes spend while fn runs (sampled, see the header). */
async function measureCpu(e: Engine, root: string, fn: () => Promise<void>): Promise<number> {
  const base = new Map<number, number>();
  const last = new Map<number, number>();
  for (const p of enginePids(e, root)) base.set(p, cpuSeconds(p) ?? 0);
  const sample = () => {
    for (const p of enginePids(e, root)) {
      const c = cpuSeconds(p);
      if (c !== undefined) last.set(p, c);
    }
  };
  const timer = setInterval(sample, 100);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  sample();
  let total = 0;
  for (const [p, c] of last) total += c - (base.get(p) ?? 0);
  return total;
}

interface Result {
  wall: number;
  cpu: number;
  tail: number;
  rssBefore: number;
  rssAfter: number;
}

async function measure(e: Engine, root: string, driver: string): Promise<Result> {
  const name = `logbench-${driver}`;
  const rssBefore = engineRssMb(e);
  let wall = 0;
  const cpu = await measureCpu(e, root, async () => {
    wall = await timeIt(async () => {
      const r = await e.docker(['run', '-d', '--name', name, '--log-driver', driver, BENCH_IMAGE, 'sh', '-c', SCRIPT]);
      if (r.code !== 0) throw new Error(`${e.name}: ${r.stderr}`);
      const w = await e.docker(['wait', name]);
      if (w.stdout.trim() !== '0') throw new Error(`${e.name}: wait: ${w.stdout} ${w.stderr}`);
    });
  });
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++)
    times.push(
      await timeIt(async () => {
        const t = await e.docker(['logs', '--tail', '10', name]);
        if (t.code !== 0 || t.stdout.split('\n').length < 10) throw new Error(`${e.name} logs --tail 10: ${t.stderr}`);
      }),
    );
  const rssAfter = engineRssMb(e);
  await e.docker(['rm', '-f', name]);
  return { wall: wall / 1000 - 2, cpu, tail: median(times.slice(1)), rssBefore, rssAfter };
}

function rootOf(e: Engine): string {
  // both engines' sockets live in their temp root
  return e.host.replace(/^unix:\/\//, '').replace(/\/[^/]+$/, '');
}

async function main(): Promise<void> {
  const { tar, cleanup } = benchRootfsTar();
  const berth = await startBerth(tar);
  let dockerd: Engine | undefined;
  try {
    dockerd = await startDockerd(tar);
    console.log(`logging: ${BYTES / 1e6} MB to stdout, detached; CPU = engine processes (berthd + monitor | dockerd + containerd + shim)`);
    const rows: BenchRow[] = [];
    for (const driver of ['json-file', 'local']) {
      const b = await measure(berth, rootOf(berth), driver);
      const d = dockerd ? await measure(dockerd, rootOf(dockerd), driver) : undefined;
      const row = (n: string, r: Result) =>
        `  ${driver.padEnd(9)} ${n.padEnd(7)} wall ${r.wall.toFixed(2)} s  cpu ${r.cpu.toFixed(2)} s  logs --tail 10 ${r.tail.toFixed(0)} ms  rss ${r.rssBefore.toFixed(0)}→${r.rssAfter.toFixed(0)} MB`;
      console.log(row('berth', b));
      if (d) {
        console.log(row('dockerd', d));
        console.log(`  ${driver.padEnd(9)} ratio   wall ${(b.wall / d.wall).toFixed(2)}×  cpu ${(b.cpu / d.cpu).toFixed(2)}× (goal ≤ 0.5)  tail ${(b.tail / d.tail).toFixed(2)}×`);
      }
      const what = `logging ${BYTES / 1e6} MB from a detached container, ${driver}`;
      rows.push(
        { name: `${what}: engine CPU`, unit: 's', berth: b.cpu, dockerd: d?.cpu, goal: '≤ 0.5', goalRatio: 0.5 },
        { name: `${what}: wall`, unit: 's', berth: b.wall, dockerd: d?.wall },
        { name: `${what}: RSS after`, unit: 'MB', berth: b.rssAfter, dockerd: d?.rssAfter, note: `before ${b.rssBefore.toFixed(0)}${d ? ` / ${d.rssBefore.toFixed(0)}` : ''} MB` },
      );
    }
    record('logging', rows);
  } finally {
    await berth.stop();
    await dockerd?.stop();
    cleanup();
  }
}

void main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
