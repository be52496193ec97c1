/**
 * `berth stats`: live (or one-shot) resource usage, computed from the Engine API stats the way the docker CLI does.
 */
import type { StatsJSON } from '../../../api/types/container.js';
import type { Client } from '../../../client/index.js';

export type { StatsJSON };
import { bytesSize, humanSizeWithPrecision } from '../../../pkg/units/units.js';
import { CliExit, type CliContext, type Command } from '../../command.js';
import { loadFormat, renderFormat, type ParsedFormat } from '../../output/format.js';
import { withGoJSON } from '../../output/gojson.js';
import { truncateID } from './ps.js';
import { errorText } from './util.js';

/** docker's calculateCPUPercentUnix. */
export function cpuPercent(v: StatsJSON): number {
  const cpuDelta = (v.cpu_stats?.cpu_usage?.total_usage ?? 0) - (v.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (v.cpu_stats?.system_cpu_usage ?? 0) - (v.precpu_stats?.system_cpu_usage ?? 0);
  let online = v.cpu_stats?.online_cpus ?? 0;
  if (online === 0) online = v.cpu_stats?.cpu_usage?.percpu_usage?.length ?? 0;
  if (systemDelta > 0 && cpuDelta > 0) return (cpuDelta / systemDelta) * online * 100;
  return 0;
}

/** docker's calculateMemUsageUnixNoCache: usage minus inactive file cache (v1 total_inactive_file, v2 inactive_file). */
export function memUsage(v: StatsJSON): number {
  const usage = v.memory_stats?.usage ?? 0;
  const stats = v.memory_stats?.stats ?? {};
  if ('total_inactive_file' in stats && stats.total_inactive_file! < usage) return usage - stats.total_inactive_file!;
  const inactive = stats.inactive_file ?? 0;
  if (inactive < usage) return usage - inactive;
  return usage;
}

/** One stats row context, with docker's StatsEntry formatting. */
export function statsContext(container: string, v: StatsJSON | undefined, trunc: boolean): Record<string, unknown> {
  const id = v?.id ?? container;
  const pct = (x: number) => `${x.toFixed(2)}%`;
  if (!v) {
    return withGoJSON({ BlockIO: '--', CPUPerc: '--', Container: container, ID: trunc ? truncateID(id) : id, MemPerc: '--', MemUsage: '-- / --', Name: '--', NetIO: '--', PIDs: '--' });
  }
  const mem = memUsage(v);
  const limit = v.memory_stats?.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(v.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  let read = 0;
  let write = 0;
  for (const e of v.blkio_stats?.io_service_bytes_recursive ?? []) {
    const c = e.op?.[0];
    if (c === 'r' || c === 'R') read += e.value;
    else if (c === 'w' || c === 'W') write += e.value;
  }
  return withGoJSON({
    BlockIO: `${humanSizeWithPrecision(read, 3)} / ${humanSizeWithPrecision(write, 3)}`,
    CPUPerc: pct(cpuPercent(v)),
    Container: container,
    ID: trunc ? truncateID(id) : id,
    MemPerc: pct(limit !== 0 ? (mem / limit) * 100 : 0),
    MemUsage: `${bytesSize(mem)} / ${bytesSize(limit)}`,
    Name: (v.name ?? '').replace(/^\//, '') || '--',
    NetIO: `${humanSizeWithPrecision(rx, 3)} / ${humanSizeWithPrecision(tx, 3)}`,
    PIDs: String(v.pids_stats?.current ?? 0),
  });
}

export const STATS_TABLE = '{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';
export const STATS_HEADERS = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

/** Compiles a stats --format once: the stream renders it every second. */
export function loadStatsFormat(format: string): Promise<ParsedFormat> {
  return loadFormat(format, { defaultTable: STATS_TABLE });
}

export function formatStats(rows: Record<string, unknown>[], format: ParsedFormat): string {
  return renderFormat(format, rows, STATS_HEADERS);
}

export const statsCommand: Command = {
  name: 'stats',
  usage: 'stats [OPTIONS] [CONTAINER...]',
  description: 'Display a live stream of container(s) resource usage statistics',
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Show all containers (default shows just running)' },
    {
      name: 'format',
      type: 'string',
      description:
        "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates",
    },
    { name: 'no-stream', type: 'bool', description: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', type: 'bool', description: 'Do not truncate output' },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const format = await loadStatsFormat((flags.format as string | undefined) ?? '');
    const trunc = flags['no-trunc'] !== true;
    let names = args;
    if (names.length === 0) {
      const list = await client.containers.list({ all: flags.all === true });
      names = (list ?? []).map((c) => c.Id);
    }
    if (flags['no-stream'] === true) return oneShot(ctx, client, names, format, trunc);
    return stream(ctx, client, names, format, trunc, args.length > 0);
  },
};

async function oneShot(ctx: CliContext, client: Client, names: string[], format: ParsedFormat, trunc: boolean): Promise<number> {
  const results = await Promise.allSettled(
    names.map(async (n) => {
      const v = await client.containers.stats(n);
      return statsContext(n, v, trunc);
    }),
  );
  const rows: Record<string, unknown>[] = [];
  const errs: string[] = [];
  results.forEach((r) => {
    if (r.status === 'fulfilled') rows.push(r.value);
    else errs.push(errorText(r.reason));
  });
  ctx.stdout.write(formatStats(rows, format));
  if (errs.length) throw new CliExit(1, errs.join('\n'));
  return 0;
}

async function stream(ctx: CliContext, client: Client, names: string[], format: ParsedFormat, trunc: boolean, explicit: boolean): Promise<number> {
  const latest = new Map<string, StatsJSON | undefined>(names.map((n) => [n, undefined]));
  const abort = new AbortController();
  const errs: string[] = [];
  let stopped = false;
  const readers = names.map(async (n) => {
    try {
      for await (const v of client.containers.statsStream(n, abort.signal)) latest.set(n, v);
    } catch (e) {
      if (stopped) return;
      if (explicit) errs.push(errorText(e));
    }
    // A container that stopped or went away drops out of an implicit list.
    if (!explicit) latest.delete(n);
  });
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const stop = () => {
    stopped = true;
    abort.abort();
    resolveDone();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const render = () => {
    if (errs.length && explicit) {
      stop();
      return;
    }
    const rows = [...latest.entries()].map(([n, v]) => statsContext(n, v, trunc));
    const clear = ctx.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
    ctx.stdout.write(clear + formatStats(rows, format));
  };
  const timer = setInterval(render, 1000);
  setTimeout(render, 50).unref();
  void Promise.all(readers).then(() => {
    if (explicit && [...latest.values()].every((v) => v === undefined)) stop();
  });
  await done;
  clearInterval(timer);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (errs.length) throw new CliExit(1, errs.join('\n'));
  return 0;
}
