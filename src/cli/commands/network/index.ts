/**
 * `berth network ls|create|inspect|rm|connect|disconnect|prune` — docker's flags, output and exit codes.
 */
import { CliExit, Command, formatFlag } from '../../command.js';
import type { CliContext } from '../../command.js';
import { renderList, renderOne } from '../../output/format.js';
import { filtersFromArgs } from '../../../pkg/filters/filters.js';
import type { NetworkCreateRequest, NetworkResource } from '../../../api/types/network.js';
import type { EndpointSettings } from '../../../api/types/container.js';

type Net = Pick<NetworkResource, 'Id' | 'Name' | 'Driver' | 'Scope' | 'EnableIPv6' | 'Internal' | 'Created' | 'Labels'>;

/** Docker's network list row (the fields `--format` exposes). */
export function networkRow(n: Net, noTrunc: boolean): Record<string, unknown> {
  const labels = Object.entries(n.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return {
    ID: noTrunc ? n.Id : n.Id.slice(0, 12),
    Name: n.Name,
    Driver: n.Driver,
    Scope: n.Scope,
    IPv6: String(n.EnableIPv6),
    Internal: String(n.Internal),
    Labels: labels,
    Label: (name: string) => n.Labels?.[name] ?? '',
    CreatedAt: goDate(n.Created),
  };
}

function goDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (x: number) => String(x).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}000000 ${sign}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)} ${off === 0 ? 'UTC' : ''}`.trimEnd();
}

const lsCommand: Command = {
  name: 'ls',
  aliases: ['list'],
  usage: '[OPTIONS]',
  description: 'List networks',
  flags: [
    { name: 'filter', short: 'f', type: 'list', description: 'Provide filter values (e.g. "driver=bridge")', valueName: 'filter' },
    formatFlag(),
    { name: 'no-trunc', type: 'bool', description: 'Do not truncate the output' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display network IDs' },
  ],
  maxArgs: 0,
  async run(ctx, _args, flags) {
    const filters = (flags.filter as string[] | undefined) ?? [];
    const list = await (await ctx.client()).networks.list({ filters: filtersFromArgs(filters) });
    list.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    const rows = list.map((n) => networkRow(n, Boolean(flags['no-trunc'])));
    ctx.stdout.write(
      await renderList(
        rows,
        { defaultTable: '{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}', headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' }, quiet: '{{.ID}}' },
        flags.format as string | undefined,
        Boolean(flags.quiet),
      ),
    );
  },
};

const createCommand: Command = {
  name: 'create',
  usage: '[OPTIONS] NETWORK',
  description: 'Create a network',
  flags: [
    { name: 'driver', short: 'd', type: 'string', description: 'Driver to manage the Network', default: 'bridge', valueName: 'string' },
    { name: 'subnet', type: 'list', description: 'Subnet in CIDR format that represents a network segment', valueName: 'strings' },
    { name: 'gateway', type: 'list', description: 'IPv4 or IPv6 Gateway for the master subnet', valueName: 'strings' },
    { name: 'ip-range', type: 'list', description: 'Allocate container ip from a sub-range', valueName: 'strings' },
    { name: 'internal', type: 'bool', description: 'Restrict external access to the network' },
    { name: 'attachable', type: 'bool', description: 'Enable manual container attachment' },
    { name: 'ipv6', type: 'bool', description: 'Enable or disable IPv6 networking' },
    { name: 'label', type: 'list', description: 'Set metadata on a network', valueName: 'list' },
    { name: 'opt', short: 'o', type: 'list', description: 'Set driver specific options', valueName: 'map' },
    { name: 'ipam-driver', type: 'string', description: 'IP Address Management Driver', default: 'default', valueName: 'string' },
    { name: 'ipam-opt', type: 'list', description: 'Set IPAM driver specific options', valueName: 'map' },
    { name: 'aux-address', type: 'list', description: 'Auxiliary IPv4 or IPv6 addresses used by Network driver', valueName: 'map' },
    { name: 'scope', type: 'string', description: "Control the network's scope", valueName: 'string' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, args, flags) {
    const subnets = (flags.subnet as string[] | undefined) ?? [];
    const gateways = (flags.gateway as string[] | undefined) ?? [];
    const ranges = (flags['ip-range'] as string[] | undefined) ?? [];
    if (gateways.length > subnets.length) throw new CliExit(125, 'Error: every ip-range or gateway must have a corresponding subnet');
    if (ranges.length > subnets.length) throw new CliExit(125, 'Error: every ip-range or gateway must have a corresponding subnet');
    const config = subnets.map((s, i) => ({ Subnet: s, ...(gateways[i] ? { Gateway: gateways[i] } : {}), ...(ranges[i] ? { IPRange: ranges[i] } : {}) }));
    const kv = (list: string[] | undefined) => Object.fromEntries((list ?? []).map((x) => { const i = x.indexOf('='); return i < 0 ? [x, ''] : [x.slice(0, i), x.slice(i + 1)]; }));
    const body: NetworkCreateRequest = {
      Name: args[0],
      CheckDuplicate: true,
      Driver: flags.driver as string,
      Internal: Boolean(flags.internal),
      Attachable: Boolean(flags.attachable),
      EnableIPv6: Boolean(flags.ipv6),
      IPAM: { Driver: flags['ipam-driver'] as string, Config: config, Options: kv(flags['ipam-opt'] as string[]) },
      Options: kv(flags.opt as string[]),
      Labels: kv(flags.label as string[]),
    };
    const r = await (await ctx.client()).networks.create(body);
    ctx.stdout.write(`${r.Id}\n`);
  },
};

const inspectCommand: Command = {
  name: 'inspect',
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  description: 'Display detailed information on one or more networks',
  flags: [formatFlag(), { name: 'verbose', short: 'v', type: 'bool', description: 'Verbose output for diagnostics' }],
  minArgs: 1,
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const found: unknown[] = [];
    let failed = false;
    for (const ref of args) {
      try {
        found.push(await client.networks.inspect(ref, { verbose: flags.verbose === true }));
      } catch (e) {
        if ((e as { kind?: string }).kind !== 'NotFound') throw e;
        failed = true;
        ctx.stderr.write(`Error response from daemon: ${(e as Error).message}\n`);
      }
    }
    const format = flags.format as string | undefined;
    if (format) for (const n of found) ctx.stdout.write((await renderOne(format, n)) + '\n');
    else ctx.stdout.write(JSON.stringify(found, null, 4) + '\n');
    if (failed) return 1;
  },
};

const rmCommand: Command = {
  name: 'rm',
  aliases: ['remove'],
  usage: 'NETWORK [NETWORK...]',
  description: 'Remove one or more networks',
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Do not error if the network does not exist' }],
  minArgs: 1,
  async run(ctx, args, flags) {
    const client = await ctx.client();
    let status = 0;
    for (const ref of args) {
      try {
        await client.networks.remove(ref);
        ctx.stdout.write(`${ref}\n`);
      } catch (e) {
        if (flags.force && (e as { kind?: string }).kind === 'NotFound') continue;
        if ((e as { kind?: string }).kind === 'Unavailable') throw e;
        ctx.stderr.write(`Error response from daemon: ${(e as Error).message}\n`);
        status = 1;
      }
    }
    return status;
  },
};

const connectCommand: Command = {
  name: 'connect',
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Connect a container to a network',
  flags: [
    { name: 'alias', type: 'list', description: 'Add network-scoped alias for the container', valueName: 'strings' },
    { name: 'ip', type: 'string', description: 'IPv4 address (e.g., "172.30.100.104")', valueName: 'string' },
    { name: 'ip6', type: 'string', description: 'IPv6 address (e.g., "2001:db8::33")', valueName: 'string' },
    { name: 'link', type: 'list', description: 'Add link to another container', valueName: 'list' },
    { name: 'link-local-ip', type: 'list', description: 'Add a link-local address for the container', valueName: 'strings' },
    { name: 'driver-opt', type: 'list', description: 'driver options for the network', valueName: 'strings' },
  ],
  minArgs: 2,
  maxArgs: 2,
  async run(ctx, args, flags) {
    const aliases = (flags.alias as string[] | undefined) ?? [];
    const ip = flags.ip as string | undefined;
    const endpoint: EndpointSettings = {
      ...(ip || flags.ip6 ? { IPAMConfig: { IPv4Address: ip ?? '', IPv6Address: (flags.ip6 as string) ?? '' } } : {}),
      ...(aliases.length ? { Aliases: aliases } : {}),
    };
    await (await ctx.client()).networks.connect(args[0]!, args[1]!, endpoint);
  },
};

const disconnectCommand: Command = {
  name: 'disconnect',
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Disconnect a container from a network',
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force the container to disconnect from a network' }],
  minArgs: 2,
  maxArgs: 2,
  async run(ctx, args, flags) {
    await (await ctx.client()).networks.disconnect(args[0]!, args[1]!, Boolean(flags.force));
  },
};

async function confirm(ctx: CliContext, prompt: string): Promise<boolean> {
  ctx.stdout.write(prompt);
  const answer = await new Promise<string>((resolve) => {
    ctx.stdin.once('data', (d) => resolve(String(d)));
    ctx.stdin.once('end', () => resolve(''));
  });
  ctx.stdin.pause();
  return /^y(es)?$/i.test(answer.trim());
}

const pruneCommand: Command = {
  name: 'prune',
  usage: '[OPTIONS]',
  description: 'Remove all unused networks',
  flags: [
    { name: 'filter', type: 'list', description: 'Provide filter values (e.g. "until=<timestamp>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
  ],
  maxArgs: 0,
  async run(ctx, _args, flags) {
    if (!flags.force && !(await confirm(ctx, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] '))) return;
    const filters = (flags.filter as string[] | undefined) ?? [];
    const r = await (await ctx.client()).networks.prune(filtersFromArgs(filters));
    const deleted = r.NetworksDeleted ?? [];
    if (deleted.length) ctx.stdout.write(`Deleted Networks:\n${deleted.join('\n')}\n`);
  },
};

/** `berth network …`. */
export const networkCommand: Command = {
  name: 'network',
  usage: 'COMMAND',
  description: 'Manage networks',
  subcommands: [connectCommand, createCommand, disconnectCommand, inspectCommand, lsCommand, pruneCommand, rmCommand],
};
