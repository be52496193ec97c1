/**
 * The cost of network set-up: `docker run --rm <busybox> true` with the default bridge vs `--network none`, berth and
 * dockerd side by side through the same docker CLI. Prints medians, the bridge−none difference per engine, and the
 * berth ÷ dockerd ratios. Never asserts on time.
 *
 * dockerd runs on its own temp root with `--iptables=false` and `--bridge=<a bridge this script makes>` (named
 * berthcmp<hex>, on a free subnet), so it never touches docker0 or the host's firewall; everything it made is
 * removed at the end. When dockerd cannot start, only berth's figures are printed.
 */
import { BENCH_IMAGE, benchRootfsTar, Engine, median, startBerth, startDockerd, timeIt } from './engines.js';
import { record } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);

async function latency(e: Engine, network: string): Promise<number> {
  const once = async () => {
    const r = await e.docker(['run', '--rm', '--network', network, BENCH_IMAGE, 'true']);
    if (r.code !== 0) throw new Error(`${e.name} --network ${network}: ${r.stderr}`);
  };
  await once(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timeIt(once));
  return median(times);
}

async function main(): Promise<void> {
  const { tar, cleanup } = benchRootfsTar();
  const berth = await startBerth(tar);
  let dockerd: Engine | undefined;
  try {
    dockerd = await startDockerd(tar).catch((e) => {
      process.stderr.write(`dockerd skipped: ${(e as Error).message}\n`);
      return undefined;
    });
    const res: Record<string, { bridge: number; none: number }> = {};
    for (const e of [berth, dockerd]) {
      if (!e) continue;
      // Interleave so that machine noise hits both modes alike.
      const none = await latency(e, 'none');
      const bridge = await latency(e, 'bridge');
      res[e.name] = { bridge, none };
    }
    const f = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'n/a');
    console.log(`network set-up cost: docker run --rm busybox true, median of ${RUNS}`);
    console.log(`engine    none        bridge      bridge-none`);
    for (const [name, r] of Object.entries(res)) console.log(`${name.padEnd(9)} ${f(r.none).padEnd(11)} ${f(r.bridge).padEnd(11)} ${f(r.bridge - r.none)}`);
    if (res.berth && res.dockerd) {
      console.log(`ratio berth/dockerd: none ${(res.berth.none / res.dockerd.none).toFixed(2)}x, bridge ${(res.berth.bridge / res.dockerd.bridge).toFixed(2)}x, ` +
        `bridge cost ${((res.berth.bridge - res.berth.none) / (res.dockerd.bridge - res.dockerd.none)).toFixed(2)}x`);
    }
    const cost = res.berth.bridge - res.berth.none;
    console.log(`goal: berth bridge cost < 20 ms over none → ${cost < 20 ? 'met' : 'not met'}`);
    record('network', [
      {
        name: 'bridge set-up cost: docker run --rm true, default bridge − --network none',
        unit: 'ms',
        runs: RUNS,
        berth: cost,
        dockerd: res.dockerd ? res.dockerd.bridge - res.dockerd.none : undefined,
        goal: `berth < 20 ms: ${cost < 20 ? 'met' : 'NOT met'}`,
      },
    ]);
  } finally {
    await dockerd?.stop();
    await berth.stop();
    cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
