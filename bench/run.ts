/**
 * Container start benchmarks, berth vs dockerd side by side with the same docker CLI:
 * - `docker run --rm <busybox> true` latency (median of N),
 * - 50 containers started in parallel (`docker run -d` ×50, then removed),
 * - idle daemon RSS.
 * Prints ratios berth ÷ dockerd. Never asserts on time.
 */
import { BENCH_IMAGE, benchRootfsTar, Engine, engineRssMb, median, startBerth, startDockerd, timeIt } from './engines.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 50);

async function runLatency(e: Engine, network: string): Promise<number> {
  const times: number[] = [];
  await e.docker(['run', '--rm', '--network', network, BENCH_IMAGE, 'true']); // warm-up
  for (let i = 0; i < RUNS; i++) {
    const ms = await timeIt(async () => {
      const r = await e.docker(['run', '--rm', '--network', network, BENCH_IMAGE, 'true']);
      if (r.code !== 0) throw new Error(`${e.name}: run failed: ${r.stderr}`);
    });
    times.push(ms);
  }
  return median(times);
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
    const lat = { berth: await runLatency(berth, 'bridge'), dockerd: dockerd ? await runLatency(dockerd, 'bridge') : NaN };
    const latNone = { berth: await runLatency(berth, 'none'), dockerd: dockerd ? await runLatency(dockerd, 'none') : NaN };
    const par = { berth: await parallelStart(berth), dockerd: dockerd ? await parallelStart(dockerd) : NaN };
    const row = (name: string, unit: string, v: { berth: number; dockerd: number }) =>
      `${name.padEnd(38)} berth ${v.berth.toFixed(1).padStart(8)} ${unit}   dockerd ${v.dockerd.toFixed(1).padStart(8)} ${unit}   ratio ${(v.berth / v.dockerd).toFixed(2)}`;
    console.log(row('idle daemon RSS', 'MB', idle));
    console.log(row(`docker run --rm true, bridge (median ${RUNS})`, 'ms', lat));
    console.log(row(`docker run --rm true, none (median ${RUNS})`, 'ms', latNone));
    console.log(row(`${PARALLEL} × docker run -d in parallel`, 'ms', par));
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
