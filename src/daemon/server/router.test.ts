import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Query } from './query.js';
import { Router } from './router.js';

test('static routes win over patterns; greedy params take image names with slashes and colons', () => {
  const r = new Router();
  const hit: string[] = [];
  r.get('/images/{name*}/json', () => void hit.push('inspect'));
  r.get('/images/json', () => void hit.push('list'));
  r.post('/containers/{id}/start', () => void hit.push('start'));
  assert.ok(r.match('GET', '/images/json'));
  r.match('GET', '/images/json')!.handler({} as never);
  assert.deepEqual(hit, ['list']);
  const m = r.match('GET', '/images/localhost%3A5000/a/b%3At/json');
  assert.deepEqual(m?.params, { name: 'localhost:5000/a/b:t' });
  assert.deepEqual(r.match('POST', '/containers/abc/start')?.params, { id: 'abc' });
  assert.equal(r.match('GET', '/containers/abc/start'), undefined);
  assert.equal(r.match('POST', '/containers/a/b/start'), undefined);
});

test('HEAD falls back to GET', () => {
  const r = new Router();
  r.get('/x', () => {});
  assert.ok(r.match('HEAD', '/x'));
});

test('query parsing follows Docker: bools, ints, JSON', () => {
  const q = new Query(new URLSearchParams('a=1&b=false&c=&d=True&n=12&bad=x&f={"a":1}&g={'));
  assert.equal(q.bool('a'), true);
  assert.equal(q.bool('b'), false);
  assert.equal(q.bool('c'), false);
  assert.equal(q.bool('d'), true);
  assert.equal(q.bool('missing', true), true);
  assert.equal(q.int('n'), 12);
  assert.throws(() => q.int('bad'), (e: { kind?: string }) => e.kind === 'InvalidArgument');
  assert.deepEqual(q.json('f'), { a: 1 });
  assert.throws(() => q.json('g'), (e: { kind?: string }) => e.kind === 'InvalidArgument');
});
