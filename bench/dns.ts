/**
 * The embedded DNS server, berth vs dockerd in one run: queries per second and latency (p50/p99) from a container on
 * a user-defined network asking 127.0.0.11 for a peer's name, one query at a time (the client runs in the
 * container's network namespace through nsenter, the same client for both engines); `docker run --rm` latency on a
 * user-defined network (where the server is set up) and on the default bridge (where it is not); the RSS of one
 * container's monitor with and without the server. Prints ratios; never asserts on time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../test/harness.js';
import { BENCH_IMAGE, benchRootfsTar, Engine, median, startBerth, startDockerd, timeIt } from './engines.js';
import { record } from './report.js';

const QUERIES = Number(process.env.BENCH_DNS_QUERIES ?? 5000);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const probe = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'dns-probe.js');

async function ok(e: Engine, args: string[]): Promise<string> {
  const r = await e.docker(args);
  if (r.code !== 0) throw new Error(`${e.name}: docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Result {
  qps: number;
  p50Ms: number;
  p99Ms: number;
  runUser: number;
  runBridge: number;
  monitorRssKb?: { withDns: number; without: number };
}

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** berth's monitor of a container: the parent of its init. */
function parentOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function runLatency(e: Engine, network: string): Promise<number> {
  const once = async () => void (await ok(e, ['run', '--rm', '--network', network, BENCH_IMAGE, 'true']));
  await once();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timeIt(once));
  return median(times);
}

async function measure(e: Engine): Promise<Result> {
  await ok(e, ['network', 'create', 'benchdns']);
  await ok(e, ['run', '-d', '--name', 'target', '--network', 'benchdns', BENCH_IMAGE, 'sleep', '3600']);
  await ok(e, ['run', '-d', '--name', 'asker', '--network', 'benchdns', BENCH_IMAGE, 'sleep', '3600']);
  await ok(e, ['run', '-d', '--name', 'plain', BENCH_IMAGE, 'sleep', '3600']);
  const ins = JSON.parse(await ok(e, ['inspect', 'asker']))[0];
  const q = async (count: number) => {
    const r = await run('nsenter', [`--net=${ins.NetworkSettings.SandboxKey}`, process.execPath, probe, '--name', 'target', '--count', String(count)], { timeoutMs: 600_000 });
    const out = JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
    if (out.error || !out.answers?.length) throw new Error(`${e.name}: DNS query failed: ${out.error ?? JSON.stringify(out)} ${r.stderr}`);
    return out as { qps: number; p50Ms: number; p99Ms: number };
  };
  await q(200); // warm-up
  const res = await q(QUERIES);
  const out: Result = { qps: res.qps, p50Ms: res.p50Ms, p99Ms: res.p99Ms, runUser: await runLatency(e, 'benchdns'), runBridge: await runLatency(e, 'bridge') };
  if (e.name === 'berth') {
    const plainPid = JSON.parse(await ok(e, ['inspect', 'plain']))[0].State.Pid;
    out.monitorRssKb = { withDns: rssKb(parentOf(ins.State.Pid)), without: rssKb(parentOf(plainPid)) };
  }
  await ok(e, ['rm', '-f', 'target', 'asker', 'plain']);
  await ok(e, ['network', 'rm', 'benchdns']);
  return out;
}

async function main(): Promise<void> {
  const { tar, cleanup } = benchRootfsTar();
  const berth = await startBerth(tar);
  let dockerd: Engine | undefined;
  try {
    dockerd = await startDockerd(tar).catch((e) => {
      process.stderr.write(`dockerd skipped: ${(e as Error).message}\n`);
      return undefined;
    });
    const res: Partial<Record<Engine['name'], Result>> = {};
    for (const e of [berth, dockerd]) {
      if (!e) continue;
      try {
        res[e.name] = await measure(e);
      } catch (err) {
        process.stderr.write(`${e.name}: ${(err as Error).message}\n`);
      }
    }
    const f = (x: number | undefined, d = 1) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : 'n/a');
    console.log(`embedded DNS: ${QUERIES} A queries for a peer's name from a container, one at a time; docker run --rm median of ${RUNS}`);
    console.log('engine    queries/s   p50 ms   p99 ms   run (user net)   run (default bridge)');
    for (const [name, r] of Object.entries(res))
      console.log(`${name.padEnd(9)} ${f(r.qps, 0).padEnd(11)} ${f(r.p50Ms, 3).padEnd(8)} ${f(r.p99Ms, 3).padEnd(8)} ${`${f(r.runUser)} ms`.padEnd(16)} ${f(r.runBridge)} ms`);
    if (res.berth?.monitorRssKb) console.log(`berth monitor RSS: ${res.berth.monitorRssKb.withDns} kB with the DNS server, ${res.berth.monitorRssKb.without} kB without`);
    if (res.berth && res.dockerd) {
      console.log(`ratio berth/dockerd: queries/s ${(res.berth.qps / res.dockerd.qps).toFixed(2)}x (goal >= 1), p99 ${(res.berth.p99Ms / res.dockerd.p99Ms).toFixed(2)}x (goal <= 1), ` +
        `run on a user network ${(res.berth.runUser / res.dockerd.runUser).toFixed(2)}x`);
    }
    const b = res.berth;
    const d = res.dockerd;
    if (b)
      record('dns', [
        { name: `embedded DNS: ${QUERIES} A queries for a peer, one at a time`, unit: 'q/s', berth: b.qps, dockerd: d?.qps, goal: 'rate ≥ dockerd', goalRatio: 1, higherIsBetter: true },
        { name: 'embedded DNS: p99 latency of those queries', unit: 'ms', berth: b.p99Ms, dockerd: d?.p99Ms, goal: '≤ dockerd', goalRatio: 1 },
        { name: 'docker run --rm true on a user-defined network', unit: 'ms', runs: RUNS, berth: b.runUser, dockerd: d?.runUser },
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
