import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logPlan, mergeLogConfig, normalizeLogConfig, parseHumanSize } from './log-config.js';

test('parseHumanSize: decimal units as dockerd parses max-size', () => {
  assert.equal(parseHumanSize('100'), 100);
  assert.equal(parseHumanSize('10k'), 10_000);
  assert.equal(parseHumanSize('1m'), 1_000_000);
  assert.equal(parseHumanSize('1.5GB'), 1_500_000_000);
  assert.equal(parseHumanSize('2Mi'), 2_000_000);
  assert.throws(() => parseHumanSize('abc'), /invalid size: 'abc'/);
  assert.throws(() => parseHumanSize('-1m'), /invalid size/);
});

test('logPlan: json-file rotation, none, and dockerd option errors', () => {
  const plan = (Config: Record<string, string>, Type = 'json-file') => logPlan(normalizeLogConfig({ Type, Config }), {}, []);
  assert.deepEqual(plan({}), { file: true, maxSize: 0, maxFile: 1, compress: false });
  assert.deepEqual(plan({ 'max-size': '1m', 'max-file': '3' }), { file: true, maxSize: 1_000_000, maxFile: 3, compress: false });
  assert.deepEqual(plan({ 'max-size': '10k', 'max-file': '2', compress: 'true' }), { file: true, maxSize: 10_000, maxFile: 2, compress: true });
  assert.deepEqual(plan({ 'max-file': '3' }), { file: true, maxSize: 0, maxFile: 1, compress: false }, 'no size, no rotation');
  assert.equal(plan({}, 'none').file, false);
  assert.throws(() => plan({ 'max-size': '0' }), /max-size must be a positive number/);
  assert.throws(() => plan({ 'max-file': '0' }), /max-file cannot be less than 1/);
  assert.throws(() => plan({ 'max-file': 'x' }), /strconv.Atoi: parsing "x": invalid syntax/);
  assert.throws(() => plan({ 'max-size': '1m', compress: 'yes' }), /strconv.ParseBool: parsing "yes"/);
  assert.throws(() => plan({ 'max-size': '1m', compress: 'true' }), /compress cannot be true when max-file is less than 2/);
  assert.deepEqual(normalizeLogConfig(undefined), { Type: 'json-file', Config: {} });
});

test('mergeLogConfig: the daemon default fills in, options of the same driver merge, the container wins', () => {
  const def = { Type: 'json-file', Config: { 'max-size': '10k', 'max-file': '2' } };
  assert.deepEqual(mergeLogConfig(undefined, def), def);
  assert.deepEqual(mergeLogConfig({ Config: { 'max-size': '1m' } }, def), { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } });
  assert.deepEqual(mergeLogConfig({ Type: 'none' }, def), { Type: 'none', Config: {} });
  assert.deepEqual(mergeLogConfig({ Type: '' }), { Type: 'json-file', Config: {} });
});

test('logAttrs: labels, env and their regex forms; Go map encoding; --details prefix', async () => {
  const { logAttrs, encodeAttrs, detailsPrefix } = await import('./log-config.js');
  const lc = (Config: Record<string, string>) => ({ Type: 'json-file', Config });
  const labels = { app: 'web', 'com.x.tier': 'front', other: 'no' };
  const env = ['PATH=/bin', 'REGION=eu west', 'EMPTY'];
  assert.equal(logAttrs(lc({}), labels, env), undefined);
  assert.deepEqual(logAttrs(lc({ labels: 'app,missing', env: 'REGION' }), labels, env), { app: 'web', REGION: 'eu west' });
  assert.deepEqual(logAttrs(lc({ 'labels-regex': '^com\\.', 'env-regex': '^EMP' }), labels, env), { 'com.x.tier': 'front', EMPTY: '' });
  assert.equal(logAttrs({ Type: 'none', Config: { labels: 'app' } }, labels, env), undefined);
  assert.throws(() => logAttrs(lc({ 'env-regex': '(' }), {}, []), /error parsing regexp/);
  assert.equal(encodeAttrs({ b: '<&>', a: '1', B: 'x' }), '{"B":"x","a":"1","b":"\\u003c\\u0026\\u003e"}');
  assert.equal(detailsPrefix({ b: 'x y', a: '1&2' }), 'a=1%262,b=x+y');
  assert.equal(detailsPrefix(undefined), '');
});
