import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { ContainerRecord } from '../../../core/containers/container.js';
import { readTar } from '../../../pkg/tar/reader.js';
import { tarFromEntries } from '../../../pkg/tar/writer.js';
import { archiveName, ContainerFiles, filterChanges, GoMode, goFileMode, rfc3339Nano, ScopedFS } from './files.js';
import { ContainerStore } from './store.js';

let tmp: string;
let root: string;
let vol: string;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-files-'));
  root = path.join(tmp, 'exec/containers/c1/rootfs');
  vol = path.join(tmp, 'vol');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.mkdirSync(path.join(root, 'data'), { recursive: true });
  fs.mkdirSync(path.join(root, 'tmp'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nstaff:x:50:\n');
  fs.symlinkSync('/etc/passwd', path.join(root, 'etc/x'));
  fs.symlinkSync('../../../../../../', path.join(root, 'up'));
  fs.symlinkSync('/', path.join(root, 'slash'));
  fs.mkdirSync(vol);
  fs.writeFileSync(path.join(vol, 'in-volume'), 'v');
  fs.symlinkSync('/etc', path.join(vol, 'etclink'));
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function rec(overrides: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    Id: 'c1',
    Name: '/box',
    State: { Running: true, Paused: false, Status: 'running', Pid: 0 },
    Mounts: [{ Type: 'volume', Source: vol, Destination: '/data', RW: true, Mode: '', Propagation: '' }],
    HostConfig: { ReadonlyRootfs: false },
    Config: { User: '' },
    Berth: { snapshotKey: 'c1' },
    ...overrides,
  } as unknown as ContainerRecord;
}

function filesFor(r: ContainerRecord): ContainerFiles {
  const store = new ContainerStore(path.join(tmp, 'store'));
  (store as unknown as { byId: Map<string, ContainerRecord> }).byId.set(r.Id, r);
  (store as unknown as { byName: Map<string, string> }).byName.set(r.Name, r.Id);
  return new ContainerFiles({ store, snapshots: {} as never, rootfs: { acquire: async (id) => ({ root: path.join(tmp, 'exec/containers', id, 'rootfs'), release() {} }) } });
}

async function tarNames(r: Readable): Promise<string[]> {
  const names: string[] = [];
  for await (const { header, body } of readTar(r)) {
    names.push(header.name);
    body.resume();
  }
  return names;
}

test('archiveName keeps docker cp trailing-dot and slash semantics', () => {
  assert.deepEqual(archiveName('/etc/passwd'), { clean: '/etc/passwd', base: 'passwd', followFinal: false });
  assert.deepEqual(archiveName('/etc/'), { clean: '/etc', base: 'etc', followFinal: true });
  assert.deepEqual(archiveName('/etc/.'), { clean: '/etc', base: '.', followFinal: true });
  assert.deepEqual(archiveName('/'), { clean: '/', base: '/', followFinal: true });
  assert.equal(archiveName('etc//hosts').clean, '/etc/hosts');
});

test('goFileMode maps Unix modes to Go FileMode bits', () => {
  const st = fs.lstatSync(path.join(root, 'etc'));
  assert.equal(goFileMode(st), GoMode.Dir + (st.mode & 0o777));
  const ln = fs.lstatSync(path.join(root, 'etc/x'));
  assert.equal(goFileMode(ln), GoMode.Symlink + 0o777);
  assert.equal(rfc3339Nano(0n, 5000n), '1970-01-01T00:00:00.000005Z');
  assert.equal(rfc3339Nano(0n, 0n), '1970-01-01T00:00:00Z');
});

test('ScopedFS resolves symlinks inside the container root and maps mounts', async () => {
  const s = new ScopedFS(root, [{ dest: ['data'], source: vol, rw: true }]);
  assert.deepEqual(await s.resolve('/etc/x', true), ['etc', 'passwd']);
  assert.deepEqual(await s.resolve('/etc/x', false), ['etc', 'x']);
  assert.deepEqual(await s.resolve('/up/etc/passwd', false), ['etc', 'passwd']);
  assert.deepEqual(await s.resolve('/slash/../../etc/passwd', false), ['etc', 'passwd']);
  assert.deepEqual(await s.resolve('/../../../etc', true), ['etc']);
  assert.equal(s.hostPath(['data', 'in-volume']), path.join(vol, 'in-volume'));
  // a symlink inside a volume resolves in the container's scope, not the host's
  assert.deepEqual(await s.resolve('/data/etclink/passwd', false), ['etc', 'passwd']);
  assert.equal(s.hostPath(await s.resolve('/data/etclink/passwd', false)), path.join(root, 'etc/passwd'));
});

test('statPath: stat header fields, linkTarget in scope, Docker 404 wording', async () => {
  const f = filesFor(rec());
  const st = await f.statPath('box', '/etc/x');
  assert.equal(st.name, 'x');
  assert.equal(st.linkTarget, '/etc/passwd');
  assert.ok(st.mode & GoMode.Symlink);
  const d = await f.statPath('box', '/etc');
  assert.ok(d.mode & GoMode.Dir);
  assert.match(d.mtime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  await assert.rejects(f.statPath('box', '/nope'), { kind: 'NotFound', message: 'Could not find the file /nope in container box' });
  await assert.rejects(f.statPath('box', ''), { kind: 'InvalidArgument' });
  const v = await f.statPath('box', '/data/in-volume');
  assert.equal(v.size, 1);
});

test('archivePath tars a directory under its base name; symlink escapes stay inside', async () => {
  const f = filesFor(rec());
  const a = await f.archivePath('box', '/etc');
  assert.deepEqual((await tarNames(a.tar)).sort(), ['etc/', 'etc/group', 'etc/passwd', 'etc/x']);
  const b = await f.archivePath('box', '/up/etc/passwd');
  const chunks: Buffer[] = [];
  for await (const { header, body } of readTar(b.tar)) {
    assert.equal(header.name, 'passwd');
    for await (const c of body) chunks.push(c as Buffer);
  }
  assert.match(Buffer.concat(chunks).toString(), /app:x:1000/);
  const dot = await f.archivePath('box', '/etc/.');
  assert.ok((await tarNames(dot.tar)).includes('./passwd'));
  const inVol = await f.archivePath('box', '/data');
  assert.deepEqual(await tarNames(inVol.tar), ['data/', 'data/etclink', 'data/in-volume']);
});

test('extractToDir writes inside the container (through symlinks), honours noOverwriteDirNonDir and copyUIDGID', async () => {
  const f = filesFor(rec({ Config: { User: 'app' } as never }));
  const tar = () =>
    tarFromEntries([
      { header: { name: 'newdir/', type: 'dir', mode: 0o755 } },
      { header: { name: 'newdir/f.txt', type: 'file', mode: 0o644, size: 2, uid: 7, gid: 7 }, body: Buffer.from('hi') },
    ]);
  await f.extractToDir('box', '/tmp', tar());
  assert.equal(fs.readFileSync(path.join(root, 'tmp/newdir/f.txt'), 'utf8'), 'hi');
  assert.equal(fs.statSync(path.join(root, 'tmp/newdir/f.txt')).uid, 7);
  // via an escaping symlink: lands in the container's /tmp
  await f.extractToDir('box', '/up/tmp', tarFromEntries([{ header: { name: 'esc.txt', type: 'file', mode: 0o644, size: 1 }, body: Buffer.from('e') }]));
  assert.ok(fs.existsSync(path.join(root, 'tmp/esc.txt')));
  // into a volume
  await f.extractToDir('box', '/data', tarFromEntries([{ header: { name: 'v2', type: 'file', mode: 0o644, size: 1 }, body: Buffer.from('v') }]));
  assert.ok(fs.existsSync(path.join(vol, 'v2')));
  await assert.rejects(
    f.extractToDir('box', '/tmp', tarFromEntries([{ header: { name: 'newdir', type: 'file', mode: 0o644, size: 1 }, body: Buffer.from('x') }]), { noOverwriteDirNonDir: true }),
    /cannot overwrite directory/,
  );
  await f.extractToDir(
    'box',
    '/tmp',
    tarFromEntries([
      { header: { name: 'od/', type: 'dir', mode: 0o755 } },
      { header: { name: 'od/owned', type: 'file', mode: 0o644, size: 1, uid: 5 }, body: Buffer.from('o') },
    ]),
    { copyUIDGID: true },
  );
  assert.equal(fs.statSync(path.join(root, 'tmp/od/owned')).uid, 1000);
  assert.equal(fs.statSync(path.join(root, 'tmp/od')).gid, 1000);
  await assert.rejects(f.extractToDir('box', '/etc/passwd', tar()), { message: 'extraction point is not a directory' });
  await assert.rejects(f.extractToDir('box', '/missing', tar()), { kind: 'NotFound' });
  const ro = filesFor(rec({ HostConfig: { ReadonlyRootfs: true } as never }));
  await assert.rejects(ro.extractToDir('box', '/tmp', tar()), { kind: 'Forbidden', message: 'container rootfs is marked read-only' });
});

test('export tars the whole root', async () => {
  const f = filesFor(rec());
  const names = await tarNames(await f.export('box'));
  assert.ok(names.includes('etc/passwd'));
  assert.ok(names.includes('up'));
  // GNU tar can read it
  const out = path.join(tmp, 'export.tar');
  const w = fs.createWriteStream(out);
  await new Promise<void>(async (resolve, reject) => {
    (await f.export('box')).pipe(w).on('finish', resolve).on('error', reject);
  });
  assert.match(execFileSync('tar', ['-tf', out]).toString(), /etc\/passwd/);
});

test('filterChanges hides runc mount points and parents changed only by them', () => {
  const list = [
    { Path: '/dev', Kind: 1 as const },
    { Path: '/etc', Kind: 0 as const },
    { Path: '/etc/hostname', Kind: 1 as const },
    { Path: '/etc/hosts', Kind: 1 as const },
    { Path: '/proc', Kind: 1 as const },
    { Path: '/tmp', Kind: 0 as const },
    { Path: '/tmp/new', Kind: 1 as const },
  ];
  assert.deepEqual(filterChanges(list), [
    { Path: '/tmp', Kind: 0 },
    { Path: '/tmp/new', Kind: 1 },
  ]);
  assert.deepEqual(filterChanges([...list, { Path: '/etc/motd', Kind: 1 }]).map((c) => c.Path), ['/etc', '/tmp', '/tmp/new', '/etc/motd']);
});
