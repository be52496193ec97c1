/**
 * The Engine API over TCP (issue 11, item 7): dockerd's TLS flags and daemon.json keys, mutual TLS with the real
 * docker CLI (--tlsverify + DOCKER_CERT_PATH), clients without a valid certificate refused, the plain-TCP warning,
 * the refusal of plain TCP on a non-loopback address, and -G for the unix socket's group. Certificates are made by
 * openssl in a temp dir. Everything listens on 127.0.0.1 only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { berthdBin, importBusybox, run, startDaemon, type TestDaemon } from '../harness.js';
import { makeCertificates } from '../tls-certs.js';

type Daemon = Awaited<ReturnType<typeof startDaemon>>;

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** GET /_ping over TLS with the given client key pair (or none); resolves to the status or the error's text. */
function tlsPing(port: number, ca: Buffer, client?: { cert: Buffer; key: Buffer }): Promise<string> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/_ping', ca, ...client, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve(String(res.statusCode));
    });
    req.on('error', (e) => resolve(`error: ${e.message}`));
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** Runs berthd expecting it to refuse to start; returns its exit code and output. */
function berthdRefuses(root: string, args: string[]): { code: number | null; out: string } {
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, 'daemon.json'), '{}\n');
  const r = spawnSync(process.execPath, [berthdBin, '--data-root', path.join(root, 'data'), '--exec-root', path.join(root, 'exec'), '--pidfile', path.join(root, 'pid'), '--config-file', path.join(root, 'daemon.json'), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('Engine API over TCP with TLS', () => {
  const certs = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-tls-'));
  const file = (n: string) => path.join(certs, n);
  let mtls: Daemon;
  let port = 0;

  before(async () => {
    makeCertificates(certs);
    port = await freePort();
    // Mutual TLS from daemon.json keys (dockerd's names), the unix socket from the harness's -H flag.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-'));
    fs.writeFileSync(
      path.join(root, 'daemon.json'),
      JSON.stringify({ tlsverify: true, tlscacert: file('ca.pem'), tlscert: file('server-cert.pem'), tlskey: file('server-key.pem') }),
    );
    mtls = await startDaemon({ root, args: ['-H', `tcp://127.0.0.1:${port}`, '-G', 'daemon', '--dashboard', '127.0.0.1:0', '--dashboard-tls-cert', file('server-cert.pem'), '--dashboard-tls-key', file('server-key.pem')] });
    await importBusybox(mtls, 'busybox');
  });
  after(async () => {
    await mtls?.teardown();
    fs.rmSync(certs, { recursive: true, force: true });
  });

  const tlsEnv = () => ({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: file('cli') });

  test('the docker CLI with --tlsverify and DOCKER_CERT_PATH works: version, run with attach, ps', async () => {
    const v = await mtls.docker(['--tlsverify', 'version', '--format', '{{.Server.Os}}'], { env: tlsEnv() });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), 'linux');
    // run attaches through a hijacked connection: the upgrade path works over TLS too.
    const r = await mtls.docker(['run', '--rm', 'busybox', 'echo', 'hello over tls'], { env: tlsEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'hello over tls');
    const ps = await mtls.docker(['ps', '-a', '-q'], { env: tlsEnv() });
    assert.equal(ps.code, 0, ps.stderr);
  });

  test('a client without a certificate, or with one from another CA, is refused; a valid one gets in', async () => {
    const ca = fs.readFileSync(file('ca.pem'));
    assert.match(await tlsPing(port, ca), /^error: /);
    assert.match(await tlsPing(port, ca, { cert: fs.readFileSync(file('rogue-cert.pem')), key: fs.readFileSync(file('rogue-key.pem')) }), /^error: /);
    assert.equal(await tlsPing(port, ca, { cert: fs.readFileSync(file('client-cert.pem')), key: fs.readFileSync(file('client-key.pem')) }), '200');
    // The docker CLI without its certificate fails too; plain HTTP to the TLS port gets nothing useful.
    const noCert = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-tls-nocert-'));
    fs.copyFileSync(file('ca.pem'), path.join(noCert, 'ca.pem'));
    const r = await mtls.docker(['--tls', '--tlscacert', path.join(noCert, 'ca.pem'), '-H', `tcp://127.0.0.1:${port}`, 'ps'], { env: { DOCKER_HOST: '', DOCKER_CERT_PATH: noCert } });
    fs.rmSync(noCert, { recursive: true, force: true });
    assert.notEqual(r.code, 0);
    const plain = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/_ping`]);
    assert.notEqual(plain.stdout, '200');
    // The daemon is still serving after the refused handshakes.
    assert.ok(await mtls.client.ping());
  });

  test('-G sets the unix socket group (an existing group by name)', () => {
    const gid = Number(execFileSync('getent', ['group', 'daemon'], { encoding: 'utf8' }).split(':')[2]);
    const st = fs.statSync(mtls.socket);
    assert.equal(st.gid, gid);
    assert.equal(st.mode & 0o777, 0o660);
  });

  test('server-only TLS (--tls): encrypted, no client certificate needed; the CLI verifies the server', async () => {
    const p = await freePort();
    const d = await startDaemon({ args: ['-H', `tcp://127.0.0.1:${p}`, '--tls', '--tlscert', file('server-cert.pem'), '--tlskey', file('server-key.pem')] });
    try {
      assert.equal(await tlsPing(p, fs.readFileSync(file('ca.pem'))), '200');
      const r = await d.docker(['--tlsverify', 'version', '--format', '{{.Server.Version}}'], { env: { DOCKER_HOST: `tcp://127.0.0.1:${p}`, DOCKER_CERT_PATH: file('cli') } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(d.log(), /TLS without --tlsverify/);
    } finally {
      await d.teardown();
    }
  });

  test('plain TCP on loopback works with a loud warning; -G with a gid that has no group is used as given', async () => {
    const p = await freePort();
    const d = await startDaemon({ args: ['-H', `tcp://127.0.0.1:${p}`, '-G', '54321'] });
    try {
      const r = await d.docker(['version', '--format', '{{.Server.Os}}'], { env: { DOCKER_HOST: `tcp://127.0.0.1:${p}` } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(d.log(), /level=warn msg=.*Binding to IP address without --tlsverify is insecure and gives root access/);
      assert.equal(fs.statSync(d.socket).gid, 54321);
      // berth dashboard starts the dashboard on a free loopback port when the daemon runs without one
      const dash = await d.berth(['dashboard', '--no-open']);
      assert.equal(dash.code, 0, dash.stderr);
      const url = new URL(dash.stdout.trim());
      assert.equal(url.hostname, '127.0.0.1');
      assert.equal((await fetch(url.origin + '/')).status, 401);
      assert.equal((await fetch(url.href, { redirect: 'manual' })).status, 303);
      assert.equal((await d.berth(['dashboard', '--no-open'])).stdout.trim(), url.href, 'the same dashboard the second time');
    } finally {
      await d.teardown();
    }
  });

  test('the dashboard over HTTPS with its own certificate: 401 without the token, a Secure cookie with it', async () => {
    const r = await mtls.berth(['dashboard', '--no-open']);
    assert.equal(r.code, 0, r.stderr);
    const url = new URL(r.stdout.trim());
    assert.equal(url.protocol, 'https:');
    const ca = fs.readFileSync(file('ca.pem'));
    const get = (p: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
        https.get({ host: '127.0.0.1', port: Number(url.port), path: p, ca, headers, agent: false }, (res) => {
          res.resume();
          resolve({ status: res.statusCode!, headers: res.headers });
        }).on('error', reject);
      });
    assert.equal((await get('/')).status, 401);
    const login = await get(`/${url.search}`);
    assert.equal(login.status, 303);
    const cookie = String((login.headers['set-cookie'] as string[])[0]);
    assert.match(cookie, /HttpOnly; SameSite=Strict; Secure/);
    assert.equal((await get('/', { cookie: cookie.split(';')[0] })).status, 200);
    // plain HTTP to the HTTPS port gets no page
    const plain = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${url.port}/`]);
    assert.notEqual(plain.stdout, '200');
  });

  test('plain TCP on a non-loopback address is refused before anything starts; bad TLS files and groups too', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-tls-refuse-'));
    try {
      const sock = `unix://${path.join(root, 'b.sock')}`;
      const r = berthdRefuses(root, ['-H', sock, '-H', 'tcp://0.0.0.0:2375']);
      assert.equal(r.code, 1);
      assert.match(r.out, /refusing to listen on tcp:\/\/0\.0\.0\.0:2375 without TLS.*--tls=false/);
      assert.ok(!fs.existsSync(path.join(root, 'b.sock')), 'nothing listened');
      const missing = berthdRefuses(root, ['-H', sock, '-H', 'tcp://127.0.0.1:1', '--tlsverify', '--tlscacert', path.join(root, 'nope.pem'), '--tlscert', file('server-cert.pem'), '--tlskey', file('server-key.pem')]);
      assert.equal(missing.code, 1);
      assert.match(missing.out, /invalid TLS configuration: could not read CA certificate .*nope\.pem: no such file or directory/);
      const group = berthdRefuses(root, ['-H', sock, '-G', 'no-such-group-berth']);
      assert.equal(group.code, 1);
      assert.match(group.out, /group no-such-group-berth not found/);
      const both = berthdRefuses(root, ['-H', sock, '--dashboard-tls-cert', 'x']);
      assert.equal(both.code, 1);
      assert.match(both.out, /--dashboard-tls-cert and --dashboard-tls-key must be given together/);
      const dash = berthdRefuses(root, ['-H', sock, '--dashboard', '0.0.0.0:0']);
      assert.equal(dash.code, 1);
      assert.match(dash.out, /refusing to serve the dashboard on 0\.0\.0\.0:0 without TLS/);
      assert.ok(!fs.existsSync(path.join(root, 'b.sock')), 'nothing listened');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

export type { TestDaemon };
