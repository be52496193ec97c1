import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { tarFromEntries } from '../pkg/tar/writer.js';
import type { TarHeader } from '../pkg/tar/header.js';
import { readTar } from '../pkg/tar/reader.js';
import { EngineError } from '../errdefs/index.js';
import { ContextIndex } from './context-index.js';
import { applyDockerignore, collectSources, ContextTree, DiskTree, hashSources, LayerPlan, readContextFile } from './context.js';
import { dirUsage } from '../plugins/snapshots/usage.js';
import { FileLinks } from './file-links.js';

type E = { header: Partial<TarHeader> & { name: string }; body?: Buffer | string };
const tarOf = async (entries: E[]) => buffer(tarFromEntries(entries));

function withTmp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'berth-ctxindex-'));
    try {
      await fn(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** One raw ustar header block (for names and shapes the writer would never produce). */
function rawHeader(name: string, type: string, size = 0, link = ''): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0);
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(size.toString(8).padStart(11, '0') + '\0', 124);
  b.write('00000000000\0', 136);
  b.write(type, 156);
  b.write(link, 157);
  b.write('ustar\0', 257);
  b.write('00', 263);
  b.fill(' ', 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return b;
}
const rawFile = (name: string, body: string) => {
  const d = Buffer.from(body);
  return Buffer.concat([rawHeader(name, '0', d.length), d, Buffer.alloc((512 - (d.length % 512)) % 512)]);
};
const END = Buffer.alloc(1024);

const read = (b: Buffer, dir: string, opts: { smallFile?: number; memoryBudget?: number } = {}) => ContextIndex.read(Readable.from([b]), { spillDir: dir, ...opts });
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest();

async function refused(p: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof EngineError, String(e));
    assert.equal(e.kind, 'InvalidArgument');
    assert.equal(e.message, message);
    return true;
  });
}

test('small files stay in memory, large ones and those past the budget are spilled; every file is hashed', withTmp(async (dir) => {
  const big = Buffer.alloc(200_000, 7);
  const t = await tarOf([
    { header: { name: 'a.txt', mode: 0o640, mtime: new Date(1e12) }, body: 'aaa' },
    { header: { name: 'd/', type: 'dir', mode: 0o700 } },
    { header: { name: 'd/big.bin' }, body: big },
    { header: { name: 'd/b.txt' }, body: 'bbbb' },
    { header: { name: 'd/c.txt' }, body: 'ccccc' },
  ]);
  // a budget of 8 bytes: a.txt (3) and b.txt (4) fit, c.txt (5) no longer does
  const ix = await read(t, dir, { memoryBudget: 8 });
  try {
    assert.equal(ix.memoryBytes, 7);
    assert.equal(ix.spilledBytes, big.length + 5);
    assert.deepEqual(ix.list([]), ['a.txt', 'd']);
    assert.deepEqual(ix.list(['d']), ['b.txt', 'big.bin', 'c.txt']);
    const a = ix.node(['a.txt'])!;
    assert.equal(a.mode, 0o640);
    assert.equal(a.mtime.getTime(), 1e12);
    assert.ok(a.data);
    assert.equal(ix.node(['d'])!.mode, 0o700);
    for (const [name, body] of [['d/big.bin', big], ['d/c.txt', Buffer.from('ccccc')], ['d/b.txt', Buffer.from('bbbb')]] as const) {
      const n = ix.node(name.split('/'))!;
      assert.deepEqual(n.digest, sha(body), name);
      assert.deepEqual(ix.read(n), body, name);
      assert.deepEqual(await buffer(ix.stream(n)), body, name);
    }
    assert.equal(ix.node(['d', 'big.bin'])!.data, undefined);
    assert.deepEqual(ix.readFile('/a.txt'), Buffer.from('aaa'));
  } finally {
    ix.close();
  }
  assert.deepEqual(fs.readdirSync(dir), [], 'close removes the spill file');
}));

