import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeStatus, newState } from '../../../core/containers/container.js';
import { parseDetachKeys } from '../../../core/runtime/attach.js';
import { fixedTimestamp, timeToNs } from './logs.js';
import { normalizeSignal, signalNumber } from './service.js';

test('signals by name, short name, number; unknown ones are refused', () => {
  assert.equal(normalizeSignal('KILL'), 'SIGKILL');
  assert.equal(normalizeSignal('sigterm'), 'SIGTERM');
  assert.equal(normalizeSignal('9'), 'SIGKILL');
  assert.equal(normalizeSignal('SIGUSR1'), 'SIGUSR1');
  assert.equal(signalNumber('SIGHUP'), 1);
  assert.throws(() => normalizeSignal('NOPE'), /Invalid signal: NOPE/);
  assert.throws(() => normalizeSignal('99'), /Invalid signal/);
});

test('detach keys use Docker syntax', () => {
  assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(parseDetachKeys('a,ctrl-@,ctrl-\\'), [97, 0, 28]);
  assert.throws(() => parseDetachKeys('ctrl-pp'), /Invalid detach keys/);
});

test('log timestamps keep nanoseconds', () => {
  assert.equal(timeToNs('2026-11-25T12:16:02.525175672Z'), 1795608962525175672n);
  assert.equal(timeToNs('2026-11-25T12:16:02Z'), 1795608962000000000n);
  assert.equal(fixedTimestamp('2026-11-25T12:16:02.5Z'), '2026-11-25T12:16:02.500000000Z');
});

test('status column like docker ps', () => {
  const now = Date.parse('2026-11-25T12:00:10Z');
  const s = newState();
  assert.equal(describeStatus(s, now), 'Created');
  s.Status = 'running';
  s.StartedAt = '2026-11-25T12:00:08Z';
  assert.equal(describeStatus(s, now), 'Up 2 seconds');
  s.Health = { Status: 'healthy', FailingStreak: 0, Log: [] };
  assert.equal(describeStatus(s, now), 'Up 2 seconds (healthy)');
  s.Status = 'exited';
  s.ExitCode = 3;
  s.FinishedAt = '2026-11-25T12:00:05Z';
  assert.equal(describeStatus(s, now), 'Exited (3) 5 seconds ago');
});
