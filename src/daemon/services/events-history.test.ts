import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from './events.js';

test('history without an until bound returns the kept events since the given time (docker events --since X)', () => {
  const bus = new EventBus();
  const before = Date.now() * 1e6 - 1e9;
  bus.publish('container', 'start', 'abc', { name: 'x' });
  assert.equal(bus.history(before).length, 1);
  assert.equal(bus.history(before, before + 1).length, 0);
});
