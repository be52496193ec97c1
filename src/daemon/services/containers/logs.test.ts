import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readLogs, rotatedFiles } from './logs.js';

test('rotatedFiles: oldest first, compressed names, one file per number while it is being compressed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-logs-'));
  try {
    const log = path.join(dir, 'abc-json.log');
    for (const n of ['abc-json.log', 'abc-json.log.1', 'abc-json.log.1.gz', 'abc-json.log.2.gz', 'abc-json.log.10.gz', 'abc-json.log.x', 'other.1'])
      fs.writeFileSync(path.join(dir, n), '');
    assert.deepEqual(rotatedFiles(log).map((f) => path.basename(f)), ['abc-json.log.10.gz', 'abc-json.log.2.gz', 'abc-json.log.1']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readLogs --tail reads from the end: exact records, stream filter, rotated files, then follows on', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-tail-'));
  try {
    const log = path.join(dir, 'c-json.log');
    const rec = (i: number, stream = 'stdout') => JSON.stringify({ log: `${i}${'x'.repeat(Math.abs(i) % 97)}\n`, stream, time: '2026-12-01T00:00:00.000000001Z' }) + '\n';
    let text = '';
    for (let i = 0; i < 20000; i++) text += rec(i, i % 3 === 0 ? 'stderr' : 'stdout');
    fs.writeFileSync(`${log}.1`, rec(-2) + rec(-1));
    fs.writeFileSync(log, text + '{"log":"torn'); // a record still being written
    const get = async (tail: number, stdout = true, stderr = true) => {
      const out: string[] = [];
      const ac = new AbortController();
      for await (const r of readLogs(log, { stdout, stderr, tail, follow: false, signal: ac.signal, stopped: Promise.resolve() })) out.push(r.log.replace(/x*\n$/, ''));
      return out;
    };
    assert.deepEqual(await get(3), ['19997', '19998', '19999']);
    assert.deepEqual(await get(2, false, true), ['19995', '19998']);
    assert.deepEqual(await get(0), []);
    assert.equal((await get(20002)).length, 20002);
    assert.deepEqual((await get(20001)).slice(0, 2), ['-1', '0']);
    // follow after a tail: the torn record, completed, comes next, once
    const ac = new AbortController();
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const seen: string[] = [];
    const done = (async () => {
      for await (const r of readLogs(log, { stdout: true, stderr: true, tail: 1, follow: true, signal: ac.signal, stopped })) seen.push(r.log);
    })();
    await new Promise((r) => setTimeout(r, 100));
    fs.appendFileSync(log, '","stream":"stdout","time":"2026-12-01T00:00:01Z"}\n');
    await new Promise((r) => setTimeout(r, 200));
    stop();
    await done;
    assert.deepEqual(seen.map((l) => l.replace(/x*\n$/, '')), ['19999', 'torn']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
