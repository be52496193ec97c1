/**
 * Issue 11 item 8: `docker load` keeps a layer only unpacked (as dockerd), with a tar split to give the exact tar back;
 * `docker save` and `docker push` still produce the layer byte for byte. A layer the files cannot give back (the same
 * path twice) keeps its tar.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { busyboxRootfsTar, startDaemon } from '../harness.js';
import { haveRegistry, TestRegistries } from '../registry.js';

const sha = (b: Buffer | string) => createHash('sha256').update(typeof b === 'string' ? fs.readFileSync(b) : b).digest('hex');
let d: Awaited<ReturnType<typeof startDaemon>>;
let work: string;
let regs: TestRegistries;

/** du -sb of a directory (bytes). */
const du = (p: string) => Number(execFileSync('du', ['-sb', p]).toString().split('\t')[0]);

/** A docker-save archive of one image `tag` whose only layer is `layerTar`. */
function archive(name: string, layerTar: string, tag: string): { file: string; diffID: string } {
  const stage = path.join(work, `${name}-stage`);
  fs.mkdirSync(path.join(stage, 'blobs', 'sha256'), { recursive: true });
  const h = sha(layerTar);
  fs.copyFileSync(layerTar, path.join(stage, 'blobs', 'sha256', h));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${h}`] }, history: [{ created: '2024-01-01T00:00:00Z' }] }));
  const ch = sha(config);
  fs.writeFileSync(path.join(stage, 'blobs', 'sha256', ch), config);
  fs.writeFileSync(path.join(stage, 'manifest.json'), JSON.stringify([{ Config: `blobs/sha256/${ch}`, RepoTags: [tag], Layers: [`blobs/sha256/${h}`] }]));
  const file = path.join(work, `${name}.tar`);
  execFileSync('tar', ['-C', stage, '-cf', file, '.']);
  return { file, diffID: `sha256:${h}` };
}

/** A ~12 MB layer: busybox, many small files, long names, symlinks and hardlinks. */
function layerTar(): string {
  const root = path.join(work, 'rootfs');
  busyboxRootfsTar(work); // makes work/rootfs
  const docs = path.join(root, 'usr', 'share', 'data');
  for (let i = 0; i < 300; i++) {
    const dir = path.join(docs, `d${i % 20}`, 'x'.repeat(60 + (i % 7) * 10));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.txt`), `file ${i}\n`.repeat(i * 7));
  }
  fs.writeFileSync(path.join(root, 'big.bin'), Buffer.from(Array.from({ length: 8 << 20 }, (_, i) => (i * 2654435761) >>> 24)));
  fs.linkSync(path.join(root, 'big.bin'), path.join(root, 'big-link.bin'));
  fs.symlinkSync('/big.bin', path.join(root, 'abs-link'));
  const tar = path.join(work, 'layer.tar');
  execFileSync('tar', ['-C', root, '--numeric-owner', '--format=posix', '-cf', tar, '.']);
  return tar;
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-load-disk-'));
  regs = new TestRegistries(work);
  d = await startDaemon();
});

after(async () => {
  await d?.teardown();
  await regs?.stopAll();
  fs.rmSync(work, { recursive: true, force: true });
});

