import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_CAPABILITIES, DEFAULT_CAPABILITIES, capMaskHex, capsFromMask, normalizeCapability, resolveCapabilities,
} from './capabilities.js';

const host = ALL_CAPABILITIES;
const hostWithoutSysResource = ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');

test('the 14 defaults are Docker\'s and give CapEff 00000000a80425fb', () => {
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.equal(capMaskHex(DEFAULT_CAPABILITIES), '00000000a80425fb');
  assert.deepEqual(resolveCapabilities({ hostCaps: host }), [...DEFAULT_CAPABILITIES]);
});

test('bit numbers follow the kernel', () => {
  assert.equal(ALL_CAPABILITIES.indexOf('CAP_SYS_ADMIN'), 21);
  assert.equal(ALL_CAPABILITIES.indexOf('CAP_SYS_RESOURCE'), 24);
  assert.equal(ALL_CAPABILITIES.indexOf('CAP_CHECKPOINT_RESTORE'), 40);
  // this machine's CapBnd: every cap up to 40 except SYS_RESOURCE
  assert.deepEqual(capsFromMask('000001fffeffffff'), hostWithoutSysResource);
});

test('names normalise with or without CAP_, in any case', () => {
  assert.equal(normalizeCapability('net_admin'), 'CAP_NET_ADMIN');
  assert.equal(normalizeCapability('Cap_Net_Admin'), 'CAP_NET_ADMIN');
  assert.equal(normalizeCapability('all'), 'ALL');
  assert.throws(() => normalizeCapability('foo'), { kind: 'InvalidArgument', message: 'unknown capability: "CAP_FOO"' });
});

test('cap-add / cap-drop', () => {
  const caps = resolveCapabilities({ capAdd: ['NET_ADMIN'], capDrop: ['cap_chown', 'MKNOD'], hostCaps: host });
  assert.ok(caps.includes('CAP_NET_ADMIN'));
  assert.ok(!caps.includes('CAP_CHOWN'));
  assert.ok(!caps.includes('CAP_MKNOD'));
  assert.equal(caps.length, 13);
  assert.deepEqual(resolveCapabilities({ capDrop: ['ALL'], capAdd: ['chown'], hostCaps: host }), ['CAP_CHOWN']);
  const all = resolveCapabilities({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'], hostCaps: hostWithoutSysResource });
  assert.ok(!all.includes('CAP_SYS_ADMIN'));
  assert.ok(!all.includes('CAP_SYS_RESOURCE'));
  assert.equal(all.length, ALL_CAPABILITIES.length - 2);
  assert.throws(() => resolveCapabilities({ capAdd: ['CAP_FOO'], hostCaps: host }), /unknown capability: "CAP_FOO"/);
});

test('privileged gets what the host bounding set has, never more', () => {
  const caps = resolveCapabilities({ privileged: true, capDrop: ['CHOWN'], hostCaps: hostWithoutSysResource });
  assert.deepEqual(caps, hostWithoutSysResource);
  assert.ok(!caps.includes('CAP_SYS_RESOURCE'));
  assert.throws(
    () => resolveCapabilities({ capAdd: ['SYS_RESOURCE'], hostCaps: hostWithoutSysResource }),
    { kind: 'InvalidArgument' },
  );
});
