/**
 * Test harness: starts a real berthd on a temp data root / exec root / socket, drives it through the real docker CLI
 * and through `berth`, and tears down everything it made — containers (through runc, by the daemon's own runc
 * root), monitors and the daemon (by PID), and mounts under the temp root. Never kills by name, never touches another
 * daemon's state.
 */
import { execFile, execFileSync, spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineClient } from '../src/client/client.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (works from test/ and from dist/test/). */
export const repoRoot = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
export const berthdBin = path.join(repoRoot, 'bin/berthd');
export const berthBin = path.join(repoRoot, 'bin/berth');
/** The docker 28 CLI (preinstalled); Debian's docker.io may add an older /usr/bin/docker we must not pick. */
export const dockerBin = fs.existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : 'docker';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DaemonOptions {
  /** Extra berthd flags. */
  args?: string[];
  /** Reuse an existing temp root (for restart tests). */
  root?: string;
  /** Extra environment for berthd (PATH, say, to put a wrapper in front of runc). */
  env?: Record<string, string>;
}

export class TestDaemon {
  proc: ChildProcess | undefined;
  pid = 0;
  readonly client: EngineClient;
  private logFd: number | undefined;

  constructor(readonly root: string, private readonly opts: DaemonOptions) {
    this.client = new EngineClient(this.host);
  }

  get dataRoot(): string { return path.join(this.root, 'data'); }
  get execRoot(): string { return path.join(this.root, 'exec'); }
  get socket(): string { return path.join(this.root, 'berth.sock'); }
  get host(): string { return `unix://${this.socket}`; }
  get logPath(): string { return path.join(this.root, 'berthd.log'); }

  async start(): Promise<void> {
    // An explicit (empty) config file keeps a host's /etc/berth/daemon.json out of tests.
    const cfg = path.join(this.root, 'daemon.json');
    if (!fs.existsSync(cfg)) fs.writeFileSync(cfg, '{}\n');
    this.logFd = fs.openSync(this.logPath, 'a');
    const proc = spawn(
      berthdBin, // as a user runs it: its sh launcher sets malloc's limits first
      ['--data-root', this.dataRoot, '--exec-root', this.execRoot, '-H', this.host, '--pidfile', path.join(this.root, 'berthd.pid'), '--config-file', path.join(this.root, 'daemon.json'), ...(this.opts.args ?? [])],
      { stdio: ['ignore', this.logFd, this.logFd], detached: true, ...(this.opts.env ? { env: { ...process.env, ...this.opts.env } } : {}) },
    );
    this.proc = proc;
    this.pid = proc.pid!;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`berthd exited with ${proc.exitCode}:\n${fs.readFileSync(this.logPath, 'utf8')}`);
      if (await this.client.ping()) return;
      await sleep(25);
    }
    throw new Error(`berthd did not answer /_ping within 15 s:\n${fs.readFileSync(this.logPath, 'utf8')}`);
  }

  /** Stops the daemon with a signal and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    process.kill(this.pid, signal);
    await Promise.race([exited, sleep(10_000)]);
    this.client.close();
    if (this.logFd !== undefined) fs.closeSync(this.logFd);
    this.logFd = undefined;
  }

  /** Runs the real docker CLI against this daemon. */
  docker(args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(dockerBin, args, { ...opts, env: { DOCKER_HOST: this.host, DOCKER_CONFIG: path.join(this.root, 'docker-config'), ...opts.env } });
  }

  /** Runs berth's own CLI against this daemon. */
  berth(args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(berthBin, ['-H', this.host, ...args], opts); // as a user runs it: bin/berth's sh launcher first
  }

  log(): string {
    return fs.readFileSync(this.logPath, 'utf8');
  }
}

/** Runs a command, collecting its output; never rejects on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 256 * 1024 * 1024, encoding: 'buffer' },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown as { code: number }).code) : child.exitCode ?? 1) : 0;
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(err);
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A bounded poll: calls `fn` until it resolves, every `everyMs`, and throws its last error after `ms`. */
export async function eventually<T>(fn: () => Promise<T>, ms = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(everyMs);
    }
  }
}

const live = new Set<{ root: string; daemons: TestDaemon[] }>();

/** A temp root with one berthd started in it. Call `teardown()` in an `after` hook. */
export async function startDaemon(opts: DaemonOptions = {}): Promise<TestDaemon & { teardown(): Promise<void>; restart(signal?: NodeJS.Signals, downMs?: number): Promise<TestDaemon> }> {
  const root = opts.root ?? fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-'));
  const entry = { root, daemons: [] as TestDaemon[] };
  live.add(entry);
  const d = new TestDaemon(root, opts) as TestDaemon & { teardown(): Promise<void>; restart(signal?: NodeJS.Signals, downMs?: number): Promise<TestDaemon> };
  entry.daemons.push(d);
  await d.start();
  d.teardown = async () => {
    for (const x of entry.daemons) await x.stop('SIGTERM');
    await cleanupRoot(root);
    live.delete(entry);
  };
  /**
   * Stops (SIGKILL by default: the crash case), waits `downMs`, and starts a new daemon on the same root; the
   * returned one is live.
   */
  d.restart = async (signal: NodeJS.Signals = 'SIGKILL', downMs = 0) => {
    const last = entry.daemons[entry.daemons.length - 1];
    await last.stop(signal);
    if (downMs) await sleep(downMs);
    const next = new TestDaemon(root, opts);
    entry.daemons.push(next);
    await next.start();
    return next;
  };
  return d;
}

