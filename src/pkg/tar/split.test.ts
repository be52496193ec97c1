import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { applyLayer } from '../archive/apply-layer.js';
import { joinTar, TarSplitter } from './split.js';

async function split(tar: Buffer, chunk = 777): Promise<{ records: Buffer; why?: string }> {
  const out: Buffer[] = [];
  const s = new TarSplitter((b) => {
    out.push(Buffer.from(b));
  });
  for (let i = 0; i < tar.length; i += chunk) await s.push(tar.subarray(i, i + chunk));
  await s.end();
  return { records: Buffer.concat(out), why: s.whyNotClean };
}

async function joined(records: Buffer, root: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  async function* src(): AsyncGenerator<Buffer> {
    for (let i = 0; i < records.length; i += 100) yield records.subarray(i, i + 100);
  }
  for await (const b of joinTar(src(), root)) parts.push(b);
  return Buffer.concat(parts);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('tar split: GNU and pax tars come back byte for byte from the split and the extracted files', async () => {
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
      const tar = execFileSync('tar', ['-C', src, `--format=${format}`, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 26 });
      for (const chunk of [1, 511, 4096, 1 << 20]) {
        if (chunk === 1 && format === 'posix') continue; // slow and the same as gnu
        const { records, why } = await split(tar, chunk === 1 ? 97 : chunk);
        assert.equal(why, undefined, `${format}: clean`);
        assert.ok(records.length < tar.length / 4, `${format}: contents left out (${records.length} of ${tar.length} bytes)`);
        const root = path.join(dir, `x-${format}-${chunk}`);
        fs.mkdirSync(root);
        await applyLayer((async function* () { yield tar; })() as never, root, { whiteouts: 'none' });
        assert.equal(sha(await joined(records, root)), sha(tar), `${format}, chunks of ${chunk}: same bytes`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('tar split: a tar the files cannot give back is not clean; a changed file fails the join', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-split-'));
  try {
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    fs.writeFileSync(path.join(src, 'f'), 'one');
    fs.symlinkSync('/etc', path.join(src, 'l'));
    const twice = execFileSync('tar', ['-C', src, '-cf', '-', 'f', 'f']);
    assert.match((await split(twice)).why ?? '', /f appears twice/);
    const tarA = execFileSync('tar', ['-C', src, '-cf', '-', 'l']);
    fs.rmSync(path.join(src, 'l'));
    fs.mkdirSync(path.join(src, 'l'));
    fs.writeFileSync(path.join(src, 'l', 'passwd'), 'x');
    const tarB = execFileSync('tar', ['-C', src, '-cf', '-', 'l/passwd']);
    const below = Buffer.concat([tarA.subarray(0, 512), tarB]);
    assert.match((await split(below)).why ?? '', /below a symlink/);
    assert.match((await split(tarB.subarray(0, 700))).why ?? '', /truncated/);

    const tar = execFileSync('tar', ['-C', src, '-cf', '-', 'f', 'd']);
    const { records, why } = await split(tar);
    assert.equal(why, undefined);
    const root = path.join(dir, 'root');
    fs.mkdirSync(root);
    await applyLayer((async function* () { yield tar; })() as never, root, { whiteouts: 'none' });
    fs.writeFileSync(path.join(root, 'f'), 'on'); // shorter than the entry
    await assert.rejects(joined(records, root), /shorter than its tar entry/);
    fs.rmSync(path.join(root, 'f'));
    fs.symlinkSync('/etc/hostname', path.join(root, 'f'));
    await assert.rejects(joined(records, root), /ELOOP/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
