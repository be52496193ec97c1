/**
 * `berth ps` / `berth container ls`: docker's container formatter (cli/command/formatter/container.go) over
 * `GET /containers/json`.
 */
import { filtersFromArgs, type Filters } from '../../../pkg/filters/filters.js';
import { goQuote } from '../../../pkg/gostr/quote.js';
import { familiarString, parseNormalized } from '../../../pkg/reference/index.js';
import { humanDuration, humanSizeWithPrecision } from '../../../pkg/units/units.js';
import type { ContainerSummary, Port as ApiPort } from '../../../api/types/container.js';
import { CliExit, type Command } from '../../command.js';
import { goTimeString } from '../../output/gotime.js';

export type { ApiPort, ContainerSummary };
export { goTimeString };
import { loadFormat, renderFormat } from '../../output/format.js';
import { withGoJSON } from '../../output/gojson.js';

export const DEFAULT_PS_TABLE = '{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

export const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Label: 'LABEL',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

const RAW_FORMAT =
  'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n';

/** stringid.TruncateID: drops an algorithm prefix, keeps 12 characters. */
export function truncateID(id: string): string {
  const i = id.indexOf(':');
  if (i >= 0) id = id.slice(i + 1);
  return id.length > 12 ? id.slice(0, 12) : id;
}

/** docker's formatter.Ellipsis (by runes). */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  const rs = [...s];
  if (rs.length <= max) return s;
  if (max === 1) return rs[0]!;
  return rs.slice(0, max - 1).join('') + '…';
}



