/**
 * What the dashboard costs an idle daemon: berthd's resident memory (VmRSS from /proc/<pid>/status) after it has
 * settled, without and with `--dashboard 127.0.0.1:0`, alternating, several rounds on fresh data roots; prints the
 * medians and the difference. Also the RSS after one page has been served (token login, index, assets), for reference.
 * Run: node dist/bench/dashboard-rss.js (after npm run build). Never asserts.
 */
import fs from 'node:fs';
import { sleep, startDaemon } from '../test/harness.js';

const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 4000);

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(withDashboard: boolean, visit: boolean): Promise<number> {
  const d = await startDaemon({ args: withDashboard ? ['--dashboard', '127.0.0.1:0'] : [] });
  try {
    if (visit) {
      const url = (await d.berth(['dashboard', '--no-open'])).stdout.trim();
      const login = await fetch(url, { redirect: 'manual' });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
      const origin = new URL(url).origin;
      for (const p of ['/', '/assets/app.js', '/assets/app.css', '/engine/containers/json?all=1']) await (await fetch(origin + p, { headers: { cookie } })).arrayBuffer();
    }
    await sleep(SETTLE_MS);
    return rssKb(d.pid);
  } finally {
    await d.teardown();
  }
}

const off: number[] = [];
const on: number[] = [];
const used: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  off.push(await measure(false, false));
  on.push(await measure(true, false));
  used.push(await measure(true, true));
}
const mb = (kb: number) => (kb / 1024).toFixed(1);
console.log(`idle berthd RSS, median of ${ROUNDS} (MB): without dashboard ${mb(median(off))}, with --dashboard (unused) ${mb(median(on))}, after one page load ${mb(median(used))}`);
console.log(`dashboard enabled but unused adds ${mb(median(on) - median(off))} MB (goal ≤ 5 MB); one page load adds ${mb(median(used) - median(off))} MB`);
