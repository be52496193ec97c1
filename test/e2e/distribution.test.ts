/**
 * `GET /distribution/{name}/json` (issue 19 item 7) through dockerode's `image.distribution()` and raw HTTP, against
 * Debian's docker-registry: the manifest's descriptor (mediaType, digest, size) and the platforms it serves — the
 * image config's for a single manifest, every entry for a manifest list / OCI index — by tag and by digest; an
 * htpasswd registry with and without `X-Registry-Auth`; unknown tags and repositories, image IDs and malformed names
 * answered with dockerd's status and wording. The shape is the swagger's DistributionInspect; every answer checked
 * here was compared by hand with Debian's dockerd 20.10 against the same registry (identical bodies and statuses).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import { apiRequest, importBusybox, startDaemon } from '../harness.js';
import { bcryptLine, haveRegistry, TestRegistries } from '../registry.js';
import { indexOf, MT, pushImage, pushManifest, synthImage, type Blob } from '../oci-images.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let docker: Docker;
let work: string;
let registries: TestRegistries;
let reg: string;
let secured: string | undefined;
let single = { digest: '', size: 0 };
let index: Blob;

const skip = haveRegistry ? false : 'docker-registry (Debian package) is not installed';

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-distribution-'));
  registries = new TestRegistries(work);
  reg = await registries.start('open');
  const line = bcryptLine('berth', 's3cret');
  if (line) secured = await registries.start('secured', line);
  d = await startDaemon();
  docker = new Docker({ socketPath: d.socket });
  await importBusybox(d, `${reg}/dist/bb:1`);
  const p = await d.docker(['push', `${reg}/dist/bb:1`]);
  assert.equal(p.code, 0, p.stderr);
  const m = /1: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(p.stdout)!;
  single = { digest: m[1]!, size: Number(m[2]) };
  const amd = await synthImage('linux/amd64', { oci: true });
  const arm = await synthImage('linux/arm64/v8', { oci: true });
  await pushImage(reg, 'dist/multi', amd);
  await pushImage(reg, 'dist/multi', arm);
  index = indexOf([amd, arm].map((i) => ({ manifest: i.manifest, platform: i.platform })), { oci: true });
  await pushManifest(reg, 'dist/multi', 'latest', index);
});

after(async () => {
  await d?.teardown();
  await registries?.stopAll();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('dockerode distribution(): a single manifest by tag and by digest, with the config\'s platform', { skip }, async () => {
  const info = (await docker.getImage(`${reg}/dist/bb:1`).distribution()) as unknown as Record<string, unknown>;
  assert.deepEqual(Object.keys(info), ['Descriptor', 'Platforms']);
  assert.deepEqual(info.Descriptor, { mediaType: MT.dockerManifest, digest: single.digest, size: single.size });
  assert.deepEqual(info.Platforms, [{ architecture: 'amd64', os: 'linux' }]);
  const byDigest = (await docker.getImage(`${reg}/dist/bb@${single.digest}`).distribution()) as unknown as Record<string, unknown>;
  assert.deepEqual(byDigest, info);
});

test('an OCI index: its descriptor and every platform, variant included; no tag means latest', { skip }, async () => {
  const info = (await docker.getImage(`${reg}/dist/multi`).distribution()) as unknown as Record<string, unknown>;
  assert.deepEqual(info.Descriptor, { mediaType: MT.ociIndex, digest: index.digest, size: index.size });
  assert.deepEqual(info.Platforms, [
    { architecture: 'amd64', os: 'linux' },
    { architecture: 'arm64', os: 'linux', variant: 'v8' },
  ]);
});

test('X-Registry-Auth: an htpasswd registry answers 401 without it and the descriptor with it', { skip }, async (t) => {
  if (!secured) return t.skip('no bcrypt (python3 crypt) to write an htpasswd file');
  await d.docker(['tag', `${reg}/dist/bb:1`, `${secured}/private/bb:1`]);
  const login = await d.docker(['login', secured, '-u', 'berth', '--password-stdin'], { input: 's3cret\n' });
  assert.equal(login.code, 0, login.stderr);
  assert.equal((await d.docker(['push', `${secured}/private/bb:1`])).code, 0);
  const anon = await apiRequest(d, 'GET', `/distribution/${secured}/private/bb:1/json`);
  assert.equal(anon.status, 401);
  assert.deepEqual(JSON.parse(anon.body), { message: 'unauthorized: authentication required' });
  const auth = { username: 'berth', password: 's3cret', serveraddress: secured };
  const info = (await docker.getImage(`${secured}/private/bb:1`).distribution({ authconfig: auth })) as { Descriptor: { digest: string } };
  assert.equal(info.Descriptor.digest, single.digest);
  const wrong = await apiRequest(d, 'GET', `/distribution/${secured}/private/bb:1/json`, { headers: { 'X-Registry-Auth': Buffer.from(JSON.stringify({ ...auth, password: 'nope' })).toString('base64url') } });
  assert.equal(wrong.status, 401);
});

test('errors in dockerd\'s status and words: unknown tag, unknown repository, an image ID, a malformed name', { skip }, async () => {
  const tag = await apiRequest(d, 'GET', `/distribution/${reg}/dist/bb:nope/json`);
  assert.equal(tag.status, 404);
  assert.deepEqual(JSON.parse(tag.body), { message: 'manifest unknown: manifest unknown' });
  const repo = await apiRequest(d, 'GET', `/distribution/${reg}/dist/absent:1/json`);
  assert.equal(repo.status, 404);
  assert.deepEqual(JSON.parse(repo.body), { message: 'manifest unknown: manifest unknown' });
  const id = await apiRequest(d, 'GET', `/distribution/${'a'.repeat(64)}/json`);
  assert.equal(id.status, 500);
  assert.deepEqual(JSON.parse(id.body), { message: 'no manifest found for full image ID' });
  const bad = await apiRequest(d, 'GET', `/distribution/${reg}/Dist/BB:1/json`);
  assert.equal(bad.status, 400);
  assert.deepEqual(JSON.parse(bad.body), { message: 'invalid reference format: repository name must be lowercase' });
  // dockerode reports the status
  await assert.rejects(docker.getImage(`${reg}/dist/bb:nope`).distribution(), (e: { statusCode?: number }) => e.statusCode === 404);
  // a registry that is down: dockerd's plain error (500) naming the endpoint
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const closed = `127.0.0.1:${(s.address() as net.AddressInfo).port}`;
  await new Promise((r) => s.close(r));
  const down = await apiRequest(d, 'GET', `/distribution/${closed}/x/y:1/json`);
  assert.equal(down.status, 500);
  assert.equal(JSON.parse(down.body).message, `Get "http://${closed}/v2/": dial tcp ${closed}: connect: connection refused`);
});
