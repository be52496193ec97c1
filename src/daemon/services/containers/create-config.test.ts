import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec, type SpecInput } from '../../../plugins/runtime/oci/spec.js';
import { input } from '../../../plugins/runtime/oci/spec-fixtures.js';
import { entrypointAndArgs, mergeConfig, type MergeableConfig } from './create-config.js';

const build = (over: Partial<SpecInput> = {}) => buildSpec(input(over));

test('entrypoint/cmd merge table (Docker create rules)', () => {
  const img = { Entrypoint: ['/ep'], Cmd: ['img-cmd'] };
  const run = (c: MergeableConfig, i = img) => {
    const m = mergeConfig(c, i);
    const { path, args } = entrypointAndArgs(m);
    return [path, ...args];
  };
  assert.deepEqual(run({}), ['/ep', 'img-cmd']);
  assert.deepEqual(run({ Cmd: ['x'] }), ['/ep', 'x']);
  assert.deepEqual(run({ Entrypoint: ['/mine'] }), ['/mine']); // image Cmd dropped
  assert.deepEqual(run({ Entrypoint: ['/mine'], Cmd: ['y'] }), ['/mine', 'y']);
  assert.deepEqual(run({ Entrypoint: [''], Cmd: ['z'] }), ['z']); // --entrypoint "" clears the image's
  assert.deepEqual(run({ Entrypoint: [] }), ['img-cmd']); // [] keeps image Cmd, drops image entrypoint
  assert.deepEqual(run({ Cmd: 'echo hi' as unknown as string[] }), ['/ep', 'echo hi']);
  assert.deepEqual(run({}, { Cmd: ['sh'] } as typeof img), ['sh']);
  assert.throws(() => run({ Entrypoint: [''] }), { kind: 'InvalidArgument', message: 'No command specified' });
  assert.throws(() => build({ config: {} }), /No command specified/);
  assert.deepEqual(build({ config: mergeConfig({}, img) }).process.args, ['/ep', 'img-cmd']);
});

test("the image's EXPOSEd ports join the container's (as Docker's merge; -P publishes them)", () => {
  const img = { Cmd: ['sh'], ExposedPorts: { '80/tcp': {}, '53/udp': {} } };
  assert.deepEqual(mergeConfig({}, img).ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.deepEqual(Object.keys(mergeConfig({ ExposedPorts: { '8080/tcp': {} } }, img).ExposedPorts ?? {}).sort(), ['53/udp', '80/tcp', '8080/tcp']);
  assert.deepEqual(mergeConfig({ ExposedPorts: { '8080/tcp': {} } }, { Cmd: ['sh'] }).ExposedPorts, { '8080/tcp': {} });
});

