/**
 * Transfers that survive a bad network, against a real Distribution registry behind a proxy that cuts connections
 * and injects 5xx answers (test/registry-proxy.ts), through the real docker CLI: a pull that survives two cut
 * downloads (resumed with Range), 503s retried with back-off, a big layer pushed in PATCH chunks that resumes
 * after a cut (40 MB in 4 MB chunks; 300 MB in 16 MB chunks under `npm run soak`), and `--max-concurrent-downloads`
 * bounding parallel layer downloads.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, startDaemon } from '../harness.js';
import { haveRegistry, TestRegistries } from '../registry.js';
import { RegistryProxy } from '../registry-proxy.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let work: string;
let registries: TestRegistries;
let proxy: RegistryProxy;
let open: string;
let px: string;

const skip = haveRegistry ? false : 'docker-registry (Debian package) is not installed';
const MB = 1 << 20;
const SOAK = Boolean(process.env.BERTH_SOAK);
const HUGE_MB = SOAK ? 300 : 40;
const CHUNK = SOAK ? 16 * MB : 4 * MB;

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-registry-robust-'));
  registries = new TestRegistries(work);
  open = await registries.start('open');
  proxy = new RegistryProxy(open);
  px = await proxy.start();
  process.env.BERTH_UPLOAD_CHUNK_SIZE = String(CHUNK);
  d = await startDaemon();
  delete process.env.BERTH_UPLOAD_CHUNK_SIZE;
  await importBusybox(d, 'busybox:robust');
});

after(async () => {
  await d?.teardown();
  await proxy?.stop();
  await registries?.stopAll();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function ok(daemon: typeof d, args: string[]) {
  const r = await daemon.docker(args, { timeoutMs: 180_000 });
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}\n--- berthd log ---\n${daemon.log().slice(-3000)}`);
  return r;
}

/** Commits a layer of `mb` MB of random bytes (and its checksum) on top of `base` as `tag`. */
async function randomLayer(daemon: typeof d, base: string, tag: string, mb: number, file = 'big') {
  const name = `robust-${process.pid}-${Date.now()}`;
  await ok(daemon, ['run', '--name', name, base, 'sh', '-c', `head -c ${mb * MB} /dev/urandom > /${file} && sha256sum /${file} > /${file}.sum`]);
  await ok(daemon, ['commit', name, tag]);
  await ok(daemon, ['rm', name]);
}

test('a pull survives two cut connections: the download resumes with Range and the layer verifies', { skip }, async () => {
  await randomLayer(d, 'busybox:robust', `${px}/test/big:1`, 8);
  await ok(d, ['push', `${px}/test/big:1`]);
  await ok(d, ['rmi', `${px}/test/big:1`]);
  const man = (await (await fetch(`http://${open}/v2/test/big/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).json()) as { layers: Array<{ digest: string }> };
  const top = man.layers[man.layers.length - 1]!.digest;
  const n = proxy.log.length;
  proxy.faults = [{ method: 'GET', path: new RegExp(`/blobs/${top}$`), times: 2, cutAfter: 2 * MB }];
  const r = await ok(d, ['pull', `${px}/test/big:1`]);
  assert.match(r.stdout, /Pull complete/);
  const ex = proxy.log.slice(n);
  assert.equal(ex.filter((e) => e.cut).length, 2, 'two downloads were cut');
  assert.ok(ex.some((e) => e.method === 'GET' && /^bytes=\d+-$/.test(e.range ?? '') && e.status === 206), `a Range resume: ${JSON.stringify(ex.filter((e) => e.range))}`);
  const run = await ok(d, ['run', '--rm', `${px}/test/big:1`, 'sha256sum', '-c', '/big.sum']);
  assert.match(run.stdout, /\/big: OK/);
});

test('503 answers are retried with back-off', { skip }, async () => {
  const n = proxy.log.length;
  proxy.faults = [{ method: 'GET', path: /\/manifests\//, times: 2, status: 503 }];
  await ok(d, ['pull', `${px}/test/big:1`]);
  const m = proxy.log.slice(n).filter((e) => /\/manifests\//.test(e.path)).map((e) => e.status);
  assert.deepEqual(m.slice(0, 3), [503, 503, 200]);
});

test(`a ${HUGE_MB} MB layer goes up in PATCH chunks and resumes after a cut where the registry left off`, { skip }, async () => {
  await randomLayer(d, 'busybox:robust', `${px}/test/huge:1`, HUGE_MB, 'huge');
  const n = proxy.log.length;
  // the 5th chunk's connection dies before a byte of it reaches the registry
  proxy.faults = [{ method: 'PATCH', path: /\/blobs\/uploads\//, skip: 4, times: 1, cutAfter: 0 }];
  const r = await ok(d, ['push', `${px}/test/huge:1`]);
  assert.match(r.stdout, /1: digest: sha256:/);
  const ex = proxy.log.slice(n);
  const patches = ex.filter((e) => e.method === 'PATCH');
  assert.ok(patches.length >= Math.floor((HUGE_MB * MB) / CHUNK), `${patches.length} chunks`);
  const cut = patches.findIndex((e) => e.cut);
  assert.equal(cut, 4);
  const cutStart = Number(patches[cut]!.contentRange!.split('-')[0]);
  assert.ok(cutStart > 0);
  assert.equal(patches[cut + 1]!.contentRange!.split('-')[0], String(cutStart), 'the next chunk starts where the registry has data up to');
  assert.ok(ex.some((e) => e.method === 'GET' && /\/blobs\/uploads\//.test(e.path) && e.status === 204), 'the upload status was asked');
  assert.equal(ex.filter((e) => e.method === 'POST' && !e.path.includes('mount=') && /\/blobs\/uploads\/$/.test(e.path.split('?')[0]!)).length, 2, 'one upload session for the layer (plus the config), not a restart');
  // the registry verified the whole blob's digest when the upload was committed; it serves it back whole
  const man = (await (await fetch(`http://${open}/v2/test/huge/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).json()) as { layers: Array<{ digest: string; size: number }> };
  const top = man.layers[man.layers.length - 1]!;
  const head = await fetch(`http://${open}/v2/test/huge/blobs/${top.digest}`, { method: 'HEAD' });
  assert.equal(Number(head.headers.get('content-length')), top.size);
  assert.ok(top.size > HUGE_MB * MB);
  await ok(d, ['rmi', `${px}/test/huge:1`]);
});

test('--max-concurrent-downloads bounds the layers downloaded at once', { skip }, async () => {
  const one = await startDaemon({ args: ['--max-concurrent-downloads', '1'] });
  try {
    await importBusybox(one, 'busybox:robust');
    await randomLayer(one, 'busybox:robust', 'robust:l2', 2, 'a');
    await randomLayer(one, 'robust:l2', `${px}/test/layers:1`, 2, 'b');
    await ok(one, ['push', `${px}/test/layers:1`]);
    await ok(one, ['rmi', `${px}/test/layers:1`, 'robust:l2', 'busybox:robust']);
    proxy.throttle = 4 * MB;
    proxy.maxBlobGets = 0;
    await ok(one, ['pull', `${px}/test/layers:1`]);
    assert.equal(proxy.maxBlobGets, 1, 'one layer at a time');
    await ok(d, ['rmi', '-f', `${px}/test/big:1`]);
    proxy.maxBlobGets = 0;
    await ok(d, ['pull', `${px}/test/layers:1`]);
    assert.ok(proxy.maxBlobGets >= 2, `the default (3) downloads layers in parallel (${proxy.maxBlobGets})`);
  } finally {
    proxy.throttle = 0;
    await one.teardown();
  }
});
