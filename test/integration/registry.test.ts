/**
 * Registry end to end: a real Distribution registry (Debian's docker-registry) on 127.0.0.1, driven through the real
 * docker CLI against berthd: push, pull (by tag and by digest), RepoDigests, up-to-date pulls, missing tags, layer
 * reuse on push, commit layers (gzipped on push), and login against an htpasswd-protected registry.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, sleep, startDaemon } from '../harness.js';
import { bcryptLine, haveRegistry, TestRegistries } from '../registry.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let work: string;
let registries: TestRegistries;
let open: string; // host:port of the open registry
let secured: string | undefined; // host:port of the htpasswd registry

before(async () => {
  if (!haveRegistry) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-registry-it-'));
  registries = new TestRegistries(work);
  open = await registries.start('open');
  const line = bcryptLine('berth', 's3cret');
  if (line) secured = await registries.start('secured', line);
  d = await startDaemon();
  await importBusybox(d, 'busybox:reg');
});

after(async () => {
  await d?.teardown();
  await registries?.stopAll();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const skip = haveRegistry ? false : 'docker-registry (Debian package) is not installed';

async function ok(args: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  const t0 = Date.now();
  const r = await d.docker(args, opts);
  if (process.env.BERTH_TEST_DEBUG) console.error(`docker ${args.join(' ')}: ${Date.now() - t0} ms`);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}\n--- berthd log ---\n${d.log().slice(-3000)}`);
  return r;
}

let pushedDigest = '';

test('push a tagged image to a local registry', { skip }, async () => {
  await ok(['tag', 'busybox:reg', `${open}/test/bb:1`]);
  const r = await ok(['push', `${open}/test/bb:1`]);
  assert.match(r.stdout, new RegExp(`The push refers to repository \\[${open}/test/bb\\]`));
  assert.match(r.stdout, /: Pushed/);
  const m = /1: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  pushedDigest = m[1]!;
  // the registry really has it
  const res = await fetch(`http://${open}/v2/test/bb/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('docker-content-digest'), pushedDigest);
  const man = (await res.json()) as { layers: Array<{ mediaType: string }> };
  assert.equal(man.layers[0]!.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
  // RepoDigests after push
  const insp = JSON.parse((await ok(['image', 'inspect', `${open}/test/bb:1`])).stdout)[0];
  assert.ok(insp.RepoDigests.includes(`${open}/test/bb@${pushedDigest}`), JSON.stringify(insp.RepoDigests));
});

test('rmi, pull back, run the pulled image; RepoDigests; up-to-date pull', { skip }, async () => {
  await ok(['rmi', `${open}/test/bb:1`, 'busybox:reg']);
  const r = await ok(['pull', `${open}/test/bb:1`]);
  assert.match(r.stdout, /1: Pulling from test\/bb/);
  assert.match(r.stdout, /Pull complete/);
  assert.match(r.stdout, new RegExp(`Digest: ${pushedDigest}`));
  assert.match(r.stdout, new RegExp(`Status: Downloaded newer image for ${open}/test/bb:1`));
  const insp = JSON.parse((await ok(['image', 'inspect', `${open}/test/bb:1`])).stdout)[0];
  assert.deepEqual(insp.RepoTags, [`${open}/test/bb:1`]);
  assert.deepEqual(insp.RepoDigests, [`${open}/test/bb@${pushedDigest}`]);
  const run = await ok(['run', '--rm', `${open}/test/bb:1`, 'echo', 'pulled-ok']);
  assert.equal(run.stdout.trim(), 'pulled-ok');
  const again = await ok(['pull', `${open}/test/bb:1`]);
  assert.match(again.stdout, new RegExp(`Status: Image is up to date for ${open}/test/bb:1`));
});

test('pull by digest', { skip }, async () => {
  await ok(['rmi', '-f', `${open}/test/bb:1`]);
  const r = await ok(['pull', `${open}/test/bb@${pushedDigest}`]);
  assert.match(r.stdout, /Pull complete|Already exists/);
  assert.match(r.stdout, new RegExp(`Digest: ${pushedDigest}`));
  const run = await ok(['run', '--rm', `${open}/test/bb@${pushedDigest}`, 'echo', 'by-digest']);
  assert.equal(run.stdout.trim(), 'by-digest');
  const insp = JSON.parse((await ok(['image', 'inspect', `${open}/test/bb@${pushedDigest}`])).stdout)[0];
  assert.deepEqual(insp.RepoDigests, [`${open}/test/bb@${pushedDigest}`]);
  await ok(['pull', `${open}/test/bb:1`]);
});

test('pull of a missing tag fails with manifest unknown', { skip }, async () => {
  const r = await d.docker(['pull', `${open}/test/bb:nope`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`manifest for ${open}/test/bb:nope not found: manifest unknown`));
  const r2 = await d.docker(['pull', `${open}/test/absent:1`]);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /not found|unknown/);
});

test('a committed image in the same repository reuses the base layer; its new layer is gzipped and pulls back', { skip }, async () => {
  const name = `reg-commit-${process.pid}`;
  await ok(['run', '--name', name, `${open}/test/bb:1`, 'sh', '-c', 'echo committed > /hello']);
  await ok(['commit', name, `${open}/test/bb:3`]);
  await ok(['rm', name]);
  const r = await ok(['push', `${open}/test/bb:3`]);
  assert.match(r.stdout, /Layer already exists/);
  assert.match(r.stdout, /: Pushed/);
  assert.match(r.stdout, /3: digest: sha256:[0-9a-f]{64} size: \d+/);
  await ok(['rmi', `${open}/test/bb:3`]);
  const p = await ok(['pull', `${open}/test/bb:3`]);
  assert.match(p.stdout, /Already exists/);
  assert.match(p.stdout, /Pull complete/);
  const run = await ok(['run', '--rm', `${open}/test/bb:3`, 'cat', '/hello']);
  assert.equal(run.stdout.trim(), 'committed');
});

test('push to another repository of the same registry mounts the existing blob', { skip }, async () => {
  await ok(['tag', `${open}/test/bb:1`, `${open}/other/bb:1`]);
  const r = await ok(['push', `${open}/other/bb:1`]);
  assert.match(r.stdout, /Mounted from test\/bb/);
  const res = await fetch(`http://${open}/v2/other/bb/manifests/1`, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(res.headers.get('docker-content-digest'), pushedDigest);
});

test('login against an htpasswd registry; push/pull with credentials', { skip }, async (t) => {
  if (!secured) return t.skip('no bcrypt (python3 crypt) to write an htpasswd file');
  const reg = secured;
  const timed = async (args: string[], opts: { input?: string } = {}) => {
    const t0 = Date.now();
    const r = await d.docker(args, { ...opts, timeoutMs: 20_000 });
    if (process.env.BERTH_TEST_DEBUG) console.error(`docker ${args.join(' ')}: ${Date.now() - t0} ms -> ${r.code} ${r.stderr.slice(-200)}`);
    return r;
  };
  const bad = await timed(['login', reg, '-u', 'berth', '--password-stdin'], { input: 'wrong\n' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /401|unauthorized/i);
  await ok(['tag', `${open}/test/bb:1`, `${reg}/private/bb:1`]);
  const denied = await timed(['push', `${reg}/private/bb:1`]);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /unauthorized: authentication required/);
  const good = await ok(['login', reg, '-u', 'berth', '--password-stdin'], { input: 's3cret\n' });
  assert.match(good.stdout, /Login Succeeded/);
  const pushed = await ok(['push', `${reg}/private/bb:1`]);
  assert.match(pushed.stdout, /1: digest: sha256:/);
  await ok(['rmi', `${reg}/private/bb:1`]);
  const pulled = await ok(['pull', `${reg}/private/bb:1`]);
  assert.match(pulled.stdout, /Status: (Downloaded newer image|Image is up to date)/);
  await ok(['logout', reg]);
  const anon = await timed(['pull', `${reg}/private/bb:1`]);
  assert.notEqual(anon.code, 0);
  assert.match(anon.stderr, /pull access denied for .*private\/bb, repository does not exist or may require 'docker login'/);
});
