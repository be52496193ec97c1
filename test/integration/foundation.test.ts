/**
 * Foundation: berthd serves the Engine API to the real docker CLI, answers bad input with clear errors, survives
 * abusive clients, refuses a second daemon on the same root, and shuts down cleanly.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { berthdBin, networkLeftovers, run, startDaemon, TestDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d?.teardown();
});

/** Sends raw bytes on the daemon socket and returns whatever comes back before the server closes or `ms` pass. */
function rawExchange(sock: string, data: Buffer | string, ms = 1500): Promise<string> {
  return new Promise((resolve) => {
    const c = net.createConnection(sock);
    let out = '';
    const timer = setTimeout(() => {
      c.destroy();
      resolve(out);
    }, ms);
    c.on('data', (b) => (out += b.toString()));
    c.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    c.on('error', () => {});
    c.write(data);
  });
}

async function curl(args: string[]): Promise<{ code: number; stdout: string }> {
  return run('curl', ['-s', '--unix-socket', d.socket, ...args]);
}

test('_ping answers OK with docker headers, versioned or not, GET and HEAD', async () => {
  assert.equal((await curl(['http://x/_ping'])).stdout, 'OK');
  assert.equal((await curl(['http://x/v1.41/_ping'])).stdout, 'OK');
  const head = await curl(['-I', 'http://x/v1.47/_ping']);
  assert.match(head.stdout, /^HTTP\/1.1 200 OK/);
  assert.match(head.stdout, /Api-Version: 1.47/i);
  assert.match(head.stdout, /Ostype: linux/i);
  assert.match(head.stdout, /Builder-Version: 1/i);
  assert.match(head.stdout, /Cache-Control: no-cache, no-store, must-revalidate/i);
  assert.match(head.stdout, /Server: berth\//i);
});

test('docker version and docker info show berth with real figures', async () => {
  const v = await d.docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{(index .Server.Components 0).Name}}']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), '1.47 1.24 Engine');
  const info = await d.docker(['info', '--format', '{{.NCPU}} {{.MemTotal}} {{.Driver}} {{.DockerRootDir}} {{.CgroupVersion}} {{.OSType}}']);
  assert.equal(info.code, 0, info.stderr);
  const [ncpu, mem, driver, root, cg, ostype] = info.stdout.trim().split(' ');
  assert.equal(Number(ncpu), (await import('node:os')).cpus().length);
  assert.equal(Number(mem), (await import('node:os')).totalmem());
  assert.equal(driver, 'overlay2');
  assert.equal(root, d.dataRoot);
  assert.match(cg, /^[12]$/);
  assert.equal(ostype, 'linux');
  const plain = await d.docker(['info']);
  assert.equal(plain.code, 0);
  assert.match(plain.stdout, /Server Version: 0\.\d+\.\d+/);
});

test('berth version and info talk to the same daemon', async () => {
  const v = await d.berth(['version']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /Server: berth/);
  assert.match(v.stdout, /API version:\s+1\.47 \(minimum version 1\.24\)/);
  const i = await d.berth(['info', '--format', '{{.Driver}}']);
  assert.equal(i.stdout.trim(), 'overlay2');
});

test('API version range: too new and too old are refused with docker wording', async () => {
  const tooNew = await curl(['-w', '%{http_code}', 'http://x/v1.99/info']);
  assert.equal(tooNew.stdout, '{"message":"client version 1.99 is too new. Maximum supported API version is 1.47"}\n400');
  const tooOld = await curl(['-w', '%{http_code}', 'http://x/v1.10/info']);
  assert.match(tooOld.stdout, /client version 1.10 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"}\n400$/);
});

test('unknown routes are 404 page not found', async () => {
  const r = await curl(['-w', '%{http_code}', 'http://x/v1.47/nope/nope']);
  assert.equal(r.stdout, '{"message":"page not found"}\n404');
});

test('garbage, truncated and oversized requests get an answer or a closed connection; the daemon keeps serving', async () => {
  const garbage = await rawExchange(d.socket, Buffer.from([0, 1, 2, 3, 255, 254, 10, 13, 10, 13, 10]));
  assert.match(garbage, /^HTTP\/1.1 400|^$/);
  await rawExchange(d.socket, 'GET /_ping HTTP/1.1\r\nHost: x\r\nContent-Le', 300); // truncated headers, then drop
  const huge = await rawExchange(d.socket, `GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(200_000)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1.1 431|^HTTP\/1.1 400|^$/);
  // A client that sends half a body and disconnects.
  await rawExchange(d.socket, 'POST /v1.47/info HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"a":', 200);
  assert.equal((await curl(['http://x/_ping'])).stdout, 'OK');
});

test('a second daemon on the same data root is refused with a clear message', async () => {
  const r = await run(process.execPath, [berthdBin, '--data-root', d.dataRoot, '--exec-root', d.execRoot + '2', '-H', `unix://${d.root}/other.sock`, '--pidfile', `${d.root}/other.pid`, '--config-file', `${d.root}/daemon.json`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /another berthd \(pid \d+\) is already running with data root/);
  assert.equal((await curl(['http://x/_ping'])).stdout, 'OK');
  assert.ok(fs.existsSync(d.socket), 'the refused daemon must not remove the running one\'s socket');
});

test('daemon.json: a directive both in the file and as a flag is refused; unknown keys are refused', async () => {
  const cfg = `${d.root}/conflict.json`;
  fs.writeFileSync(cfg, JSON.stringify({ debug: true }));
  const r = await run(process.execPath, [berthdBin, '--config-file', cfg, '--debug']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /specified both as a flag and in the configuration file: debug/);
  fs.writeFileSync(cfg, JSON.stringify({ 'no-such-key': 1 }));
  const r2 = await run(process.execPath, [berthdBin, '--config-file', cfg]);
  assert.match(r2.stderr, /don't match any configuration option: no-such-key/);
});

test('SIGTERM shuts down cleanly: socket and pidfile removed, lock released', async () => {
  const other = new TestDaemon(`${d.root}/second`, {});
  fs.mkdirSync(other.root, { recursive: true });
  await other.start();
  await other.stop('SIGTERM');
  assert.equal(fs.existsSync(other.socket), false);
  assert.equal(fs.existsSync(`${other.root}/berthd.pid`), false);
  // With no container running, a clean stop leaves no bridge or iptables chain behind.
  assert.deepEqual(await networkLeftovers(other.dataRoot), []);
  await other.start(); // the lock was released
  await other.stop('SIGTERM');
});
