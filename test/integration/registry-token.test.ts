/**
 * Token auth as Docker Hub and Harbor do it, against a real Distribution registry configured for token auth with a
 * JWT token server the test runs (test/token-server.ts), driven through the real docker CLI: `POST /auth` (refused
 * password, Login Succeeded with an IdentityToken), pushes with the stored identity token (refresh grant), anonymous
 * pulls, denied pulls, cross-repository mounts with a token scoped to both repositories, a token that expires in the
 * middle of a chunked upload (the 401 is answered and the upload goes on), tokens renewed before they expire, and a
 * push the token does not cover answered as Docker Hub's: denied: requested access to the resource is denied.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, startDaemon } from '../harness.js';
import { haveRegistry, TestRegistries } from '../registry.js';
import { RegistryProxy } from '../registry-proxy.js';
import { TokenServer } from '../token-server.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let work: string;
let registries: TestRegistries;
let tokens: TokenServer;
let proxy: RegistryProxy;
let reg: string;

const haveOpenssl = fs.existsSync('/usr/bin/openssl');
const skip = !haveRegistry ? 'docker-registry (Debian package) is not installed' : !haveOpenssl ? 'openssl is not installed' : false;

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-registry-token-'));
  tokens = new TokenServer(path.join(work, 'tokens'), { alice: 'alicepw' });
  await tokens.start();
  registries = new TestRegistries(work);
  const upstream = await registries.start('token', undefined, { auth: tokens.registryAuthConfig() });
  proxy = new RegistryProxy(upstream);
  reg = await proxy.start();
  // small chunks, so a few-MB layer is several PATCH requests
  process.env.BERTH_UPLOAD_CHUNK_SIZE = String(512 << 10);
  d = await startDaemon();
  delete process.env.BERTH_UPLOAD_CHUNK_SIZE;
  await importBusybox(d, 'busybox:tok');
});

after(async () => {
  await d?.teardown();
  await proxy?.stop();
  await registries?.stopAll();
  await tokens?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function ok(args: string[], opts: { input?: string } = {}) {
  const r = await d.docker(args, { ...opts, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}\n--- berthd log ---\n${d.log().slice(-3000)}`);
  return r;
}

/** A committed image with one layer of `mb` MB of random bytes. */
async function bigImage(tag: string, mb: number) {
  const name = `tok-big-${process.pid}-${mb}-${Date.now()}`;
  await ok(['run', '--name', name, 'busybox:tok', 'sh', '-c', `head -c ${mb * 1024 * 1024} /dev/urandom > /big`]);
  await ok(['commit', name, tag]);
  await ok(['rm', name]);
}

test('POST /auth answers as dockerd: a refused password, then Login Succeeded with an IdentityToken', { skip }, async () => {
  await assert.rejects(d.client.json('POST', '/auth', { body: { username: 'alice', password: 'wrong', serveraddress: reg } }), /unauthorized: incorrect username or password/);
  const res = await d.client.json<Record<string, unknown>>('POST', '/auth', { body: { username: 'alice', password: 'alicepw', serveraddress: reg } });
  assert.deepEqual(Object.keys(res).sort(), ['IdentityToken', 'Status']);
  assert.equal(res.Status, 'Login Succeeded');
  assert.match(String(res.IdentityToken), /^[0-9a-f]{32}$/);
  const bad = await d.docker(['login', reg, '-u', 'alice', '--password-stdin'], { input: 'nope\n' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /unauthorized: incorrect username or password/);
  const good = await ok(['login', reg, '-u', 'alice', '--password-stdin'], { input: 'alicepw\n' });
  assert.match(good.stdout, /Login Succeeded/);
  const cfg = JSON.parse(fs.readFileSync(path.join(d.root, 'docker-config', 'config.json'), 'utf8'));
  assert.match(cfg.auths[reg].identitytoken, /^[0-9a-f]{32}$/, 'the CLI stored the identity token, not the password');
});

test('push with the stored identity token (refresh grant); anonymous pull of a public repository; denied pull', { skip }, async () => {
  const before = tokens.log.length;
  await ok(['tag', 'busybox:tok', `${reg}/alice/app:1`]);
  const pushed = await ok(['push', `${reg}/alice/app:1`]);
  assert.match(pushed.stdout, /1: digest: sha256:[0-9a-f]{64}/);
  const grants = tokens.log.slice(before);
  assert.ok(grants.some((g) => g.grant === 'refresh_token' && g.scopes.includes('repository:alice/app:pull,push') && g.granted.includes('alice/app:push')), JSON.stringify(grants));
  await ok(['tag', 'busybox:tok', `${reg}/public/bb:1`]);
  await ok(['push', `${reg}/public/bb:1`]);
  await ok(['logout', reg]);
  await ok(['rmi', `${reg}/public/bb:1`]);
  const n = tokens.log.length;
  const pulled = await ok(['pull', `${reg}/public/bb:1`]);
  assert.match(pulled.stdout, /Status: (Downloaded newer image|Image is up to date)/);
  assert.ok(tokens.log.slice(n).some((g) => g.method === 'GET' && g.account === undefined && g.granted.includes('public/bb:pull')), 'an anonymous pull token');
  const denied = await d.docker(['pull', `${reg}/alice/app:1`]);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /pull access denied for .*alice\/app, repository does not exist or may require 'docker login'/);
});

