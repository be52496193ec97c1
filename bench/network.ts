/**
 * The cost of network set-up: `docker run --rm <busybox> true` with the default bridge vs `--network none`, berth and
 * dockerd side by side through the same docker CLI. Prints medians, the bridge−none difference per engine, and the
 * berth ÷ dockerd ratios. Never asserts on time.
 *
 * dockerd runs on its own temp root with `--iptables=false` and `--bridge=<a bridge this script makes>` (named
 * berthbench<hex>, on a free subnet), so it never touches docker0 or the host's firewall; everything it made is
 * removed at the end. When dockerd cannot start, only berth's figures are printed.
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockerBin, run, sleep, unmountUnder } from '../test/harness.js';
import { pickSubnet, DEFAULT_POOLS } from '../src/plugins/network/ipam.js';
import { BENCH_IMAGE, benchRootfsTar, Engine, median, startBerth, timeIt } from './engines.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function hostRoutes(): string[] {
  const routes = JSON.parse(execFileSync('ip', ['-j', '-4', 'route', 'show', 'table', 'all']).toString()) as Array<{ dst: string }>;
  return routes.map((r) => r.dst).filter((d) => d && d !== 'default' && /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(d) && !d.startsWith('127.')).map((d) => (d.includes('/') ? d : `${d}/32`));
}

/** dockerd on a temp root, attached to a bridge of ours, without iptables. */
async function startDockerdWithBridge(tar: string): Promise<Engine | undefined> {
  if (!fs.existsSync('/usr/sbin/dockerd')) return undefined;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-netd-'));
  const bridge = `berthbench${crypto.randomBytes(2).toString('hex')}`;
  const subnet = pickSubnet(DEFAULT_POOLS, [], hostRoutes(), ['172.17.0.0/16']);
  const gw = subnet.replace(/\.0\/(\d+)$/, '.1/$1');
  execFileSync('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', gw, 'dev', bridge]);
  execFileSync('ip', ['link', 'set', bridge, 'up']);
  const sock = path.join(root, 'docker.sock');
  const log = fs.openSync(path.join(root, 'dockerd.log'), 'a');
  const proc = spawn(
    '/usr/sbin/dockerd',
    ['--data-root', path.join(root, 'data'), '--exec-root', path.join(root, 'exec'), '-H', `unix://${sock}`, '--pidfile', path.join(root, 'pid'),
      `--bridge=${bridge}`, '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false', '--userland-proxy=false',
      '--containerd-namespace', 'berthbenchnet', '--containerd-plugins-namespace', 'berthbenchnetp'],
    { stdio: ['ignore', log, log], detached: true },
  );
  const host = `unix://${sock}`;
  const docker = (args: string[]) => run(dockerBin, args, { env: { DOCKER_HOST: host }, timeoutMs: 600_000 });
  const stop = async () => {
    const ids = (await docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await docker(['rm', '-f', ...ids]);
    for (const p of [proc.pid!, ...childrenOf(proc.pid!)]) {
      try {
        process.kill(p, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(15_000)]);
    unmountUnder(root);
    try {
      execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
    fs.rmSync(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  let up = false;
  while (Date.now() < deadline && proc.exitCode === null) {
    if ((await docker(['version', '--format', '{{.Server.Version}}'])).code === 0) {
      up = true;
      break;
    }
    await sleep(200);
  }
  if (!up) {
    process.stderr.write(`dockerd did not start (log: ${fs.readFileSync(path.join(root, 'dockerd.log'), 'utf8').split('\n').slice(-3).join(' | ')})\n`);
    await stop();
    return undefined;
  }
  const r = await docker(['import', '-c', 'CMD ["sh"]', tar, BENCH_IMAGE]);
  if (r.code !== 0) {
    await stop();
    return undefined;
  }
  return { name: 'dockerd', host, pids: () => [proc.pid!], docker, stop };
}

async function latency(e: Engine, network: string): Promise<number> {
  const once = async () => {
    const r = await e.docker(['run', '--rm', '--network', network, BENCH_IMAGE, 'true']);
    if (r.code !== 0) throw new Error(`${e.name} --network ${network}: ${r.stderr}`);
  };
  await once(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timeIt(once));
  return median(times);
}

async function main(): Promise<void> {
  const { tar, cleanup } = benchRootfsTar();
  const berth = await startBerth(tar);
  let dockerd: Engine | undefined;
  try {
    dockerd = await startDockerdWithBridge(tar).catch((e) => {
      process.stderr.write(`dockerd skipped: ${(e as Error).message}\n`);
      return undefined;
    });
    const res: Record<string, { bridge: number; none: number }> = {};
    for (const e of [berth, dockerd]) {
      if (!e) continue;
      // Interleave so that machine noise hits both modes alike.
      const none = await latency(e, 'none');
      const bridge = await latency(e, 'bridge');
      res[e.name] = { bridge, none };
    }
    const f = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'n/a');
    console.log(`network set-up cost: docker run --rm busybox true, median of ${RUNS}`);
    console.log(`engine    none        bridge      bridge-none`);
    for (const [name, r] of Object.entries(res)) console.log(`${name.padEnd(9)} ${f(r.none).padEnd(11)} ${f(r.bridge).padEnd(11)} ${f(r.bridge - r.none)}`);
    if (res.berth && res.dockerd) {
      console.log(`ratio berth/dockerd: none ${(res.berth.none / res.dockerd.none).toFixed(2)}x, bridge ${(res.berth.bridge / res.dockerd.bridge).toFixed(2)}x, ` +
        `bridge cost ${((res.berth.bridge - res.berth.none) / (res.dockerd.bridge - res.dockerd.none)).toFixed(2)}x`);
    }
    console.log(`goal: berth bridge cost < 20 ms over none → ${res.berth.bridge - res.berth.none < 20 ? 'met' : 'not met'}`);
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