/** Removes everything under a test root: runc containers, monitor processes (by pid files), mounts, files. */
export async function cleanupRoot(root: string): Promise<void> {
  const execRoot = path.join(root, 'exec');
  const runcRoot = path.join(execRoot, 'runc');
  if (fs.existsSync(runcRoot)) {
    const list = await run('runc', ['--root', runcRoot, 'list', '-q']).catch(() => ({ stdout: '' }) as RunResult);
    for (const id of list.stdout.split('\n').filter(Boolean)) await run('runc', ['--root', runcRoot, 'delete', '-f', id]);
  }
  // Monitors write <socket>.pid files under the exec root; kill those PIDs only if they still run our monitor.
  for (const file of walk(execRoot).filter((f) => f.endsWith('.sock.pid'))) {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(root)) process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  unmountUnder(root);
  await cleanupNetwork(path.join(root, 'data'));
  fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
}

// ---------------------------------------------------------------- networking cleanup (network engineer)

/**
 * Removes the network devices and iptables chains a test daemon made: its bridges (named from its data root, see
 * networkNaming), veths still attached to them, and its BERTH-*-<tag> chains with their jump rules. Never touches
 * the default data root's names or anything of another daemon.
 */
export async function cleanupNetwork(dataRoot: string): Promise<void> {
  const { networkNaming } = await import('../src/daemon/services/network-service.js');
  const { chainNames, purgeChains } = await import('../src/plugins/network/bridge/iptables.js');
  const naming = networkNaming(dataRoot);
  if (!naming.tag) return; // the system daemon's names: never from tests
  const links = fs.existsSync('/sys/class/net') ? fs.readdirSync('/sys/class/net') : [];
  const ours = new Set(links.filter((l) => l.startsWith(naming.bridgePrefix)));
  for (const l of links) {
    if (!l.startsWith('bveth')) continue;
    let master = '';
    try {
      master = path.basename(fs.readlinkSync(`/sys/class/net/${l}/master`));
    } catch {
      continue;
    }
    if (ours.has(master)) await run('ip', ['link', 'del', l]);
  }
  for (const b of ours) await run('ip', ['link', 'del', b]);
  await purgeChains(chainNames(naming.tag, naming.bridgePrefix));
}

/** What a test daemon left behind on the host: its links and chains (empty when clean). */
export async function networkLeftovers(dataRoot: string): Promise<string[]> {
  const { networkNaming } = await import('../src/daemon/services/network-service.js');
  const { chainNames, chainsExist } = await import('../src/plugins/network/bridge/iptables.js');
  const naming = networkNaming(dataRoot);
  const links = (fs.existsSync('/sys/class/net') ? fs.readdirSync('/sys/class/net') : []).filter((l) => l.startsWith(naming.bridgePrefix));
  return [...links, ...(await chainsExist(chainNames(naming.tag, naming.bridgePrefix)))];
}

/** Unmounts every mount point under `dir`, deepest first. */
export function unmountUnder(dir: string): void {
  const mounts = fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => Boolean(m) && (m === dir || m.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      /* raced with the daemon's own unmount */
    }
  }
}

export function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && (m === dir || m.startsWith(dir + '/')));
}

function walk(dir: string): string[] {
  const out: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** Builds a small rootfs tar from the host's static busybox (for tests that need an image without set-up). */
export function busyboxRootfsTar(dir: string): string {
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  fs.mkdirSync(path.join(rootfs, 'tmp'), { recursive: true, mode: 0o1777 });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'echo', 'cat', 'sleep', 'id', 'hostname', 'ls', 'true', 'false', 'env', 'grep', 'head', 'wc', 'touch', 'mkdir', 'rm', 'ps', 'kill', 'stty', 'tty', 'pwd', 'test', 'nc', 'wget', 'httpd', 'ip', 'ifconfig', 'ping', 'cp', 'mount', 'stat', 'date', 'whoami', 'sh', 'tr', 'seq', 'yes', 'dd', 'sync', 'top', 'printf', 'sha256sum', 'base64'])
    if (!fs.existsSync(path.join(rootfs, 'bin', a))) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  fs.writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n');
  const tar = path.join(dir, 'rootfs.tar');
  execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  return tar;
}

/** Imports a small busybox image (from the host's static busybox) into a test daemon under `tag`. */
export async function importBusybox(d: TestDaemon, tag: string): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rootfs-'));
  try {
    const r = await d.docker(['import', '-c', 'CMD ["sh"]', busyboxRootfsTar(tmp), tag]);
    if (r.code !== 0) throw new Error(`import of ${tag} failed: ${r.stderr}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** One raw Engine API exchange over the daemon's socket: any status, the body as text (for status/wording checks). */
export function apiRequest(d: TestDaemon, method: string, urlPath: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method, path: urlPath, headers: { ...(opts.body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
