/**
 * berthd's memory: RSS fresh, peak during a ~200 MB one-layer pull and a ~200 MB load, idle RSS within 30 s after
 * that work and 100 `docker run --rm`, and a leak check over BENCH_LEAK_RUNS (default 1000) sequential runs (RSS
 * at each tenth, busy and after berthd's idle release; growth of the retained RSS from the first tenth to the last).
 * dockerd (+ its containerd) is measured beside it for the same pull, load and runs. Goals (issue 17 item 4): idle
 * ≤ 60 MB within 30 s, pull peak ≤ 100 MB, no growth. Never asserts.
 * BENCH_PULL_MB (200), BENCH_WORK_RUNS (100), BENCH_LEAK_RUNS (1000).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestRegistries } from '../test/registry.js';
import { BENCH_IMAGE, benchRootfsTar, Engine, engineRssMb, startBerth, startDockerd } from './engines.js';
import { record } from './report.js';
import { gzipFile, hostLayerTar, loadAvg, pushOneLayerImage, sha256File } from './fixtures/layer.js';

const TARGET_MB = Number(process.env.BENCH_PULL_MB ?? 200);
const WORK_RUNS = Number(process.env.BENCH_WORK_RUNS ?? 100);
const LEAK_RUNS = Number(process.env.BENCH_LEAK_RUNS ?? 1000);
const LOAD_TAG = 'bench/rssload:1';

/** Runs `fn` while sampling the engine's RSS every 25 ms; resolves with the peak (MB). */
async function peakDuring(e: Engine, fn: () => Promise<unknown>): Promise<number> {
  let peak = engineRssMb(e);
  const t = setInterval(() => {
    peak = Math.max(peak, engineRssMb(e));
  }, 25);
  try {
    await fn();
  } finally {
    clearInterval(t);
  }
  return Math.max(peak, engineRssMb(e));
}

async function ok(e: Engine, args: string[]): Promise<void> {
  const r = await e.docker(args);
  if (r.code !== 0) throw new Error(`${e.name}: docker ${args.join(' ')}: ${r.stderr}`);
}

/** RSS samples for `ms` after work ends: the lowest and the last (MB). */
async function idleAfter(e: Engine, ms: number): Promise<{ min: number; last: number }> {
  let min = Infinity;
  let last = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    last = engineRssMb(e);
    min = Math.min(min, last);
    await new Promise((r) => setTimeout(r, 500));
  }
  return { min, last };
}

