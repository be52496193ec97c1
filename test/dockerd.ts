/**
 * A real dockerd beside berth, for side-by-side tests and benchmarks, started so that it never touches the host's
 * own Docker: a temp root, socket and containerd namespaces of its own, `--iptables=false`, and a bridge this module
 * creates (`berthcmp<hex>` on a subnet no route uses) and deletes at stop. Never `--bridge=none`: moby then deletes
 * the default bridge `docker0`, so a test on a developer's machine would break their Docker.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_POOLS, pickSubnet } from '../src/plugins/network/ipam.js';
import { dockerBin, run, sleep, unmountUnder, type RunResult } from './harness.js';

export const DOCKERD = '/usr/sbin/dockerd';

export interface ComparisonDockerd {
  readonly root: string;
  readonly host: string;
  readonly proc: ChildProcess;
  /** The bridge dockerd's default network uses (made by this module). */
  readonly bridge: string;
  docker(args: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** Removes its containers, stops dockerd and its containerd, unmounts, deletes the bridge and the root. */
  stop(): Promise<void>;
}

/** Host IPv4 routes (to pick a bridge subnet nobody uses). */
function hostRoutes(): string[] {
  const routes = JSON.parse(execFileSync('ip', ['-j', '-4', 'route', 'show', 'table', 'all']).toString()) as Array<{ dst: string }>;
  return routes
    .map((r) => r.dst)
    .filter((d) => d && d !== 'default' && /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(d) && !d.startsWith('127.'))
    .map((d) => (d.includes('/') ? d : `${d}/32`));
}

/** The host's network interface names, sorted (to check a test leaves them as it found them). */
export function hostInterfaces(): string[] {
  const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show']).toString()) as Array<{ ifname: string }>;
  return links.map((l) => l.ifname).sort();
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Starts Debian's dockerd; undefined when it is not installed or does not answer within 30 s. */
/** `args`: extra dockerd flags (e.g. `--ipv6 --fixed-cidr-v6 …`, which address the bridge this module made). */
export async function startComparisonDockerd(opts: { prefix?: string; args?: string[] } = {}): Promise<ComparisonDockerd | undefined> {
  if (!fs.existsSync(DOCKERD)) return undefined;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), opts.prefix ?? 'berth-dockerd-'));
  const sock = path.join(root, 'docker.sock');
  const tag = crypto.randomBytes(2).toString('hex');
  const bridge = `berthcmp${tag}`;
  const subnet = pickSubnet(DEFAULT_POOLS, [], hostRoutes(), ['172.17.0.0/16']);
  execFileSync('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', subnet.replace(/\.0\/(\d+)$/, '.1/$1'), 'dev', bridge]);
  execFileSync('ip', ['link', 'set', bridge, 'up']);
  const log = fs.openSync(path.join(root, 'dockerd.log'), 'a');
  const proc = spawn(
    DOCKERD,
    ['--data-root', path.join(root, 'data'), '--exec-root', path.join(root, 'exec'), '-H', `unix://${sock}`, '--pidfile', path.join(root, 'pid'),
      `--bridge=${bridge}`, '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false', '--userland-proxy=false',
      '--containerd-namespace', `berthcmp${tag}`, '--containerd-plugins-namespace', `berthcmp${tag}p`, ...(opts.args ?? [])],
    { stdio: ['ignore', log, log], detached: true },
  );
  fs.closeSync(log);
  const host = `unix://${sock}`;
  const docker = (args: string[], o: { timeoutMs?: number } = {}) =>
    run(dockerBin, args, { env: { DOCKER_HOST: host, DOCKER_CONFIG: path.join(root, 'docker-config') }, timeoutMs: o.timeoutMs ?? 600_000 });
  const stop = async () => {
    if (proc.exitCode === null) {
      const ids = (await docker(['ps', '-aq'], { timeoutMs: 60_000 })).stdout.split('\n').filter(Boolean);
      if (ids.length) await docker(['rm', '-f', ...ids], { timeoutMs: 60_000 });
      // user-defined networks' bridges (br-<id>) outlive a stopped dockerd: remove them while it runs
      await docker(['network', 'prune', '-f'], { timeoutMs: 60_000 });
      for (const p of [proc.pid!, ...childrenOf(proc.pid!)]) {
        try {
          process.kill(p, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(15_000)]);
    }
    unmountUnder(root);
    try {
      execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
    fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && proc.exitCode === null) {
    if ((await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 })).code === 0) return { root, host, proc, bridge, docker, stop };
    await sleep(200);
  }
  process.stderr.write(`dockerd did not start (log: ${fs.readFileSync(path.join(root, 'dockerd.log'), 'utf8').split('\n').slice(-3).join(' | ')})\n`);
  await stop();
  return undefined;
}
