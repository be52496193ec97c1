/**
 * Container resources from the host's cgroups: `stats` (cgroups v1 and v2), `top` (host `ps` filtered by the
 * container cgroup's processes) and `update` (`runc update` plus the record).
 *
 * Terms:
 * - *cgroup path*: the container's cgroupsPath in its OCI spec (`/berth/<id>`), relative to each hierarchy's mount.
 * - *v1 / v2*: v1 has one mount per controller set (`/sys/fs/cgroup/memory`, …, possibly combined like
 *   `cpu,cpuacct`); v2 one unified mount. A hybrid host (v1 controllers + an empty unified hierarchy) counts as v1.
 * - *sample*: one reading of every counter, with the host's total CPU time (/proc/stat) so clients can compute CPU %.
 */
import { execFile, spawn } from 'node:child_process';
import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ContainerRecord, HostConfig } from '../../../core/containers/container.js';
import { conflict, EngineError, invalidArgument } from '../../../errdefs/index.js';
import type { EventBus } from '../events.js';
import type { ContainerStore } from './store.js';

// ------------------------------------------------------------------ cgroup discovery

export interface CgroupMounts {
  version: 1 | 2;
  /** v1: controller → hierarchy mount point; v2: '' → the unified mount. */
  roots: Map<string, string>;
}

/** Parses /proc/self/mountinfo into the cgroup hierarchies. */
export function parseCgroupMounts(mountinfo: string): CgroupMounts {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mountPoint = (left[4] ?? '').replace(/\\040/g, ' ');
    if (right[0] === 'cgroup2') unified ??= mountPoint;
    else if (right[0] === 'cgroup') {
      for (const opt of (right[2] ?? '').split(',')) {
        if (['rw', 'ro'].includes(opt) || opt.startsWith('name=') || opt.includes('=')) continue;
        if (!v1.has(opt)) v1.set(opt, mountPoint);
      }
    }
  }
  if (v1.has('memory') || v1.has('cpuacct') || v1.has('pids')) return { version: 1, roots: v1 };
  return { version: 2, roots: new Map([['', unified ?? '/sys/fs/cgroup']]) };
}

let mountsCache: CgroupMounts | undefined;
function hostCgroupMountsSafe(): CgroupMounts | undefined {
  try {
    return hostCgroupMounts();
  } catch {
    return undefined;
  }
}
export function hostCgroupMounts(): CgroupMounts {
  mountsCache ??= parseCgroupMounts(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  return mountsCache;
}

/** A container's cgroup directories. */
export interface ContainerCgroup {
  version: 1 | 2;
  /** v1: controller → directory; v2: '' → the directory. */
  dirs: Map<string, string>;
}

export function containerCgroup(cgroupPath: string, mounts: CgroupMounts = hostCgroupMounts()): ContainerCgroup {
  const dirs = new Map<string, string>();
  for (const [c, root] of mounts.roots) dirs.set(c, path.join(root, cgroupPath));
  return { version: mounts.version, dirs };
}

export function cgroupPathOf(id: string): string {
  return `/berth/${id}`;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function readNum(file: string): Promise<number | undefined> {
  const t = (await readText(file))?.trim();
  if (t === undefined || t === '') return undefined;
  if (t === 'max') return Infinity;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** `key value` lines (memory.stat, cpu.stat, cpuacct.stat). */
export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** The PIDs in a container's cgroup (cgroup.procs of the pids/memory/unified hierarchy). */
export async function cgroupPids(cg: ContainerCgroup): Promise<number[]> {
  const candidates = cg.version === 2 ? [cg.dirs.get('')] : ['pids', 'memory', 'cpuacct', 'cpu', 'freezer', 'devices'].map((c) => cg.dirs.get(c));
  for (const dir of candidates) {
    if (!dir) continue;
    const t = await readText(path.join(dir, 'cgroup.procs'));
    if (t !== undefined) return t.split('\n').filter(Boolean).map(Number);
  }
  return [];
}

// ------------------------------------------------------------------ stats

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface StatsSample {
  read: string;
  cpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; failcnt?: number; limit?: number };
  pids_stats: { current?: number; limit?: number };
  blkio_stats: Record<string, BlkioEntry[] | null>;
  networks?: Record<string, NetworkStats>;
}

export interface NetworkStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** Total host CPU time in ns from /proc/stat's `cpu` line (user..steal), as dockerd computes system_cpu_usage. */
export function parseProcStat(text: string): number {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const f = line.trim().split(/\s+/).slice(1, 8).map(Number);
  const ticks = f.reduce((a, b) => a + b, 0);
  return Math.round((ticks * 1e9) / CLOCK_TICKS);
}

/** /proc/<pid>/net/dev → interfaces other than lo. */
export function parseNetDev(text: string): Record<string, NetworkStats> {
  const out: Record<string, NetworkStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    if (!name || name === 'lo') continue;
    const f = line.slice(i + 1).trim().split(/\s+/).map(Number);
    out[name] = {
      rx_bytes: f[0] ?? 0,
      rx_packets: f[1] ?? 0,
      rx_errors: f[2] ?? 0,
      rx_dropped: f[3] ?? 0,
      tx_bytes: f[8] ?? 0,
      tx_packets: f[9] ?? 0,
      tx_errors: f[10] ?? 0,
      tx_dropped: f[11] ?? 0,
    };
  }
  return out;
}

/** v1 blkio files: `8:0 Read 123` lines (the trailing `Total N` line is skipped). */
export function parseBlkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    const [maj, min] = f[0]!.split(':').map(Number);
    if (maj === undefined || min === undefined || Number.isNaN(maj) || Number.isNaN(min)) continue;
    out.push({ major: maj, minor: min, op: f[1]!, value: Number(f[2]) });
  }
  return out;
}

