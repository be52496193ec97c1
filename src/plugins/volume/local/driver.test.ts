import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { dirSize, LocalVolumeDriver, mountPoints } from './index.js';

const roots: string[] = [];
function tmpRoot(): string {
  const r = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-vol-'));
  roots.push(r);
  return r;
}
/** Trash is deleted in the background: wait for it (bounded) instead of a fixed sleep that a loaded machine outruns. */
async function hiddenEntriesGone(root: string): Promise<string[]> {
  const hidden = () => fs.readdirSync(root).filter((n) => n.startsWith('.'));
  for (let i = 0; i < 100 && hidden().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  return hidden();
}

after(() => {
  for (const r of roots) {
    assert.deepEqual(mountPoints().filter((m) => m.startsWith(r + '/')), [], 'test left mounts behind');
    fs.rmSync(r, { recursive: true, force: true });
  }
});

test('create makes <root>/<name>/_data with metadata; create again returns the same volume', async () => {
  const root = tmpRoot();
  const d = new LocalVolumeDriver(root);
  await d.init();
  const { record, created } = await d.create('data1', { labels: { k: 'v' }, options: null });
  assert.equal(created, true);
  assert.match(record.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  assert.ok(fs.statSync(path.join(root, 'data1', '_data')).isDirectory());
  assert.equal(d.path('data1'), path.join(root, 'data1', '_data'));
  const again = await d.create('data1', { labels: { other: 'x' }, options: null });
  assert.equal(again.created, false);
  assert.deepEqual(again.record.labels, { k: 'v' });
  // Concurrent creates of one name share the work.
  const [a, b] = await Promise.all([d.create('twin', { labels: null }), d.create('twin', { labels: null })]);
  assert.equal([a.created, b.created].filter(Boolean).length, 1);
  // No temp directories left behind.
  assert.deepEqual(fs.readdirSync(root).filter((n) => n.startsWith('.')), []);
});

test('names and options are validated with docker wording', async () => {
  const d = new LocalVolumeDriver(tmpRoot());
  await d.init();
  await assert.rejects(d.create('a', {}), { message: 'volume name is too short, names should be at least two alphanumeric characters' });
  await assert.rejects(d.create('foo/bar', {}), {
    message:
      '"foo/bar" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path',
  });
  await assert.rejects(d.create('_x', {}), /includes invalid characters/);
  await assert.rejects(d.create('ok1', { options: { bogus: '1' } }), { message: 'invalid option: "bogus"' });
  await assert.rejects(d.create('ok1', { options: { type: 'tmpfs' } }), { message: 'missing required option: "device"' });
  await assert.rejects(d.create('ok1', { options: { o: 'size=1m', device: 'tmpfs' } }), { message: 'missing required option: "type"' });
  assert.equal(d.get('ok1'), undefined);
});

test('volumes survive a restart (new driver on the same root); crash leftovers are cleaned', async () => {
  const root = tmpRoot();
  const d = new LocalVolumeDriver(root);
  await d.init();
  await d.create('keep', { labels: { a: 'b' }, options: {} });
  fs.writeFileSync(path.join(d.path('keep'), 'f'), 'hello');
  fs.mkdirSync(path.join(root, '.tmp-deadbeef', '_data'), { recursive: true });
  fs.mkdirSync(path.join(root, '.trash-deadbeef', '_data'), { recursive: true });
  const d2 = new LocalVolumeDriver(root);
  await d2.init();
  assert.deepEqual(d2.get('keep')?.labels, { a: 'b' });
  assert.deepEqual(d2.get('keep')?.options, {});
  assert.equal(fs.readFileSync(path.join(d2.path('keep'), 'f'), 'utf8'), 'hello');
  assert.deepEqual(await hiddenEntriesGone(root), []);
});

test('remove deletes the data; size counts file bytes once per inode', async () => {
  const root = tmpRoot();
  const d = new LocalVolumeDriver(root);
  await d.init();
  await d.create('sz', {});
  fs.writeFileSync(path.join(d.path('sz'), 'a'), Buffer.alloc(1000));
  fs.linkSync(path.join(d.path('sz'), 'a'), path.join(d.path('sz'), 'b'));
  fs.mkdirSync(path.join(d.path('sz'), 'sub'));
  fs.writeFileSync(path.join(d.path('sz'), 'sub', 'c'), 'xyz');
  assert.equal(await d.size('sz'), 1003);
  assert.equal(await dirSize(path.join(root, 'nope')), 0);
  await d.remove('sz');
  assert.equal(d.get('sz'), undefined);
  assert.equal(fs.existsSync(path.join(root, 'sz')), false);
  assert.deepEqual(await hiddenEntriesGone(root), []);
  assert.deepEqual(fs.readdirSync(root), []);
});

test('tmpfs driver options: mounted at first use, idempotent, unmounted on remove', { skip: process.getuid?.() !== 0 }, async () => {
  const root = tmpRoot();
  const d = new LocalVolumeDriver(root);
  await d.init();
  await d.create('tv', { options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
  const p = d.path('tv');
  assert.ok(!mountPoints().includes(p));
  assert.equal(await d.mount('tv'), p);
  assert.ok(mountPoints().includes(p));
  await d.mount('tv'); // idempotent: not stacked
  assert.equal(mountPoints().filter((m) => m === p).length, 1);
  const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === p)!;
  assert.match(line, /tmpfs/);
  assert.match(line, /size=1024k/);
  // A restarted driver sees the mount and does not stack another.
  const d2 = new LocalVolumeDriver(root);
  await d2.init();
  await d2.mount('tv');
  assert.equal(mountPoints().filter((m) => m === p).length, 1);
  await d2.remove('tv');
  assert.ok(!mountPoints().includes(p));
  // A bind-type volume (type=none,o=bind) mounts its device.
  const src = path.join(root, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'x'), '1');
  await d2.create('bv', { options: { type: 'none', device: src, o: 'bind' } });
  await d2.mount('bv');
  assert.equal(fs.readFileSync(path.join(d2.path('bv'), 'x'), 'utf8'), '1');
  await d2.unmount('bv');
  assert.ok(!mountPoints().includes(d2.path('bv')));
  await d2.remove('bv');
  assert.equal(fs.readFileSync(path.join(src, 'x'), 'utf8'), '1', 'removing a bind-option volume never deletes the device');
});
