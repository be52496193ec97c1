/**
 * Container resources: `stats` (Docker's StatsJSON from the task's samples), `top` (host `ps` filtered by the
 * task's processes) and `update` (the task's limits plus the record).
 */
import os from 'node:os';
import type { ContainerUpdateRequest } from '../../../api/types/container.js';
import type { ContainerRecord, HostConfig } from '../../../core/containers/container.js';
import type { Kernel } from '../../../core/kernel/index.js';
import type { LinuxResources, Task } from '../../../core/runtime/runtime.js';
import type { LinuxCPU, LinuxMemory } from '../../../core/runtime/spec.js';
import { emptyBlkio, type CpuStats, type StatsSample } from '../../../core/runtime/stats.js';
import { conflict, EngineError, invalidArgument } from '../../../errdefs/index.js';
import { ZERO_TIME } from '../../../pkg/units/units.js';
import { validateCpuRealtime } from '../../../core/runtime/cpu-realtime.js';
import type { EventBus } from '../events.js';
import type { ContainerStore } from './store.js';

export type { StatsSample } from '../../../core/runtime/stats.js';


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

// ------------------------------------------------------------------ update

/** The body of `POST /containers/{id}/update` (the Engine API's UpdateConfig, src/api/types). */
export type UpdateRequest = ContainerUpdateRequest;

const MIN_MEMORY = 6 * 1024 * 1024;

/**
 * Validates an update against the current HostConfig (Docker's rules and messages) and returns the new HostConfig
 * plus the OCI LinuxResources for `runc update` (only changed fields; 0 means "unchanged" to runc).
 */
export function planUpdate(hc: HostConfig, u: UpdateRequest, opts: { cpus?: number; swapSupported?: boolean; cpuRealtime?: boolean } = {}): { hostConfig: HostConfig; resources: LinuxResources } {
  const next: HostConfig = { ...hc };
  const mem: LinuxMemory = {};
  const cpu: LinuxCPU = {};
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
  if (u.CpuRealtimePeriod || u.CpuRealtimeRuntime) {
    // checked as at create, against the values the container ends up with
    const period = u.CpuRealtimePeriod || hc.CpuRealtimePeriod || 0;
    const runtime = u.CpuRealtimeRuntime || hc.CpuRealtimeRuntime || 0;
    validateCpuRealtime(period, runtime, { cpuRealtime: opts.cpuRealtime ?? false });
    if (u.CpuRealtimePeriod) {
      next.CpuRealtimePeriod = u.CpuRealtimePeriod;
      cpu.realtimePeriod = u.CpuRealtimePeriod;
    }
    if (u.CpuRealtimeRuntime) {
      next.CpuRealtimeRuntime = u.CpuRealtimeRuntime;
      cpu.realtimeRuntime = u.CpuRealtimeRuntime;
    }
  }
  const resources: LinuxResources = {};
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
  /** The running container's task (undefined when it has none). */
  taskOf(id: string): Pick<Task, 'pids' | 'stats' | 'update'> | undefined;
  /** Whether the memory cgroup accounts swap (host facts). */
  swapSupported(): Promise<boolean>;
  /** Whether the cpu cgroup has real-time group scheduling (host facts). */
  cpuRealtime(): Promise<boolean>;
  /** Runs `ps` for top. */
  kernel: Pick<Kernel, 'ps'>;
}

export class ContainerResources {
  constructor(private readonly o: ContainerResourcesOptions) {}

  /** One sample of a running container, undefined when it is not running. */
  async sample(rec: ContainerRecord): Promise<StatsSample | undefined> {
    const task = this.o.taskOf(rec.Id);
    if (!rec.State.Running || !task) return undefined;
    const hostNet = rec.HostConfig.NetworkMode === 'host' || rec.Berth.hostNetwork;
    return task.stats({ networks: !hostNet });
  }

  /** `GET /containers/{id}/top`. */
  async top(ref: string, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
    const rec = this.o.store.get(ref);
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    if (rec.State.Restarting) throw conflict(`Container ${rec.Id} is restarting, wait until the container is running`);
    validatePsArgs(psArgs);
    const pids = (await this.o.taskOf(rec.Id)?.pids()) ?? [];
    if (!pids.length && rec.State.Pid) pids.push(rec.State.Pid);
    const args = psArgs.split(' ').filter(Boolean);
    let out: string;
    try {
      out = await this.o.kernel.ps([...args, '-q', pids.join(',')]);
    } catch {
      // some ps options (f) cannot be combined with -q: list everything and filter
      try {
        out = await this.o.kernel.ps(args);
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
    const swapSupported = await this.o.swapSupported();
    let plan: ReturnType<typeof planUpdate>;
    try {
      plan = planUpdate(rec.HostConfig, body ?? {}, { swapSupported, cpuRealtime: await this.o.cpuRealtime() });
    } catch (e) {
      if (e instanceof EngineError) throw new EngineError(e.kind, `Cannot update container ${rec.Id}: ${e.message}`);
      throw e;
    }
    const task = this.o.taskOf(rec.Id);
    if (rec.State.Running && task && Object.keys(plan.resources).length) {
      await task.update(plan.resources).catch((e: Error) => {
        throw new EngineError('Internal', `Cannot update container ${rec.Id}: ${e.message}`);
      });
    }
    rec.HostConfig = plan.hostConfig;
    this.o.store.save(rec);
    this.o.events.publish('container', 'update', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
    return { Warnings: [] };
  }
}
