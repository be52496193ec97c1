/**
 * Benchmark plumbing: start berthd and a real dockerd side by side on temp roots, each with the same busybox image,
 * so every benchmark drives both through the same docker CLI in one run and prints ratios.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startComparisonDockerd } from '../test/dockerd.js';
import { busyboxRootfsTar, cleanupRoot, startDaemon } from '../test/harness.js';

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
    // berth-untar (one per layer being applied) counts too, as containerd does for dockerd
    pids: () => [d.pid, ...childrenOf(d.pid)],
    docker: (args) => d.docker(args, { timeoutMs: 600_000 }),
    stop: () => d.teardown(),
  };
  await importImage(e, tar);
  return e;
}

/**
 * Starts Debian's dockerd on its own temp root, socket and bridge (test/dockerd.ts: never `--bridge=none`, which
 * deletes the host's docker0); undefined when it is not installed or does not start.
 */
export async function startDockerd(tar: string, _opts: { /** Always on now; accepted for older callers. */ bridge?: boolean } = {}): Promise<Engine | undefined> {
  const dk = await startComparisonDockerd({ prefix: 'berth-bench-dockerd-' });
  if (!dk) return undefined;
  const e: Engine = {
    name: 'dockerd',
    host: dk.host,
    pids: () => [dk.proc.pid!, ...childrenOf(dk.proc.pid!)],
    docker: (args) => dk.docker(args),
    stop: () => dk.stop(),
  };
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
