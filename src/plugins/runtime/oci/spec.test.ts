import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_CAPABILITIES, capMaskHex } from './capabilities.js';
import {
  DEFAULT_MASKED_PATHS, buildSpec, containerEnv, mergeMountOptions,
  parseSecurityOpts, type SpecInput,
} from './spec.js';
import { facts, ID, input, noSysResource } from './spec-fixtures.js';
import { mergeConfig } from '../../../daemon/services/containers/create-config.js';

const build = (over: Partial<SpecInput> = {}) => buildSpec(input(over));
const hc = (h: SpecInput['hostConfig']) => build({ hostConfig: h });
const mount = (s: ReturnType<typeof build>, dst: string) => s.mounts.find((m) => m.destination === dst);

test('--init prefixes docker-init and mounts it read-only', () => {
  const s = build({ hostConfig: { Init: true }, initPath: '/usr/bin/docker-init' });
  assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sh']);
  assert.deepEqual(mount(s, '/sbin/docker-init'), {
    destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/docker-init', options: ['bind', 'ro'],
  });
  assert.deepEqual(build({ hostConfig: { Init: true, PidMode: 'host' }, initPath: '/x' }).process.args, ['sh']);
  assert.throws(() => hc({ Init: true }), { kind: 'FailedPrecondition' });
});