test('names that climb out or are absolute are confined to the context root, as dockerd confines them', withTmp(async (dir) => {
  const t = Buffer.concat([rawFile('../evil', 'e'), rawFile('a/../../b', 'b'), rawFile('/abs', 'x'), rawFile('./c/./d', 'd'), END]);
  const ix = await read(t, dir);
  assert.deepEqual(ix.list([]), ['abs', 'b', 'c', 'evil']);
  assert.deepEqual(ix.readFile('/c/d'), Buffer.from('d'));
  assert.deepEqual(fs.readdirSync(dir), []);
  ix.close();
}));

test('bad tar input is a 400 in dockerd\'s wording: truncated header or body, bad checksum, hardlink to nothing', withTmp(async (dir) => {
  const full = Buffer.concat([rawFile('Dockerfile', 'FROM scratch\n'), rawFile('big', 'x'.repeat(4000)), END]);
  await refused(read(full.subarray(0, 512 * 3 + 100), dir), 'Error processing tar file: unexpected EOF');
  await refused(read(full.subarray(0, 512 * 2 + 300), dir), 'Error processing tar file: unexpected EOF');
  const corrupt = rawHeader('b', '0');
  corrupt[0] = 0x63;
  await refused(read(Buffer.concat([rawFile('a', 'a'), corrupt, END]), dir), 'Error processing tar file: invalid tar header checksum');
  await refused(read(Buffer.concat([rawHeader('h', '1', 0, '../../etc/passwd'), END]), dir), 'Error processing tar file: link ../../etc/passwd h: no such file or directory');
  await refused(read(Buffer.concat([rawFile('f', 'x'), rawFile('f/g', 'y'), END]), dir), 'Error processing tar file: f/g: not a directory');
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing is left behind');
}));

test('symlinks resolve inside the context: parents in the tar, targets out of the root, loops', withTmp(async (dir) => {
  const t = await tarOf([
    { header: { name: 'real/', type: 'dir' } },
    { header: { name: 'via', type: 'symlink', linkname: '../../real' } },
    { header: { name: 'via/f', mode: 0o600 }, body: 'through the link' },
    { header: { name: 'abs', type: 'symlink', linkname: '/real/f' } },
    { header: { name: 'loop', type: 'symlink', linkname: 'loop' } },
  ]);
  const ix = await read(t, dir);
  assert.deepEqual(ix.list(['real']), ['f']);
  assert.equal(ix.node(['via'])!.type, 'symlink');
  assert.deepEqual(ix.resolve('/abs', true), ['real', 'f']);
  assert.deepEqual(ix.resolve('/abs', false), ['abs']);
  assert.deepEqual(ix.readFile('/via/f'), Buffer.from('through the link'));
  assert.throws(() => ix.resolve('/loop', true), /too many links in \/loop/);
  ix.close();
}));

test('a hardlink is the same file under two names; tar() and extractTo keep it one inode', withTmp(async (dir) => {
  const t = await tarOf([
    { header: { name: 'a', mode: 0o755 }, body: 'shared' },
    { header: { name: 'sub/b', type: 'hardlink', linkname: 'a' } },
    { header: { name: 'dev', type: 'fifo' } },
  ]);
  const ix = await read(t, dir);
  assert.equal(ix.node(['a']), ix.node(['sub', 'b']));
  const seen: string[] = [];
  for await (const { header, body } of readTar(ix.tar())) {
    seen.push(`${header.name} ${header.type} ${header.linkname}`);
    body.resume();
  }
  assert.deepEqual(seen, ['a file ', 'dev fifo ', 'sub/ dir ', 'sub/b hardlink a']);
  const out = join(dir, 'out');
  fs.mkdirSync(out);
  await ix.extractTo(out);
  const st = fs.statSync(join(out, 'sub/b'));
  assert.equal(st.nlink, 2);
  assert.equal(st.ino, fs.statSync(join(out, 'a')).ino);
  assert.equal(st.mode & 0o7777, 0o755);
  assert.ok(fs.lstatSync(join(out, 'dev')).isFIFO());
  ix.close();
}));

