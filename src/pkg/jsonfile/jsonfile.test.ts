import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readJsonFile, replaceJsonFile } from './jsonfile.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'berth-jsonfile-'));
}

test('readJsonFile tells an absent file (null) from a torn one (undefined)', async () => {
  const dir = tempDir();
  try {
    const f = path.join(dir, 'db.json');
    assert.equal(await readJsonFile(f), null);
    fs.writeFileSync(f, '{"images": {"a"');
    assert.equal(await readJsonFile(f), undefined);
    fs.writeFileSync(f, '');
    assert.equal(await readJsonFile(f), undefined);
    fs.writeFileSync(f, '{"a":1}');
    assert.deepEqual(await readJsonFile(f), { a: 1 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('replaceJsonFile keeps the previous content as .bak and leaves no temp file', async () => {
  const dir = tempDir();
  try {
    const f = path.join(dir, 'db.json');
    await replaceJsonFile(f, { v: 1 }, 0o600);
    assert.equal(fs.existsSync(`${f}.bak`), false);
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    await replaceJsonFile(f, { v: 2 }, 0o600);
    assert.deepEqual(JSON.parse(fs.readFileSync(f, 'utf8')), { v: 2 });
    assert.deepEqual(JSON.parse(fs.readFileSync(`${f}.bak`, 'utf8')), { v: 1 });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['db.json', 'db.json.bak']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('replaceJsonFile leaves the current file alone when the value cannot be written', async () => {
  const dir = tempDir();
  try {
    const f = path.join(dir, 'db.json');
    await replaceJsonFile(f, { v: 1 });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(replaceJsonFile(f, cyclic), TypeError);
    assert.deepEqual(JSON.parse(fs.readFileSync(f, 'utf8')), { v: 1 });
    assert.deepEqual(fs.readdirSync(dir), ['db.json']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