test('a push to another repository mounts the blob, with a token scoped to both repositories', { skip }, async () => {
  await ok(['login', reg, '-u', 'alice', '--password-stdin'], { input: 'alicepw\n' });
  const n = tokens.log.length;
  await ok(['tag', 'busybox:tok', `${reg}/alice/copy:1`]);
  const r = await ok(['push', `${reg}/alice/copy:1`]);
  assert.match(r.stdout, /Mounted from alice\/app/);
  assert.ok(tokens.log.slice(n).some((g) => g.scopes.includes('repository:alice/copy:pull,push') && g.granted.includes('alice/app:pull')), JSON.stringify(tokens.log.slice(n)));
  assert.ok(proxy.log.some((e) => e.method === 'POST' && /mount=sha256/.test(e.path) && e.status === 201), 'the registry answered the mount with 201');
});

test('a token that expires in the middle of a chunked upload: the 401 is answered and the upload goes on', { skip }, async () => {
  await bigImage(`${reg}/alice/big:1`, 5);
  tokens.life = { real: 2, reported: 300 }; // the client believes the token lives 5 minutes; the registry says 2–3 s
  proxy.throttle = 1 << 20; // 1 MB/s: the 5 s upload outlasts the token
  const n = proxy.log.length;
  try {
    const r = await ok(['push', `${reg}/alice/big:1`]);
    assert.match(r.stdout, /1: digest: sha256:/);
  } finally {
    proxy.throttle = 0;
    tokens.life = { real: 300, reported: 300 };
  }
  const patches = proxy.log.slice(n).filter((e) => e.method === 'PATCH');
  assert.ok(patches.length >= 6, `chunked: ${patches.length} PATCH requests`);
  const i401 = patches.findIndex((e) => e.status === 401);
  assert.ok(i401 >= 0, `a PATCH met the expired token: ${JSON.stringify(patches.map((p) => p.status))}`);
  assert.equal(patches[i401 + 1]?.contentRange, patches[i401]!.contentRange, 'the refused chunk is sent again after a new token');
  assert.equal(patches[i401 + 1]?.status, 202);
  await ok(['rmi', `${reg}/alice/big:1`]);
  await ok(['pull', `${reg}/alice/big:1`]);
  await ok(['run', '--rm', `${reg}/alice/big:1`, 'test', '-s', '/big']);
});

test('tokens are renewed when they expire, before they are refused', { skip }, async () => {
  await bigImage(`${reg}/alice/big2:1`, 3);
  tokens.life = { real: 2, reported: 2 };
  proxy.throttle = 1 << 20;
  const n = proxy.log.length;
  const t = tokens.log.length;
  try {
    await ok(['push', `${reg}/alice/big2:1`]);
  } finally {
    proxy.throttle = 0;
    tokens.life = { real: 300, reported: 300 };
  }
  const patches = proxy.log.slice(n).filter((e) => e.method === 'PATCH');
  assert.ok(patches.length >= 6);
  assert.deepEqual(patches.filter((e) => e.status === 401), [], 'no request met an expired token');
  assert.ok(tokens.log.length - t >= 2, `tokens renewed during the push (${tokens.log.length - t} issued)`);
});

test('a push to a repository the token does not cover is denied in Docker Hub\'s words (insufficient_scope)', { skip }, async () => {
  const login = await d.docker(['login', reg, '-u', 'alice', '--password-stdin'], { input: 'alicepw\n' });
  assert.equal(login.code, 0, login.stderr);
  try {
    await ok(['tag', 'busybox:tok', `${reg}/bob/app:1`]);
    const r = await d.docker(['push', `${reg}/bob/app:1`], { timeoutMs: 60_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^denied: requested access to the resource is denied$/m);
    assert.ok(tokens.log.some((g) => g.scopes.includes('repository:bob/app:pull,push') && !g.granted.includes('bob/app:push')), 'the token server refused the push scope');
  } finally {
    await d.docker(['logout', reg]);
  }
});
