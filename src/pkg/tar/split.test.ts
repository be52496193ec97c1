import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { applyLayer, type ApplyLayerResult } from '../archive/apply-layer.js';
import { joinTar } from './split.js';

async function joined(split: string, root: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of joinTar(fs.createReadStream(split, { highWaterMark: 100 }), root)) parts.push(b);
  return Buffer.concat(parts);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Applies `tar` (in chunks) to a fresh root with a tar split, as a load does; the result and the two files. */
async function applySplit(dir: string, name: string, tar: Buffer, engine: 'native' | 'js' = 'native'): Promise<{ res: ApplyLayerResult; root: string; split: string; blob: string }> {
  const root = path.join(dir, `root-${name}`);
  fs.mkdirSync(root);
  const files = { split: path.join(dir, `${name}.split`), blob: path.join(dir, `${name}.blob`) };
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < tar.length; i += 100_000) yield tar.subarray(i, i + 100_000);
  }
  const res = await applyLayer(chunks() as never, root, { whiteouts: 'overlay', engine, split: files });
  return { res, root, ...files };
}

function tarOf(src: string, args: string[]): Buffer {
  // records of one block: the tar ends with exactly its two end blocks, so tars can be cut and concatenated
  return execFileSync('tar', ['-C', src, '--numeric-owner', '-b1', '-cf', '-', ...args], { maxBuffer: 1 << 26 });
}

test('tar split (berth-untar): GNU and pax tars come back byte for byte from the split and the extracted files; no blob is written', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-split-'));
  try {
    const src = path.join(dir, 'src');
    const deep = path.join(src, 'a'.repeat(90), 'b'.repeat(90), 'c'.repeat(50));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, 'long-named-file-' + 'x'.repeat(120)), 'deep\n');
    fs.writeFileSync(path.join(src, 'empty'), '');
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(3 * 1024 * 1024 + 17, 7));
    fs.writeFileSync(path.join(src, 'odd'), 'x'.repeat(513));
    fs.symlinkSync('odd', path.join(src, 'link'));
    fs.linkSync(path.join(src, 'odd'), path.join(src, 'hard'));
    fs.writeFileSync(path.join(src, 'ünïcode ✓'), 'u');
    fs.writeFileSync(path.join(src, '.wh.gone'), '');
    for (const format of ['gnu', 'posix']) {
      const tar = tarOf(src, [`--format=${format}`, '.']);
      // and with bytes after the end-of-archive blocks (part of the diffID, so part of the split)
      for (const [name, bytes] of [[format, tar], [`${format}-trailing`, Buffer.concat([tar, Buffer.from('trailing bytes')])]] as const) {
        const { res, root, split, blob } = await applySplit(dir, name, bytes);
        assert.deepEqual(res.split, { clean: true }, name);
        assert.equal(res.diffID, `sha256:${sha(bytes)}`);
        assert.equal(fs.statSync(blob).size, 0, `${name}: no blob`);
        assert.ok(fs.statSync(split).size < bytes.length / 4, `${name}: contents left out`);
        assert.equal(sha(await joined(split, root)), sha(bytes), `${name}: same bytes`);
      }
    }
    // an entry below a symlink of the same layer lands at the link's target inside root: its record names that key
    const s2 = path.join(dir, 'src2');
    fs.mkdirSync(path.join(s2, 'l'), { recursive: true });
    fs.writeFileSync(path.join(s2, 'l', 'passwd'), 'x');
    const linkDir = path.join(dir, 'src3');
    fs.mkdirSync(linkDir);
    fs.symlinkSync('/etc', path.join(linkDir, 'l'));
    const below = Buffer.concat([tarOf(linkDir, ['l']).subarray(0, 512), tarOf(s2, ['l/passwd'])]);
    const b = await applySplit(dir, 'below', below);
    assert.deepEqual(b.res.split, { clean: true });
    assert.equal(fs.readFileSync(path.join(b.root, 'etc/passwd'), 'utf8'), 'x');
    assert.equal(sha(await joined(b.split, b.root)), sha(below));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('tar split (berth-untar): when a later entry removes or replaces what the layer wrote, the whole tar is in the blob file instead', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-split-'));
  try {
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(src, 'f'), 'one');
    fs.writeFileSync(path.join(src, 'a', 'b', 'c'), 'c');
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(700_000, 3));
    const first = tarOf(src, ['big', 'f']);
    fs.writeFileSync(path.join(src, 'f'), 'second');
    const twice = Buffer.concat([first.subarray(0, first.length - 1024), tarOf(src, ['f'])]);
    // a/b made for a/b/c, then a/b as a file: c is gone
    const abc = tarOf(src, ['big', 'a/b/c']);
    fs.rmSync(path.join(src, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a', 'b'), 'now a file');
    const dirToFile = Buffer.concat([abc.subarray(0, abc.length - 1024), tarOf(src, ['a/b'])]);
    // a whiteout over a directory this layer made for its own file
    fs.writeFileSync(path.join(src, '.wh.a'), '');
    const whiteout = Buffer.concat([abc.subarray(0, abc.length - 1024), tarOf(src, ['.wh.a'])]);
    for (const [name, tar, why] of [['twice', twice, /^f is replaced/], ['dir-to-file', dirToFile, /^a\/b is replaced/], ['whiteout', whiteout, /^a is removed/]] as const) {
      const { res, blob } = await applySplit(dir, name, tar);
      assert.equal(res.split?.clean, false, name);
      assert.match(res.split?.why ?? '', why, name);
      assert.equal(res.diffID, `sha256:${sha(tar)}`);
      assert.ok(fs.readFileSync(blob).equals(tar), `${name}: the blob file is the tar`);
    }
    // the JS applier records no split: the blob file holds the tar
    const js = await applySplit(dir, 'js', abc, 'js');
    assert.equal(js.res.split?.clean, false);
    assert.ok(fs.readFileSync(js.blob).equals(abc));

    // a changed file fails the join rather than giving other bytes
    const tar = tarOf(src, ['f', 'a']);
    const { res, root, split } = await applySplit(dir, 'changed', tar);
    assert.deepEqual(res.split, { clean: true });
    fs.rmSync(path.join(root, 'f'));
    fs.writeFileSync(path.join(root, 'f'), 'on'); // shorter than the entry
    await assert.rejects(joined(split, root), /shorter than its tar entry/);
    fs.rmSync(path.join(root, 'f'));
    fs.symlinkSync('/etc/hostname', path.join(root, 'f'));
    await assert.rejects(joined(split, root), /ELOOP/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