/** v2 io.stat: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 …` → bytes and ops entries (ops "read"/"write", as moby). */
export function parseIoStatV2(text: string | undefined): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!f[0]?.includes(':')) continue;
    const [major, minor] = f[0].split(':').map(Number) as [number, number];
    const kv = Object.fromEntries(f.slice(1).map((x) => x.split('=')).map(([k, v]) => [k, Number(v)]));
    bytes.push({ major, minor, op: 'read', value: kv.rbytes ?? 0 }, { major, minor, op: 'write', value: kv.wbytes ?? 0 });
    ios.push({ major, minor, op: 'read', value: kv.rios ?? 0 }, { major, minor, op: 'write', value: kv.wios ?? 0 });
  }
  return { bytes, ios };
}

function emptyBlkio(): Record<string, BlkioEntry[] | null> {
  return {
    io_service_bytes_recursive: null,
    io_serviced_recursive: null,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
}

/** RFC3339Nano "now" with sub-millisecond digits. */
export function nowRfc3339Nano(): string {
  const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  const sec = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(sec) * 1000).toISOString().slice(0, 19)}.${frac}Z`;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

function hostMemory(): number {
  return os.totalmem();
}

/** One reading of a container's cgroup counters. `procRoot` and `hostMem` are seams for tests. */
export async function readSample(
  cg: ContainerCgroup,
  pid: number,
  opts: { procRoot?: string; hostMem?: number; onlineCpus?: number; networks?: boolean } = {},
): Promise<StatsSample> {
  const procRoot = opts.procRoot ?? '/proc';
  const hostMem = opts.hostMem ?? hostMemory();
  const read = nowRfc3339Nano();
  const systemCpu = parseProcStat((await readText(path.join(procRoot, 'stat'))) ?? '');
  const onlineCpus = opts.onlineCpus ?? os.cpus().length;
  let sample: StatsSample;
  if (cg.version === 1) {
    const d = (c: string) => cg.dirs.get(c) ?? '/nonexistent';
    const cpuacct = cg.dirs.has('cpuacct') ? d('cpuacct') : d('cpu');
    const [total, percpu, cpuStat, throttle, memUsage, memMax, memLimit, memStat, failcnt, pidsCur, pidsMax, bytesCfq, bytesThr, opsCfq, opsThr] =
      await Promise.all([
        readNum(path.join(cpuacct, 'cpuacct.usage')),
        readText(path.join(cpuacct, 'cpuacct.usage_percpu')),
        readText(path.join(cpuacct, 'cpuacct.stat')),
        readText(path.join(d('cpu'), 'cpu.stat')),
        readNum(path.join(d('memory'), 'memory.usage_in_bytes')),
        readNum(path.join(d('memory'), 'memory.max_usage_in_bytes')),
        readNum(path.join(d('memory'), 'memory.limit_in_bytes')),
        readText(path.join(d('memory'), 'memory.stat')),
        readNum(path.join(d('memory'), 'memory.failcnt')),
        readNum(path.join(d('pids'), 'pids.current')),
        readNum(path.join(d('pids'), 'pids.max')),
        readText(path.join(d('blkio'), 'blkio.io_service_bytes_recursive')),
        readText(path.join(d('blkio'), 'blkio.throttle.io_service_bytes_recursive')),
        readText(path.join(d('blkio'), 'blkio.io_serviced_recursive')),
        readText(path.join(d('blkio'), 'blkio.throttle.io_serviced_recursive')),
      ]);
    const st = parseKeyValues(cpuStat);
    const th = parseKeyValues(throttle);
    const blkio = emptyBlkio();
    const b = parseBlkioV1(bytesCfq);
    const o = parseBlkioV1(opsCfq);
    blkio.io_service_bytes_recursive = b.length ? b : parseBlkioV1(bytesThr);
    blkio.io_serviced_recursive = o.length ? o : parseBlkioV1(opsThr);
    sample = {
      read,
      cpu_stats: {
        cpu_usage: {
          total_usage: total ?? 0,
          percpu_usage: (percpu ?? '').trim().split(/\s+/).filter(Boolean).map(Number),
          usage_in_kernelmode: Math.round(((st.system ?? 0) * 1e9) / CLOCK_TICKS),
          usage_in_usermode: Math.round(((st.user ?? 0) * 1e9) / CLOCK_TICKS),
        },
        system_cpu_usage: systemCpu,
        online_cpus: onlineCpus,
        throttling_data: { periods: th.nr_periods ?? 0, throttled_periods: th.nr_throttled ?? 0, throttled_time: th.throttled_time ?? 0 },
      },
      memory_stats: {
        usage: memUsage ?? 0,
        max_usage: memMax ?? 0,
        stats: parseKeyValues(memStat),
        ...(failcnt ? { failcnt } : {}),
        limit: Math.min(memLimit ?? hostMem, hostMem),
      },
      pids_stats: { current: pidsCur ?? 0, ...(pidsMax !== undefined && Number.isFinite(pidsMax) && pidsMax > 0 ? { limit: pidsMax } : {}) },
      blkio_stats: blkio,
    };
  } else {
    const dir = cg.dirs.get('')!;
    const [cpuStat, memCur, memMax, memStat, pidsCur, pidsMax, ioStat, memPeak] = await Promise.all([
      readText(path.join(dir, 'cpu.stat')),
      readNum(path.join(dir, 'memory.current')),
      readNum(path.join(dir, 'memory.max')),
      readText(path.join(dir, 'memory.stat')),
      readNum(path.join(dir, 'pids.current')),
      readNum(path.join(dir, 'pids.max')),
      readText(path.join(dir, 'io.stat')),
      readNum(path.join(dir, 'memory.peak')),
    ]);
    const st = parseKeyValues(cpuStat);
    const io = parseIoStatV2(ioStat);
    const blkio = emptyBlkio();
    blkio.io_service_bytes_recursive = io.bytes;
    blkio.io_serviced_recursive = io.ios;
    sample = {
      read,
      cpu_stats: {
        cpu_usage: {
          total_usage: (st.usage_usec ?? 0) * 1000,
          usage_in_kernelmode: (st.system_usec ?? 0) * 1000,
          usage_in_usermode: (st.user_usec ?? 0) * 1000,
        },
        system_cpu_usage: systemCpu,
        online_cpus: onlineCpus,
        throttling_data: { periods: st.nr_periods ?? 0, throttled_periods: st.nr_throttled ?? 0, throttled_time: (st.throttled_usec ?? 0) * 1000 },
      },
      memory_stats: {
        usage: memCur ?? 0,
        ...(memPeak !== undefined && Number.isFinite(memPeak) ? { max_usage: memPeak } : {}),
        stats: parseKeyValues(memStat),
        limit: memMax === undefined || !Number.isFinite(memMax) ? hostMem : Math.min(memMax, hostMem),
      },
      pids_stats: { current: pidsCur ?? 0, ...(pidsMax !== undefined && Number.isFinite(pidsMax) && pidsMax > 0 ? { limit: pidsMax } : {}) },
      blkio_stats: blkio,
    };
  }
  if (opts.networks !== false && pid > 0) {
    const nd = await readText(path.join(procRoot, String(pid), 'net/dev'));
    if (nd) {
      const nets = parseNetDev(nd);
      if (Object.keys(nets).length) sample.networks = nets;
    }
  }
  return sample;
}

export function emptyCpuStats(): CpuStats {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

/** Docker's StatsJSON: the current sample with the previous one's cpu figures as precpu_stats. */
export function statsJSON(rec: ContainerRecord, cur: StatsSample | undefined, prev: StatsSample | undefined): Record<string, unknown> {
  const base = {
    read: cur?.read ?? ZERO_TIME,
    preread: prev?.read ?? ZERO_TIME,
    pids_stats: cur?.pids_stats ?? {},
    blkio_stats: cur?.blkio_stats ?? emptyBlkio(),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cur?.cpu_stats ?? emptyCpuStats(),
    precpu_stats: prev?.cpu_stats ?? emptyCpuStats(),
    memory_stats: cur?.memory_stats ?? {},
    name: rec.Name,
    id: rec.Id,
  };
  return cur?.networks ? { ...base, networks: cur.networks } : base;
}

// ------------------------------------------------------------------ top

/** Docker's validatePSArgs: only `pid=PID…` may rename the PID column. */
export function validatePsArgs(psArgs: string): void {
  const re = /\s+([^\s]*)=\s*(PID[^\s]*)/g;
  for (const m of psArgs.matchAll(re)) {
    if (m[1] !== 'pid') throw invalidArgument(`specifying "${m[1]}=${m[2]}" is not allowed`);
  }
}

/** Docker's parsePSOutput: titles from the header, rows whose PID is in `pids`, the last column keeping spaces. */
export function parsePsOutput(output: string, pids: number[]): { Titles: string[]; Processes: string[][] } {
  const lines = output.split('\n');
  const Titles = (lines[0] ?? '').trim().split(/[ \t]+/).filter(Boolean);
  const pidIndex = Titles.indexOf('PID');
  if (pidIndex < 0) throw new EngineError('Internal', "Couldn't find PID field in ps output");
  const want = new Set(pids);
  const Processes: string[][] = [];
  for (const line of lines.slice(1)) {
    if (!line.trim()) continue;
    const fields = line.trim().split(/[ \t]+/);
    const p = Number(fields[pidIndex]);
    if (!Number.isInteger(p)) throw new EngineError('Internal', `Unexpected pid '${fields[pidIndex]}': invalid syntax`);
    if (!want.has(p)) continue;
    const n = Titles.length;
    Processes.push(fields.length > n ? [...fields.slice(0, n - 1), fields.slice(n - 1).join(' ')] : fields);
  }
  return { Titles, Processes };
}

function runPs(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ps', args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}${stderr ? `: ${stderr.trim()}` : ''}`));
      else resolve(stdout);
    });
  });
}

