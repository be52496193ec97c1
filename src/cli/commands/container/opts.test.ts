import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseFlags } from '../../../pkg/flags/flags.js';
import { buildCreateRequest, OptsError, parseDetachKeys, parseNanoCpus, parsePortSpec, parseRestartPolicy, runFlags } from './opts.js';

/** Parses a command line as `berth run` would and builds the create request. */
function build(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const p = parseFlags(argv, runFlags, { interspersed: false });
  return buildCreateRequest(p.values, p.set, p.args, { env, cwd: '/work' });
}

/** Flag sets → expected fields of Config (top level) and HostConfig. */
const table: { argv: string[]; env?: NodeJS.ProcessEnv; config?: Record<string, unknown>; host?: Record<string, unknown>; net?: Record<string, unknown> }[] = [
  {
    argv: ['busybox'],
    config: { Image: 'busybox', Cmd: null, Entrypoint: null, AttachStdin: false, AttachStdout: true, AttachStderr: true, OpenStdin: false, StdinOnce: false, Tty: false, Env: [], Labels: {} },
    host: { NetworkMode: 'default', RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, NanoCpus: 0, Memory: 0, OomKillDisable: false, PortBindings: {} },
    net: {},
  },
  { argv: ['busybox', 'echo', '-n', 'hi'], config: { Cmd: ['echo', '-n', 'hi'] } },
  { argv: ['-it', '--rm', 'busybox', 'sh'], config: { Tty: true, OpenStdin: true, StdinOnce: true, AttachStdin: true }, host: { AutoRemove: true } },
  { argv: ['-i', 'busybox'], config: { OpenStdin: true, StdinOnce: true, AttachStdin: true, Tty: false } },
  { argv: ['-a', 'stdout', 'busybox'], config: { AttachStdin: false, AttachStdout: true, AttachStderr: false } },
  { argv: ['-e', 'A=1', '-e', 'FOO', '-e', 'MISSING', 'busybox'], env: { FOO: 'bar' }, config: { Env: ['A=1', 'FOO=bar', 'MISSING'] } },
  { argv: ['--cpus', '1.5', 'busybox'], host: { NanoCpus: 1500000000 } },
  { argv: ['--cpus=0.000000001', 'busybox'], host: { NanoCpus: 1 } },
  { argv: ['-m', '64m', '--memory-swap', '-1', '--memory-reservation', '32m', 'busybox'], host: { Memory: 67108864, MemorySwap: -1, MemoryReservation: 33554432 } },
  { argv: ['--restart', 'on-failure:3', 'busybox'], host: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } } },
  { argv: ['--restart', 'always', 'busybox'], host: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } },
  {
    argv: ['-p', '127.0.0.1:8080:80/tcp', '-p', '9000:90/udp', '-p', '70', 'busybox'],
    config: { ExposedPorts: { '80/tcp': {}, '90/udp': {}, '70/tcp': {} } },
    host: {
      PortBindings: {
        '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }],
        '90/udp': [{ HostIp: '', HostPort: '9000' }],
        '70/tcp': [{ HostIp: '', HostPort: '' }],
      },
    },
  },
  { argv: ['--expose', '5000-5001', '-P', 'busybox'], config: { ExposedPorts: { '5000/tcp': {}, '5001/tcp': {} } }, host: { PublishAllPorts: true } },
  { argv: ['--pids-limit', '100', '--cpu-shares', '512', '--cpuset-cpus', '0', 'busybox'], host: { PidsLimit: 100, CpuShares: 512, CpusetCpus: '0' } },
  { argv: ['--oom-kill-disable', '--privileged', '--read-only', '--init', 'busybox'], host: { OomKillDisable: true, Privileged: true, ReadonlyRootfs: true, Init: true } },
  { argv: ['--cap-add', 'NET_ADMIN', '--cap-drop', 'ALL', 'busybox'], host: { CapAdd: ['NET_ADMIN'], CapDrop: ['ALL'] } },
  { argv: ['--tmpfs', '/run:rw,size=64m', '--tmpfs', '/tmp', 'busybox'], host: { Tmpfs: { '/run': 'rw,size=64m', '/tmp': '' } } },
  { argv: ['-l', 'a=b', '-l', 'c', 'busybox'], config: { Labels: { a: 'b', c: '' } } },
  { argv: ['--hostname', 'h1', '--domainname', 'example.com', '-u', '1000:1000', '-w', '/srv', 'busybox'], config: { Hostname: 'h1', Domainname: 'example.com', User: '1000:1000', WorkingDir: '/srv' } },
  { argv: ['--entrypoint', '/bin/sh', 'busybox', '-c', 'true'], config: { Entrypoint: ['/bin/sh'], Cmd: ['-c', 'true'] } },
  { argv: ['--entrypoint=', 'busybox'], config: { Entrypoint: [''] } },
  { argv: ['--add-host', 'db:10.0.0.2', '--dns', '1.1.1.1', '--dns-search', 'x.org', '--dns-option', 'ndots:2', 'busybox'], host: { ExtraHosts: ['db:10.0.0.2'], Dns: ['1.1.1.1'], DnsSearch: ['x.org'], DnsOptions: ['ndots:2'] } },
  { argv: ['--ulimit', 'nofile=1024:2048', '--ulimit', 'nproc=10', 'busybox'], host: { Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'nproc', Soft: 10, Hard: 10 }] } },
  { argv: ['--security-opt', 'no-new-privileges', '--security-opt', 'seccomp=unconfined', 'busybox'], host: { SecurityOpt: ['no-new-privileges', 'seccomp=unconfined'] } },
  {
    argv: ['--health-cmd', 'true', '--health-interval', '5s', '--health-timeout', '1s', '--health-retries', '3', '--health-start-period', '2s', 'busybox'],
    config: { Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Timeout: 1e9, StartPeriod: 2e9, Retries: 3 } },
  },
  { argv: ['--no-healthcheck', 'busybox'], config: { Healthcheck: { Test: ['NONE'] } } },
  { argv: ['--stop-signal', 'SIGUSR1', '--stop-timeout', '3', 'busybox'], config: { StopSignal: 'SIGUSR1', StopTimeout: 3 } },
  { argv: ['-v', '/host:/c:ro', '-v', '/anon', '-v', 'named:/data', 'busybox'], config: { Volumes: { '/anon': {} } }, host: { Binds: ['/host:/c:ro', 'named:/data'] } },
  { argv: ['-v', './rel:/c', 'busybox'], host: { Binds: ['/work/rel:/c'] } },
  { argv: ['--mount', 'type=bind,src=/a,dst=/b,readonly', 'busybox'], host: { Mounts: [{ Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true }] } },
  { argv: ['--network', 'mynet', '--network-alias', 'web', '--ip', '172.30.0.9', 'busybox'], host: { NetworkMode: 'mynet' }, net: { mynet: { IPAMConfig: { IPv4Address: '172.30.0.9' }, Aliases: ['web'] } } },
  { argv: ['--network', 'host', 'busybox'], host: { NetworkMode: 'host' }, net: {} },
  { argv: ['--shm-size', '128m', '--sysctl', 'net.ipv4.ip_forward=1', '--group-add', 'audio', 'busybox'], host: { ShmSize: 134217728, Sysctls: { 'net.ipv4.ip_forward': '1' }, GroupAdd: ['audio'] } },
  { argv: ['--device', '/dev/fuse', '--device', '/dev/sda:/dev/xvda:r', 'busybox'], host: { Devices: [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }, { PathOnHost: '/dev/sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'r' }] } },
  { argv: ['--pid', 'host', '--ipc', 'host', '--uts', 'host', 'busybox'], host: { PidMode: 'host', IpcMode: 'host', UTSMode: 'host' } },
  { argv: ['--volumes-from', 'other:ro', 'busybox'], host: { VolumesFrom: ['other:ro'] } },
];

for (const [i, row] of table.entries()) {
  test(`create body #${i}: ${row.argv.join(' ')}`, () => {
    const req = build(row.argv, row.env);
    const { HostConfig, NetworkingConfig, ...config } = req.body;
    for (const [k, v] of Object.entries(row.config ?? {})) assert.deepEqual((config as Record<string, unknown>)[k], v, `Config.${k}`);
    for (const [k, v] of Object.entries(row.host ?? {})) assert.deepEqual((HostConfig as Record<string, unknown>)[k], v, `HostConfig.${k}`);
    if (row.net) assert.deepEqual(NetworkingConfig.EndpointsConfig, row.net);
  });
}

test('name, platform and pull are request options, not body fields', () => {
  const req = build(['--name', 'web', '--platform', 'linux/amd64', '--pull', 'never', 'busybox']);
  assert.equal(req.name, 'web');
  assert.equal(req.platform, 'linux/amd64');
  assert.equal(req.pull, 'never');
  assert.equal('name' in req.body, false);
});

test('--env-file and --label-file are read before -e/-l', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-opts-'));
  try {
    fs.writeFileSync(path.join(dir, 'env'), '# comment\n\nA=1\n  B=two words\nHOMEVAR\n');
    fs.writeFileSync(path.join(dir, 'labels'), 'x=1\ny\n');
    const req = build(['--env-file', path.join(dir, 'env'), '-e', 'C=3', '--label-file', path.join(dir, 'labels'), '-l', 'x=2', 'busybox'], { HOMEVAR: '/h' });
    assert.deepEqual(req.body.Env, ['A=1', 'B=two words', 'HOMEVAR=/h', 'C=3']);
    assert.deepEqual(req.body.Labels, { x: '2', y: '' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('docker validation errors', () => {
  const cases: [string[], string, boolean][] = [
    [['--rm', '--restart', 'always', 'busybox'], 'conflicting options: cannot specify both --restart and --rm', false],
    [['--cpus', 'abc', 'busybox'], 'invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number', true],
    [['--cpus', '0.0000000001', 'busybox'], 'invalid argument "0.0000000001" for "--cpus" flag: value is too precise', true],
    [['-m', 'abc', 'busybox'], `invalid argument "abc" for "-m, --memory" flag: invalid size: 'abc'`, true],
    [['-e', '=x', 'busybox'], 'invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x', true],
    [['-a', 'foo', 'busybox'], 'invalid argument "foo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR', true],
    [['--ulimit', 'nofile', 'busybox'], 'invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile', true],
    [['--health-interval', '1x', 'busybox'], 'invalid argument "1x" for "--health-interval" flag: time: unknown unit "x" in duration "1x"', true],
    [['--stop-timeout', 'x', 'busybox'], 'invalid argument "x" for "--stop-timeout" flag: strconv.ParseInt: parsing "x": invalid syntax', true],
    [['--no-healthcheck', '--health-cmd', 'x', 'busybox'], '--no-healthcheck conflicts with --health-* options', false],
    [['--restart', 'on-failure:x', 'busybox'], 'invalid restart policy format: maximum retry count must be an integer', false],
    [['--pid', 'foo', 'busybox'], '--pid: invalid PID mode', false],
    [['--uts', 'container:x', 'busybox'], '--uts: invalid UTS mode', false],
    [['-p', '1.2.3:80', 'busybox'], 'invalid hostPort: 1.2.3', false],
    [['--expose', '80:90', 'busybox'], 'invalid port format for --expose: 80:90', false],
    [['--pull', 'sometimes', 'busybox'], `invalid pull option: 'sometimes': must be one of "always", "missing" or "never"`, false],
    [['--security-opt', 'foo', 'busybox'], 'Invalid --security-opt: "foo"', false],
  ];
  for (const [argv, msg, flag] of cases) {
    assert.throws(
      () => build(argv),
      (e: Error) => {
        assert.equal(e.message, msg, argv.join(' '));
        assert.equal(e instanceof OptsError && e.flag, flag, `flag error? ${argv.join(' ')}`);
        return true;
      },
    );
  }
});

test('port specs, cpus, restart policies, detach keys', () => {
  assert.deepEqual(parsePortSpec('8000-8001:80-81'), [
    { port: '80/tcp', binding: { HostIp: '', HostPort: '8000' } },
    { port: '81/tcp', binding: { HostIp: '', HostPort: '8001' } },
  ]);
  assert.deepEqual(parsePortSpec('8000-8010:80'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '8000-8010' } }]);
  assert.deepEqual(parsePortSpec('[::1]:80:80/udp'), [{ port: '80/udp', binding: { HostIp: '::1', HostPort: '80' } }]);
  assert.throws(() => parsePortSpec('80-81:90-95'), /invalid ranges specified/);
  assert.equal(parseNanoCpus('2'), 2e9);
  assert.equal(parseNanoCpus('.5'), 5e8);
  assert.deepEqual(parseRestartPolicy('unless-stopped'), { Name: 'unless-stopped', MaximumRetryCount: 0 });
  assert.throws(() => parseRestartPolicy(':3'), /no policy provided before colon/);
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
  assert.deepEqual([...parseDetachKeys('a,ctrl-@,ctrl-[')], [97, 0, 27]);
  assert.throws(() => parseDetachKeys('ctrl-xx'), /Unknown character: 'ctrl-xx'/);
});
