/**
 * Container start benchmarks, berth vs dockerd side by side with the same docker CLI:
 * - `docker run --rm <busybox> true` latency (median and range of N, the engines alternating),
 * - 50 containers started in parallel (`docker run -d` ×50, then removed),
 * - idle daemon RSS,
 * - berth's profile: where a `docker run --rm busybox true` spends its milliseconds, from berthd's trace points
 *   (src/pkg/trace: BERTH_TRACE_FILE is set on this bench's berthd; a trace point costs one small write) and the
 *   CLI's start and end, as the median offset of each step from the moment the docker CLI was started.
 * Records the rows for the table of `npm run bench` (bench/report.ts). Never asserts on time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_IMAGE, benchRootfsTar, Engine, engineRssMb, startBerth, startDockerd, timeIt } from './engines.js';
import { record, stats } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 50);

type Stats = ReturnType<typeof stats>;
const none: Stats = { median: NaN, min: NaN, max: NaN };

/** `docker run --rm` latency, berth and dockerd alternating run by run so the machine's load hits both alike. */
async function runLatency(engines: (Engine | undefined)[], network: string): Promise<{ berth: Stats; dockerd: Stats }> {
  const live = engines.filter((e): e is Engine => !!e);
  const times = new Map<string, number[]>(live.map((e) => [e.name, []]));
  const once = async (e: Engine) => {
    const r = await e.docker(['run', '--rm', '--network', network, BENCH_IMAGE, 'true']);
    if (r.code !== 0) throw new Error(`${e.name}: run failed: ${r.stderr}`);
  };
  for (const e of live) await once(e); // warm-up
  for (let i = 0; i < RUNS; i++) for (const e of live) times.get(e.name)!.push(await timeIt(() => once(e)));
  const of = (n: string) => (times.get(n)?.length ? stats(times.get(n)!) : none);
  return { berth: of('berth'), dockerd: of('dockerd') };
}

const now = () => performance.timeOrigin + performance.now();

/** Runs `docker run --rm` RUNS times on berth and prints the median offset of each traced step from the CLI's start. */
async function profile(e: Engine, traceFile: string): Promise<void> {
  const windows: [number, number][] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = now();
    const r = await e.docker(['run', '--rm', BENCH_IMAGE, 'true']);
    if (r.code !== 0) throw new Error(`berth: run failed: ${r.stderr}`);
    windows.push([t0, now()]);
  }
  const lines = fs
    .readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [t, id, ...step] = l.split(' ');
      const text = step.join(' ');
      // requests: no API version, query or ids, so the same step has the same label in every run
      const label = id === 'http' ? text.replace(/\/v1\.\d+/, '').replace(/\?\S*/, '').replace(/[0-9a-f]{64}/, '{id}').replace(/ \d{3}$/, (m) => m) : text;
      return { t: Number(t), id, label };
    });
  const offsets = new Map<string, number[]>();
  const add = (label: string, v: number) => (offsets.get(label) ?? offsets.set(label, []).get(label)!).push(v);
  for (const [t0, t1] of windows) {
    const seen = new Set<string>();
    // this run's container: work left over from the run before (a `runc delete` the removal did not wait for)
    // may land in this window and is not this run's
    const own = lines.find((l) => l.t >= t0 && l.t <= t1 && l.label === 'create: image resolved')?.id;
    for (const l of lines) {
      if (l.t < t0 || l.t > t1 || seen.has(l.label) || (l.id !== 'http' && l.id !== own)) continue;
      seen.add(l.label);
      add(l.label, l.t - t0);
    }
    add('docker CLI exited', t1 - t0);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const steps = [...offsets].filter(([, v]) => v.length * 2 > RUNS).map(([label, v]) => ({ label, at: med(v) })).sort((a, b) => a.at - b.at);
  console.log(`\nberth: docker run --rm busybox true, default bridge — median offset of each step from the docker CLI's start (${RUNS} runs, load ${os.loadavg()[0].toFixed(1)})`);
  let prev = 0;
  for (const s of steps) {
    console.log(`  ${s.at.toFixed(1).padStart(7)} ms  (+${(s.at - prev).toFixed(1).padStart(5)})  ${s.label}`);
    prev = s.at;
  }
}

async function parallelStart(e: Engine): Promise<number> {
  const names = Array.from({ length: PARALLEL }, (_, i) => `bench-par-${i}`);
  const ms = await timeIt(() => Promise.all(names.map((n) => e.docker(['run', '-d', '--network', 'none', '--name', n, BENCH_IMAGE, 'sleep', '60']))));
  await e.docker(['rm', '-f', ...names]);
  return ms;
}

async function main(): Promise<void> {
  const { tar, cleanup } = benchRootfsTar();
  const traceFile = path.join(os.tmpdir(), `berth-bench-trace-${process.pid}.txt`);
  process.env.BERTH_TRACE_FILE = traceFile;
  const berth = await startBerth(tar);
  delete process.env.BERTH_TRACE_FILE;
  // BENCH_PROFILE_ONLY=1: berth's profile alone (quick, for work on the start path); no dockerd, no table rows.
  const profileOnly = Boolean(process.env.BENCH_PROFILE_ONLY);
  const dockerd = profileOnly ? undefined : await startDockerd(tar);
  try {
    if (profileOnly) return await profile(berth, traceFile);
    const idle = { berth: engineRssMb(berth), dockerd: dockerd ? engineRssMb(dockerd) : NaN };
    const lat = await runLatency([berth, dockerd], 'bridge');
    const latNone = await runLatency([berth, dockerd], 'none');
    const par = { berth: await parallelStart(berth), dockerd: dockerd ? await parallelStart(dockerd) : NaN };
    const lrow = (name: string, v: { berth: Stats; dockerd: Stats }, goal?: number) => ({
      name, unit: 'ms', runs: RUNS, berth: v.berth.median, dockerd: v.dockerd.median,
      berthRange: [v.berth.min, v.berth.max] as [number, number], dockerdRange: [v.dockerd.min, v.dockerd.max] as [number, number],
      ...(goal ? { goal: `≤ ${goal}`, goalRatio: goal } : {}),
    });
    await profile(berth, traceFile);
    record('run', [
      { name: 'idle daemon RSS (fresh start)', unit: 'MB', berth: idle.berth, dockerd: idle.dockerd },
      lrow('docker run --rm busybox true, default bridge', lat, 0.25),
      lrow('docker run --rm busybox true, --network none', latNone, 0.25),
      { name: `${PARALLEL} × docker run -d in parallel`, unit: 'ms', berth: par.berth, dockerd: par.dockerd },
    ]);
  } finally {
    await berth.stop();
    await dockerd?.stop();
    fs.rmSync(traceFile, { force: true });
    cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