test('.dockerignore and <Dockerfile>.dockerignore over the index, with re-inclusion', withTmp(async (dir) => {
  const t = await tarOf([
    { header: { name: 'Dockerfile' }, body: 'FROM scratch\n' },
    { header: { name: '.dockerignore' }, body: 'logs\n*.tmp\n' },
    { header: { name: 'app.Dockerfile.dockerignore' }, body: '# comment\nbuild\n!build/keep.txt\n' },
    { header: { name: 'a.tmp' }, body: '' },
    { header: { name: 'logs/x' }, body: '' },
    { header: { name: 'build/drop.txt' }, body: '' },
    { header: { name: 'build/keep.txt' }, body: '' },
  ]);
  const ix = await read(t, dir);
  applyDockerignore(ix, 'app.Dockerfile');
  // only the Dockerfile-specific file counts when it exists
  assert.deepEqual(ix.list([]), ['.dockerignore', 'Dockerfile', 'a.tmp', 'app.Dockerfile.dockerignore', 'build', 'logs']);
  assert.deepEqual(ix.list(['build']), ['keep.txt']);
  applyDockerignore(ix);
  assert.deepEqual(ix.list([]), ['.dockerignore', 'Dockerfile', 'app.Dockerfile.dockerignore', 'build']);
  assert.equal(readContextFile(ix, 'Dockerfile'), 'FROM scratch\n');
  assert.throws(() => readContextFile(ix, 'nope'));
  ix.close();
}));

test('COPY sources from the index: wildcards, symlinks followed in scope, and the same cache key as the extracted tree', withTmp(async (dir) => {
  const t = await tarOf([
    { header: { name: 'src/', type: 'dir', mode: 0o750 } },
    { header: { name: 'src/a.txt', mode: 0o644 }, body: 'A' },
    { header: { name: 'src/b.txt', mode: 0o600 }, body: 'B' },
    { header: { name: 'src/sub/c.js' }, body: 'C' },
    { header: { name: 'src/ln', type: 'symlink', linkname: 'a.txt' } },
    { header: { name: 'top', type: 'symlink', linkname: '/src' } },
    { header: { name: 'dangling', type: 'symlink', linkname: '/nothing' } },
  ]);
  const ix = await read(t, dir);
  const tree = new ContextTree(ix);
  const wild = await collectSources(tree, 'src/*.txt', false);
  assert.deepEqual(wild.map((s) => [s.base, s.rel, s.entries[0]!.read().toString()]), [['a.txt', 'src/a.txt', 'A'], ['b.txt', 'src/b.txt', 'B']]);
  const viaLink = await collectSources(tree, 'top', false);
  assert.equal(viaLink[0]!.isDir, true);
  assert.deepEqual(viaLink[0]!.entries.map((e) => `${e.rel}:${e.type}`), ['a.txt:file', 'b.txt:file', 'ln:symlink', 'sub:dir', 'sub/c.js:file']);
  await assert.rejects(collectSources(tree, 'dangling', false), /file not found in build context/);
  await assert.rejects(collectSources(tree, 'missing.txt', false), /stat missing.txt: file does not exist/);
  await assert.rejects(collectSources(tree, '*.none', false), /no source files were specified/);

  const out = join(dir, 'out');
  fs.mkdirSync(out);
  await ix.extractTo(out);
  const disk = new DiskTree(out);
  for (const src of ['.', 'src', 'src/*.txt', 'top', 'src/ln']) {
    assert.equal(await hashSources(await collectSources(tree, src, false)), await hashSources(await collectSources(disk, src, false)), src);
  }
  // mtimes are not part of the key; bytes are
  const again = await read(await tarOf([{ header: { name: 'src/a.txt', mtime: new Date(5e11) }, body: 'A' }]), dir);
  const other = await read(await tarOf([{ header: { name: 'src/a.txt' }, body: 'Z' }]), dir);
  const key = async (i: ContextIndex) => hashSources(await collectSources(new ContextTree(i), 'src/a.txt', false));
  assert.equal(await key(again), await key(ix));
  assert.notEqual(await key(other), await key(ix));
  for (const i of [ix, again, other]) i.close();
}));