/** A docker-save archive of one layer (the pull's tar) named LOAD_TAG. */
function saveArchive(dir: string, tar: string): string {
  const stage = path.join(dir, 'stage');
  fs.mkdirSync(path.join(stage, 'blobs', 'sha256'), { recursive: true });
  const h = sha256File(tar);
  fs.renameSync(tar, path.join(stage, 'blobs', 'sha256', h));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${h}`] }, history: [{ created: '2024-01-01T00:00:00Z' }] }));
  const ch = createHash('sha256').update(config).digest('hex');
  fs.writeFileSync(path.join(stage, 'blobs', 'sha256', ch), config);
  fs.writeFileSync(path.join(stage, 'manifest.json'), JSON.stringify([{ Config: `blobs/sha256/${ch}`, RepoTags: [LOAD_TAG], Layers: [`blobs/sha256/${h}`] }]));
  const out = path.join(dir, 'image.tar');
  execFileSync('tar', ['-C', stage, '-cf', out, '.']);
  fs.rmSync(stage, { recursive: true, force: true });
  return out;
}

interface Figures {
  fresh: number;
  pullPeak: number;
  loadPeak: number;
  runsPeak: number;
  idle: { min: number; last: number };
}

async function work(e: Engine, image: string, archive: string): Promise<Figures> {
  const fresh = engineRssMb(e);
  const pullPeak = await peakDuring(e, () => ok(e, ['pull', '-q', image]));
  const loadPeak = await peakDuring(e, () => ok(e, ['load', '-q', '-i', archive]));
  const runsPeak = await peakDuring(e, async () => {
    for (let i = 0; i < WORK_RUNS; i++) await ok(e, ['run', '--rm', '--network', 'none', BENCH_IMAGE, 'true']);
  });
  await ok(e, ['rmi', image, LOAD_TAG]);
  const idle = await idleAfter(e, 30_000);
  return { fresh, pullPeak, loadPeak, runsPeak, idle };
}

/**
 * RSS at each tenth of LEAK_RUNS sequential runs, twice: `busy` right after the run (it swings with garbage not yet
 * collected and the once-a-minute release under constant activity) and `retained` after a pause long enough for
 * berthd's idle release (IdleTrimmer: 2 s quiet; sampled at 3 s) — what the daemon keeps, which is what a leak grows.
 */
async function leakCheck(e: Engine): Promise<{ busy: number[]; retained: number[] }> {
  const step = Math.max(1, Math.floor(LEAK_RUNS / 10));
  const busy: number[] = [];
  const retained: number[] = [];
  for (let i = 1; i <= LEAK_RUNS; i++) {
    await ok(e, ['run', '--rm', '--network', 'none', BENCH_IMAGE, 'true']);
    if (i % step === 0) {
      busy.push(engineRssMb(e));
      await new Promise((r) => setTimeout(r, 3000));
      retained.push(engineRssMb(e));
    }
  }
  return { busy, retained };
}

async function main(): Promise<void> {
  const work0 = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-rss-'));
  const rootfs = benchRootfsTar();
  const regs = new TestRegistries(work0);
  let berth: Engine | undefined;
  let dockerd: Engine | undefined;
  try {
    const tar = hostLayerTar(work0, TARGET_MB);
    const gz = gzipFile(tar);
    const registry = await regs.start('reg');
    await pushOneLayerImage(registry, 'bench/rss', '1', tar, gz);
    fs.rmSync(gz);
    const archive = saveArchive(work0, tar);
    const image = `${registry}/bench/rss:1`;
    process.stdout.write(`pull/load of a ${TARGET_MB} MB one-layer image, ${WORK_RUNS} runs, leak check ${LEAK_RUNS} runs; load ${loadAvg()}\n`);
    berth = await startBerth(rootfs.tar);
    dockerd = await startDockerd(rootfs.tar);
    const b = await work(berth, image, archive);
    const d = dockerd ? await work(dockerd, image, archive) : undefined;
    const row = (name: string, f: (x: Figures) => number, goal = '') =>
      process.stdout.write(`${name.padEnd(34)} berth ${f(b).toFixed(0).padStart(5)} MB   dockerd ${d ? f(d).toFixed(0).padStart(5) : '    -'} MB${goal}\n`);
    row('RSS fresh', (x) => x.fresh);
    row(`RSS peak during pull`, (x) => x.pullPeak, '   (goal berth ≤ 100)');
    row(`RSS peak during load`, (x) => x.loadPeak);
    row(`RSS peak during ${WORK_RUNS} runs`, (x) => x.runsPeak);
    row('RSS idle, lowest within 30 s after', (x) => x.idle.min, '   (goal berth ≤ 60)');
    row('RSS idle, 30 s after', (x) => x.idle.last);
    const rows = [
      { name: 'berthd RSS fresh', unit: 'MB', berth: b.fresh, dockerd: d?.fresh },
      { name: `RSS peak during the ${TARGET_MB} MB pull`, unit: 'MB', berth: b.pullPeak, dockerd: d?.pullPeak, goal: 'berth ≤ 100 MB' },
      { name: `RSS peak during the ${TARGET_MB} MB load`, unit: 'MB', berth: b.loadPeak, dockerd: d?.loadPeak },
      { name: `RSS idle within 30 s after pull, load and ${WORK_RUNS} runs (lowest–last)`, unit: 'MB', berth: b.idle.min, berthRange: [b.idle.min, b.idle.last] as [number, number], dockerd: d?.idle.min, dockerdRange: d ? ([d.idle.min, d.idle.last] as [number, number]) : undefined, goal: 'berth ≤ 60 MB' },
    ];
    if (LEAK_RUNS > 0) {
      const { busy, retained } = await leakCheck(berth);
      const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
      process.stdout.write(`leak check: berth RSS after each ${LEAK_RUNS / 10} of ${LEAK_RUNS} runs: busy ${list(busy)} MB; retained (3 s later) ${list(retained)} MB\n`);
      const growth = retained[retained.length - 1]! - retained[0]!;
      process.stdout.write(`leak check: retained growth from the first to the last tenth: ${growth.toFixed(1)} MB (goal ≈ 0)\n`);
      rows.push({ name: `leak check: berthd retained RSS growth from run ${LEAK_RUNS / 10} to run ${LEAK_RUNS} (retained ${list(retained)}; busy ${list(busy)})`, unit: 'MB', berth: growth, dockerd: undefined, goal: '≈ 0' });
    }
    record('rss', rows);
    process.stdout.write(`load at end: ${loadAvg()}\n`);
  } finally {
    await berth?.stop();
    await dockerd?.stop();
    await regs.stopAll();
    rootfs.cleanup();
    fs.rmSync(work0, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
