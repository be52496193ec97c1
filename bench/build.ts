/**
 * `docker build` on berth vs dockerd's classic builder, side by side through the same docker CLI
 * (DOCKER_BUILDKIT=0 → `POST /build` on both), in one run:
 *
 * 1. cold multi-stage build: two independent stages that each work ~1 s, then a final stage copying from both
 *    (`--no-cache`); berth runs the two stages at once, the classic builder one after the other (goal ≤ 0.6×);
 * 2. cached rebuild of a 5-step Dockerfile (every step a cache hit; goal ≤ 0.5×);
 * 3. a context of 10k small files (COPY . /ctx; `--no-cache`; goal ≤ 0.5×): the same files every run (berth finds
 *    the layer exists and writes no tree), then with one file changed before each round (a new layer each run).
 *
 * Each case runs BENCH_RUNS times per engine (median; the cached rebuild, being short, 3× as often), the engines taking
 * turns run by run so both see the same load on a shared machine. BENCH_BUILD_CASES=cold,cached,many picks cases.
 * Also printed: the docker CLI's own time for `docker build` of the 5-step context against a server that answers at
 * once (a floor both engines pay). Prints the medians and berth ÷ dockerd; never asserts on time.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BENCH_IMAGE, benchRootfsTar, median, startBerth, startDockerd, timeIt, type Engine } from './engines.js';
import { dockerBin, run } from '../test/harness.js';
import { record, stats } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FILES = Number(process.env.BENCH_BUILD_FILES ?? 10_000);
const CASES = new Set((process.env.BENCH_BUILD_CASES ?? 'cold,cached,many').split(','));

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
  const ranges: Record<string, Record<string, [number, number]>> = {};
  const counts: Record<string, number> = {};
  for (const e of engines) {
    results[e.name] = {};
    ranges[e.name] = {};
  }
  /** `runs` rounds, each engine once per round (so both see the same load); the median per engine. */
  const measure = async (label: string, runs: number, args: string[], beforeRound?: (round: number) => void) => {
    const times = new Map<string, number[]>(engines.map((e) => [e.name, []]));
    for (let i = 0; i < runs; i++) {
      beforeRound?.(i);
      for (const e of engines) times.get(e.name)!.push(await timeIt(() => build(e, args)));
    }
    for (const e of engines) {
      const st = stats(times.get(e.name)!);
      results[e.name]![label] = st.median;
      ranges[e.name]![label] = [st.min, st.max];
    }
    counts[label] = runs;
  };
  let floor: number | undefined;
  try {
    if (CASES.has('cold')) await measure('cold multi-stage (2 parallel stages)', RUNS, ['--no-cache', '-t', 'bench/multi:1', multi]);
    if (CASES.has('cached')) {
      for (const e of engines) await build(e, ['-t', 'bench/five:1', five]);
      await measure('cached rebuild, 5 steps', RUNS * 3, ['-t', 'bench/five:1', five]);
      floor = await cliFloor(five, RUNS * 3, work);
    }
    if (CASES.has('many')) {
      await measure(`context of ${FILES} small files`, RUNS, ['--no-cache', '-t', 'bench/many:1', many]);
      await measure(`context of ${FILES} small files, one changed per run`, RUNS, ['--no-cache', '-t', 'bench/many:1', many], (i) => fs.writeFileSync(path.join(many, 'd0', 'f0.txt'), `file 0, round ${i} at ${Date.now()}\n`));
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
  if (floor !== undefined) {
    const dd = results.dockerd?.['cached rebuild, 5 steps'];
    console.log(`  docker CLI alone (server answers at once) ${floor.toFixed(0).padStart(6)}${dd ? `  best possible cached ratio ${(floor / dd).toFixed(2)}` : ''}`);
  }
  const goals: Record<string, number> = { 'cold multi-stage (2 parallel stages)': 0.6, 'cached rebuild, 5 steps': 0.5, [`context of ${FILES} small files`]: 0.5, [`context of ${FILES} small files, one changed per run`]: 0.5 };
  record('build', [
    ...Object.keys(results.berth!).map((k) => ({
      name: `docker build: ${k}`,
      unit: 'ms',
      runs: counts[k],
      berth: results.berth![k]!,
      dockerd: results.dockerd?.[k],
      berthRange: ranges.berth![k],
      dockerdRange: ranges.dockerd?.[k],
      goal: `≤ ${goals[k]}`,
      goalRatio: goals[k],
    })),
    ...(floor !== undefined ? [{ name: 'docker build: the docker CLI alone, 5-step context (server answers at once)', unit: 'ms', runs: RUNS * 3, berth: floor, note: 'a floor both engines pay' }] : []),
  ]);
}

/**
 * The docker CLI's own cost of `docker build <dir>`: against a server that answers `/_ping` and `POST /build` at once
 * (it reads the context and replies with a finished build), median of `runs`.
 */
async function cliFloor(dir: string, runs: number, work: string): Promise<number> {
  const sock = path.join(work, 'floor.sock');
  const headers = { 'Api-Version': '1.47', Ostype: 'linux', 'Content-Type': 'application/json' };
  const srv = http.createServer((req, res) => {
    if (req.url?.endsWith('/_ping')) {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/plain' });
      res.end('OK');
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, headers);
      res.end(`{"aux":{"ID":"sha256:${'a'.repeat(64)}"}}\n{"stream":"Successfully built aaaaaaaaaaaa\\n"}\n`);
    });
  });
  await new Promise<void>((r) => srv.listen(sock, r));
  try {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      times.push(
        await timeIt(async () => {
          const r = await run(dockerBin, ['build', '-t', 'bench/five:1', dir], { env: { DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: path.join(work, 'floor-config') } });
          if (r.code !== 0) throw new Error(`docker CLI against the floor server: ${r.stderr}`);
        }),
      );
    }
    return median(times);
  } finally {
    srv.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