function comparePorts(a: ApiPort, b: ApiPort): number {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  if ((a.IP ?? '') !== (b.IP ?? '')) return (a.IP ?? '') < (b.IP ?? '') ? -1 : 1;
  if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** docker's DisplayablePorts: consecutive ports grouped into ranges, host mappings last. */
export function displayablePorts(ports: ApiPort[]): string {
  const sorted = [...ports].sort(comparePorts);
  const groups = new Map<string, { first: number; last: number }>();
  const keys: string[] = [];
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, start: number, last: number) => {
    const parts = key.split('/');
    let type = parts[0]!;
    let ip = '';
    if (parts.length > 1) {
      ip = parts[0]!;
      type = parts[1]!;
    }
    let group = String(start);
    if (start !== last) group = `${group}-${last}`;
    if (ip !== '') group = `${joinHostPort(ip, group)}->${group}`;
    return `${group}/${type}`;
  };
  for (const p of sorted) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if ((p.PublicPort ?? 0) !== current) {
        hostMappings.push(`${joinHostPort(p.IP, p.PublicPort ?? 0)}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      keys.push(key);
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: current, last: current });
  }
  for (const k of keys) {
    const g = groups.get(k)!;
    result.push(formGroup(k, g.first, g.last));
  }
  result.push(...hostMappings);
  return result.join(', ');
}

/** docker's ContainerContext.Image: the familiar tagged name, or the short ID when the image is referenced by ID. */
function displayImage(c: ContainerSummary, trunc: boolean): string {
  const image = c.Image ?? '';
  if (image === '') return '<no image>';
  if (trunc) {
    if (truncateID(c.ImageID ?? '') === truncateID(image)) return truncateID(image);
    try {
      const ref = parseNormalized(image);
      return familiarString({ domain: ref.domain, path: ref.path, tag: ref.tag });
    } catch {
      /* not a reference: shown as is */
    }
  }
  return image;
}

/** The row context of one container, with the fields and methods docker's ps templates use. */
export function containerContext(c: ContainerSummary, opts: { trunc: boolean; now?: number }): Record<string, unknown> {
  const now = opts.now ?? Date.now();
  const trunc = opts.trunc;
  let names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
  if (trunc) {
    const canonical = names.find((n) => !n.includes('/'));
    if (canonical !== undefined) names = [canonical];
  }
  const labels = c.Labels ?? {};
  const mounts = (c.Mounts ?? []).map((m) => {
    const name = m.Name ? m.Name : (m.Source ?? '');
    return trunc ? ellipsis(name, 15) : name;
  });
  const sizeRw = humanSizeWithPrecision(c.SizeRw ?? 0, 3);
  const size = (c.SizeRootFs ?? 0) > 0 ? `${sizeRw} (virtual ${humanSizeWithPrecision(c.SizeRootFs!, 3)})` : sizeRw;
  const fields = {
    Command: goQuote(trunc ? ellipsis(c.Command ?? '', 20) : (c.Command ?? '')),
    CreatedAt: goTimeString(c.Created ?? 0),
    ID: trunc ? truncateID(c.Id) : c.Id,
    Image: displayImage(c, trunc),
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Mounts: mounts.join(','),
    Names: names.join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {})
      .sort()
      .join(','),
    Platform: null,
    Ports: displayablePorts(c.Ports ?? []),
    RunningFor: `${humanDuration(now - (c.Created ?? 0) * 1000)} ago`,
    Size: size,
    State: c.State ?? '',
    Status: c.Status ?? '',
  };
  const row = withGoJSON(fields) as Record<string, unknown>;
  Object.defineProperty(row, 'Label', { value: (name: string) => labels[name] ?? '', enumerable: false });
  return row;
}

/** Whether a --format uses the Size field (docker then asks the daemon for sizes). */
export function formatUsesSize(format: string): boolean {
  return format === 'json' || /\.Size\b/.test(format) || /\bjson\s+\.\s*\}\}/.test(format);
}

/** Renders the list as `docker ps` does. */
export async function formatContainers(list: ContainerSummary[], opts: { format?: string; quiet?: boolean; size?: boolean; trunc?: boolean; now?: number }): Promise<string> {
  const source = opts.format ?? '';
  let format: string;
  if (source === '' || source === 'table') {
    format = opts.quiet ? '{{.ID}}' : `table ${DEFAULT_PS_TABLE}${opts.size ? '\t{{.Size}}' : ''}`;
  } else if (source === 'raw') {
    format = opts.quiet ? 'container_id: {{.ID}}' : RAW_FORMAT + (opts.size ? 'size: {{.Size}}\n' : '');
  } else {
    format = opts.quiet ? '{{.ID}}' : source;
  }
  const parsed = await loadFormat(format, { funcs: padFuncs });
  const rows = list.map((c) => containerContext(c, { trunc: opts.trunc ?? true, now: opts.now }));
  return renderFormat(parsed, rows, PS_HEADERS);
}

/** `--filter` values → the `filters` query (undefined when none), with pflag's error for a malformed one. */
export function filterQuery(prog: string, usage: string, cmd: string, values: string[]): Filters {
  for (const v of values) {
    if (v !== '' && !v.includes('=')) {
      throw new CliExit(
        125,
        `invalid argument "${v}" for "-f, --filter" flag: bad format of filter (expected name=value)\n\nUsage:  ${prog} ${usage}\n\nRun '${prog} ${cmd} --help' for more information`,
      );
    }
  }
  return filtersFromArgs(values);
}

const padFuncs = { pad: (s: unknown, prefix: number, suffix: number) => ' '.repeat(prefix) + String(s ?? '') + ' '.repeat(suffix) };

export const psCommand: Command = {
  name: 'ps',
  usage: 'ps [OPTIONS]',
  description: 'List containers',
  maxArgs: 0,
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Show all containers (default shows just running)' },
    { name: 'filter', short: 'f', type: 'list', description: 'Filter output based on conditions provided', valueName: 'filter' },
    {
      name: 'format',
      type: 'string',
      description:
        "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates",
    },
    { name: 'last', short: 'n', type: 'int', description: 'Show n last created containers (includes all states)', default: -1 },
    { name: 'latest', short: 'l', type: 'bool', description: 'Show the latest created container (includes all states)' },
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display container IDs' },
    { name: 'size', short: 's', type: 'bool', description: 'Display total file sizes' },
  ],
  async run(ctx, _args, flags, set) {
    const quiet = flags.quiet === true;
    let limit = flags.last as number;
    if (flags.latest === true && limit === -1) limit = 1;
    let size = flags.size === true;
    const format = (flags.format as string | undefined) ?? '';
    if (format !== '') {
      try {
        await loadFormat(format);
      } catch (e) {
        throw new CliExit(1, `failed to parse template: ${(e as Error).message}`);
      }
      if (!quiet && !size && !set.has('size') && formatUsesSize(format)) size = true;
    }
    const filters = filterQuery(ctx.prog, 'ps [OPTIONS]', 'ps', (flags.filter as string[]) ?? []);
    const client = await ctx.client();
    const list = await client.containers.list({ all: flags.all === true, limit: limit > 0 ? limit : undefined, size, filters });
    ctx.stdout.write(await formatContainers(list ?? [], { format, quiet, size, trunc: flags['no-trunc'] !== true }));
  },
};
