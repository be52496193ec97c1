import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { readTar } from '../tar/reader.js';
import type { TarHeader } from '../tar/header.js';
import { changes, diffLayer, tarDirectory } from './diff-layer.js';
import { applyLayer } from './apply-layer.js';
import { FileType, lgetxattr, lsetxattr, mknod } from '../../sys/linux.js';

function withTmp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'berth-diff-'));
    try {
      await fn(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function entries(r: NodeJS.ReadableStream): Promise<Array<TarHeader & { data: string }>> {
  const out = [];
  for await (const e of readTar(r as AsyncIterable<Buffer>)) out.push({ ...e.header, data: (await buffer(e.body)).toString() });
  return out;
}

/** lower: etc/{keep,gone}, opq/old; upper: whiteout etc/gone, opaque opq with new, hardlinked a/b, xattrs. */
function makeLayers(dir: string): { lower: string; upper: string } {
  const lower = join(dir, 'lower');
  const upper = join(dir, 'upper');
  fs.mkdirSync(join(lower, 'etc'), { recursive: true });
  fs.mkdirSync(join(lower, 'opq'));
  fs.writeFileSync(join(lower, 'etc/keep'), 'k');
  fs.writeFileSync(join(lower, 'etc/gone'), 'g');
  fs.writeFileSync(join(lower, 'opq/old'), 'o');
  fs.mkdirSync(join(upper, 'etc'), { recursive: true });
  fs.mkdirSync(join(upper, 'opq'));
  fs.mkdirSync(join(upper, 'new'));
  mknod(join(upper, 'etc/gone'), FileType.S_IFCHR, 0n);
  fs.writeFileSync(join(upper, 'etc/keep'), 'k2');
  lsetxattr(join(upper, 'opq'), 'trusted.overlay.opaque', Buffer.from('y'));
  fs.writeFileSync(join(upper, 'opq/new'), 'n');
  fs.writeFileSync(join(upper, 'new/a'), 'shared');
  fs.linkSync(join(upper, 'new/a'), join(upper, 'new/b'));
  lsetxattr(join(upper, 'new/a'), 'user.bin', Buffer.from([0, 0xff]));
  fs.symlinkSync('/etc/keep', join(upper, 'new/sym'));
  return { lower, upper };
}

test('diffLayer writes OCI whiteouts, opaque markers, hardlinks and xattrs in sorted order', withTmp(async (dir) => {
  const { upper } = makeLayers(dir);
  const es = await entries(diffLayer(upper));
  assert.deepEqual(es.map((e) => `${e.type} ${e.name}${e.linkname ? ' -> ' + e.linkname : ''}`), [
    'dir etc/',
    'file etc/.wh.gone',
    'file etc/keep',
    'dir new/',
    'file new/a',
    'hardlink new/b -> new/a',
    'symlink new/sym -> /etc/keep',
    'dir opq/',
    'file opq/.wh..wh..opq',
    'file opq/new',
  ]);
  const a = es.find((e) => e.name === 'new/a')!;
  assert.deepEqual(a.xattrs.get('user.bin'), Buffer.from([0, 0xff]));
  assert.equal(a.data, 'shared');
  assert.equal(es.find((e) => e.name === 'opq/')!.xattrs.size, 0, 'trusted.overlay.* is not exported');
  // Deterministic bytes, and GNU tar accepts the stream.
  const b1 = await buffer(diffLayer(upper));
  assert.deepEqual(await buffer(diffLayer(upper)), b1);
  fs.writeFileSync(join(dir, 'l.tar'), b1);
  assert.match(execFileSync('tar', ['-tf', join(dir, 'l.tar')], { encoding: 'utf8' }), /^etc\/\netc\/\.wh\.gone\n/);
  // Round trip through applyLayer restores the overlay encoding.
  const back = join(dir, 'back');
  fs.mkdirSync(back);
  await applyLayer(diffLayer(upper), back);
  assert.equal(fs.lstatSync(join(back, 'etc/gone')).rdev, 0);
  assert.ok(fs.lstatSync(join(back, 'etc/gone')).isCharacterDevice());
  assert.equal(lgetxattr(join(back, 'opq'), 'trusted.overlay.opaque')?.toString(), 'y');
  assert.equal(fs.statSync(join(back, 'new/a')).ino, fs.statSync(join(back, 'new/b')).ino);
}));

test('changes reports A/C/D like docker diff', withTmp(async (dir) => {
  const { lower, upper } = makeLayers(dir);
  const got = await changes(upper, [lower]);
  const kinds = ['C', 'A', 'D'];
  assert.deepEqual(got.map((c) => `${kinds[c.Kind]} ${c.Path}`), [
    'C /etc',
    'D /etc/gone',
    'C /etc/keep',
    'A /new',
    'A /new/a',
    'A /new/b',
    'A /new/sym',
    'C /opq',
    'A /opq/new',
  ]);
}));

test('tarDirectory: plain tree, rebased single file, include list', withTmp(async (dir) => {
  const { upper } = makeLayers(dir);
  const plain = await entries(tarDirectory(join(upper, 'new')));
  assert.deepEqual(plain.map((e) => e.name), ['a', 'b', 'sym']);
  const hosts = await entries(tarDirectory(join(upper, 'etc/keep'), { rebaseName: 'hosts' }));
  assert.deepEqual(hosts.map((e) => [e.name, e.data]), [['hosts', 'k2']]);
  const rebased = await entries(tarDirectory(join(upper, 'new'), { rebaseName: 'copy' }));
  assert.deepEqual(rebased.map((e) => e.name), ['copy/', 'copy/a', 'copy/b', 'copy/sym']);
  const inc = await entries(tarDirectory(upper, { include: ['new/a', 'opq'] }));
  assert.deepEqual(inc.map((e) => e.name), ['new/a', 'opq/', 'opq/new']);
}));
