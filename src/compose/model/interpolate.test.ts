import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpolate, InterpolationError } from './interpolate.js';

const env: Record<string, string> = { A: 'a', EMPTY: '', N: '3' };
const opts = (unset: string[] = []) => ({ lookup: (k: string) => env[k], onUnset: (k: string) => unset.push(k) });

test('plain, braced, defaults, alternatives and $$', () => {
  assert.equal(interpolate('$A-${A}', opts()), 'a-a');
  assert.equal(interpolate('${EMPTY:-d} ${EMPTY-d} ${NOPE-d} ${NOPE:-d}', opts()), 'd  d d');
  assert.equal(interpolate('${A:+x} ${EMPTY:+x} ${EMPTY+x} ${NOPE+x}', opts()), 'x  x ');
  assert.equal(interpolate('$$A $${A} cost $5', opts()), '$A ${A} cost $5');
  assert.equal(interpolate('${NOPE:-${A}-${N}}', opts()), 'a-3');
});

test('unset without a default is empty and reported', () => {
  const unset: string[] = [];
  assert.equal(interpolate('x${NOPE}y$NOPE2', opts(unset)), 'xy');
  assert.deepEqual(unset, ['NOPE', 'NOPE2']);
});

test('required variables', () => {
  assert.equal(interpolate('${A:?must}', opts()), 'a');
  assert.throws(() => interpolate('${EMPTY:?must be set}', opts()), { message: 'required variable EMPTY is missing a value: must be set' });
  assert.equal(interpolate('${EMPTY?must}', opts()), '');
  assert.throws(() => interpolate('${NOPE?}', opts()), InterpolationError);
});

test('bad templates', () => {
  assert.throws(() => interpolate('${A', opts()), { message: 'Invalid template: "${A"' });
  assert.throws(() => interpolate('${1A}', opts()), InterpolationError);
  assert.throws(() => interpolate('${A!x}', opts()), InterpolationError);
});
