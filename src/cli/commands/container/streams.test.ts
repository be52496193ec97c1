import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EscapeProxy } from './streams.js';

test('detach keys are found in one read or across reads; partial matches are replayed', () => {
  const keys = Buffer.from([16, 17]);
  let p = new EscapeProxy(keys);
  assert.deepEqual(p.feed(Buffer.from([16, 17])), { out: Buffer.alloc(0), escape: true });
  p = new EscapeProxy(keys);
  assert.deepEqual(p.feed(Buffer.from('ab\x10')), { out: Buffer.from('ab'), escape: false });
  assert.deepEqual(p.feed(Buffer.from('\x11')), { out: Buffer.alloc(0), escape: true });
  p = new EscapeProxy(keys);
  assert.deepEqual(p.feed(Buffer.from('\x10x')), { out: Buffer.from('\x10x'), escape: false });
  assert.deepEqual(p.feed(Buffer.from('\x10\x10\x11')), { out: Buffer.from('\x10'), escape: true });
  p = new EscapeProxy(Buffer.from([24, 120]));
  assert.deepEqual(p.feed(Buffer.from([16, 17])), { out: Buffer.from([16, 17]), escape: false });
});
