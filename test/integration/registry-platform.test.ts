/**
 * `--platform` for real: a Docker manifest list and an OCI index with two platforms (linux/amd64 — busybox pushed by
 * berth — and a synthetic linux/arm64 image) sit in a real Distribution registry; the docker CLI's
 * `pull --platform linux/arm64` gets the arm64 image, a plain pull the host's, a platform the list lacks fails in
 * dockerd's words, and the RepoDigest is the list's digest. Push: an OCI layout holding a two-platform index, loaded and
 * pushed, puts the index and every manifest into the registry byte for byte (as dockerd's containerd store); a
 * pulled manifest list pushes the one platform it pulled (as dockerd's classic store, the only content it has).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { apiRequest, importBusybox, startDaemon } from '../harness.js';
import { haveRegistry, TestRegistries } from '../registry.js';
import { getManifest, indexOf, MT, ociLayoutTar, pushImage, pushManifest, synthImage, type SynthImage } from '../oci-images.js';
import { HOST_ARCH } from '../../src/core/images/platform.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let work: string;
let registries: TestRegistries;
let reg: string;
let arm: SynthImage;
let armV7: SynthImage;
let hostDigest = '';
let listDigest = '';
let ociDigest = '';

const skip = !haveRegistry ? 'docker-registry (Debian package) is not installed' : HOST_ARCH !== 'amd64' ? 'the synthetic second platform assumes an amd64 host' : false;

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-platform-'));
  registries = new TestRegistries(work);
  reg = await registries.start('open');
  d = await startDaemon();
  await importBusybox(d, `${reg}/multi/bb:amd64`);
  const p = await d.docker(['push', `${reg}/multi/bb:amd64`]);
  assert.equal(p.code, 0, p.stderr);
  hostDigest = /amd64: digest: (sha256:[0-9a-f]{64})/.exec(p.stdout)![1]!;
  const host = await getManifest(reg, 'multi/bb', hostDigest);
  const hostBlob = { mediaType: host.mediaType, digest: hostDigest, size: host.body.length, bytes: host.body };
  arm = await synthImage('linux/arm64/v8');
  armV7 = await synthImage('linux/arm/v7');
  await pushImage(reg, 'multi/bb', arm);
  await pushImage(reg, 'multi/bb', armV7);
  const children = [
    { manifest: hostBlob, platform: { os: 'linux', architecture: 'amd64' } },
    { manifest: arm.manifest, platform: arm.platform },
    { manifest: armV7.manifest, platform: armV7.platform },
  ];
  const list = indexOf(children);
  await pushManifest(reg, 'multi/bb', 'list', list);
  await pushManifest(reg, 'multi/bb', 'fresh', list);
  listDigest = list.digest;
  const oci = indexOf(children, { oci: true });
  await pushManifest(reg, 'multi/bb', 'oci', oci);
  ociDigest = oci.digest;
});

after(async () => {
  await d?.teardown();
  await registries?.stopAll();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function inspect(name: string): Promise<{ Architecture: string; Os: string; Variant?: string; RootFS: { Layers: string[] }; RepoDigests: string[] }> {
  const r = await d.docker(['image', 'inspect', name]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout)[0];
}

for (const kind of ['list', 'oci'] as const) {
  test(`${kind === 'list' ? 'Docker manifest list' : 'OCI index'}: --platform linux/arm64 pulls the arm64 image, a plain pull the host's`, { skip }, async () => {
    const name = `${reg}/multi/bb:${kind}`;
    const top = kind === 'list' ? listDigest : ociDigest;
    const r = await d.docker(['pull', '--platform', 'linux/arm64', name]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${d.log().slice(-2000)}`);
    assert.match(r.stdout, new RegExp(`Digest: ${top}`));
    let i = await inspect(name);
    assert.equal(i.Architecture, 'arm64');
    assert.equal(i.Os, 'linux');
    assert.equal(i.Variant, 'v8');
    assert.deepEqual(i.RootFS.Layers, [arm.diffID]);
    assert.ok(i.RepoDigests.includes(`${reg}/multi/bb@${top}`), JSON.stringify(i.RepoDigests));
    // os/arch/variant
    const v7 = await d.docker(['pull', '--platform', 'linux/arm/v7', name]);
    assert.equal(v7.code, 0, v7.stderr);
    i = await inspect(name);
    assert.equal(i.Architecture, 'arm');
    assert.equal(i.Variant, 'v7');
    assert.deepEqual(i.RootFS.Layers, [armV7.diffID]);
    // no --platform: the host's (amd64) entry
    const plain = await d.docker(['pull', name]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /Status: Downloaded newer image/);
    i = await inspect(name);
    assert.equal(i.Architecture, 'amd64');
    const ran = await d.docker(['run', '--rm', name, 'echo', 'host-platform']);
    assert.equal(ran.stdout.trim(), 'host-platform', ran.stderr);
  });
}

test('a platform the list lacks fails in dockerd\'s words (Docker list and OCI index)', { skip }, async () => {
  const r = await d.docker(['pull', '--platform', 'linux/s390x', `${reg}/multi/bb:fresh`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no matching manifest for linux\/s390x in the manifest list entries/);
  const o = await d.docker(['pull', '--platform', 'linux/arm/v6', `${reg}/multi/bb:oci`]);
  assert.notEqual(o.code, 0);
  assert.match(o.stderr, /no matching manifest for linux\/arm\/v6 in the manifest list entries/);
  // nothing was tagged by the failed pulls
  const ls = await d.docker(['image', 'inspect', `${reg}/multi/bb:fresh`]);
  assert.notEqual(ls.code, 0);
});

test('pull by the index digest with --platform', { skip }, async () => {
  const r = await d.docker(['pull', '--platform', 'linux/arm64', `${reg}/multi/bb@${ociDigest}`]);
  assert.equal(r.code, 0, r.stderr);
  const i = await inspect(`${reg}/multi/bb@${ociDigest}`);
  assert.equal(i.Architecture, 'arm64');
});

test('a malformed --platform is a 400 in containerd\'s words; a single-arch image of another platform is kept with dockerd\'s warning', { skip }, async () => {
  const bad = await d.docker(['pull', '--platform', 'nonsense', `${reg}/multi/bb:list`]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Error response from daemon: "nonsense": unknown operating system or architecture: invalid argument/);
  const res = await apiRequest(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${reg}/multi/bb`)}&tag=list&platform=${encodeURIComponent('linux/a b')}`);
  assert.equal(res.status, 400);
  assert.match(JSON.parse(res.body).message, /"a b" is an invalid component of "linux\/a b": platform specifier component must match/);
  // normalised spellings pick the same entries: x86_64 → amd64, aarch64 → arm64
  const x = await d.docker(['pull', '--platform', 'linux/aarch64', `${reg}/multi/bb:list`]);
  assert.equal(x.code, 0, x.stderr);
  assert.equal((await inspect(`${reg}/multi/bb:list`)).Architecture, 'arm64');
  const single = await d.docker(['pull', '--platform', 'linux/arm64', `${reg}/multi/bb:amd64`]);
  assert.equal(single.code, 0, single.stderr);
  assert.match(single.stdout, new RegExp(`WARNING: image with reference ${reg}/multi/bb:amd64 was found but its platform \\(linux/amd64\\) does not match the specified platform \\(linux/arm64\\)`));
});

test('docker load of an OCI layout with a two-platform index, then push: the registry has the index and every manifest', { skip }, async () => {
  const amd = await synthImage('linux/amd64', { oci: true });
  const arm64 = await synthImage('linux/arm64/v8', { oci: true });
  const index = indexOf([amd, arm64].map((i) => ({ manifest: i.manifest, platform: i.platform })), { oci: true });
  const all = [amd, arm64].flatMap((i) => [i.manifest, i.config, i.layer]);
  const tar = await ociLayoutTar(index, 'berth-test/multi:1', all);
  const l = await d.docker(['load'], { input: tar });
  assert.equal(l.code, 0, `${l.stderr}\n${d.log().slice(-2000)}`);
  assert.match(l.stdout, /Loaded image: berth-test\/multi:1/);
  const loaded = await inspect('berth-test/multi:1');
  assert.equal(loaded.Architecture, 'amd64', 'the host platform is the local image');
  // garbage collection keeps the other platform's blobs while the image exists
  assert.equal((await d.docker(['image', 'prune', '-f'])).code, 0);
  await d.docker(['tag', 'berth-test/multi:1', `${reg}/loaded/multi:1`]);
  const p = await d.docker(['push', `${reg}/loaded/multi:1`]);
  assert.equal(p.code, 0, `${p.stdout}\n${p.stderr}\n${d.log().slice(-2000)}`);
  assert.match(p.stdout, new RegExp(`1: digest: ${index.digest} size: ${index.size}`));
  const top = await getManifest(reg, 'loaded/multi', '1');
  assert.equal(top.status, 200);
  assert.equal(top.mediaType, MT.ociIndex);
  assert.equal(top.digest, index.digest);
  assert.ok(top.body.equals(index.bytes), 'the index went up byte for byte');
  for (const i of [amd, arm64]) {
    const m = await getManifest(reg, 'loaded/multi', i.manifest.digest);
    assert.equal(m.status, 200, i.manifest.digest);
    assert.ok(m.body.equals(i.manifest.bytes));
    for (const b of [i.config, i.layer]) assert.equal((await fetch(`http://${reg}/v2/loaded/multi/blobs/${b.digest}`, { method: 'HEAD' })).status, 200, b.digest);
  }
  // and pulls back for the other platform
  const back = await d.docker(['pull', '--platform', 'linux/arm64', `${reg}/loaded/multi:1`]);
  assert.equal(back.code, 0, back.stderr);
  const bi = await inspect(`${reg}/loaded/multi:1`);
  assert.equal(bi.Architecture, 'arm64');
  assert.deepEqual(bi.RootFS.Layers, [arm64.diffID]);
});

test('a layout missing a platform\'s layer loads the host platform and pushes its manifest only; a pulled list pushes the pulled platform (as dockerd\'s classic store)', { skip }, async () => {
  const amd = await synthImage('linux/amd64', { oci: true, text: 'partial\n' });
  const arm64 = await synthImage('linux/arm64', { oci: true, text: 'partial arm64\n' });
  const index = indexOf([amd, arm64].map((i) => ({ manifest: i.manifest, platform: i.platform })), { oci: true });
  const tar = await ociLayoutTar(index, `${reg}/partial/multi:1`, [amd.manifest, amd.config, amd.layer, arm64.manifest, arm64.config]);
  const l = await d.docker(['load'], { input: tar });
  assert.equal(l.code, 0, l.stderr);
  const p = await d.docker(['push', `${reg}/partial/multi:1`]);
  assert.equal(p.code, 0, `${p.stdout}\n${p.stderr}`);
  const top = await getManifest(reg, 'partial/multi', '1');
  assert.equal(top.status, 200);
  assert.notEqual(top.mediaType, MT.ociIndex);
  assert.equal(JSON.parse(top.body.toString()).config.digest, amd.config.digest);
  // a pulled manifest list: only the host platform's content is here, so its manifest is what goes up
  const pulled = await d.docker(['pull', `${reg}/multi/bb:list`]);
  assert.equal(pulled.code, 0, pulled.stderr);
  await d.docker(['tag', `${reg}/multi/bb:list`, `${reg}/copy/bb:1`]);
  const c = await d.docker(['push', `${reg}/copy/bb:1`]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, new RegExp(`1: digest: ${hostDigest} `));
  const copy = await getManifest(reg, 'copy/bb', '1');
  assert.equal(copy.mediaType, MT.dockerManifest);
  assert.equal(copy.digest, hostDigest);
});
