import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, mkdirSync, rmSync, writeFileSync, symlinkSync, linkSync, chownSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { readTar, tarFromEntries, TarWriter, type TarHeader } from './index.js';
import { lsetxattr, mknod, FileType, makedev } from '../../sys/linux.js';

const CAP = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);

async function readAll(src: AsyncIterable<Buffer>): Promise<Array<TarHeader & { data: Buffer }>> {
  const out = [];
  for await (const e of readTar(src)) out.push({ ...e.header, data: await buffer(e.body) });
  return out;
}

function withTmp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-tar-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const longDir = 'd'.repeat(60) + '/' + 'e'.repeat(60) + '/' + 'f'.repeat(90);
const longFile = `${longDir}/${'g'.repeat(120)}.txt`;

function makeTree(src: string): void {
  mkdirSync(join(src, longDir), { recursive: true });
  writeFileSync(join(src, longFile), 'long\n');
  writeFileSync(join(src, 'cap'), 'binary');
  lsetxattr(join(src, 'cap'), 'security.capability', CAP);
  lsetxattr(join(src, 'cap'), 'user.note', Buffer.from('hé'));
  linkSync(join(src, 'cap'), join(src, 'cap-link'));
  symlinkSync('t'.repeat(150), join(src, 'sym'));
  mknod(join(src, 'null'), FileType.S_IFCHR | 0o666, makedev(1, 3));
  chmodSync(join(src, 'null'), 0o666); // mknod's mode passed through the umask
  mknod(join(src, 'fifo'), FileType.S_IFIFO | 0o600);
  writeFileSync(join(src, 'bigid'), 'x');
  chownSync(join(src, 'bigid'), 3000000, 4000000);
}

