/**
 * `berth update`: change resources or the restart policy of containers (`POST /containers/{id}/update`).
 */
import type { FlagSpec } from '../../../pkg/flags/flags.js';
import { ramInBytes } from '../../../pkg/units/units.js';
import { CliExit, type Command } from '../../command.js';
import { parseNanoCpus, parseRestartPolicy } from './opts.js';
import { forEachContainer } from './util.js';

const USAGE = 'update [OPTIONS] CONTAINER [CONTAINER...]';

const flags: FlagSpec[] = [
  { name: 'blkio-weight', type: 'int', description: 'Block IO (relative weight), between 10 and 1000, or 0 to disable', valueName: 'uint16', default: 0 },
  { name: 'cpu-period', type: 'int', description: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  { name: 'cpu-quota', type: 'int', description: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  { name: 'cpu-rt-period', type: 'int', description: 'Limit the CPU real-time period in microseconds' },
  { name: 'cpu-rt-runtime', type: 'int', description: 'Limit the CPU real-time runtime in microseconds' },
  { name: 'cpu-shares', short: 'c', type: 'int', description: 'CPU shares (relative weight)' },
  { name: 'cpus', type: 'string', description: 'Number of CPUs', valueName: 'decimal' },
  { name: 'cpuset-cpus', type: 'string', description: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'cpuset-mems', type: 'string', description: 'MEMs in which to allow execution (0-3, 0,1)' },
  { name: 'kernel-memory', type: 'string', description: 'Kernel memory limit (deprecated)', valueName: 'bytes', hidden: true },
  { name: 'memory', short: 'm', type: 'string', description: 'Memory limit', valueName: 'bytes' },
  { name: 'memory-reservation', type: 'string', description: 'Memory soft limit', valueName: 'bytes' },
  { name: 'memory-swap', type: 'string', description: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap', valueName: 'bytes' },
  { name: 'pids-limit', type: 'int', description: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'restart', type: 'string', description: 'Restart policy to apply when a container exits' },
];

/** Flags → docker's UpdateConfig. Throws `[flag-error, message]` style CliExits. */
export function buildUpdateConfig(prog: string, v: Record<string, unknown>, set: Set<string>): Record<string, unknown> {
  const flagErr = (name: string, value: string, msg: string) => {
    const spec = flags.find((f) => f.name === name)!;
    const shown = spec.short ? `-${spec.short}, --${name}` : `--${name}`;
    return new CliExit(125, `invalid argument "${value}" for "${shown}" flag: ${msg}\n\nUsage:  ${prog} ${USAGE}\n\nRun '${prog} update --help' for more information`);
  };
  const bytes = (name: string): number => {
    const s = v[name] as string | undefined;
    if (!s) return 0;
    if (name === 'memory-swap' && s === '-1') return -1;
    try {
      return ramInBytes(s);
    } catch (e) {
      throw flagErr(name, s, (e as Error).message);
    }
  };
  let nano = 0;
  if (v.cpus) {
    try {
      nano = parseNanoCpus(v.cpus as string);
    } catch (e) {
      throw flagErr('cpus', v.cpus as string, (e as Error).message);
    }
  }
  const num = (name: string) => (v[name] as number | undefined) ?? 0;
  const resources: Record<string, unknown> = {
    BlkioWeight: num('blkio-weight'),
    CpusetCpus: (v['cpuset-cpus'] as string | undefined) ?? '',
    CpusetMems: (v['cpuset-mems'] as string | undefined) ?? '',
    CpuShares: num('cpu-shares'),
    Memory: bytes('memory'),
    MemoryReservation: bytes('memory-reservation'),
    MemorySwap: bytes('memory-swap'),
    KernelMemory: bytes('kernel-memory'),
    CpuPeriod: num('cpu-period'),
    CpuQuota: num('cpu-quota'),
    CpuRealtimePeriod: num('cpu-rt-period'),
    CpuRealtimeRuntime: num('cpu-rt-runtime'),
    NanoCpus: nano,
  };
  if (set.has('pids-limit')) resources.PidsLimit = num('pids-limit');
  let restart = { Name: '', MaximumRetryCount: 0 };
  if (v.restart) {
    try {
      restart = parseRestartPolicy(v.restart as string);
    } catch (e) {
      throw new CliExit(1, (e as Error).message);
    }
  }
  return { ...resources, RestartPolicy: restart };
}

export const updateCommand: Command = {
  name: 'update',
  usage: USAGE,
  description: 'Update configuration of one or more containers',
  minArgs: 1,
  flags,
  async run(ctx, args, values, set) {
    const used = [...set].filter((n) => n !== 'help');
    if (used.length === 0) throw new CliExit(1, 'you must provide one or more flags when using this command');
    const body = buildUpdateConfig(ctx.prog, values, set);
    const client = await ctx.client();
    const warns: string[] = [];
    try {
      await forEachContainer(
        ctx,
        args,
        async (c) => {
          const r = await client.containers.update(c, body);
          warns.push(...(r?.Warnings ?? []));
        },
        { sequential: true },
      );
    } finally {
      if (warns.length) ctx.stdout.write(warns.join('\n') + '\n');
    }
  },
};
