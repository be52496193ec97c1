import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_DETACH_KEYS, DetachKeyScanner, parseDetachKeys } from './attach.js';

/** Feeds chunks; returns what reaches the process and whether the client detached. */
function scan(keys: number[], chunks: string[]): { passed: string; detach: boolean } {
  const s = new DetachKeyScanner(keys);
  let passed = '';
  for (const c of chunks) {
    const r = s.push(Buffer.from(c, 'latin1'));
    passed += r.data.toString('latin1');
    if (r.detach) return { passed, detach: true };
  }
  return { passed, detach: false };
}

const P = '\x10';
const Q = '\x11';

test('detach keys: the sequence detaches and never reaches the process', () => {
  assert.deepEqual(scan(DEFAULT_DETACH_KEYS, [`ls${P}${Q}after`]), { passed: 'ls', detach: true });
  assert.deepEqual(scan(DEFAULT_DETACH_KEYS, [`ls${P}`, `${Q}after`]), { passed: 'ls', detach: true });
});

test('detach keys: a partial match is held back, then passed on once when it fails', () => {
  assert.deepEqual(scan(DEFAULT_DETACH_KEYS, [`a${P}b`]), { passed: `a${P}b`, detach: false });
  assert.deepEqual(scan(DEFAULT_DETACH_KEYS, [`a${P}`, 'b']), { passed: `a${P}b`, detach: false });
  assert.deepEqual(scan(DEFAULT_DETACH_KEYS, [`a${P}`]), { passed: 'a', detach: false }); // still held
  // a failed match restarts on the failing byte
  assert.deepEqual(scan(DEFAULT_DETACH_KEYS, [`${P}${P}${Q}`]), { passed: P, detach: true });
  assert.deepEqual(scan(parseDetachKeys('ctrl-x,x'), ['\x18', '\x18', 'x']), { passed: '\x18', detach: true });
});

test('detach keys: none configured passes every byte through', () => {
  assert.deepEqual(scan([], [`${P}${Q}`]), { passed: `${P}${Q}`, detach: false });
});

test('parseDetachKeys: Docker syntax and its error', () => {
  assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(parseDetachKeys('a,ctrl-@,ctrl-\\'), [97, 0, 28]);
  assert.throws(() => parseDetachKeys('ctrl-1'), /Invalid detach keys \(ctrl-1\) provided/);
});
