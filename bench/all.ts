/**
 * `npm run bench`: runs each benchmark as its own process (each is also runnable alone, `node dist/bench/x.js`),
 * one after another, with `BERTH_BENCH_DIR` pointing at a temp dir their rows go to, then prints the one table
 * (bench/report.ts). A bench that fails is named under the table; the others still run. Benches added to bench/
 * later run too (after the listed ones) unless they are plumbing or listed as standalone below.
 * `BENCH_ONLY=run,cli` runs just those.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printReport } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ordered = ['run', 'network', 'load', 'streams', 'dns', 'build', 'logging', 'cli'];
/** Not benchmarks, or run on their own (compose needs docker-compose 1.29; dashboard-rss measures one flag). */
const skip = new Set(['all', 'report', 'engines', 'compose', 'dashboard-rss']);

const found = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3))
  .filter((n) => !skip.has(n));
let benches = [...ordered.filter((n) => found.includes(n)), ...found.filter((n) => !ordered.includes(n)).sort()];
if (process.env.BENCH_ONLY) {
  const only = process.env.BENCH_ONLY.split(',');
  benches = benches.filter((n) => only.includes(n));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-rows-'));
const failed: string[] = [];
for (const name of benches) {
  process.stdout.write(`\n=== bench/${name}.ts (load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})\n`);
  const r = spawnSync(process.execPath, [path.join(here, `${name}.js`)], { stdio: 'inherit', env: { ...process.env, BERTH_BENCH_DIR: dir } });
  if (r.status !== 0 || !fs.existsSync(path.join(dir, `${name}.jsonl`))) failed.push(`${name} (exit ${r.status ?? r.signal})`);
}
printReport(dir, failed);
fs.rmSync(dir, { recursive: true, force: true });
if (failed.length) process.exitCode = 1;
