/**
 * Benchmark plumbing: start berthd and a real dockerd side by side on temp roots, each with the same busybox image,
 * so every benchmark drives both through the same docker CLI in one run and prints ratios.
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_POOLS, pickSubnet } from '../src/plugins/network/ipam.js';
import { busyboxRootfsTar, cleanupRoot, dockerBin, run, sleep, startDaemon, unmountUnder } from '../test/harness.js';

export interface Engine {
  name: 'berth' | 'dockerd';
  host: string;
  /** Daemon process ids whose RSS counts as the engine's (dockerd + its containerd). */
  pids(): number[];
  docker(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export const BENCH_IMAGE = 'bench/busybox:1';

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export function engineRssMb(e: Engine): number {
  return e.pids().reduce((s, p) => s + rssKb(p), 0) / 1024;
}

export function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function importImage(e: Engine, tar: string): Promise<void> {
  const r = await e.docker(['import', '-c', 'CMD ["sh"]', tar, BENCH_IMAGE]);
  if (r.code !== 0) throw new Error(`${e.name}: import failed: ${r.stderr}`);
}

export async function startBerth(tar: string): Promise<Engine> {
  const d = await startDaemon();
  const e: Engine = {
    name: 'berth',
    host: d.host,
    pids: () => [d.pid],
    docker: (args) => d.docker(args, { timeoutMs: 600_000 }),
    stop: () => d.teardown(),
  };
  await importImage(e, tar);
  return e;
}

/** Host IPv4 routes (to pick a bridge subnet nobody uses). */
function hostRoutes(): string[] {
  const routes = JSON.parse(execFileSync('ip', ['-j', '-4', 'route', 'show', 'table', 'all']).toString()) as Array<{ dst: string }>;
  return routes
    .map((r) => r.dst)
    .filter((d) => d && d !== 'default' && /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(d) && !d.startsWith('127.'))
    .map((d) => (d.includes('/') ? d : `${d}/32`));
}

export interface DockerdOptions {
  /**
   * Give dockerd a bridge network: a bridge this module creates (berthbench<hex>, on a free subnet, never docker0)
   * and removes at stop. dockerd still runs with --iptables=false so it never touches the host's firewall.
   * Without it dockerd runs with --bridge=none (containers need --network none or host).
   */
  bridge?: boolean;
}

/** Starts Debian's dockerd on its own temp root and socket; undefined when it is not installed or does not start. */
export async function startDockerd(tar: string, opts: DockerdOptions = {}): Promise<Engine | undefined> {
  if (!fs.existsSync('/usr/sbin/dockerd')) return undefined;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-dockerd-'));
  const sock = path.join(root, 'docker.sock');
  let bridge: string | undefined;
  if (opts.bridge) {
    bridge = `berthbench${crypto.randomBytes(2).toString('hex')}`;
    const subnet = pickSubnet(DEFAULT_POOLS, [], hostRoutes(), ['172.17.0.0/16']);
    execFileSync('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
    execFileSync('ip', ['addr', 'add', subnet.replace(/\.0\/(\d+)$/, '.1/$1'), 'dev', bridge]);
    execFileSync('ip', ['link', 'set', bridge, 'up']);
  }
  const log = fs.openSync(path.join(root, 'dockerd.log'), 'a');
  const proc = spawn(
    '/usr/sbin/dockerd',
    ['--data-root', path.join(root, 'data'), '--exec-root', path.join(root, 'exec'), '-H', `unix://${sock}`, '--pidfile', path.join(root, 'pid'),
      `--bridge=${bridge ?? 'none'}`, '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false', '--userland-proxy=false',
      '--containerd-namespace', 'berthbench', '--containerd-plugins-namespace', 'berthbenchp'],
    { stdio: ['ignore', log, log], detached: true },
  );
  const host = `unix://${sock}`;
  const docker = (args: string[]) => run(dockerBin, args, { env: { DOCKER_HOST: host }, timeoutMs: 600_000 });
  const e: Engine = {
    name: 'dockerd',
    host,
    pids: () => [proc.pid!, ...childrenOf(proc.pid!)],
    docker,
    stop: async () => {
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
      if (bridge) {
        try {
          execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
        } catch {
          /* gone */
        }
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
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
    await e.stop();
    return undefined;
  }
  await importImage(e, tar);
  return e;
}

/** A temp dir with the busybox rootfs tar both engines import. */
export function benchRootfsTar(): { tar: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-'));
  return { tar: busyboxRootfsTar(dir), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export { cleanupRoot };
