/**
 * Registry mirrors end to end with the real docker CLI: `pull busybox` (no registry in the name) is served by a
 * mirror on 127.0.0.1 configured in daemon.json — after a first mirror that is down — and the mirror sees
 * `/v2/library/busybox/…` as Docker sends it; `docker info` lists the mirrors; with every mirror down (and no
 * internet upstream here) the pull fails with an error naming the mirror; a malformed mirror is refused at start
 * with dockerd's wording.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { berthdBin, importBusybox, run, startDaemon } from '../harness.js';
import { haveRegistry, TestRegistries } from '../registry.js';
import { RegistryProxy } from '../registry-proxy.js';

let work: string;
let registries: TestRegistries;
let proxy: RegistryProxy;
let mirror: string;
let dead: string;
const daemons: Array<Awaited<ReturnType<typeof startDaemon>>> = [];

const skip = haveRegistry ? false : 'docker-registry (Debian package) is not installed';

/** A 127.0.0.1 port nothing listens on. */
async function closedPort(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `127.0.0.1:${port}`;
}

/** A daemon whose daemon.json is `config`. */
async function daemonWith(config: object) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-m-'));
  fs.writeFileSync(path.join(root, 'daemon.json'), JSON.stringify(config));
  const d = await startDaemon({ root });
  daemons.push(d);
  return d;
}

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-mirror-reg-'));
  registries = new TestRegistries(work);
  proxy = new RegistryProxy(await registries.start('mirror'));
  mirror = await proxy.start();
  dead = await closedPort();
  // fill the mirror as a pull-through cache would hold it: library/busybox:latest
  const filler = await startDaemon();
  daemons.push(filler);
  await importBusybox(filler, `${mirror}/library/busybox:latest`);
  const r = await filler.docker(['push', `${mirror}/library/busybox:latest`]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  for (const d of daemons) await d.teardown();
  await proxy?.stop();
  await registries?.stopAll();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('pull busybox is served by the first working mirror of daemon.json, as /v2/library/busybox', { skip }, async () => {
  const d = await daemonWith({ 'registry-mirrors': [`http://${dead}`, `http://${mirror}`], debug: true });
  const info = await d.docker(['info', '--format', '{{json .RegistryConfig.Mirrors}}']);
  assert.deepEqual(JSON.parse(info.stdout), [`http://${dead}/`, `http://${mirror}/`]);
  const n = proxy.log.length;
  const r = await d.docker(['pull', 'busybox'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${d.log().slice(-2000)}`);
  assert.match(r.stdout, /latest: Pulling from library\/busybox/);
  assert.match(r.stdout, /Status: Downloaded newer image for busybox:latest/);
  assert.match(r.stdout, /docker\.io\/library\/busybox:latest/);
  const paths = proxy.log.slice(n).map((e) => `${e.method} ${e.path}`);
  assert.ok(paths.includes('GET /v2/library/busybox/manifests/latest'), paths.join('\n'));
  assert.match(d.log(), new RegExp(`mirror http://${dead}/v2/ failed, trying the next source`));
  assert.match(d.log(), new RegExp(`served by mirror http://${mirror}/v2/`));
  const ran = await d.docker(['run', '--rm', 'busybox', 'echo', 'from-mirror']);
  assert.equal(ran.stdout.trim(), 'from-mirror', `${ran.stderr}\n${d.log().slice(-2000)}`);
  const insp = JSON.parse((await d.docker(['image', 'inspect', 'busybox'])).stdout)[0];
  assert.deepEqual(insp.RepoTags, ['busybox:latest']);
  assert.match(insp.RepoDigests[0], /^busybox@sha256:[0-9a-f]{64}$/);
});

test('with every mirror down the pull fails with an error naming the mirror', { skip }, async () => {
  const d = await daemonWith({ 'registry-mirrors': [`http://${dead}`] });
  const r = await d.docker(['pull', 'busybox:1.36'], { timeoutMs: 60_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`registry mirror http://${dead}/ failed: Get "http://${dead}/v2/": dial tcp ${dead}: connect: connection refused`));
  assert.match(r.stderr, /registry-1\.docker\.io/, 'the upstream was tried last');
  const ping = await d.docker(['version', '--format', '{{.Server.Version}}']);
  assert.equal(ping.code, 0, 'the daemon is still up');
});

test('a malformed mirror is refused at start with dockerd\'s wording', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-mirror-bad-'));
  try {
    const base = ['--data-root', path.join(root, 'data'), '--exec-root', path.join(root, 'exec'), '-H', `unix://${path.join(root, 's.sock')}`, '--pidfile', path.join(root, 'p.pid'), '--config-file', path.join(root, 'none.json')];
    fs.writeFileSync(path.join(root, 'none.json'), '{}');
    const a = await run(process.execPath, [berthdBin, ...base, '--registry-mirror', 'ftp://mirror.example']);
    assert.notEqual(a.code, 0);
    assert.match(a.stderr + a.stdout, /invalid mirror: unsupported scheme "ftp" in "ftp:\/\/mirror.example"/);
    const b = await run(process.execPath, [berthdBin, ...base, '--registry-mirror', 'https://mirror.example/path']);
    assert.notEqual(b.code, 0);
    assert.match(b.stderr + b.stdout, /invalid mirror: path, query, or fragment at end of the URI "https:\/\/mirror.example\/path"/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
