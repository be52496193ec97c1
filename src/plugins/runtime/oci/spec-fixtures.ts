/**
 * Test fixtures for the OCI spec builder: a fixed host (cgroups v1, no CAP_SYS_RESOURCE in the bounding set, a few
 * devices) and a minimal SpecInput, shared by the spec builder's tests and the container service's create-rule tests.
 */
import { ALL_CAPABILITIES } from './capabilities.js';
import type { SpecInput } from './spec.js';
import type { HostFacts } from './types.js';

export const noSysResource = ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');
export const facts = (over: Partial<HostFacts> = {}): HostFacts => ({
  cgroupVersion: 1,
  cgroupDriver: 'cgroupfs',
  cgroupMounts: { version: 1, roots: new Map([['memory', '/sys/fs/cgroup/memory'], ['cpu', '/sys/fs/cgroup/cpu']]) },
  cpuRealtime: true,
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
export const ID = '0123456789abcdef0123456789abcdef';
export const input = (over: Partial<SpecInput> = {}): SpecInput => ({
  id: ID, rootfsPath: '/rootfs', config: { Cmd: ['sh'] }, hostConfig: {},
  user: { uid: 0, gid: 0, additionalGids: [0] }, cgroupsPath: '/berth/' + ID, hostFacts: facts(),
  seccompDefault: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] },
  ...over,
});
