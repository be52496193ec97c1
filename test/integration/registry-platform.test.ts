/**
 * `--platform` for real: a Docker manifest list and an OCI index with two platforms (linux/amd64 — busybox pushed by
 * berth — and a synthetic linux/arm64 image) sit in a real Distribution registry; the docker CLI's
 * `pull --platform linux/arm64` gets the arm64 image, a plain pull the host's, a platform the list lacks fails in
 * dockerd's words, and the RepoDigest is the list's digest.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { apiRequest, importBusybox, startDaemon } from '../harness.js';
import { haveRegistry, TestRegistries } from '../registry.js';
import { getManifest, indexOf, pushImage, pushManifest, synthImage, type SynthImage } from '../oci-images.js';
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