test('load keeps the layer only unpacked; system df tells the truth; save and push give the exact layer back', async () => {
  const tar = layerTar();
  const size = fs.statSync(tar).size;
  const { file, diffID } = archive('clean', tar, 'loaddisk/clean:1');
  const r = await d.docker(['load', '-i', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Loaded image: loaddisk\/clean:1/);

  // the layer's tar is not in the content store; what is there is small (config, the gzip'd tar split)
  const blobs = path.join(d.dataRoot, 'content', 'blobs', 'sha256');
  assert.ok(fs.existsSync(blobs), 'content store layout');
  assert.equal(fs.existsSync(path.join(blobs, diffID.slice(7))), false, 'the layer tar blob is gone');
  const contentBytes = du(path.join(d.dataRoot, 'content'));
  assert.ok(contentBytes < size / 10, `content store holds ${contentBytes} bytes for a ${size}-byte layer`);
  const total = du(d.dataRoot);
  assert.ok(total < size * 1.4, `data root ${total} bytes for a ${size}-byte layer (was twice that)`);

  // system df: the image's size is the unpacked layer, and that is about what the disk holds
  const df = JSON.parse((await d.docker(['system', 'df', '--format', '{{json .}}'])).stdout.split('\n')[0]!) as { Type: string; Size: string };
  assert.equal(df.Type, 'Images');
  const img = JSON.parse((await d.docker(['image', 'inspect', 'loaddisk/clean:1'])).stdout)[0] as { Size: number };
  assert.ok(Math.abs(img.Size - size) < size * 0.2, `image size ${img.Size} ≈ layer ${size}`);
  assert.ok(total - img.Size < size * 0.4, `disk ${total} vs reported ${img.Size}`);

  // it runs
  const run = await d.docker(['run', '--rm', 'loaddisk/clean:1', 'sha256sum', '/big.bin']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.split(' ')[0], sha(path.join(work, 'rootfs', 'big.bin')));

  // save: the layer comes back byte for byte
  const saved = path.join(work, 'saved.tar');
  const s = await d.docker(['save', '-o', saved, 'loaddisk/clean:1']);
  assert.equal(s.code, 0, s.stderr);
  const out = path.join(work, 'saved');
  fs.mkdirSync(out);
  execFileSync('tar', ['-C', out, '-xf', saved]);
  assert.equal(sha(path.join(out, 'blobs', 'sha256', diffID.slice(7))), diffID.slice(7));
  // and loads again (into the same daemon: nothing to extract, the image is up to date)
  assert.equal((await d.docker(['load', '-i', saved])).code, 0);

  // push: the registry gets a gzip of exactly that tar
  if (!haveRegistry) return;
  const reg = await regs.start('reg');
  assert.equal((await d.docker(['tag', 'loaddisk/clean:1', `${reg}/loaddisk/clean:1`])).code, 0);
  const p = await d.docker(['push', `${reg}/loaddisk/clean:1`]);
  assert.equal(p.code, 0, p.stderr);
  const man = (await (await fetch(`http://${reg}/v2/loaddisk/clean/manifests/1`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).json()) as { layers: Array<{ digest: string }> };
  const blob = Buffer.from(await (await fetch(`http://${reg}/v2/loaddisk/clean/blobs/${man.layers[0]!.digest}`)).arrayBuffer());
  assert.equal(`sha256:${sha(gunzipSync(blob))}`, diffID);
});

test('a layer whose tar the files cannot give back (a path twice) keeps its tar; save is still exact', async () => {
  const src = path.join(work, 'dup');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'f'), 'first version\n');
  const tar = path.join(work, 'dup.tar');
  execFileSync('tar', ['-C', src, '-cf', tar, 'f']);
  fs.writeFileSync(path.join(src, 'f'), 'second\n');
  execFileSync('tar', ['-C', src, '-rf', tar, 'f']); // appended: f twice, the last one wins on extraction
  const { file, diffID } = archive('dup', tar, 'loaddisk/dup:1');
  assert.equal((await d.docker(['load', '-i', file])).code, 0);
  assert.ok(fs.existsSync(path.join(d.dataRoot, 'content', 'blobs', 'sha256', diffID.slice(7))), 'the tar is kept');
  const saved = path.join(work, 'dup-saved.tar');
  assert.equal((await d.docker(['save', '-o', saved, 'loaddisk/dup:1'])).code, 0);
  const out = path.join(work, 'dup-saved');
  fs.mkdirSync(out);
  execFileSync('tar', ['-C', out, '-xf', saved]);
  assert.equal(sha(path.join(out, 'blobs', 'sha256', diffID.slice(7))), diffID.slice(7));
});
