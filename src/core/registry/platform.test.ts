import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPlatform, parsePlatform, pickPlatform } from './platform.js';
import { HOST_ARCH } from '../images/platform.js';
import type { Manifest } from './types.js';

test('parsePlatform normalises as containerd (dockerd) does', () => {
  assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', arch: 'amd64' });
  assert.deepEqual(parsePlatform('Linux/AArch64'), { os: 'linux', arch: 'arm64' });
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', arch: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/armhf'), { os: 'linux', arch: 'arm' });
  assert.deepEqual(parsePlatform('linux/armel'), { os: 'linux', arch: 'arm', variant: 'v6' });
  assert.deepEqual(parsePlatform('linux/arm/7'), { os: 'linux', arch: 'arm', variant: 'v7' });
  assert.deepEqual(parsePlatform('linux'), { os: 'linux', arch: HOST_ARCH });
  assert.deepEqual(parsePlatform('arm64'), { os: 'linux', arch: 'arm64' });
  assert.equal(formatPlatform(parsePlatform('linux/arm/v6')), 'linux/arm/v6');
  assert.throws(() => parsePlatform('nonsense'), /^EngineError: "nonsense": unknown operating system or architecture: invalid argument$/);
  assert.throws(() => parsePlatform('linux/*'), /wildcards not yet supported/);
  assert.throws(() => parsePlatform('linux//'), /"" is an invalid component of "linux\/\/"/);
  assert.throws(() => parsePlatform('a/b/c/d'), /"a\/b\/c\/d": cannot parse platform specifier: invalid argument/);
});

test('pickPlatform: variants as containerd matches them', () => {
  const d = (c: string) => `sha256:${c.repeat(64)}` as const;
  const index: Manifest = {
    schemaVersion: 2,
    manifests: [
      { digest: d('0'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
      { digest: d('1'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
      { digest: d('2'), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
      { digest: d('3'), size: 1, platform: { os: 'linux', architecture: 'amd64', variant: 'v1' } },
    ],
  };
  const pick = (s: string) => {
    const p = parsePlatform(s);
    return pickPlatform(index, p.os, p.arch, p.variant).digest;
  };
  assert.equal(pick('linux/arm64/v8'), d('2'));
  assert.equal(pick('linux/arm64'), d('2'));
  assert.equal(pick('linux/arm/v7'), d('1'), 'arm/v7 runs v6');
  assert.equal(pick('linux/amd64'), d('3'), 'amd64/v1 is amd64');
  assert.throws(() => pick('linux/arm/v5'), /^EngineError: no matching manifest for linux\/arm\/v5 in the manifest list entries$/);
  assert.equal(pick('linux/amd64/v3'), d('3'), 'amd64/v3 runs v1');
});