// ------------------------------------------------------------------ update

/** The fields of `POST /containers/{id}/update` berth applies. */
export interface UpdateRequest {
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  BlkioWeight?: number;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
}

const MIN_MEMORY = 6 * 1024 * 1024;

/**
 * Validates an update against the current HostConfig (Docker's rules and messages) and returns the new HostConfig
 * plus the OCI LinuxResources for `runc update` (only changed fields; 0 means "unchanged" to runc).
 */
export function planUpdate(hc: HostConfig, u: UpdateRequest, opts: { cpus?: number; swapSupported?: boolean } = {}): { hostConfig: HostConfig; resources: Record<string, unknown> } {
  const next: HostConfig = { ...hc };
  const mem: Record<string, number> = {};
  const cpu: Record<string, number | string> = {};
  const oldSwap = hc.MemorySwap || (hc.Memory > 0 ? hc.Memory * 2 : 0);
  if (u.Memory) {
    if (u.Memory < 0 || u.Memory < MIN_MEMORY) throw invalidArgument('Minimum memory limit allowed is 6MB');
    if (!u.MemorySwap && oldSwap > 0 && u.Memory > oldSwap) {
      throw conflict('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    next.Memory = u.Memory;
    mem.limit = u.Memory;
    if (!u.MemorySwap && hc.MemorySwap === 0 && hc.Memory === 0) {
      // a container without limits gets Docker's default: swap as large as memory
      next.MemorySwap = u.Memory * 2;
      if (opts.swapSupported) mem.swap = u.Memory * 2;
    }
  }
  if (u.MemorySwap) {
    const memory = next.Memory;
    if (memory === 0) throw invalidArgument('You should always set the Memory limit when using Memoryswap limit, see usage');
    if (u.MemorySwap > 0 && u.MemorySwap < memory) throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
    next.MemorySwap = u.MemorySwap;
    if (opts.swapSupported) mem.swap = u.MemorySwap;
  }
  if (u.MemoryReservation) {
    if (u.MemoryReservation < MIN_MEMORY) throw invalidArgument('Minimum memory reservation allowed is 6MB');
    if (next.Memory > 0 && u.MemoryReservation > next.Memory) throw invalidArgument('Minimum memory limit can not be less than memory reservation limit, see usage');
    next.MemoryReservation = u.MemoryReservation;
    mem.reservation = u.MemoryReservation;
  }
  if ((u.NanoCpus ?? 0) > 0 && (u.CpuPeriod ?? 0) > 0) throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if ((u.NanoCpus ?? 0) > 0 && (u.CpuQuota ?? 0) > 0) throw invalidArgument('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if ((u.NanoCpus ?? 0) > 0 && hc.CpuPeriod > 0) throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  if ((u.NanoCpus ?? 0) > 0 && hc.CpuQuota > 0) throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  if ((u.CpuPeriod ?? 0) > 0 && hc.NanoCpus > 0) throw conflict('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if ((u.CpuQuota ?? 0) > 0 && hc.NanoCpus > 0) throw conflict('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
  if (u.NanoCpus) {
    const n = opts.cpus ?? os.cpus().length;
    if (u.NanoCpus < 0 || u.NanoCpus > n * 1e9) throw invalidArgument(`Range of CPUs is from 0.01 to ${n}.00, as there are only ${n} CPUs available`);
    next.NanoCpus = u.NanoCpus;
    cpu.period = 100000;
    cpu.quota = Math.floor((u.NanoCpus * 100000) / 1e9);
  }
  if (u.CpuPeriod) {
    if (u.CpuPeriod < 1000 || u.CpuPeriod > 1000000) throw invalidArgument('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
    next.CpuPeriod = u.CpuPeriod;
    cpu.period = u.CpuPeriod;
  }
  if (u.CpuQuota) {
    if (u.CpuQuota > 0 && u.CpuQuota < 1000) throw invalidArgument('CPU cfs quota can not be less than 1ms (i.e. 1000)');
    next.CpuQuota = u.CpuQuota;
    cpu.quota = u.CpuQuota;
  }
  if (u.CpuShares) {
    if (u.CpuShares < 0) throw invalidArgument('shares: invalid argument');
    next.CpuShares = u.CpuShares;
    cpu.shares = u.CpuShares;
  }
  if (u.CpusetCpus) {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(u.CpusetCpus)) throw invalidArgument(`Invalid value ${u.CpusetCpus} for cpuset cpus`);
    next.CpusetCpus = u.CpusetCpus;
    cpu.cpus = u.CpusetCpus;
  }
  if (u.CpusetMems) {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(u.CpusetMems)) throw invalidArgument(`Invalid value ${u.CpusetMems} for cpuset mems`);
    next.CpusetMems = u.CpusetMems;
    cpu.mems = u.CpusetMems;
  }
  const resources: Record<string, unknown> = {};
  if (u.PidsLimit !== undefined && u.PidsLimit !== null) {
    next.PidsLimit = u.PidsLimit <= 0 ? 0 : u.PidsLimit;
    resources.pids = { limit: u.PidsLimit <= 0 ? -1 : u.PidsLimit };
  }
  if (u.BlkioWeight) {
    if (u.BlkioWeight < 10 || u.BlkioWeight > 1000) throw invalidArgument('Range of blkio weight is from 10 to 1000');
    next.BlkioWeight = u.BlkioWeight;
    resources.blockIO = { weight: u.BlkioWeight };
  }
  if (u.RestartPolicy && (u.RestartPolicy.Name !== undefined || u.RestartPolicy.MaximumRetryCount !== undefined)) {
    const p = { Name: u.RestartPolicy.Name || 'no', MaximumRetryCount: u.RestartPolicy.MaximumRetryCount ?? 0 };
    if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(p.Name))
      throw invalidArgument(`invalid restart policy: unknown policy '${p.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
    if (p.MaximumRetryCount && p.Name !== 'on-failure') throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
    if (p.MaximumRetryCount < 0) throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
    if (hc.AutoRemove && p.Name !== 'no') throw invalidArgument('Restart policy cannot be updated because AutoRemove is enabled for the container');
    next.RestartPolicy = p;
  }
  if (Object.keys(mem).length) resources.memory = mem;
  if (Object.keys(cpu).length) resources.cpu = cpu;
  return { hostConfig: next, resources };
}

// ------------------------------------------------------------------ service

export interface ContainerResourcesOptions {
  store: ContainerStore;
  events: EventBus;
  runtimePath: string;
  /** runc's --root (the container service's: `<exec-root>/runc`). */
  runcRoot: string;
  /** `runc update` through the runtime wrapper; default: spawn runtimePath directly. */
  runcUpdate?: (id: string, resources: Record<string, unknown>) => Promise<void>;
  /** Seam for tests. */
  cgroupOf?: (rec: ContainerRecord) => ContainerCgroup;
}

export class ContainerResources {
  constructor(private readonly o: ContainerResourcesOptions) {}

  private cgroup(rec: ContainerRecord): ContainerCgroup {
    return this.o.cgroupOf ? this.o.cgroupOf(rec) : containerCgroup(cgroupPathOf(rec.Id));
  }

  /** One sample of a running container, undefined when it is not running. */
  async sample(rec: ContainerRecord): Promise<StatsSample | undefined> {
    if (!rec.State.Running) return undefined;
    const hostNet = rec.HostConfig.NetworkMode === 'host' || rec.Berth.hostNetwork;
    return readSample(this.cgroup(rec), rec.State.Pid, { networks: !hostNet });
  }

  /** `GET /containers/{id}/top`. */
  async top(ref: string, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
    const rec = this.o.store.get(ref);
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    if (rec.State.Restarting) throw conflict(`Container ${rec.Id} is restarting, wait until the container is running`);
    validatePsArgs(psArgs);
    const pids = await cgroupPids(this.cgroup(rec));
    if (!pids.length && rec.State.Pid) pids.push(rec.State.Pid);
    const args = psArgs.split(' ').filter(Boolean);
    let out: string;
    try {
      out = await runPs([...args, '-q', pids.join(',')]);
    } catch {
      // some ps options (f) cannot be combined with -q: list everything and filter
      try {
        out = await runPs(args);
      } catch (e) {
        throw new EngineError('Internal', `Error running ps: ${(e as Error).message}`);
      }
    }
    const r = parsePsOutput(out, pids);
    this.o.events.publish('container', 'top', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
    return r;
  }

  /** `POST /containers/{id}/update`. */
  async update(ref: string, body: UpdateRequest): Promise<{ Warnings: string[] }> {
    const rec = this.o.store.get(ref);
    if (rec.State.Status === 'removing' || rec.State.Dead) throw conflict(`Cannot update container ${rec.Id}: container is marked for removal and cannot be "update"`);
    const cg = this.cgroup(rec);
    const memRoot = cg.version === 1 ? hostCgroupMountsSafe()?.roots.get('memory') : undefined;
    const swapSupported = cg.version === 2 || (memRoot !== undefined && fs.existsSync(path.join(memRoot, 'memory.memsw.limit_in_bytes')));
    let plan: ReturnType<typeof planUpdate>;
    try {
      plan = planUpdate(rec.HostConfig, body ?? {}, { swapSupported });
    } catch (e) {
      if (e instanceof EngineError) throw new EngineError(e.kind, `Cannot update container ${rec.Id}: ${e.message}`);
      throw e;
    }
    if (rec.State.Running && Object.keys(plan.resources).length) {
      await this.runcUpdate(rec.Id, plan.resources).catch((e: Error) => {
        throw new EngineError('Internal', `Cannot update container ${rec.Id}: ${e.message}`);
      });
    }
    rec.HostConfig = plan.hostConfig;
    this.o.store.save(rec);
    this.o.events.publish('container', 'update', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
    return { Warnings: [] };
  }

  private runcUpdate(id: string, resources: Record<string, unknown>): Promise<void> {
    if (this.o.runcUpdate) return this.o.runcUpdate(id, resources);
    return new Promise((resolve, reject) => {
      const child = spawn(this.o.runtimePath, ['--root', this.o.runcRoot, 'update', '--resources', '-', id], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve();
        else reject(new Error(err.trim().replace(/^time="[^"]*" level=\w+ msg="(.*)"$/s, '$1') || `runc update exited with ${code}`));
      });
      child.stdin.end(JSON.stringify(resources));
    });
  }
}
