/**
 * Test helpers for the runc runtime tests: a busybox bundle in a temp dir, with its own runc --root, and a
 * cleanup that removes everything the test made (containers in that root only, monitors by pid, the temp dir).
 * Not used by production code.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checkoutRoot } from '../../../pkg/native/artifact.js';

const execFileP = promisify(execFile);
export const RUNC = '/usr/sbin/runc';
export const BUSYBOX = '/bin/busybox';
const repoRoot = checkoutRoot();

/** Why these tests cannot run here, or undefined. */
export function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync(RUNC)) return `needs ${RUNC}`;
  if (!existsSync(BUSYBOX)) return `needs ${BUSYBOX}`;
  return undefined;
}

/** Builds native/build/berth-monitor (a no-op when it is up to date) and returns its path. */
export function buildMonitor(): string {
  execFileSync(process.execPath, [join(repoRoot, 'scripts/build-native.mjs')], { stdio: 'pipe' });
  return join(repoRoot, 'native/build/berth-monitor');
}

export interface BundleOptions {
  args: string[];
  terminal?: boolean;
  /** process.consoleSize (with terminal). */
  consoleSize?: { height: number; width: number };
}

export class TestEnv {
  readonly dir: string;
  readonly runcRoot: string;
  private readonly ids = new Set<string>();
  private readonly pids = new Set<number>();

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'berth-rt-'));
    this.runcRoot = join(this.dir, 'runc');
    mkdirSync(this.runcRoot);
  }

  /** A unique container id and its own paths (short: sockaddr_un holds 107 bytes). */
  container(name: string): { id: string; dir: string; socket: string; exitFile: string; pidFile: string; log: string } {
    const id = `berth-test-${name}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.ids.add(id);
    const dir = join(this.dir, name);
    mkdirSync(dir, { recursive: true });
    return {
      id,
      dir,
      socket: join(dir, 'a.sock'),
      exitFile: join(dir, 'exit.json'),
      pidFile: join(dir, 'pid'),
      log: join(dir, 'log.json'),
    };
  }

  /** rootfs with busybox and config.json from `runc spec`, edited. */
  bundle(dir: string, opts: BundleOptions): string {
    const bundle = join(dir, 'bundle');
    const bin = join(bundle, 'rootfs', 'bin');
    mkdirSync(bin, { recursive: true });
    copyFileSync(BUSYBOX, join(bin, 'busybox'));
    for (const app of ['sh', 'echo', 'cat', 'sleep', 'tty', 'stty', 'true', 'seq', 'head', 'yes']) {
      symlinkSync('busybox', join(bin, app));
    }
    mkdirSync(join(bundle, 'rootfs', 'dev'), { recursive: true });
    execFileSync(RUNC, ['spec', '--bundle', bundle]);
    const cfgPath = join(bundle, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.process.terminal = opts.terminal ?? false;
    cfg.process.args = opts.args;
    if (opts.consoleSize) cfg.process.consoleSize = opts.consoleSize;
    writeFileSync(cfgPath, JSON.stringify(cfg));
    return bundle;
  }

  /** A process.json for runc exec. */
  processFile(dir: string, args: string[], terminal = false): string {
    const path = join(dir, `process-${randomBytes(3).toString('hex')}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        terminal,
        user: { uid: 0, gid: 0 },
        args,
        env: ['PATH=/bin', 'TERM=xterm'],
        cwd: '/',
        capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
        noNewPrivileges: true,
      }),
    );
    return path;
  }

  /** Remember a process to kill (by pid) at cleanup if it is still alive. */
  track(pid: number): void {
    if (pid > 0) this.pids.add(pid);
  }

  async cleanup(): Promise<void> {
    for (const id of this.ids) {
      await execFileP(RUNC, ['--root', this.runcRoot, 'delete', '-f', id]).catch(() => {});
    }
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls until fn returns a truthy value (for conditions outside our control, like a file appearing). */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
