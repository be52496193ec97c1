import assert from 'node:assert/strict';
import test from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
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

test('IdleTrimmer: releases during activity that never pauses, once per maxBusyMs', async () => {
  let calls = 0;
  const t = new IdleTrimmer(10_000, () => calls++, 200);
  const end = Date.now() + 1100;
  while (Date.now() < end) {
    t.touch();
    await sleep(20);
  }
  t.stop();
  assert.ok(calls >= 3 && calls <= 5, `~1100 ms of touches every 20 ms, a release per 200 ms: ${calls}`);
});

/** The old generation's committed and live sizes (MB). */
function oldSpace(): { committed: number; used: number } {
  const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'old_space')!;
  return { committed: s.space_size / 1e6, used: s.space_used_size / 1e6 };
}

test('releaseMemory: a fragmented old generation is compacted and its empty pages returned, where a full GC keeps them', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // ~40 MB of small objects promoted to the old generation, then all but one in 40 dropped: every page keeps a few
  // live objects, as berthd's heap after many requests
  let all: Array<{ i: number; s: string; a: number[] }> | undefined = [];
  for (let i = 0; i < 400_000; i++) all.push({ i, s: `x${i}`, a: [i] });
  gc();
  const keep = all.filter((_, i) => i % 40 === 0);
  all = undefined;
  gc();
  const afterGc = oldSpace();
  assert.ok(afterGc.committed > afterGc.used + 20, `a plain full GC keeps the fragmented pages: ${JSON.stringify(afterGc)}`);
  releaseMemory();
  const after = oldSpace();
  assert.ok(after.committed < after.used + 4, `committed close to live after releaseMemory: ${JSON.stringify(after)}`);
  assert.equal(keep.length, 10_000);
});
