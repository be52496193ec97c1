/**
 * Benchmark plumbing: start berthd and a real dockerd side by side on temp roots, each with the same busybox image,
 * so every benchmark drives both through the same docker CLI in one run and prints ratios.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

function childrenOf(pid: number): number[] {
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

/** Starts Debian's dockerd on its own temp root and socket (no bridge, no iptables: it must not touch the host). */
export async function startDockerd(tar: string): Promise<Engine | undefined> {
  if (!fs.existsSync('/usr/sbin/dockerd')) return undefined;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-dockerd-'));
  const sock = path.join(root, 'docker.sock');
  const log = fs.openSync(path.join(root, 'dockerd.log'), 'a');
  const proc = spawn(
    '/usr/sbin/dockerd',
    ['--data-root', path.join(root, 'data'), '--exec-root', path.join(root, 'exec'), '-H', `unix://${sock}`, '--pidfile', path.join(root, 'pid'),
      '--bridge=none', '--iptables=false', '--ip6tables=false', '--containerd-namespace', 'berthbench', '--containerd-plugins-namespace', 'berthbenchp'],
    { stdio: ['ignore', log, log], detached: true },
  );
  const host = `unix://${sock}`;
  const docker = (args: string[]) => run(dockerBin, args, { env: { DOCKER_HOST: host }, timeoutMs: 600_000 });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    if ((await docker(['version', '--format', '{{.Server.Version}}'])).code === 0) break;
    await sleep(200);
  }
  const e: Engine = {
    name: 'dockerd',
    host,
    pids: () => {
      const kids = childrenOf(proc.pid!);
      return [proc.pid!, ...kids];
    },
    docker,
    stop: async () => {
      const ids = (await docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (ids.length) await docker(['rm', '-f', ...ids]);
      const all = [proc.pid!, ...childrenOf(proc.pid!)];
      for (const p of all) {
        try {
          process.kill(p, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(15_000)]);
      unmountUnder(root);
      try {
        execFileSync('rm', ['-rf', root]);
      } catch {
        /* best effort */
      }
    },
  };
  if (proc.exitCode !== null || (await docker(['version'])).code !== 0) {
    await e.stop();
    process.stderr.write(`dockerd did not start; see its log\n`);
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
