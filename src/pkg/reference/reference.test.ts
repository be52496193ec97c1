import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseNormalized, normalize, familiarize, familiarString, parseAndDefault, parseAny, parseRepoTag, isIDPrefix,
  isFullID, isValidTag, ERR_INVALID_FORMAT, ERR_UPPERCASE,
} from './index.js';

const D = 'sha256:' + 'a'.repeat(64);

// [input, normalised full form, familiar form]
const good: Array<[string, string, string]> = [
  ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
  ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['docker.io/library/busybox:t', 'docker.io/library/busybox:t', 'busybox:t'],
  ['index.docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
  ['user/app:v1.0-rc_1', 'docker.io/user/app:v1.0-rc_1', 'user/app:v1.0-rc_1'],
  ['a/b/c/d', 'docker.io/a/b/c/d:latest', 'a/b/c/d:latest'],
  ['library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
  ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
  ['localhost:5000/a/b:t', 'localhost:5000/a/b:t', 'localhost:5000/a/b:t'],
  ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest', '127.0.0.1:5000/x:latest'],
  ['registry.example.com/team/app:2', 'registry.example.com/team/app:2', 'registry.example.com/team/app:2'],
  ['[::1]:5000/app', '[::1]:5000/app:latest', '[::1]:5000/app:latest'],
  ['Registry.Example.com/app', 'Registry.Example.com/app:latest', 'Registry.Example.com/app:latest'],
  ['my-reg:443/a_b/c__d/e-f--g.h', 'my-reg:443/a_b/c__d/e-f--g.h:latest', 'my-reg:443/a_b/c__d/e-f--g.h:latest'],
  [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
  [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
  [`localhost:5000/a@${D}`, `localhost:5000/a@${D}`, `localhost:5000/a@${D}`],
  ['abc123', 'docker.io/library/abc123:latest', 'abc123:latest'],
  ['x:' + 'T'.repeat(128), 'docker.io/library/x:' + 'T'.repeat(128), 'x:' + 'T'.repeat(128)],
];

const bad: Array<[string, string | RegExp]> = [
  ['', /at least one component|invalid reference format/],
  ['Busybox', ERR_UPPERCASE],
  ['busyBox:latest', ERR_UPPERCASE],
  ['user/App', ERR_UPPERCASE],
  ['localhost:5000/A', ERR_UPPERCASE],
  ['busybox:', ERR_INVALID_FORMAT],
  [':tag', ERR_INVALID_FORMAT],
  ['busybox::t', ERR_INVALID_FORMAT],
  ['a:b:c', ERR_INVALID_FORMAT],
  ['-busybox', ERR_INVALID_FORMAT],
  ['busybox-', ERR_INVALID_FORMAT],
  ['a..b', ERR_INVALID_FORMAT],
  ['a//b', ERR_INVALID_FORMAT],
  ['a/', ERR_INVALID_FORMAT],
  ['/a', ERR_INVALID_FORMAT],
  ['a b', ERR_INVALID_FORMAT],
  ['x:' + 'a'.repeat(129), ERR_INVALID_FORMAT],
  ['x:.tag', ERR_INVALID_FORMAT],
  ['busybox@sha256:abc', ERR_INVALID_FORMAT],
  ['busybox@sha256:' + 'a'.repeat(40), /invalid checksum digest length/],
  ['busybox@md5:' + 'a'.repeat(32), /unsupported digest algorithm/],
  ['a'.repeat(64), /cannot specify 64-byte hexadecimal strings/],
  ['a/' + 'b'.repeat(260), /must not be more than 255 characters/],
];

test('reference: valid references normalise and familiarise', () => {
  for (const [input, full, fam] of good) {
    assert.equal(normalize(input), full, `normalize(${input})`);
    assert.equal(familiarString(parseAndDefault(input)), fam, `familiar(${input})`);
    assert.equal(familiarize(full), fam, `familiarize(${full})`);
    // idempotent
    assert.equal(normalize(full), full, `normalize(normalize(${input}))`);
  }
});

test('reference: invalid references give Docker messages', () => {
  for (const [input, msg] of bad) {
    assert.throws(() => parseNormalized(input), (e: Error & { kind?: string }) => {
      assert.equal(e.kind, 'InvalidArgument', input);
      if (typeof msg === 'string') assert.equal(e.message, msg, `message for ${JSON.stringify(input)}`);
      else assert.match(e.message, msg, `message for ${JSON.stringify(input)}`);
      return true;
    }, `expected ${JSON.stringify(input)} to be refused`);
  }
});

test('reference: parts', () => {
  const r = parseNormalized(`localhost:5000/a/b:t@${D}`);
  assert.deepEqual(r, { domain: 'localhost:5000', path: 'a/b', tag: 't', digest: D });
  const n = parseNormalized('busybox');
  assert.deepEqual(n, { domain: 'docker.io', path: 'library/busybox' });
});

test('reference: parseAny distinguishes IDs and names', () => {
  assert.deepEqual(parseAny('a'.repeat(64)), { kind: 'id', id: D });
  assert.deepEqual(parseAny(D), { kind: 'id', id: D });
  assert.throws(() => parseAny('sha256:zz'), /invalid reference format/);
  const r = parseAny('b72063a78812');
  assert.equal(r.kind, 'named');
});

test('reference: repo+tag params', () => {
  assert.equal(familiarString(parseRepoTag('busybox', 'x')), 'busybox:x');
  assert.equal(familiarString(parseRepoTag('busybox:y')), 'busybox:y');
  assert.equal(familiarString(parseRepoTag('localhost:5000/a')), 'localhost:5000/a:latest');
  assert.throws(() => parseRepoTag('busybox', 'bad tag'), /invalid reference format/);
  assert.throws(() => parseRepoTag(`busybox@${D}`), /digest/);
});

test('reference: ID prefix detection and tags', () => {
  for (const s of ['b', 'b72063a78812', D, 'sha256:b7', 'a'.repeat(64)]) assert.ok(isIDPrefix(s), s);
  for (const s of ['busybox', 'B72', 'sha256:', 'a'.repeat(65), 'g1']) assert.ok(!isIDPrefix(s), s);
  assert.ok(isFullID('0'.repeat(64)));
  assert.ok(!isFullID('0'.repeat(63)));
  for (const t of ['latest', 'v1.0', '_x', 'A-b.c_d', 'x'.repeat(128)]) assert.ok(isValidTag(t), t);
  for (const t of ['', '.x', '-x', 'a:b', 'x'.repeat(129), 'a/b']) assert.ok(!isValidTag(t), t);
});
