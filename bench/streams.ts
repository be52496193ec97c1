/**
 * Stream throughput: `docker run --rm busybox sh -c 'yes … | head -c 1G' | wc -c` and the same through `docker exec`,
 * berth and dockerd side by side through the same docker CLI. Prints MB/s (median of BENCH_RUNS) and the
 * berth ÷ dockerd throughput ratios (goal ≥ 1), and the time of `docker logs --tail 10` on the log of a container
 * that printed those bytes (goal < 50 ms: read from the end). Never asserts on time.
 *
 * Both engines write every byte of an attached `run` to their json-file log too, so that path measures the log as
 * well; `exec` output is not logged (as in Docker) and measures the stream alone.
 */
import { spawn } from 'node:child_process';
import { dockerBin } from '../test/harness.js';
import { BENCH_IMAGE, benchRootfsTar, Engine, median, startBerth, startDockerd, timeIt } from './engines.js';
import { record } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BYTES = Number(process.env.BENCH_STREAM_BYTES ?? 1_000_000_000);
const SCRIPT = `yes 0123456789012345678901234567890123456789 | head -c ${BYTES}`;

/** Seconds for the CLI to deliver all BYTES to a reader that counts them (wc -c). */
function pipeSeconds(e: Engine, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(dockerBin, args, { env: { ...process.env, DOCKER_HOST: e.host }, stdio: ['ignore', 'pipe', 'inherit'] });
    let n = 0;
    child.stdout.on('data', (b: Buffer) => (n += b.length));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || n !== BYTES) return reject(new Error(`${e.name} ${args[0]}: exit ${code}, ${n} of ${BYTES} bytes`));
      resolve(Number(process.hrtime.bigint() - t0) / 1e9);
    });
  });
}

async function throughput(e: Engine, args: string[]): Promise<number> {
  await pipeSeconds(e, args); // warm-up
  const mbps: number[] = [];
  for (let i = 0; i < RUNS; i++) mbps.push(BYTES / 1e6 / (await pipeSeconds(e, args)));
  return median(mbps);
}

/** Median time of `docker logs --tail 10` on the log of a container that printed BYTES. */
async function tailTime(e: Engine): Promise<number> {
  const r = await e.docker(['run', '-d', '--name', 'streams-log', BENCH_IMAGE, 'sh', '-c', SCRIPT]);
  if (r.code !== 0) throw new Error(`${e.name}: ${r.stderr}`);
  await e.docker(['wait', 'streams-log']);
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    times.push(
      await timeIt(async () => {
        const t = await e.docker(['logs', '--tail', '10', 'streams-log']);
        if (t.code !== 0 || t.stdout.split('\n').length < 10) throw new Error(`${e.name} logs --tail 10: ${t.stderr}`);
      }),
    );
  }
  return median(times.slice(1));
}

async function main(): Promise<void> {
  const { tar, cleanup } = benchRootfsTar();
  const berth = await startBerth(tar);
  let dockerd: Engine | undefined;
  try {
    dockerd = await startDockerd(tar, { bridge: true }).catch((e) => {
      process.stderr.write(`dockerd skipped: ${(e as Error).message}\n`);
      return undefined;
    });
    const res: Record<string, { run: number; exec: number; tailMs: number }> = {};
    for (const e of [berth, dockerd]) {
      if (!e) continue;
      const r = await e.docker(['run', '-d', '--name', 'streams-srv', BENCH_IMAGE, 'sleep', '3600']);
      if (r.code !== 0) throw new Error(`${e.name}: ${r.stderr}`);
      res[e.name] = {
        run: await throughput(e, ['run', '--rm', BENCH_IMAGE, 'sh', '-c', SCRIPT]),
        exec: await throughput(e, ['exec', 'streams-srv', 'sh', '-c', SCRIPT]),
        tailMs: await tailTime(e),
      };
      await e.docker(['rm', '-f', 'streams-srv', 'streams-log']);
    }
    const f = (x: number) => `${x.toFixed(0)} MB/s`;
    console.log(`stream throughput: ${BYTES / 1e6} MB through the docker CLI to wc -c, median of ${RUNS}`);
    console.log(`engine    run (logged)   exec           logs --tail 10`);
    for (const [name, r] of Object.entries(res)) console.log(`${name.padEnd(9)} ${f(r.run).padEnd(14)} ${f(r.exec).padEnd(14)} ${r.tailMs.toFixed(0)} ms`);
    if (res.berth && res.dockerd) {
      console.log(`ratio berth/dockerd throughput: run ${(res.berth.run / res.dockerd.run).toFixed(2)}x, exec ${(res.berth.exec / res.dockerd.exec).toFixed(2)}x (goal ≥ 1); ` +
        `logs --tail 10: ${(res.berth.tailMs / res.dockerd.tailMs).toFixed(2)}x the time (goal < 50 ms)`);
    }
    const d = res.dockerd;
    record('streams', [
      { name: `${BYTES / 1e6} MB through attached docker run | wc -c (json-file logged)`, unit: 'MB/s', runs: RUNS, berth: res.berth.run, dockerd: d?.run, goal: 'throughput ≥ dockerd', goalRatio: 1, higherIsBetter: true },
      { name: `${BYTES / 1e6} MB through docker exec | wc -c`, unit: 'MB/s', runs: RUNS, berth: res.berth.exec, dockerd: d?.exec, goal: 'throughput ≥ dockerd', goalRatio: 1, higherIsBetter: true },
      { name: `docker logs --tail 10 of a ${BYTES / 1e6} MB log`, unit: 'ms', runs: RUNS, berth: res.berth.tailMs, dockerd: d?.tailMs, goal: `< 50 ms: ${res.berth.tailMs < 50 ? 'met' : 'NOT met'}` },
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
