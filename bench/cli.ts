/**
 * CLI latency (issue 17 item 3): the same commands through `berth` and through the docker 28 CLI, both against the
 * same berthd, so the ratio is the CLI's own cost (start-up, module loading, request handling). berth runs as a user
 * runs it (`bin/berth …`); the two CLIs alternate run by run so the machine's load hits both alike. Records medians
 * and ranges, berth ÷ docker per command (goal ≤ 1.5 each), and the floor any Node CLI pays here: `node -e 0`, and
 * berth's own cost above it. Never asserts on time.
 */
import { execFile } from 'node:child_process';
import { BENCH_IMAGE, benchRootfsTar, startBerth, timeIt } from './engines.js';
import { berthBin, dockerBin } from '../test/harness.js';
import { BenchRow, record, stats } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);

function exec(bin: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 64 * 1024 * 1024, env }, (err, _stdout, stderr) => (err ? reject(new Error(`${bin} ${args.join(' ')}: ${stderr || err.message}`)) : resolve()));
  });
}

/** Times each [bin, args] RUNS times, alternating between them, after one warm-up each. */
async function alternate(cmds: [string, string[], NodeJS.ProcessEnv?][]): Promise<ReturnType<typeof stats>[]> {
  for (const [bin, args, env] of cmds) await exec(bin, args, env); // warm-up (page cache, daemon caches)
  const times: number[][] = cmds.map(() => []);
  for (let i = 0; i < RUNS; i++) for (const [k, [bin, args, env]] of cmds.entries()) times[k].push(await timeIt(() => exec(bin, args, env)));
  return times.map(stats);
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
    const host = ['-H', berthd.host];
    const rows: BenchRow[] = [];
    const fmt = (s: ReturnType<typeof stats>) => `${s.median.toFixed(1).padStart(7)} ms (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
    console.log(`CLI latency against one berthd (median of ${RUNS}, range), berth and docker alternating; node -e 0 alongside:`);
    for (const [name, args] of cases) {
      const [b, d, floor] = await alternate([
        [berthBin, [...host, ...args]],
        [dockerBin, [...host, ...args]],
        // the floor as bin/berth starts Node: without NODE_EXTRA_CA_CERTS (see bin/berth)
        [process.execPath, ['-e', '0'], { ...process.env, NODE_EXTRA_CA_CERTS: '' }],
      ]);
      console.log(`${`berth ${name}`.padEnd(20)} berth ${fmt(b)}   docker ${fmt(d)}   ratio ${(b.median / d.median).toFixed(2)}   node -e 0 ${fmt(floor)}`);
      rows.push({
        name: `CLI: berth ${name} vs docker ${name}, one berthd`,
        unit: 'ms',
        runs: RUNS,
        berth: b.median,
        berthRange: [b.min, b.max],
        dockerd: d.median,
        dockerdRange: [d.min, d.max],
        goal: '≤ 1.5',
        goalRatio: 1.5,
        note: `node -e 0 ${floor.median.toFixed(0)} ms beside it, berth − node ${(b.median - floor.median).toFixed(0)} ms`,
      });
    }
    record('cli', rows);
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
