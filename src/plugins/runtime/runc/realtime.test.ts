import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cgroupAncestors, writeRealtimeParents } from './realtime.js';
import { RuncLayout } from './layout.js';

test('the ancestors of a task cgroup, top first, never the root', () => {
  assert.deepEqual(cgroupAncestors('/a/b/id'), ['/a', '/a/b']);
  assert.deepEqual(cgroupAncestors('/berth/id'), ['/berth']);
  assert.deepEqual(cgroupAncestors('/id'), []);
  assert.deepEqual(cgroupAncestors('/../../x/id'), ['/x']); // cannot climb above the hierarchy
});

test('writeRealtimeParents writes the daemon budget into every ancestor, period before runtime, not the task', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rt-'));
  try {
    fs.writeFileSync(path.join(root, 'cpu.rt_runtime_us'), '950000');
    writeRealtimeParents(root, '/p/q/task', { period: 0, runtime: 20000 });
    assert.equal(fs.readFileSync(path.join(root, 'cpu.rt_runtime_us'), 'utf8'), '950000');
    for (const d of ['p', 'p/q']) {
      assert.equal(fs.readFileSync(path.join(root, d, 'cpu.rt_runtime_us'), 'utf8'), '20000');
      assert.equal(fs.existsSync(path.join(root, d, 'cpu.rt_period_us')), false);
    }
    assert.equal(fs.existsSync(path.join(root, 'p/q/task')), false);
    writeRealtimeParents(root, '/p/task', { period: 500000, runtime: 10000 });
    assert.equal(fs.readFileSync(path.join(root, 'p/cpu.rt_period_us'), 'utf8'), '500000');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a task cgroup is below the container cgroup parent, else the daemon one, always absolute', () => {
  const l = new RuncLayout('/x', '/daemon-parent');
  assert.equal(l.cgroupsPath('id'), '/daemon-parent/id');
  assert.equal(l.cgroupsPath('id', 'mine/sub'), '/mine/sub/id');
  assert.equal(l.cgroupsPath('id', ''), '/daemon-parent/id');
  assert.equal(new RuncLayout('/x').cgroupsPath('id'), '/berth/id');
});
