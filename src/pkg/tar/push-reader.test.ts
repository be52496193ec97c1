import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { TarFormatError, type TarHeader } from './header.js';
import { TarPushReader } from './push-reader.js';
import { readTar } from './reader.js';
import { tarFromEntries } from './writer.js';

type Got = { header: TarHeader; body: Buffer };

/** Everything the push reader reports for `tar` pushed in pieces of `step` bytes. */
function pushAll(tar: Buffer, step: number): Got[] {
  const out: Got[] = [];
  let pieces: Buffer[] = [];
  const r = new TarPushReader({
    entry: (header) => {
      pieces = [];
      out.push({ header, body: Buffer.alloc(0) });
    },
    data: (p) => pieces.push(Buffer.from(p)),
    entryEnd: () => {
      out[out.length - 1]!.body = Buffer.concat(pieces);
    },
  });
  for (let i = 0; i < tar.length; i += step) r.push(tar.subarray(i, i + step));
  r.end();
  return out;
}

async function pullAll(tar: Buffer): Promise<Got[]> {
  const out: Got[] = [];
  for await (const { header, body } of readTar(Readable.from([tar]))) out.push({ header, body: await buffer(body) });
  return out;
}

test('the push reader sees what readTar sees, however the archive is cut into chunks (PAX names, xattrs, links)', async () => {
  const long = `${'d'.repeat(120)}/${'f'.repeat(130)}`;
  const tar = await buffer(
    tarFromEntries([
      { header: { name: 'a/', type: 'dir', mode: 0o750, mtime: new Date(1_700_000_000_000) } },
      { header: { name: 'a/small', mode: 0o640, uid: 7, gid: 8 }, body: 'hello\n' },
      { header: { name: 'a/block', size: 512 }, body: Buffer.alloc(512, 1) },
      { header: { name: long, xattrs: new Map([['user.k', Buffer.from([0, 1, 2])]]) }, body: Buffer.alloc(70_000, 2) },
      { header: { name: 'a/empty' }, body: '' },
      { header: { name: 'a/link', type: 'symlink', linkname: '../' + 'x'.repeat(150) } },
      { header: { name: 'a/hard', type: 'hardlink', linkname: 'a/small' } },
    ]),
  );
  const want = await pullAll(tar);
  assert.equal(want.length, 7);
  for (const step of [1, 7, 511, 512, 513, 4096, 1 << 20]) assert.deepEqual(pushAll(tar, step), want, `pieces of ${step} bytes`);
});

test('the push reader refuses a truncated archive and tolerates a missing end marker or last padding', async () => {
  const tar = await buffer(tarFromEntries([{ header: { name: 'f' }, body: 'x'.repeat(600) }]));
  // header, 600 bytes of body, 424 of padding, 1024 of end marker
  assert.equal(pushAll(tar.subarray(0, 512 + 600), 100).length, 1, 'no padding, no end marker');
  for (const cut of [100, 512 + 300]) assert.throws(() => pushAll(tar.subarray(0, cut), 64), (e: unknown) => e instanceof TarFormatError && /unexpected end/.test((e as Error).message));
  const bad = Buffer.from(tar);
  bad[0] ^= 1;
  assert.throws(() => pushAll(bad, 512), /invalid tar header checksum/);
});
