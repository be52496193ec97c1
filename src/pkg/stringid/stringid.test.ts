import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateId, isFullId, isShortId, truncateId } from './stringid.js';

test('generateId returns unique 64-hex ids with a non-numeric short form', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = generateId();
    assert.ok(isFullId(id), id);
    assert.ok(!/^\d+$/.test(id.slice(0, 12)), id);
    seen.add(id);
  }
  assert.equal(seen.size, 2000);
});

test('truncateId', () => {
  const id = '10890787a42063878d07d34fc28db185afa1b442cc0f5e25f94019c1878acfd3';
  assert.equal(truncateId(id), '10890787a420');
  assert.equal(truncateId('sha256:' + id), '10890787a420');
  assert.equal(truncateId('abc'), 'abc');
  assert.ok(isShortId('10890787a420'));
  assert.ok(!isShortId('10890787a42'));
  assert.ok(!isFullId(id.toUpperCase()));
});
