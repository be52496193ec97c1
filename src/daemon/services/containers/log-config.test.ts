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
  const full = (Config: Record<string, string>, Type = 'json-file') => logPlan(normalizeLogConfig({ Type, Config }), {}, []);
  const plan = (Config: Record<string, string>, Type = 'json-file') => {
    const { file, maxSize, maxFile, compress } = full(Config, Type);
    return { file, maxSize, maxFile, compress };
  };
  assert.deepEqual(full({}), { driver: 'json-file', file: true, maxSize: 0, maxFile: 1, compress: false, mode: 'blocking', maxBuffer: 1 << 20 });
  assert.deepEqual(plan({ 'max-size': '1m', 'max-file': '3' }), { file: true, maxSize: 1_000_000, maxFile: 3, compress: false });
  assert.deepEqual(plan({ 'max-size': '10k', 'max-file': '2', compress: 'true' }), { file: true, maxSize: 10_000, maxFile: 2, compress: true });
  assert.deepEqual(plan({ 'max-file': '3' }), { file: true, maxSize: 0, maxFile: 1, compress: false }, 'no size, no rotation');
  // local: Docker's defaults 20 MiB x 5, compressed; its own wording
  assert.deepEqual(plan({}, 'local'), { file: true, maxSize: 20 * 1024 * 1024, maxFile: 5, compress: true });
  assert.deepEqual(plan({ 'max-file': '1', compress: 'false' }, 'local'), { file: true, maxSize: 20 * 1024 * 1024, maxFile: 1, compress: false });
  assert.throws(() => plan({ 'max-file': '1' }, 'local'), /^EngineError: failed to initialize logging driver: compression cannot be enabled when max file count is 1$/);
  assert.throws(() => plan({ 'max-size': 'x' }, 'local'), /invalid value for max-size: x: invalid size: 'x'/);
  // mode
  assert.deepEqual((({ mode, maxBuffer }) => ({ mode, maxBuffer }))(full({ mode: 'non-blocking', 'max-buffer-size': '4m' })), { mode: 'non-blocking', maxBuffer: 4 << 20 });
  assert.throws(() => full({ mode: 'x' }), /logger: logging mode not supported: x/);
  assert.throws(() => full({ 'max-buffer-size': '1m' }), /only supported with 'mode=non-blocking'/);
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

test('syslog plan: address forms, facility, format, default tag, cache; tag templates', async () => {
  const { renderLogTag } = await import('./log-config.js');
  const info = { id: 'a'.repeat(64), name: '/web', imageId: 'sha256:' + 'b'.repeat(64), imageName: 'busybox:1' };
  const sys = (Config: Record<string, string>) => logPlan({ Type: 'syslog', Config }, {}, [], info);
  const p = sys({ 'syslog-address': 'udp://127.0.0.1' });
  assert.deepEqual(p.syslog, { address: 'udp://127.0.0.1:514', facility: 3, format: '', tag: 'a'.repeat(12) });
  assert.deepEqual(p.cache, { maxSize: 20 * 1024 * 1024, maxFile: 5, compress: true });
  assert.equal(sys({ 'syslog-address': 'udp://h:1', 'cache-disabled': 'true' }).cache, undefined);
  assert.equal(sys({}).syslog!.address, 'unix:///dev/log');
  assert.equal(sys({ 'syslog-address': 'udp://h:1', 'syslog-facility': 'local7' }).syslog!.facility, 23);
  assert.throws(() => sys({ 'syslog-address': 'udp://h:1', 'syslog-facility': 'nope' }), /^EngineError: invalid syslog facility$/);
  assert.throws(() => sys({ 'syslog-address': 'h:1' }), /syslog-address should be in form proto:\/\/address, got h:1/);
  assert.throws(() => sys({ 'syslog-address': 'udp://h:1', 'syslog-format': 'x' }), /^EngineError: Invalid syslog format$/);
  assert.equal(renderLogTag('{{.Name}}|{{.ID}}|{{.ImageID}}|{{.ImageName}}|{{.DaemonName}}', info, ''), `web|${'a'.repeat(12)}|sha256:bbbbb|busybox:1|docker`);
  assert.equal(renderLogTag(undefined, info, '{{.FullID}}'), 'a'.repeat(64));
  assert.throws(() => renderLogTag('{{.Nope', info, ''), /failed to initialize logging driver: template: log-tag:1: unclosed action/);
  // json-file writes a tag it is given into attrs
  assert.equal(logPlan({ Type: 'json-file', Config: { tag: '{{.Name}}' } }, {}, [], info).attrs, '{"tag":"web"}');
});
