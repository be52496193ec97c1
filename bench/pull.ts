/**
 * `docker pull` of a ~200 MB one-layer image from a local Debian docker-registry, berth vs dockerd side by side
 * through the same docker CLI in one run, plus the physical floor on the same blob: downloading it, `gzip -dc` to
 * /dev/null, and `tar -xzf` into a directory on the same disk. Runs are interleaved (berth, dockerd, floor) so load
 * changes hit all alike; between runs the image is removed and `sync` run, so every pull downloads and extracts again.
 * Prints medians, ranges and the ratios berth ÷ dockerd and berth ÷ tar -xzf. Never asserts on time.
 *
 * BENCH_RUNS (default 3), BENCH_PULL_MB (default 200: the uncompressed layer).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestRegistries } from '../test/registry.js';
import { benchRootfsTar, Engine, median, startBerth, startDockerd, timeIt } from './engines.js';
import { record, stats } from './report.js';
import { gzipFile, hostLayerTar, loadAvg, pushOneLayerImage } from './fixtures/layer.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TARGET_MB = Number(process.env.BENCH_PULL_MB ?? 200);

async function pullOnce(e: Engine, image: string): Promise<number> {
  const ms = await timeIt(async () => {
    const r = await e.docker(['pull', '-q', image]);
    if (r.code !== 0) throw new Error(`${e.name}: pull failed: ${r.stderr}`);
  });
  const rm = await e.docker(['rmi', image]);
  if (rm.code !== 0) throw new Error(`${e.name}: rmi failed: ${rm.stderr}`);
  execFileSync('sync');
  return ms;
}

function sh(script: string, ...args: string[]): void {
  execFileSync('sh', ['-c', script, 'sh', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function downloadOnce(registry: string, repo: string, blob: string): Promise<number> {
  return timeIt(async () => {
    const r = await fetch(`http://${registry}/v2/${repo}/blobs/${blob}`);
    if (!r.ok || !r.body) throw new Error(`blob fetch ${r.status}`);
    const reader = r.body.getReader();
    while (!(await reader.read()).done);
  });
}

function fmt(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${median(xs).toFixed(0).padStart(6)} ms  (${s[0]!.toFixed(0)}–${s[s.length - 1]!.toFixed(0)})`;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-pull-'));
  const rootfs = benchRootfsTar();
  const regs = new TestRegistries(work);
  let berth: Engine | undefined;
  let dockerd: Engine | undefined;
  try {
    const tar = hostLayerTar(work, TARGET_MB);
    const gz = gzipFile(tar);
    const tarMB = fs.statSync(tar).size / 1e6;
    const gzMB = fs.statSync(gz).size / 1e6;
    fs.rmSync(tar);
    const registry = await regs.start('reg');
    const repo = 'bench/big';
    // pushOneLayerImage needs the tar for the diffID: recreate it from the gz cheaply
    sh('gzip -dc "$1" > "$2"', gz, tar);
    const blob = await pushOneLayerImage(registry, repo, '1', tar, gz);
    fs.rmSync(tar);
    const image = `${registry}/${repo}:1`;
    process.stdout.write(`layer: ${tarMB.toFixed(0)} MB tar, ${gzMB.toFixed(0)} MB gzip; ${RUNS} runs each; load ${loadAvg()}\n`);
    berth = await startBerth(rootfs.tar);
    dockerd = await startDockerd(rootfs.tar);
    const t = { berth: [] as number[], dockerd: [] as number[], dl: [] as number[], gunzip: [] as number[], tarx: [] as number[] };
    const scratch = path.join(work, 'x');
    // warm the registry's blob into the page cache (as it is for every later run)
    await downloadOnce(registry, repo, blob);
    for (let i = 0; i < RUNS; i++) {
      t.berth.push(await pullOnce(berth, image));
      if (dockerd) t.dockerd.push(await pullOnce(dockerd, image));
      t.dl.push(await downloadOnce(registry, repo, blob));
      t.gunzip.push(await timeIt(async () => sh('gzip -dc "$1" > /dev/null', gz)));
      fs.mkdirSync(scratch);
      t.tarx.push(await timeIt(async () => sh('tar -xzf "$1" -C "$2"', gz, scratch)));
      fs.rmSync(scratch, { recursive: true, force: true });
      execFileSync('sync');
    }
    const out = (name: string, xs: number[]) => process.stdout.write(`${name.padEnd(26)} ${fmt(xs)}\n`);
    out('berth   docker pull', t.berth);
    if (dockerd) out('dockerd docker pull', t.dockerd);
    out('floor: download blob', t.dl);
    out('floor: gzip -dc', t.gunzip);
    out('floor: tar -xzf', t.tarx);
    const mb = median(t.berth);
    if (dockerd) process.stdout.write(`ratio berth/dockerd:  ${(mb / median(t.dockerd)).toFixed(2)} (goal ≤ 0.70)\n`);
    else process.stdout.write('dockerd not available: no ratio\n');
    process.stdout.write(`ratio berth/tar -xzf: ${(mb / median(t.tarx)).toFixed(2)} (goal ≤ 1.50)\n`);
    const range = (xs: number[]): [number, number] => [stats(xs).min, stats(xs).max];
    const what = `${tarMB.toFixed(0)} MB one-layer image (${gzMB.toFixed(0)} MB gzip)`;
    record('pull', [
      { name: `docker pull of a ${what} from a local registry`, unit: 'ms', runs: RUNS, berth: mb, berthRange: range(t.berth), dockerd: dockerd ? median(t.dockerd) : undefined, dockerdRange: dockerd ? range(t.dockerd) : undefined, goal: '≤ 0.7', goalRatio: 0.7 },
      { name: 'docker pull ÷ the tar -xzf floor on the same blob (dockerd column: tar -xzf)', unit: 'ms', runs: RUNS, berth: mb, berthRange: range(t.berth), dockerd: median(t.tarx), dockerdRange: range(t.tarx), goal: '≤ 1.5', goalRatio: 1.5 },
      { name: 'floor: download of the blob / gzip -dc (dockerd column: gzip -dc)', unit: 'ms', runs: RUNS, berth: median(t.dl), berthRange: range(t.dl), dockerd: median(t.gunzip), dockerdRange: range(t.gunzip) },
    ]);
    process.stdout.write(`load at end: ${loadAvg()}\n`);
  } finally {
    await berth?.stop();
    await dockerd?.stop();
    await regs.stopAll();
    rootfs.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
