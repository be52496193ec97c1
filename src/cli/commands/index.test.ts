import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findEntry, loadRootCommands, rootEntries } from './index.js';

test('each lazy entry names exactly its command: the name first, then its aliases', async () => {
  for (const e of rootEntries) {
    const cmd = await e.load();
    assert.ok(cmd, `entry ${e.names[0]} loads a command`);
    assert.deepEqual(e.names, [cmd.name, ...(cmd.aliases ?? [])], `entry ${e.names[0]}`);
  }
});

test('top-level names are unique and every docker shortcut berth has is listed', async () => {
  const all = rootEntries.flatMap((e) => e.names);
  assert.equal(new Set(all).size, all.length, 'no name twice');
  for (const n of ['ps', 'run', 'images', 'rmi', 'inspect', 'version', 'compose', 'container', 'image', 'rm', 'remove', 'b'])
    assert.ok(findEntry(n), `${n} is registered`);
  assert.equal(findEntry('nope'), undefined);
  assert.equal((await loadRootCommands()).length, rootEntries.length);
});
