import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENTS_KEPT, EventBus } from './events.js';

test('history without an until bound returns the kept events since the given time (docker events --since X)', () => {
  const bus = new EventBus();
  const before = Date.now() * 1e6 - 1e9;
  bus.publish('container', 'start', 'abc', { name: 'x' });
  assert.equal(bus.history(before).length, 1);
  assert.equal(bus.history(before, before + 1).length, 0);
});

test('the bus keeps the last EVENTS_KEPT events, as dockerd (a daemon running containers for days stays bounded)', () => {
  const bus = new EventBus();
  for (let i = 0; i < EVENTS_KEPT * 4; i++) bus.publish('container', 'die', `c${i}`, { name: `n${i}` });
  const kept = bus.history(0);
  assert.equal(kept.length, EVENTS_KEPT);
  assert.equal(kept[0]!.Actor.ID, `c${EVENTS_KEPT * 3}`, 'the oldest go first');
  assert.equal(kept[kept.length - 1]!.Actor.ID, `c${EVENTS_KEPT * 4 - 1}`);
});