for (const format of ['posix', 'gnu'] as const) {
  test(`reads GNU tar --format=${format} (xattrs, long names, hardlinks, devices, big ids)`, withTmp(async (dir) => {
    const src = join(dir, 'src');
    mkdirSync(src);
    makeTree(src);
    const archive = join(dir, 'a.tar');
    const xattrArgs = format === 'posix' ? ['--xattrs', '--xattrs-include=*'] : [];
    execFileSync('tar', [...xattrArgs, `--format=${format}`, '-C', src, '-cf', archive, '.']);
    const entries = await readAll(createReadStream(archive));
    const by = new Map(entries.map((e) => [e.name.replace(/^\.\//, '').replace(/\/$/, ''), e]));
    assert.equal(by.get(longFile)?.data.toString(), 'long\n');
    assert.equal(by.get(longDir)?.type, 'dir');
    assert.equal(by.get('sym')?.linkname, 't'.repeat(150));
    assert.equal(by.get('sym')?.type, 'symlink');
    const null_ = by.get('null')!;
    assert.deepEqual([null_.type, null_.devmajor, null_.devminor, null_.mode], ['char', 1, 3, 0o666]);
    assert.equal(by.get('fifo')?.type, 'fifo');
    assert.deepEqual([by.get('bigid')!.uid, by.get('bigid')!.gid], [3000000, 4000000]);
    const capE = by.get('cap') ?? by.get('cap-link')!;
    const linkE = capE === by.get('cap') ? by.get('cap-link')! : by.get('cap')!;
    assert.equal(linkE.type, 'hardlink');
    assert.equal(linkE.linkname.replace(/^\.\//, ''), capE.name.replace(/^\.\//, ''));
    if (format === 'posix') {
      assert.deepEqual(capE.xattrs.get('security.capability'), CAP);
      assert.equal(capE.xattrs.get('user.note')?.toString(), 'hé');
    }
  }));
}

test('reads Python tarfile PAX: uid 3000000, binary xattr, fractional mtime', withTmp(async (dir) => {
  const archive = join(dir, 'py.tar');
  execFileSync('python3', ['-c', `
import tarfile, io, sys
cap = bytes.fromhex('${CAP.toString('hex')}')
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT, encoding='utf-8', errors='surrogateescape') as t:
    ti = tarfile.TarInfo('bin/ping'); ti.size = 4; ti.uid = 3000000; ti.gid = 3000001; ti.mode = 0o4755
    ti.mtime = 1700000000.25
    ti.pax_headers = {'SCHILY.xattr.security.capability': cap.decode('utf-8', 'surrogateescape')}
    t.addfile(ti, io.BytesIO(b'ping'))
    d = tarfile.TarInfo('x' * 300); d.type = tarfile.DIRTYPE; d.mode = 0o1777
    t.addfile(d)
`, archive]);
  const [f, d] = await readAll(createReadStream(archive));
  assert.equal(f!.name, 'bin/ping');
  assert.deepEqual([f!.uid, f!.gid, f!.mode, f!.data.toString()], [3000000, 3000001, 0o4755, 'ping']);
  assert.deepEqual(f!.xattrs.get('security.capability'), CAP);
  assert.equal(f!.mtime.getTime(), 1700000000250);
  assert.deepEqual([d!.name, d!.type, d!.mode], ['x'.repeat(300) + '/', 'dir', 0o1777]);
}));

function sample(): Array<{ header: Partial<TarHeader> & { name: string }; body?: Buffer }> {
  return [
    { header: { name: 'etc', type: 'dir', mode: 0o755, mtime: new Date(1700000000000) } },
    { header: { name: 'etc/passwd', mode: 0o644, uid: 3000000, gid: 2 ** 32 - 2, mtime: new Date(1700000001000) }, body: Buffer.from('root:x:0:0\n') },
    { header: { name: 'bin/ping', mode: 0o4755, xattrs: new Map([['security.capability', CAP]]) }, body: Buffer.from('ELF') },
    { header: { name: `${'p'.repeat(120)}/${'q'.repeat(120)}/${'ü'.repeat(20)}` }, body: Buffer.alloc(1000, 7) },
    { header: { name: 'etc/pw-link', type: 'hardlink', linkname: 'etc/passwd' } },
    { header: { name: 'lnk', type: 'symlink', linkname: 'L'.repeat(200) } },
    { header: { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 } },
    { header: { name: 'dev/big', type: 'block', devmajor: 3000000, devminor: 1 } },
  ];
}

test('writer round-trips through our reader, GNU tar and Python tarfile', withTmp(async (dir) => {
  const archive = join(dir, 'ours.tar');
  writeFileSync(archive, await buffer(tarFromEntries(sample())));
  const back = await readAll(createReadStream(archive));
  for (const [i, s] of sample().entries()) {
    const b = back[i]!;
    assert.equal(b.name, s.header.type === 'dir' ? `${s.header.name}/` : s.header.name);
    for (const k of ['uid', 'gid', 'mode', 'linkname', 'devmajor', 'devminor'] as const) {
      if (s.header[k] !== undefined) assert.equal(b[k], s.header[k], `${s.header.name} ${k}`);
    }
    assert.deepEqual(b.data, s.body ?? Buffer.alloc(0));
    if (s.header.xattrs) assert.deepEqual(b.xattrs, s.header.xattrs);
  }
  // GNU tar lists it without complaint and extracts the binary xattr intact.
  const listing = execFileSync('tar', ['-tvf', archive], { encoding: 'utf8' });
  assert.match(listing, /-rw-r--r-- 3000000\/4294967294 +11 2023-11-14 \S+ etc\/passwd/);
  assert.match(listing, /hrw-r--r-- .* etc\/pw-link link to etc\/passwd/);
  const out = join(dir, 'x');
  mkdirSync(out);
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--exclude=dev/big', '-C', out, '-xf', archive]);
  assert.equal(readFileSync(join(out, 'etc/passwd'), 'utf8'), 'root:x:0:0\n');
  const py = execFileSync('python3', ['-c', `
import tarfile, sys, json
t = tarfile.open(sys.argv[1], encoding='utf-8', errors='surrogateescape')
print(json.dumps([[m.name, m.uid, m.gid, m.devmajor, m.pax_headers.get('SCHILY.xattr.security.capability', '').encode('utf-8', 'surrogateescape').hex()] for m in t]))
`, archive], { encoding: 'utf8' });
  const rows = JSON.parse(py) as Array<[string, number, number, number, string]>;
  assert.deepEqual(rows[1], ['etc/passwd', 3000000, 2 ** 32 - 2, 0, '']);
  assert.equal(rows[2]![4], CAP.toString('hex'));
  assert.equal(rows[3]![0], sample()[3]!.header.name);
  assert.equal(rows[7]![3], 3000000);
}));

test('unconsumed bodies are skipped; partially read bodies too', async () => {
  const names: string[] = [];
  let i = 0;
  for await (const e of readTar(tarFromEntries(sample()))) {
    names.push(e.header.name);
    if (i++ === 3) {
      // read one chunk, abandon the rest
      for await (const _ of e.body) break;
    }
  }
  assert.equal(names.length, sample().length);
});

test('rejects corrupt and truncated archives', async () => {
  const good = await buffer(tarFromEntries(sample()));
  const bad = Buffer.from(good);
  bad[10] ^= 0xff;
  await assert.rejects(readAll(Readable.from([bad])), /checksum/);
  await assert.rejects(readAll(Readable.from([good.subarray(0, 700)])), /unexpected end/);
});

test('writer enforces body size and applies backpressure', async () => {
  const w = new TarWriter({ highWaterMark: 1024 });
  await assert.rejects(w.add({ name: 'a', size: 10 }, Buffer.from('short')), /header says 10/);
  const w2 = new TarWriter({ highWaterMark: 1024 });
  let added = false;
  const p = w2.add({ name: 'big', size: 1 << 20 }, Readable.from([Buffer.alloc(1 << 20)])).then(() => (added = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(added, false, 'add must wait for the consumer');
  const data = buffer(w2.readable);
  await p;
  await w2.finish();
  assert.equal((await data).length, 512 + (1 << 20) + 1024);
});

test('an archive that stops right after the last file data (no padding, no end blocks) reads whole', async () => {
  const full = await buffer(tarFromEntries([
    { header: { name: 'a.txt', type: 'file', mode: 0o644 }, body: Buffer.from('first') },
    { header: { name: 'Dockerfile', type: 'file', mode: 0o644 }, body: Buffer.from('FROM busybox\n') },
  ]));
  // Header 1 + data block 1 + header 2 + the 13 data bytes of file 2, nothing more (what Go's ReplaceFileTarWrapper sends).
  const cut = full.subarray(0, 512 * 3 + 13);
  const seen: Array<[string, string]> = [];
  for await (const { header, body } of readTar(Readable.from([cut]))) seen.push([header.name, (await buffer(body)).toString()]);
  assert.deepEqual(seen, [['a.txt', 'first'], ['Dockerfile', 'FROM busybox\n']]);
  // Cut inside the data is still an error.
  await assert.rejects(async () => {
    for await (const { body } of readTar(Readable.from([full.subarray(0, 512 * 3 + 5)]))) await buffer(body);
  }, /unexpected end of tar archive/);
});