test('a COPY layer from the index: materialize writes the tree tar() describes and counts its usage as the snapshotter would', withTmp(async (dir) => {
  const t = await tarOf([
    { header: { name: 'app/', type: 'dir', mode: 0o755 } },
    { header: { name: 'app/a', mode: 0o640, mtime: new Date(1e12) }, body: 'alpha' },
    { header: { name: 'app/big', mode: 0o644 }, body: Buffer.alloc(100_000, 1) },
    { header: { name: 'app/twin', type: 'hardlink', linkname: 'app/a' } },
    { header: { name: 'app/ln', type: 'symlink', linkname: 'a' } },
  ]);
  const ix = await read(t, dir);
  const [src] = await collectSources(new ContextTree(ix), 'app', false);
  const plan = new LayerPlan([{ name: 'dst/', type: 'dir', mode: 0o755 }], [{ entries: src!.entries, name: (rel) => `dst/${rel}` }], { uid: 0, gid: 0 }, undefined);
  const upper = join(dir, 'upper');
  fs.mkdirSync(upper);
  const usage = await plan.materialize(upper);
  assert.deepEqual(usage, await dirUsage(upper));
  assert.equal(fs.readFileSync(join(upper, 'dst/a'), 'utf8'), 'alpha');
  assert.equal(fs.statSync(join(upper, 'dst/a')).mode & 0o7777, 0o640);
  assert.equal(fs.statSync(join(upper, 'dst/a')).mtimeMs, 1e12);
  assert.equal(fs.statSync(join(upper, 'dst/twin')).ino, fs.statSync(join(upper, 'dst/a')).ino);
  assert.equal(fs.readFileSync(join(upper, 'dst/big')).length, 100_000);
  assert.equal(fs.readlinkSync(join(upper, 'dst/ln')), 'a');
  const names: string[] = [];
  for await (const { header, body } of readTar(plan.tar())) {
    names.push(`${header.name} ${header.type} ${header.size}`);
    body.resume();
  }
  assert.deepEqual(names, ['dst/ dir 0', 'dst/a file 5', 'dst/big file 100000', 'dst/ln symlink 0', 'dst/twin file 5']);
  ix.close();
}));

test('a second layer with the same files hard-links them from the first (FileLinks); a changed or vanished file is written anew', withTmp(async (dir) => {
  const ctx = (body: string) => tarOf([{ header: { name: 'a', mode: 0o640, mtime: new Date(1e12) }, body: 'alpha' }, { header: { name: 'b', mode: 0o644, mtime: new Date(1e12) }, body }]);
  const links = new FileLinks();
  const layer = async (t: Buffer, name: string, mode?: number) => {
    const ix = await read(t, dir);
    const [src] = await collectSources(new ContextTree(ix), '.', false);
    const upper = join(dir, name);
    fs.mkdirSync(upper);
    const usage = await new LayerPlan([], [{ entries: src!.entries, name: (rel) => rel }], { uid: 0, gid: 0 }, mode, links).materialize(upper);
    assert.deepEqual(usage, await dirUsage(upper));
    ix.close();
    return (f: string) => fs.statSync(join(upper, f));
  };
  const one = await layer(await ctx('beta'), 'one');
  const two = await layer(await ctx('gamma'), 'two');
  assert.equal(two('a').ino, one('a').ino, 'same bytes and metadata: one inode');
  assert.notEqual(two('b').ino, one('b').ino);
  assert.equal(fs.readFileSync(join(dir, 'two/b'), 'utf8'), 'gamma');
  const three = await layer(await ctx('beta'), 'three', 0o600);
  assert.notEqual(three('a').ino, one('a').ino, 'another mode (--chmod) is another file');
  assert.equal(three('a').mode & 0o7777, 0o600);
  fs.rmSync(join(dir, 'one'), { recursive: true });
  fs.rmSync(join(dir, 'two'), { recursive: true });
  fs.chmodSync(join(dir, 'three/a'), 0o644); // a remembered file that is not what it was
  const four = await layer(await ctx('beta'), 'four');
  assert.equal(four('a').mode & 0o7777, 0o640, 'the remembered file vanished: written anew');
  assert.equal(fs.readFileSync(join(dir, 'four/b'), 'utf8'), 'beta');
  const five = await layer(await ctx('beta'), 'five', 0o600);
  assert.notEqual(five('a').ino, three('a').ino, 'the remembered file changed: written anew');
  assert.equal(five('a').mode & 0o7777, 0o600);
  assert.equal(five('b').ino, three('b').ino);
}));
