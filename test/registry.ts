/**
 * Test registries: Debian's docker-registry (Distribution 2.8) on 127.0.0.1 at free ports, with temp config and
 * storage, optionally behind htpasswd basic auth or token auth (test/token-server.ts). Stopped by PID.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { sleep } from './harness.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const haveRegistry = fs.existsSync(REGISTRY_BIN);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A bcrypt htpasswd line (Python's crypt module); undefined when unavailable. */
export function bcryptLine(user: string, password: string): string | undefined {
  try {
    const out = execFileSync('python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))', password], { encoding: 'utf8' }).trim();
    return out.startsWith('$2') ? `${user}:${out}` : undefined;
  } catch {
    return undefined;
  }
}

/** Registries started under one work directory; `stopAll()` in an after hook. */
export class TestRegistries {
  private readonly procs: ChildProcess[] = [];

  constructor(private readonly work: string) {}

  /**
   * Starts one; resolves with its `127.0.0.1:port` once `/v2/` answers. `opts.auth` is a raw `auth:` section (e.g.
   * TokenServer.registryAuthConfig() for token auth).
   */
  async start(name: string, htpasswd?: string, opts: { auth?: string; tls?: { cert: string; key: string; clientCAs?: string[] } } = {}): Promise<string> {
    const port = await freePort();
    const dir = path.join(this.work, name);
    fs.mkdirSync(path.join(dir, 'storage'), { recursive: true });
    let auth = '';
    if (htpasswd) {
      fs.writeFileSync(path.join(dir, 'htpasswd'), htpasswd + '\n');
      auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
    }
    if (opts.auth) auth = opts.auth;
    const tls = opts.tls
      ? `  tls:\n    certificate: ${opts.tls.cert}\n    key: ${opts.tls.key}\n${opts.tls.clientCAs ? `    clientcas:\n${opts.tls.clientCAs.map((c) => `      - ${c}\n`).join('')}` : ''}`
      : '';
    const cfg = path.join(dir, 'config.yml');
    fs.writeFileSync(
      cfg,
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'storage')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: berth-test-secret\n${tls}${auth}`,
    );
    const log = fs.openSync(path.join(dir, 'registry.log'), 'a');
    const proc = spawn(REGISTRY_BIN, ['serve', cfg], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.procs.push(proc);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const up = opts.tls
        ? await new Promise<boolean>((r) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false)))
        : await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status === 200 || r.status === 401, () => false);
      if (up) return `127.0.0.1:${port}`;
      if (proc.exitCode !== null) break;
      await sleep(50);
    }
    throw new Error(`registry did not start: ${fs.readFileSync(path.join(dir, 'registry.log'), 'utf8')}`);
  }

  async stopAll(): Promise<void> {
    for (const p of this.procs) {
      if (p.exitCode === null && p.signalCode === null && p.pid) {
        const exited = new Promise((r) => p.once('exit', r));
        process.kill(p.pid, 'SIGTERM');
        await Promise.race([exited, sleep(5000)]);
      }
    }
  }
}
