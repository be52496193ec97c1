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
    // the tail is out (so it was read before the torn record completes), however loaded the machine is
    for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    fs.appendFileSync(log, '","stream":"stdout","time":"2026-12-01T00:00:01Z"}\n');
    await new Promise((r) => setTimeout(r, 200));
    stop();
    await done;
    assert.deepEqual(seen.map((l) => l.replace(/x*\n$/, '')), ['19999', 'torn']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('local format: records framed both ways, decoded from the bytes dockerd writes; prev finds record starts', async () => {
  const { localFormat, nsToTime } = await import('./logs.js');
  // [len][LogEntry{source "stdout", time_nano 1_700_000_000_123456789, line "hi"}][len], as dockerd's local driver
  const entry = Buffer.from([0x0a, 6, ...Buffer.from('stdout'), 0x10, ...varint(1_700_000_000_123456789n), 0x1a, 2, ...Buffer.from('hi')]);
  const rec = Buffer.concat([be32(entry.length), entry, be32(entry.length)]);
  const two = Buffer.concat([rec, rec]);
  const r = localFormat.next(two, 0)!;
  assert.equal(r.end, rec.length);
  assert.deepEqual(r.record, { stream: 'stdout', log: 'hi\n', time: '2023-11-14T22:13:20.123456789Z' });
  assert.equal(localFormat.prev(two, two.length), rec.length);
  assert.equal(localFormat.prev(two, rec.length), 0);
  assert.equal(localFormat.next(two.subarray(0, rec.length - 1), 0), undefined, 'a torn record waits');
  // partial (field 4): no newline comes back
  const partial = Buffer.concat([entry, Buffer.from([0x20, 1])]);
  assert.equal(localFormat.next(Buffer.concat([be32(partial.length), partial, be32(partial.length)]), 0)!.record!.log, 'hi');
  assert.equal(nsToTime(1_000_000_000n), '1970-01-01T00:00:01Z');
});

function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
function varint(v: bigint): number[] {
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
