import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { goQuoteList, serviceWatchRules } from './watch.js';
import type { Service } from './model/types.js';

test('watch rules: target paths, ignore patterns relative to the rule, .dockerignore, editor files and .git', () => {
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-watch-'));
  try {
    fs.writeFileSync(path.join(ctx, '.dockerignore'), 'secret.txt\n');
    const s: Service = {
      name: 'web',
      build: { context: ctx },
      develop: { watch: [{ action: 'sync', path: path.join(ctx, 'src'), target: '/app', ignore: ['node_modules/', '**/*.log'] }, { action: 'rebuild', path: path.join(ctx, 'package.json') }] },
    };
    const [sync, rebuild] = serviceWatchRules(s);
    assert.deepEqual(sync.matches(path.join(ctx, 'src', 'a', 'b.js')), { hostPath: path.join(ctx, 'src', 'a', 'b.js'), containerPath: '/app/a/b.js' });
    assert.equal(sync.matches(path.join(ctx, 'src'))?.containerPath, '/app');
    assert.equal(sync.matches(path.join(ctx, 'other.js')), undefined);
    assert.equal(sync.matches(path.join(ctx, 'src', 'node_modules', 'x', 'i.js')), undefined);
    assert.equal(sync.matches(path.join(ctx, 'src', 'deep', 'out.log')), undefined);
    assert.equal(sync.matches(path.join(ctx, 'src', '.main.js.swp')), undefined);
    assert.equal(sync.matches(path.join(ctx, 'src', '.git', 'HEAD')), undefined);
    assert.equal(rebuild.matches(path.join(ctx, 'package.json'))?.hostPath, path.join(ctx, 'package.json'));
    assert.equal(rebuild.matches(path.join(ctx, 'secret.txt')), undefined);
    // A bind mount over the synced path makes the rule pointless: it is dropped with Compose's warning.
    const warned: string[] = [];
    assert.equal(serviceWatchRules({ ...s, volumes: [{ type: 'bind', source: ctx, target: '/src' }] }, (m) => warned.push(m)).length, 1);
    assert.match(warned[0], /also declared by a bind mount volume, this path won't be monitored!/);
    assert.throws(() => serviceWatchRules({ name: 'db', image: 'x', develop: { watch: [{ action: 'rebuild', path: ctx }] } }), /can't watch service "db" with action rebuild without a build context/);
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
});

test("watch messages quote service lists as Go's %q does", () => {
  assert.equal(goQuoteList(['web', 'db']), '["web" "db"]');
});
