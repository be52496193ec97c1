import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalService, parseDuration, parsePortShort, parseVolume, shellSplit } from './canonical.js';

test('ports short syntax', () => {
  assert.deepEqual(parsePortShort(80), [{ mode: 'ingress', target: 80, protocol: 'tcp' }]);
  assert.deepEqual(parsePortShort('127.0.0.1:8080:80/udp'), [{ mode: 'ingress', target: 80, protocol: 'udp', host_ip: '127.0.0.1', published: '8080' }]);
  assert.deepEqual(
    parsePortShort('9000-9001:90-91').map((p) => [p.published, p.target]),
    [['9000', 90], ['9001', 91]],
  );
  assert.deepEqual(parsePortShort('[::1]:81:80')[0].host_ip, '::1');
  assert.throws(() => parsePortShort('a:b:c:d'), /invalid port spec/);
});

test('volumes short syntax', () => {
  assert.deepEqual(parseVolume('./data:/data:ro', '/proj'), { type: 'bind', source: '/proj/data', target: '/data', read_only: true, bind: { create_host_path: true } });
  assert.deepEqual(parseVolume('db:/var/lib/db:nocopy', '/proj'), { type: 'volume', source: 'db', target: '/var/lib/db', volume: { nocopy: true } });
  assert.deepEqual(parseVolume('/anon', '/proj'), { type: 'volume', target: '/anon' });
  assert.throws(() => parseVolume('a:b:c:d', '/p'), /too many colons/);
});

test('durations and shell words', () => {
  assert.equal(parseDuration('1m30s'), 90e9);
  assert.equal(parseDuration('250ms'), 250e6);
  assert.throws(() => parseDuration('5 s'), /invalid duration/);
  assert.deepEqual(shellSplit(`sh -c 'echo "hi there"' "a\\"b" c\\ d`), ['sh', '-c', 'echo "hi there"', 'a"b', 'c d']);
});

test('a service in long syntax', () => {
  const s = canonicalService(
    'web',
    {
      build: 'app',
      command: 'echo hi',
      environment: ['A=1', 'B'],
      labels: { x: 1 },
      depends_on: ['db'],
      networks: ['front'],
      healthcheck: { test: 'true', interval: '1s' },
      extra_hosts: { h: '1.2.3.4' },
      ulimits: { nofile: 1024, nproc: { soft: 1, hard: 2 } },
      secrets: ['s'],
    },
    '/p',
  );
  assert.deepEqual(s.build, { context: '/p/app' });
  assert.deepEqual(s.command, ['echo', 'hi']);
  assert.deepEqual(s.environment, { A: '1', B: null });
  assert.deepEqual(s.labels, { x: '1' });
  assert.deepEqual(s.depends_on, { db: { condition: 'service_started', restart: false, required: true } });
  assert.deepEqual(s.networks, { front: null });
  assert.deepEqual(s.healthcheck, { test: ['CMD-SHELL', 'true'], interval: '1s' });
  assert.deepEqual(s.extra_hosts, ['h:1.2.3.4']);
  assert.deepEqual(s.ulimits, { nofile: { soft: 1024, hard: 1024 }, nproc: { soft: 1, hard: 2 } });
  assert.deepEqual(s.secrets, [{ source: 's' }]);
});

test('long-syntax volumes, secrets and build keep every field and are narrowed by type guards', () => {
  const long = { type: 'bind', source: './src', target: '/app', read_only: true, consistency: 'cached', bind: { selinux: 'z' }, 'x-note': 1 };
  assert.deepEqual(parseVolume(long, '/proj'), { ...long, source: '/proj/src' });
  assert.deepEqual(parseVolume({ type: 'tmpfs', target: '/t', tmpfs: { size: '1m' } }, '/proj'), { type: 'tmpfs', target: '/t', tmpfs: { size: '1m' } });
  assert.throws(() => parseVolume({ type: 'volume', source: 'x' }, '/proj'), /needs a type and a target/);
  assert.throws(() => parseVolume({ type: 'floppy', target: '/f' }, '/proj'), /needs a type and a target/);
  const s = canonicalService(
    'web',
    { secrets: ['a', { source: 'b', target: 'bee', uid: '1', mode: 0o400 }], build: { context: 'ctx', args: ['X=1'], labels: { l: 'v' }, ssh: ['default'] } },
    '/proj',
  );
  assert.deepEqual(s.secrets, [{ source: 'a' }, { source: 'b', target: 'bee', uid: '1', mode: 0o400 }]);
  assert.deepEqual(s.build, { context: '/proj/ctx', args: { X: '1' }, labels: { l: 'v' }, ssh: ['default'] });
  assert.throws(() => canonicalService('web', { configs: [{ target: '/c' }] }, '/proj'), /needs a source/);
  assert.throws(() => canonicalService('web', { build: { context: 'c', dockerfile: 3 } }, '/proj'), /invalid build section/);
});
