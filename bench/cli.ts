/**
 * CLI latency (issue 17 item 3): the same commands through `berth` and through the docker 28 CLI, both against the
 * same berthd, so the ratio is the CLI's own cost (start-up, module loading, request handling). Prints medians and
 * berth ÷ docker per command; the goal is ≤ 1.5 each. Never asserts on time.
 */
import { execFile } from 'node:child_process';
import { BENCH_IMAGE, benchRootfsTar, median, startBerth, timeIt } from './engines.js';
import { berthBin, dockerBin } from '../test/harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);

function exec(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 64 * 1024 * 1024 }, (err, _stdout, stderr) => (err ? reject(new Error(`${bin} ${args.join(' ')}: ${stderr || err.message}`)) : resolve()));
  });
}

async function medianOf(bin: string, args: string[]): Promise<number> {
  await exec(bin, args); // warm-up (page cache, daemon caches)
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timeIt(() => exec(bin, args)));
  return median(times);
}

async function main(): Promise<void> {
  const { tar, cleanup } = benchRootfsTar();
  const berthd = await startBerth(tar);
  try {
    await berthd.docker(['run', '-d', '--name', 'bench-cli', BENCH_IMAGE, 'sleep', '600']);
    const cases: [string, string[]][] = [
      ['ps', ['ps']],
      ['images', ['images']],
      ['inspect', ['inspect', 'bench-cli']],
      ['version', ['version']],
      ['run --rm true', ['run', '--rm', '--network', 'none', BENCH_IMAGE, 'true']],
    ];
    console.log(`CLI latency against one berthd (median of ${RUNS}):`);
    for (const [name, args] of cases) {
      const host = ['-H', berthd.host];
      const berth = await medianOf(process.execPath, [berthBin, ...host, ...args]);
      const docker = await medianOf(dockerBin, [...host, ...args]);
      console.log(`${`berth ${name}`.padEnd(24)} berth ${berth.toFixed(1).padStart(7)} ms   docker ${docker.toFixed(1).padStart(7)} ms   ratio ${(berth / docker).toFixed(2)}`);
    }
    // The floor for any Node CLI on this machine: starting Node and doing nothing.
    const floor = await medianOf(process.execPath, ['-e', '0']);
    console.log(`${'node -e 0 (floor)'.padEnd(24)} node  ${floor.toFixed(1).padStart(7)} ms`);
    await berthd.docker(['rm', '-f', 'bench-cli']);
  } finally {
    await berthd.stop();
    cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
