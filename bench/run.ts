/**
 * Container start benchmarks, berth vs dockerd side by side with the same docker CLI:
 * - `docker run --rm <busybox> true` latency (median and range of N, the engines alternating),
 * - 50 containers started in parallel (`docker run -d` ×50, then removed),
 * - idle daemon RSS.
 * Records the rows for the table of `npm run bench` (bench/report.ts). Never asserts on time.
 */
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

async function parallelStart(e: Engine): Promise<number> {
  const names = Array.from({ length: PARALLEL }, (_, i) => `bench-par-${i}`);
  const ms = await timeIt(() => Promise.all(names.map((n) => e.docker(['run', '-d', '--network', 'none', '--name', n, BENCH_IMAGE, 'sleep', '60']))));
  await e.docker(['rm', '-f', ...names]);
  return ms;
}

async function main(): Promise<void> {
  const { tar, cleanup } = benchRootfsTar();
  const berth = await startBerth(tar);
  const dockerd = await startDockerd(tar);
  try {
    const idle = { berth: engineRssMb(berth), dockerd: dockerd ? engineRssMb(dockerd) : NaN };
    const lat = await runLatency([berth, dockerd], 'bridge');
    const latNone = await runLatency([berth, dockerd], 'none');
    const par = { berth: await parallelStart(berth), dockerd: dockerd ? await parallelStart(dockerd) : NaN };
    const lrow = (name: string, v: { berth: Stats; dockerd: Stats }, goal?: number) => ({
      name, unit: 'ms', runs: RUNS, berth: v.berth.median, dockerd: v.dockerd.median,
      berthRange: [v.berth.min, v.berth.max] as [number, number], dockerdRange: [v.dockerd.min, v.dockerd.max] as [number, number],
      ...(goal ? { goal: `≤ ${goal}`, goalRatio: goal } : {}),
    });
    record('run', [
      { name: 'idle daemon RSS (fresh start)', unit: 'MB', berth: idle.berth, dockerd: idle.dockerd },
      lrow('docker run --rm busybox true, default bridge', lat, 0.25),
      lrow('docker run --rm busybox true, --network none', latNone, 0.25),
      { name: `${PARALLEL} × docker run -d in parallel`, unit: 'ms', berth: par.berth, dockerd: par.dockerd },
    ]);
  } finally {
    await berth.stop();
    await dockerd?.stop();
    cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
