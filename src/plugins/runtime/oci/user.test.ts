import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileInRoot, resolveInRoot, resolveUser, resolveUserFrom } from './user.js';

const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
  'app:x:1000:1000::/home/app:/bin/sh',
].join('\n');
const group = [
  'root:x:0:', 'daemon:x:1:', 'tty:x:5:app', 'audio:x:29:app,www-data', 'www-data:x:33:', 'app:x:1000:', 'docker:x:999:',
].join('\n');
const r = (u: string, ga: string[] = []) => resolveUserFrom(u, ga, passwd, group);

test('user specs resolve like runc', () => {
  assert.deepEqual(r(''), { uid: 0, gid: 0, additionalGids: [0] });
  assert.deepEqual(r('app'), { uid: 1000, gid: 1000, additionalGids: [1000, 5, 29] });
  assert.deepEqual(r('1000'), { uid: 1000, gid: 1000, additionalGids: [1000, 5, 29] });
  assert.deepEqual(r('app:docker'), { uid: 1000, gid: 999, additionalGids: [999] }); // explicit group: no sgids
  assert.deepEqual(r('33:1'), { uid: 33, gid: 1, additionalGids: [1] });
  assert.deepEqual(r('4242'), { uid: 4242, gid: 0, additionalGids: [0] }); // numeric without entry is fine
  assert.deepEqual(r('4242:4343'), { uid: 4242, gid: 4343, additionalGids: [4343] });
});

test('Docker\'s errors', () => {
  assert.throws(() => r('nobody2'), { kind: 'InvalidArgument', message: 'unable to find user nobody2: no matching entries in passwd file' });
  assert.throws(() => r('app:nogroup'), { message: 'unable to find group nogroup: no matching entries in group file' });
  assert.throws(() => r('', ['nogroup']), { message: 'Unable to find group nogroup: no matching entries in group file' });
  assert.throws(() => resolveUserFrom('app', [], undefined, undefined), /unable to find user app/);
});

test('--group-add by name or number, deduplicated', () => {
  assert.deepEqual(r('', ['docker', '29', '4000', 'docker']).additionalGids, [0, 999, 29, 4000]);
});

const root = mkdtempSync(path.join(os.tmpdir(), 'berth-user-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('resolveUser reads the rootfs files', async () => {
  const rootfs = path.join(root, 'plain');
  mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  writeFileSync(path.join(rootfs, 'etc/passwd'), passwd);
  writeFileSync(path.join(rootfs, 'etc/group'), group);
  assert.deepEqual(await resolveUser(rootfs, 'www-data', ['tty']), { uid: 33, gid: 33, additionalGids: [33, 29, 5] });
});

test('symlinks never leave the rootfs', async () => {
  // Outside the rootfs: a passwd that must never be read.
  const outside = path.join(root, 'outside');
  mkdirSync(path.join(outside, 'etc'), { recursive: true });
  writeFileSync(path.join(outside, 'etc/passwd'), 'evil:x:0:0::/:/bin/sh\n');
  const rootfs = path.join(root, 'evil');
  mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  symlinkSync(path.join(outside, 'etc/passwd'), path.join(rootfs, 'etc/passwd')); // absolute host path
  symlinkSync('../../../../../../outside/etc/passwd', path.join(rootfs, 'etc/group')); // climbing out
  assert.equal(await readFileInRoot(rootfs, '/etc/passwd'), undefined);
  assert.equal(await readFileInRoot(rootfs, '/etc/group'), undefined);
  assert.equal(await resolveInRoot(rootfs, '/etc/group'), path.join(rootfs, 'outside/etc/passwd'));
  await assert.rejects(resolveUser(rootfs, 'evil'), /unable to find user evil/);

  // A symlink inside the rootfs is followed, re-rooted at the rootfs.
  mkdirSync(path.join(rootfs, 'real'), { recursive: true });
  writeFileSync(path.join(rootfs, 'real/passwd'), 'inside:x:7:7::/:/bin/sh\n');
  rmSync(path.join(rootfs, 'etc/passwd'));
  symlinkSync('/real/passwd', path.join(rootfs, 'etc/passwd'));
  assert.deepEqual(await resolveUser(rootfs, 'inside'), { uid: 7, gid: 7, additionalGids: [7] });

  symlinkSync('loop', path.join(rootfs, 'loop'));
  await assert.rejects(resolveInRoot(rootfs, '/loop/x'), /too many symlinks/);
});
