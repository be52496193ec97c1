import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ContainerRecord, HostConfig } from '../../../core/containers/container.js';
import { containerCgroup, parseBlkioV1, parseCgroupMounts, parseIoStatV2, parseNetDev, parseProcStat, readSample } from '../../../plugins/runtime/runc/cgroups.js';
import { parsePsOutput, planUpdate, statsJSON, validatePsArgs } from './stats.js';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-stats-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

test('cgroup mounts: hybrid counts as v1 (combined controllers too), pure unified as v2', () => {
  const m = parseCgroupMounts(HYBRID);
  assert.equal(m.version, 1);
  assert.equal(m.roots.get('memory'), '/sys/fs/cgroup/memory');
  assert.equal(m.roots.has('systemd'), false);
  const comb = parseCgroupMounts('1 0 0:1 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n2 0 0:2 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n');
  assert.equal(comb.roots.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
  const v2 = parseCgroupMounts('30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n');
  assert.equal(v2.version, 2);
  assert.equal(containerCgroup('/berth/abc', v2).dirs.get(''), '/sys/fs/cgroup/berth/abc');
});

test('parsers: /proc/stat, net/dev, blkio v1, io.stat v2', () => {
  assert.equal(parseProcStat('cpu  100 0 50 1000 10 0 5 7 0 0\ncpu0 1 2 3\n'), (100 + 50 + 1000 + 10 + 5) * 1e7);
  const nd = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    1572      14    0    1    0     0          0         0      200       2    0    0    0     0       0          0
`;
  assert.deepEqual(parseNetDev(nd), {
    eth0: { rx_bytes: 1572, rx_packets: 14, rx_errors: 0, rx_dropped: 1, tx_bytes: 200, tx_packets: 2, tx_errors: 0, tx_dropped: 0 },
  });
  assert.deepEqual(parseBlkioV1('8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n'), [
    { major: 8, minor: 0, op: 'Read', value: 4096 },
    { major: 8, minor: 0, op: 'Write', value: 0 },
    { major: 8, minor: 0, op: 'Total', value: 4096 },
  ]);
  const io = parseIoStatV2('254:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n');
  assert.deepEqual(io.bytes, [
    { major: 254, minor: 0, op: 'read', value: 10 },
    { major: 254, minor: 0, op: 'write', value: 20 },
  ]);
});

test('readSample v1: cpu, memory (limit capped at host memory), pids, blkio, networks', async () => {
  const base = path.join(tmp, 'v1');
  const dirs = new Map<string, string>();
  for (const c of ['cpu', 'cpuacct', 'memory', 'pids', 'blkio']) dirs.set(c, path.join(base, c, 'berth/x'));
  write(path.join(dirs.get('cpuacct')!, 'cpuacct.usage'), '69160362\n');
  write(path.join(dirs.get('cpuacct')!, 'cpuacct.usage_percpu'), '38389525 30770837 \n');
  write(path.join(dirs.get('cpuacct')!, 'cpuacct.stat'), 'user 2\nsystem 4\n');
  write(path.join(dirs.get('cpu')!, 'cpu.stat'), 'nr_periods 5\nnr_throttled 1\nthrottled_time 77\n');
  write(path.join(dirs.get('memory')!, 'memory.usage_in_bytes'), '368640\n');
  write(path.join(dirs.get('memory')!, 'memory.max_usage_in_bytes'), '4292608\n');
  write(path.join(dirs.get('memory')!, 'memory.limit_in_bytes'), '67108864\n');
  write(path.join(dirs.get('memory')!, 'memory.stat'), 'cache 28672\nrss 57344\ntotal_inactive_file 0\n');
  write(path.join(dirs.get('pids')!, 'pids.current'), '1\n');
  write(path.join(dirs.get('pids')!, 'pids.max'), 'max\n');
  write(path.join(dirs.get('blkio')!, 'blkio.throttle.io_service_bytes_recursive'), '8:0 Read 512\nTotal 512\n');
  const proc = path.join(tmp, 'proc');
  write(path.join(proc, 'stat'), 'cpu  10 0 10 80 0 0 0 0 0 0\n');
  write(path.join(proc, '42/net/dev'), 'h1\nh2\n  eth0: 5 1 0 0 0 0 0 0 6 2 0 0 0 0 0 0\n');
  const s = await readSample({ version: 1, dirs }, 42, { procRoot: proc, hostMem: 1 << 30, onlineCpus: 2 });
  assert.deepEqual(s.cpu_stats, {
    cpu_usage: { total_usage: 69160362, percpu_usage: [38389525, 30770837], usage_in_kernelmode: 40000000, usage_in_usermode: 20000000 },
    system_cpu_usage: 100 * 1e7,
    online_cpus: 2,
    throttling_data: { periods: 5, throttled_periods: 1, throttled_time: 77 },
  });
  assert.equal(s.memory_stats.limit, 67108864);
  assert.equal(s.memory_stats.usage, 368640);
  assert.equal(s.memory_stats.stats!.rss, 57344);
  assert.deepEqual(s.pids_stats, { current: 1 });
  assert.deepEqual(s.blkio_stats.io_service_bytes_recursive, [{ major: 8, minor: 0, op: 'Read', value: 512 }]);
  assert.equal(s.networks!.eth0!.tx_bytes, 6);
  write(path.join(dirs.get('memory')!, 'memory.limit_in_bytes'), '9223372036854771712\n');
  const u = await readSample({ version: 1, dirs }, 0, { procRoot: proc, hostMem: 1 << 30 });
  assert.equal(u.memory_stats.limit, 1 << 30);
  assert.equal(u.networks, undefined);
});

test('readSample v2 and statsJSON shape', async () => {
  const dir = path.join(tmp, 'v2/berth/y');
  write(path.join(dir, 'cpu.stat'), 'usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n');
  write(path.join(dir, 'memory.current'), '8192\n');
  write(path.join(dir, 'memory.max'), 'max\n');
  write(path.join(dir, 'memory.stat'), 'anon 4096\nfile 4096\ninactive_file 1024\n');
  write(path.join(dir, 'pids.current'), '3\n');
  write(path.join(dir, 'pids.max'), '100\n');
  const proc = path.join(tmp, 'proc2');
  write(path.join(proc, 'stat'), 'cpu  1 1 1 1 1 1 1 0 0 0\n');
  const s = await readSample({ version: 2, dirs: new Map([['', dir]]) }, 0, { procRoot: proc, hostMem: 2048 * 1024 * 1024 });
  assert.equal(s.cpu_stats.cpu_usage.total_usage, 1_000_000);
  assert.equal(s.cpu_stats.cpu_usage.percpu_usage, undefined);
  assert.equal(s.memory_stats.limit, 2048 * 1024 * 1024);
  assert.deepEqual(s.pids_stats, { current: 3, limit: 100 });
  const rec = { Id: 'y'.repeat(64), Name: '/samp' } as ContainerRecord;
  const j = statsJSON(rec, s, undefined) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), ['read', 'preread', 'pids_stats', 'blkio_stats', 'num_procs', 'storage_stats', 'cpu_stats', 'precpu_stats', 'memory_stats', 'name', 'id']);
  assert.equal(j.preread, '0001-01-01T00:00:00Z');
  assert.match(j.read as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  const empty = statsJSON(rec, undefined, undefined) as { read: string; memory_stats: object };
  assert.equal(empty.read, '0001-01-01T00:00:00Z');
  assert.deepEqual(empty.memory_stats, {});
});

test('top: ps output parsing and ps_args validation', () => {
  const out = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 12:00 ?        00:00:01 /sbin/init splash
root        5828    5807  0 12:16 ?        00:00:00 httpd -f -p 80
`;
  assert.deepEqual(parsePsOutput(out, [5828]), {
    Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
    Processes: [['root', '5828', '5807', '0', '12:16', '?', '00:00:00', 'httpd -f -p 80']],
  });
  assert.throws(() => parsePsOutput('USER COMMAND\nroot sh\n', [1]), /Couldn't find PID field in ps output/);
  validatePsArgs('-o pid=PID,comm');
  assert.throws(() => validatePsArgs('-o user=PID'), /specifying "user=PID" is not allowed/);
});

function hc(over: Partial<HostConfig> = {}): HostConfig {
  return { Memory: 0, MemorySwap: 0, MemoryReservation: 0, NanoCpus: 0, CpuShares: 0, CpuPeriod: 0, CpuQuota: 0, CpusetCpus: '', CpusetMems: '', PidsLimit: null, AutoRemove: false, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, ...over } as HostConfig;
}

test('planUpdate: resources for runc and Docker validation messages', () => {
  const a = planUpdate(hc({ Memory: 64 << 20 }), { Memory: 100 << 20 }, { swapSupported: true });
  assert.deepEqual(a.resources, { memory: { limit: 100 << 20 } });
  assert.equal(a.hostConfig.Memory, 100 << 20);
  assert.throws(() => planUpdate(hc({ Memory: 64 << 20 }), { Memory: 200 << 20 }), /Memory limit should be smaller than already set memoryswap limit/);
  const b = planUpdate(hc({ Memory: 64 << 20 }), { Memory: 200 << 20, MemorySwap: 400 << 20 }, { swapSupported: true });
  assert.deepEqual(b.resources, { memory: { limit: 200 << 20, swap: 400 << 20 } });
  const c = planUpdate(hc(), { Memory: 32 << 20 }, { swapSupported: true });
  assert.deepEqual(c.resources, { memory: { limit: 32 << 20, swap: 64 << 20 } });
  assert.throws(() => planUpdate(hc(), { Memory: 1024 }), /Minimum memory limit allowed is 6MB/);
  const d = planUpdate(hc(), { NanoCpus: 500_000_000, CpuShares: 512, CpusetCpus: '0', PidsLimit: 50 }, { cpus: 2 });
  assert.deepEqual(d.resources, { pids: { limit: 50 }, cpu: { period: 100000, quota: 50000, shares: 512, cpus: '0' } });
  assert.throws(() => planUpdate(hc(), { NanoCpus: 3e9 }, { cpus: 2 }), /Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available/);
  assert.throws(() => planUpdate(hc({ NanoCpus: 1e9 }), { CpuQuota: 50000 }), /CPU Quota cannot be updated as NanoCPUs has already been set/);
  const e = planUpdate(hc(), { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } });
  assert.deepEqual(e.hostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(e.resources, {});
  assert.throws(() => planUpdate(hc({ AutoRemove: true }), { RestartPolicy: { Name: 'always' } }), /AutoRemove is enabled/);
  assert.deepEqual(planUpdate(hc(), { PidsLimit: -1 }).resources, { pids: { limit: -1 } });
});
