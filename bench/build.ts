/**
 * `docker build` on berth vs dockerd's classic builder, side by side through the same docker CLI
 * (DOCKER_BUILDKIT=0 → `POST /build` on both), in one run:
 *
 * 1. cold multi-stage build: two independent stages that each work ~1 s, then a final stage copying from both
 *    (`--no-cache`); berth runs the two stages at once, the classic builder one after the other (goal ≤ 0.6×);
 * 2. cached rebuild of a 5-step Dockerfile (every step a cache hit; goal ≤ 0.5×);
 * 3. a context of 10k small files (COPY . /ctx; `--no-cache`; goal ≤ 0.5×).
 *
 * Each case runs BENCH_RUNS times per engine (median). Prints the medians and berth ÷ dockerd; never asserts on time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_IMAGE, benchRootfsTar, median, startBerth, startDockerd, timeIt, type Engine } from './engines.js';
import { record } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FILES = Number(process.env.BENCH_BUILD_FILES ?? 10_000);

function write(dir: string, files: Record<string, string>): string {
  for (const [f, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), body);
  }
  return dir;
}

async function build(e: Engine, args: string[]): Promise<void> {
  const r = await e.docker(['build', ...args]);
  if (r.code !== 0) throw new Error(`${e.name}: build failed: ${r.stderr}\n${r.stdout}`);
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-build-'));
  const rootfs = benchRootfsTar();
  // the docker CLI reads DOCKER_BUILDKIT from the environment: classic builder against both engines
  process.env.DOCKER_BUILDKIT = '0';
  const multi = write(path.join(work, 'multi'), {
    Dockerfile: [
      `FROM ${BENCH_IMAGE} AS a`,
      'RUN sleep 1 && echo a > /a',
      `FROM ${BENCH_IMAGE} AS b`,
      'RUN sleep 1 && echo b > /b',
      `FROM ${BENCH_IMAGE}`,
      'COPY --from=a /a /a',
      'COPY --from=b /b /b',
      '',
    ].join('\n'),
  });
  const five = write(path.join(work, 'five'), {
    Dockerfile: [`FROM ${BENCH_IMAGE}`, 'ENV A=1', 'COPY f.txt /f.txt', 'RUN echo built > /b', 'WORKDIR /app', 'CMD ["cat", "/b"]', ''].join('\n'),
    'f.txt': 'x\n',
  });
  const many = path.join(work, 'many');
  const files: Record<string, string> = { Dockerfile: `FROM ${BENCH_IMAGE}\nCOPY . /ctx/\n` };
  for (let i = 0; i < FILES; i++) files[`d${i % 100}/f${i}.txt`] = `file ${i}\n`;
  write(many, files);

  const engines: Engine[] = [await startBerth(rootfs.tar)];
  const dk = await startDockerd(rootfs.tar);
  if (dk) engines.push(dk);
  else console.log('dockerd is not available: berth numbers only');
  const results: Record<string, Record<string, number>> = {};
  try {
    for (const e of engines) {
      const r: Record<string, number> = {};
      const cold: number[] = [];
      for (let i = 0; i < RUNS; i++) cold.push(await timeIt(() => build(e, ['--no-cache', '-t', 'bench/multi:1', multi])));
      r['cold multi-stage (2 parallel stages)'] = median(cold);
      await build(e, ['-t', 'bench/five:1', five]);
      const cached: number[] = [];
      for (let i = 0; i < RUNS; i++) cached.push(await timeIt(() => build(e, ['-t', 'bench/five:1', five])));
      r['cached rebuild, 5 steps'] = median(cached);
      const ctx: number[] = [];
      for (let i = 0; i < RUNS; i++) ctx.push(await timeIt(() => build(e, ['--no-cache', '-t', 'bench/many:1', many])));
      r[`context of ${FILES} small files`] = median(ctx);
      results[e.name] = r;
    }
  } finally {
    for (const e of engines) await e.stop().catch(() => {});
    rootfs.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`build benchmark (median of ${RUNS}, ms)`);
  for (const k of Object.keys(results.berth!)) {
    const b = results.berth![k]!;
    const dd = results.dockerd?.[k];
    console.log(`  ${k.padEnd(40)} berth ${b.toFixed(0).padStart(6)}  dockerd ${dd === undefined ? '     -' : dd.toFixed(0).padStart(6)}  ratio ${dd ? (b / dd).toFixed(2) : '-'}`);
  }
  const goals: Record<string, number> = { 'cold multi-stage (2 parallel stages)': 0.6, 'cached rebuild, 5 steps': 0.5, [`context of ${FILES} small files`]: 0.5 };
  record(
    'build',
    Object.keys(results.berth!).map((k) => ({ name: `docker build: ${k}`, unit: 'ms', runs: RUNS, berth: results.berth![k]!, dockerd: results.dockerd?.[k], goal: `≤ ${goals[k]}`, goalRatio: goals[k] })),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
