import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_CAPABILITIES } from '../../../plugins/runtime/oci/capabilities.js';
import { buildSpec, type SpecInput } from '../../../plugins/runtime/oci/spec.js';
import type { HostFacts } from '../../../plugins/runtime/oci/types.js';
import { entrypointAndArgs, mergeConfig, type MergeableConfig } from './create-config.js';

const noSysResource = ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');
const facts = (over: Partial<HostFacts> = {}): HostFacts => ({
  cgroupVersion: 1,
  boundingCaps: noSysResource,
  effectiveCaps: noSysResource,
  kernel: { major: 6, minor: 1 },
  arch: 'amd64',
  devices: [
    { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
    { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
    { path: '/dev/snd/pcm0', type: 'c', major: 116, minor: 2, fileMode: 0o660, uid: 0, gid: 29 },
    { path: '/dev/snd/timer', type: 'c', major: 116, minor: 33, fileMode: 0o660, uid: 0, gid: 29 },
  ],
  nofile: { soft: 20000, hard: 20000 },
  swapLimit: true,
  sysctls: { pingGroupRange: true, unprivilegedPortStart: true },
  hostname: 'thehost',
  ...over,
});
const ID = '0123456789abcdef0123456789abcdef';
const input = (over: Partial<SpecInput> = {}): SpecInput => ({
  id: ID, rootfsPath: '/rootfs', config: { Cmd: ['sh'] }, hostConfig: {},
  user: { uid: 0, gid: 0, additionalGids: [0] }, cgroupsPath: '/berth/' + ID, hostFacts: facts(),
  seccompDefault: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] },
  ...over,
});
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