test('env: image env merged with -e, PATH default, HOSTNAME, TERM with a tty, unset with bare key', () => {
  // the image's env is merged in at create (create-config.ts); the spec builder takes the merged config
  const s = build({
    config: mergeConfig({ Cmd: ['sh'], Env: ['A=user', 'B=2'], Tty: true, Hostname: 'box' }, { Env: ['PATH=/img/bin', 'A=image', 'C=3'] }),
  });
  assert.deepEqual(s.process.env, ['PATH=/img/bin', 'HOSTNAME=box', 'TERM=xterm', 'A=user', 'B=2', 'C=3']);
  assert.deepEqual(build().process.env, [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${ID.slice(0, 12)}`,
  ]);
  assert.deepEqual(containerEnv(['TERM', 'X=1'], 'h', true).slice(1), ['HOSTNAME=h', 'X=1']);
  // As in Docker, a later value for a default's key revives it in place.
  assert.deepEqual(containerEnv(['TERM', 'X=1', 'TERM=vt100'], 'h', true).slice(1), ['HOSTNAME=h', 'TERM=vt100', 'X=1']);
});

test('process: cwd, user, terminal, rlimits, no-new-privileges, oom score', () => {
  const s = build({
    config: { Cmd: ['sh'], WorkingDir: '/srv/./app/' },
    hostConfig: { SecurityOpt: ['no-new-privileges'], OomScoreAdj: 500, Ulimits: [{ Name: 'nproc', Soft: 10, Hard: 20 }] },
    user: { uid: 1000, gid: 1000, additionalGids: [1000, 29] },
  });
  assert.equal(s.process.cwd, '/srv/app/');
  assert.equal(build().process.cwd, '/');
  assert.deepEqual(s.process.user, { uid: 1000, gid: 1000, additionalGids: [1000, 29] });
  assert.equal(s.process.terminal, false);
  assert.equal(s.process.noNewPrivileges, true);
  assert.equal(s.process.oomScoreAdj, 500);
  assert.deepEqual(s.process.rlimits, [
    { type: 'RLIMIT_NPROC', soft: 10, hard: 20 },
    { type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 }, // capped: host lacks CAP_SYS_RESOURCE
  ]);
  const canRaise = build({ hostFacts: facts({ effectiveCaps: [...ALL_CAPABILITIES] }) });
  assert.deepEqual(canRaise.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }]);
  assert.throws(() => hc({ Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 99999 }] }), { kind: 'InvalidArgument' });
  assert.throws(() => hc({ Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }), /invalid ulimit type/);
  assert.throws(() => hc({ Ulimits: [null as never] }), /invalid ulimit: null/); // a 400, not a TypeError (fuzz seed 7074)
  assert.throws(() => build({ config: { Cmd: ['x'], WorkingDir: 'rel' } }), /needs to be an absolute path/);
  assert.equal(parseSecurityOpts(['no-new-privileges=false']).noNewPrivileges, false);
  assert.throws(() => parseSecurityOpts(['bogus=1']), { message: 'invalid --security-opt 2: "bogus=1"' });
});

test('capabilities: root gets the 14 defaults effective (CapEff a80425fb), others only bounding', () => {
  const s = build();
  const c = s.process.capabilities!;
  assert.equal(capMaskHex(c.effective!), '00000000a80425fb');
  assert.deepEqual(c.bounding, c.permitted);
  assert.equal(c.inheritable, undefined);
  assert.equal(c.ambient, undefined);
  const user = build({ user: { uid: 1000, gid: 1000, additionalGids: [1000] } }).process.capabilities!;
  assert.equal(capMaskHex(user.bounding!), '00000000a80425fb');
  assert.equal(user.effective, undefined);
  assert.throws(() => hc({ CapAdd: ['FOO'] }), { kind: 'InvalidArgument', message: 'unknown capability: "CAP_FOO"' });
});

test('privileged: host caps only, all devices, rw /sys and cgroup, no masks, no seccomp', () => {
  const s = hc({ Privileged: true });
  assert.deepEqual(s.process.capabilities!.bounding, noSysResource);
  assert.ok(!s.process.capabilities!.effective!.includes('CAP_SYS_RESOURCE'));
  assert.deepEqual(s.linux.resources!.devices, [{ allow: true, access: 'rwm' }]);
  assert.equal(s.linux.devices!.length, 4);
  assert.ok(!mount(s, '/sys')!.options!.includes('ro'));
  assert.ok(!mount(s, '/sys/fs/cgroup')!.options!.includes('ro'));
  assert.equal(s.linux.maskedPaths, undefined);
  assert.equal(s.linux.readonlyPaths, undefined);
  assert.equal(s.linux.seccomp, undefined);
});

test('default mounts, shm size, tmpfs, read-only rootfs, user mounts override', () => {
  const s = build();
  assert.deepEqual(s.mounts.map((m) => m.destination),
    ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
  assert.deepEqual(mount(s, '/dev/shm')!.options, ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864']);
  assert.deepEqual(mount(s, '/dev')!.options, ['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
  assert.ok(mount(s, '/sys')!.options!.includes('ro'));
  assert.equal(s.root.readonly, false);
  assert.ok(mount(hc({ ShmSize: 1 << 20 }), '/dev/shm')!.options!.includes('size=1048576'));
  assert.equal(mount(hc({ IpcMode: 'none' }), '/dev/shm'), undefined);

  const t = hc({ Tmpfs: { '/run': '', '/data': 'size=10m,exec,mode=700' } });
  assert.deepEqual(mount(t, '/run'), {
    destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'noexec', 'nosuid', 'nodev', 'rprivate'],
  });
  assert.deepEqual(mount(t, '/data')!.options, ['rw', 'nosuid', 'nodev', 'rprivate', 'size=10m', 'exec', 'mode=700']);
  assert.deepEqual(mergeMountOptions(['ro', 'size=1', 'rw', 'size=2']), ['rw', 'size=2']);

  const ro = hc({ ReadonlyRootfs: true });
  assert.equal(ro.root.readonly, true);
  assert.ok(!mount(ro, '/dev/shm')!.options!.includes('ro'));

  const binds = build({
    mounts: [
      { destination: '/data/sub', type: 'bind', source: '/h/sub', options: ['rbind', 'rw'] },
      { destination: '/data', type: 'bind', source: '/h/data', options: ['rbind', 'rw'] },
      { destination: '/dev/shm', type: 'bind', source: '/h/shm', options: ['rbind'] },
    ],
  });
  const dests = binds.mounts.map((m) => m.destination);
  assert.ok(dests.indexOf('/data') < dests.indexOf('/data/sub')); // parents first
  assert.equal(binds.mounts.filter((m) => m.destination === '/dev/shm').length, 1);
  assert.equal(mount(binds, '/dev/shm')!.source, '/h/shm');
  const devOver = build({ mounts: [{ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] }] });
  assert.ok(!devOver.mounts.some((m) => m.destination.startsWith('/dev/')));
});

test('masked and readonly paths', () => {
  const s = build();
  assert.deepEqual(s.linux.maskedPaths, [...DEFAULT_MASKED_PATHS]);
  assert.ok(s.linux.maskedPaths!.includes('/proc/kcore'));
  assert.ok(s.linux.maskedPaths!.includes('/sys/devices/virtual/powercap'));
  assert.deepEqual(s.linux.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  assert.deepEqual(hc({ MaskedPaths: ['/x'] }).linux.maskedPaths, ['/x']);
  assert.equal(hc({ SecurityOpt: ['systempaths=unconfined'] }).linux.maskedPaths, undefined);
});

test('devices: Docker defaults, --device files and directories, cgroup rules', () => {
  const rules = build().linux.resources!.devices!;
  assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
  const allows = (maj: number, min?: number) =>
    rules.some((r) => r.allow && r.type === 'c' && r.major === maj && r.minor === min && r.access === 'rwm');
  for (const [maj, min] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2], [10, 200]] as const) {
    assert.ok(allows(maj, min), `${maj}:${min}`);
  }
  assert.ok(allows(136));
  assert.ok(rules.some((r) => r.allow && r.type === 'c' && r.major === undefined && r.access === 'm'));

  const s = hc({
    Devices: [
      { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rw' },
      { PathOnHost: '/dev/snd', PathInContainer: '/dev/sound', CgroupPermissions: 'rwm' },
    ],
    DeviceCgroupRules: ['c 42:* rmw'],
  });
  assert.deepEqual(s.linux.devices!.map((d) => d.path), ['/dev/fuse', '/dev/sound/pcm0', '/dev/sound/timer']);
  assert.deepEqual(s.linux.devices![1], { path: '/dev/sound/pcm0', type: 'c', major: 116, minor: 2, fileMode: 0o660, uid: 0, gid: 29 });
  const extra = s.linux.resources!.devices!.slice(rules.length);
  assert.deepEqual(extra, [
    { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
    { allow: true, type: 'c', major: 116, minor: 2, access: 'rwm' },
    { allow: true, type: 'c', major: 116, minor: 33, access: 'rwm' },
    { allow: true, type: 'c', major: 42, access: 'rmw' },
  ]);
  assert.throws(() => hc({ Devices: [{ PathOnHost: '/dev/nope' }] }), /error gathering device information/);
  assert.throws(() => hc({ DeviceCgroupRules: ['x 1:1 r'] }), /invalid device cgroup rule format/);
});

test('namespaces: defaults, host modes, joined paths, cgroupns by cgroup version', () => {
  const types = (s: ReturnType<typeof build>) => s.linux.namespaces.map((n) => n.type);
  assert.deepEqual(types(build()), ['mount', 'network', 'uts', 'pid', 'ipc']);
  assert.deepEqual(types(build({ hostFacts: facts({ cgroupVersion: 2 }) })), ['mount', 'network', 'uts', 'pid', 'ipc', 'cgroup']);
  assert.deepEqual(types(hc({ CgroupnsMode: 'private' })), ['mount', 'network', 'uts', 'pid', 'ipc', 'cgroup']);
  const host = hc({ NetworkMode: 'host', PidMode: 'host', IpcMode: 'host', UTSMode: 'host' });
  assert.deepEqual(types(host), ['mount']);
  assert.equal(host.hostname, undefined);
  assert.deepEqual(build({ netnsPath: 'host' }).linux.namespaces.map((n) => n.type), ['mount', 'uts', 'pid', 'ipc']);
  const joined = build({ netnsPath: '/run/netns/x' });
  assert.deepEqual(joined.linux.namespaces[1], { type: 'network', path: '/run/netns/x' });
  const shared = build({ hostConfig: { PidMode: 'container:abc', IpcMode: 'container:abc' }, pidNsPath: '/proc/9/ns/pid', ipcNsPath: '/proc/9/ns/ipc' });
  assert.deepEqual(shared.linux.namespaces.slice(3), [{ type: 'pid', path: '/proc/9/ns/pid' }, { type: 'ipc', path: '/proc/9/ns/ipc' }]);
  assert.throws(() => hc({ IpcMode: 'weird' }), /Invalid IPC mode: weird/);
});

test('hostname, domainname and sysctls', () => {
  const s = build({ config: { Cmd: ['sh'], Hostname: 'web', Domainname: 'example.org' }, hostConfig: { Sysctls: { 'net.core.somaxconn': '1024' } } });
  assert.equal(s.hostname, 'web');
  assert.deepEqual(s.linux.sysctl, {
    'kernel.domainname': 'example.org',
    'net.ipv4.ping_group_range': '0 2147483647',
    'net.ipv4.ip_unprivileged_port_start': '0',
    'net.core.somaxconn': '1024',
  });
  assert.equal(build().hostname, ID.slice(0, 12));
  const hostNet = hc({ NetworkMode: 'host' });
  assert.equal(hostNet.hostname, 'thehost');
  assert.equal(hostNet.linux.sysctl, undefined);
  assert.throws(() => hc({ NetworkMode: 'host', Sysctls: { 'net.core.somaxconn': '1' } }), { kind: 'InvalidArgument' });
});

test('resources: memory, swap default, cpu, pids, v1 vs v2', () => {
  const mem = 64 * 1024 * 1024;
  assert.deepEqual(hc({ Memory: mem }).linux.resources!.memory, { limit: mem, swap: 2 * mem });
  assert.deepEqual(hc({ Memory: mem, MemorySwap: -1 }).linux.resources!.memory, { limit: mem });
  assert.deepEqual(hc({ Memory: mem, MemorySwap: 3 * mem, MemoryReservation: mem / 2 }).linux.resources!.memory,
    { limit: mem, reservation: mem / 2, swap: 3 * mem });
  assert.deepEqual(build({ hostConfig: { Memory: mem }, hostFacts: facts({ swapLimit: false }) }).linux.resources!.memory, { limit: mem });
  assert.deepEqual(hc({ OomKillDisable: true, MemorySwappiness: 10, KernelMemory: mem }).linux.resources!.memory,
    { swappiness: 10, kernel: mem, disableOOMKiller: true });
  const v2 = build({ hostConfig: { Memory: mem, OomKillDisable: true, MemorySwappiness: 10, KernelMemory: mem }, hostFacts: facts({ cgroupVersion: 2 }) });
  assert.deepEqual(v2.linux.resources!.memory, { limit: mem, swap: 2 * mem });
  assert.equal(hc({}).linux.resources!.memory, undefined);
  assert.throws(() => hc({ Memory: 1024 }), { message: 'Minimum memory limit allowed is 6MB' });
  assert.throws(() => hc({ Memory: mem, MemorySwap: mem / 2 }), /Minimum memoryswap limit/);

  assert.deepEqual(hc({ NanoCpus: 1.5e9, CpuShares: 512, CpusetCpus: '0-1', CpusetMems: '0' }).linux.resources!.cpu,
    { shares: 512, cpus: '0-1', mems: '0', period: 100000, quota: 150000 });
  assert.deepEqual(hc({ CpuPeriod: 50000, CpuQuota: 25000 }).linux.resources!.cpu, { period: 50000, quota: 25000 });
  assert.throws(() => hc({ NanoCpus: 1e9, CpuQuota: 5000 }), /Nano CPUs and CPU Quota cannot both be set/);

  assert.equal(hc({}).linux.resources!.pids, undefined);
  assert.deepEqual(hc({ PidsLimit: 0 }).linux.resources!.pids, { limit: -1 });
  assert.deepEqual(hc({ PidsLimit: -1 }).linux.resources!.pids, { limit: -1 });
  assert.deepEqual(hc({ PidsLimit: 100 }).linux.resources!.pids, { limit: 100 });
  assert.equal(build().linux.cgroupsPath, '/berth/' + ID);
});

test('seccomp: default, unconfined, custom JSON from the CLI, caps-conditional rules', () => {
  assert.equal(build().linux.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(hc({ SecurityOpt: ['seccomp=unconfined'] }).linux.seccomp, undefined);
  const custom = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  assert.deepEqual(hc({ SecurityOpt: [`seccomp=${custom}`] }).linux.seccomp, {
    defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }],
  });
  // The real default profile: ptrace only with CAP_SYS_PTRACE on old kernels; mount only with CAP_SYS_ADMIN.
  const real = (h: SpecInput['hostConfig'], kernel = { major: 4, minor: 4 }) => {
    const i = input({ hostConfig: h, hostFacts: facts({ kernel }) });
    delete i.seccompDefault;
    return buildSpec(i).linux.seccomp!.syscalls!.flatMap((r) => r.names);
  };
  assert.ok(!real({}).includes('ptrace'));
  assert.ok(real({ CapAdd: ['SYS_PTRACE'] }).includes('ptrace'));
  assert.ok(!real({}).includes('mount'));
  assert.ok(real({ CapAdd: ['sys_admin'] }).includes('mount'));
});
