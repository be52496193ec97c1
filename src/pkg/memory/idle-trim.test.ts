import assert from 'node:assert/strict';
import test from 'node:test';
import { IdleTrimmer, releaseMemory } from './idle-trim.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('IdleTrimmer: releases once after a quiet period, each touch postpones it', async () => {
  let calls = 0;
  const t = new IdleTrimmer(150, () => calls++);
  t.touch();
  for (let i = 0; i < 5; i++) {
    await sleep(50);
    t.touch();
  }
  assert.equal(calls, 0, 'touched every 50 ms: never quiet for 150 ms');
  const deadline = Date.now() + 5000;
  while (calls === 0 && Date.now() < deadline) await sleep(20);
  assert.equal(calls, 1);
  await sleep(300);
  assert.equal(calls, 1, 'no touch since: no second release');
  t.touch();
  t.stop();
  await sleep(300);
  assert.equal(calls, 1, 'stopped before it fired');
});

test('releaseMemory: a full GC frees unreachable objects', () => {
  let big: number[][] | undefined = Array.from({ length: 200 }, () => Array.from({ length: 5000 }, (_, i) => i));
  const before = process.memoryUsage().heapUsed;
  big = undefined;
  releaseMemory();
  assert.equal(big, undefined);
  assert.ok(process.memoryUsage().heapUsed < before - 4e6, 'at least the 8 MB of arrays are gone');
});
