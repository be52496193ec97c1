/**
 * A runc container's cgroups: where they are (cgroups v1 and v2) and one sample of their counters.
 *
 * Terms:
 * - *cgroup path*: the container's cgroupsPath in its OCI spec (`<cgroup parent>/<id>`, default `/berth/<id>`, see layout.ts), relative to each
 *   hierarchy's mount.
 * - *v1 / v2*: v1 has one mount per controller set (`/sys/fs/cgroup/memory`, …, possibly combined like
 *   `cpu,cpuacct`); v2 one unified mount. A hybrid host (v1 controllers + an empty unified hierarchy) counts as v1.
 * - *sample*: one reading of every counter, with the host's total CPU time (/proc/stat) so clients can compute CPU %.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CgroupMounts } from '../../../core/kernel/index.js';
import { emptyBlkio, type BlkioEntry, type NetworkStats, type StatsSample } from '../../../core/runtime/stats.js';

// ------------------------------------------------------------------ cgroup discovery

export type { CgroupMounts };

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


/** A container's cgroup directories. */
export interface ContainerCgroup {
  version: 1 | 2;
  /** v1: controller → directory; v2: '' → the directory. */
  dirs: Map<string, string>;
}

/** A container's cgroup directories below the host's hierarchies (HostFacts.cgroupMounts). */
export function containerCgroup(cgroupPath: string, mounts: CgroupMounts): ContainerCgroup {
  const dirs = new Map<string, string>();
  for (const [c, root] of mounts.roots) dirs.set(c, path.join(root, cgroupPath));
  return { version: mounts.version, dirs };
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

/** RFC3339Nano "now" with sub-millisecond digits. */
export function nowRfc3339Nano(): string {
  const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  const sec = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(sec) * 1000).toISOString().slice(0, 19)}.${frac}Z`;
}

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
