/**
 * `docker load` of a ~200 MB image, berth vs dockerd side by side through the same docker CLI.
 *
 * The image is built locally (no network): one layer of host files near 200 MB (bench/fixtures/layer.ts: a Debian-like
 * mix of /usr/share and /usr/lib; plus the busybox rootfs as a base layer), written as a docker-save archive. Each engine loads it
 * BENCH_RUNS times (default 3; removing the image and letting GC run between runs so every load extracts again), the
 * engines alternating run by run; the median and the ratio berth ÷ dockerd are printed. Never asserts on time.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostLayerTar, loadAvg, sha256File } from './fixtures/layer.js';
import { benchRootfsTar, Engine, median, startBerth, startDockerd, timeIt } from './engines.js';
import { record, stats } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TARGET_MB = Number(process.env.BENCH_LOAD_MB ?? 200);
const TAG = 'bench/load:1';

/** One layer of about TARGET_MB of host files (fixtures/layer.ts) above the busybox rootfs, as a docker-save archive. */
function buildArchive(dir: string, baseLayer: string): string {
  const stage = path.join(dir, 'stage');
  fs.mkdirSync(path.join(stage, 'blobs', 'sha256'), { recursive: true });
  const layer = hostLayerTar(dir, TARGET_MB);
  const layers = [baseLayer, layer];
  const diffIDs = layers.map((l) => {
    const h = sha256File(l);
    fs.copyFileSync(l, path.join(stage, 'blobs', 'sha256', h));
    return `sha256:${h}`;
  });
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIDs }, history: [{ created: '2024-01-01T00:00:00Z' }, { created: '2024-01-01T00:00:00Z' }] }));
  const ch = createHash('sha256').update(config).digest('hex');
  fs.writeFileSync(path.join(stage, 'blobs', 'sha256', ch), config);
  fs.writeFileSync(path.join(stage, 'manifest.json'), JSON.stringify([{ Config: `blobs/sha256/${ch}`, RepoTags: [TAG], Layers: diffIDs.map((d) => `blobs/sha256/${d.slice(7)}`) }]));
  const out = path.join(dir, 'image.tar');
  execFileSync('tar', ['-C', stage, '-cf', out, '.']);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.rmSync(layer);
  return out;
}

/** One timed load; then the image is removed and the disk flushed, so no run pays for the one before. */
async function loadOnce(e: Engine, archive: string): Promise<number> {
  const ms = await timeIt(async () => {
    const r = await e.docker(['load', '-q', '-i', archive]);
    if (r.code !== 0) throw new Error(`${e.name}: load failed: ${r.stderr}`);
  });
  await e.docker(['rmi', TAG]);
  execFileSync('sync');
  return ms;
}

async function main(): Promise<void> {
  const rootfs = benchRootfsTar();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-load-'));
  const archive = buildArchive(dir, rootfs.tar);
  const mb = fs.statSync(archive).size / 1e6;
  process.stdout.write(`image archive: ${mb.toFixed(0)} MB, ${RUNS} runs each; load ${loadAvg()}\n`);
  const berth = await startBerth(rootfs.tar);
  const dockerd = await startDockerd(rootfs.tar);
  try {
    // warm the archive into the page cache first, so neither engine pays for reading it from disk
    execFileSync('cat', [archive], { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 1 << 30 });
    // the engines alternate run by run, so both see the same load from the rest of the machine
    const b: number[] = [];
    const d: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      b.push(await loadOnce(berth, archive));
      if (dockerd) d.push(await loadOnce(dockerd, archive));
    }
    process.stdout.write(`berth   load: median ${median(b).toFixed(0)} ms  (${b.map((x) => x.toFixed(0)).join(', ')})\n`);
    if (dockerd) {
      process.stdout.write(`dockerd load: median ${median(d).toFixed(0)} ms  (${d.map((x) => x.toFixed(0)).join(', ')})\n`);
      process.stdout.write(`ratio berth/dockerd: ${(median(b) / median(d)).toFixed(2)} (goal ≤ 0.70)\n`);
    } else process.stdout.write('dockerd not available: no ratio\n');
    const sb = stats(b);
    const sd = d.length ? stats(d) : undefined;
    record('load', [
      {
        name: `docker load of a ${mb.toFixed(0)} MB image`,
        unit: 'ms',
        runs: RUNS,
        berth: sb.median,
        berthRange: [sb.min, sb.max],
        dockerd: sd?.median,
        dockerdRange: sd ? [sd.min, sd.max] : undefined,
        goal: '≤ 0.7',
        goalRatio: 0.7,
      },
    ]);
  } finally {
    await berth.stop();
    await dockerd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    rootfs.cleanup();
  }
}

await main();
