/**
 * Read-only container views: top, port, diff.
 */
import { CliExit, type Command } from '../../command.js';
import { formatTabbed } from '../../output/tabwriter.js';

export const topCommand: Command = {
  name: 'top',
  usage: 'top CONTAINER [ps OPTIONS]',
  description: 'Display the running processes of a container',
  minArgs: 1,
  interspersed: false,
  async run(ctx, args) {
    const [name, ...psArgs] = args as [string, ...string[]];
    const client = await ctx.client();
    const top = await client.containers.top(name, psArgs.length ? psArgs.join(' ') : undefined);
    const lines = [top.Titles.join('\t'), ...(top.Processes ?? []).map((p) => p.join('\t'))];
    ctx.stdout.write(formatTabbed(lines.join('\n') + '\n', { minwidth: 20, tabwidth: 1, padding: 3, padchar: ' ' }));
  },
};

/** sortorder.NaturalLess: digit runs compare as numbers. */
export function naturalLess(a: string, b: string): boolean {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = x.replace(/^0+/, '');
      const ny = y.replace(/^0+/, '');
      if (nx.length !== ny.length) return nx.length < ny.length;
      if (nx !== ny) return nx < ny;
      return x.length < y.length;
    }
    return x < y;
  }
  return pa.length < pb.length;
}

function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

type PortMap = Record<string, { HostIp: string; HostPort: string }[] | null>;

/** docker port's lines for a container's NetworkSettings.Ports (optionally one PRIVATE_PORT[/PROTO]). */
export function portLines(ports: PortMap, container: string, want?: string): string[] {
  const out: string[] = [];
  if (want) {
    const slash = want.indexOf('/');
    const port = slash < 0 ? want : want.slice(0, slash);
    const proto = slash < 0 || want.slice(slash + 1) === '' ? 'tcp' : want.slice(slash + 1);
    if (!/^\d+$/.test(port) || Number(port) > 65535) {
      throw new CliExit(1, `Error: invalid port (${port}): strconv.ParseUint: parsing "${port}": ${/^\d+$/.test(port) ? 'value out of range' : 'invalid syntax'}`);
    }
    const frontends = ports[`${port}/${proto}`];
    if (!frontends || frontends.length === 0) throw new CliExit(1, `Error: No public port '${want}' published for ${container}`);
    for (const f of frontends) out.push(joinHostPort(f.HostIp, f.HostPort));
  } else {
    for (const [from, frontends] of Object.entries(ports)) {
      for (const f of frontends ?? []) out.push(`${from} -> ${joinHostPort(f.HostIp, f.HostPort)}`);
    }
  }
  return out.sort((x, y) => (naturalLess(x, y) ? -1 : naturalLess(y, x) ? 1 : 0));
}

export const portCommand: Command = {
  name: 'port',
  usage: 'port CONTAINER [PRIVATE_PORT[/PROTO]]',
  description: 'List port mappings or a specific mapping for the container',
  minArgs: 1,
  maxArgs: 2,
  async run(ctx, args) {
    const client = await ctx.client();
    const c = await client.containers.inspect(args[0]!);
    const lines = portLines(c.NetworkSettings?.Ports ?? {}, args[0]!, args[1]);
    if (lines.length) ctx.stdout.write(lines.join('\n') + '\n');
  },
};

const KINDS = ['C', 'A', 'D'];

export const diffCommand: Command = {
  name: 'diff',
  usage: 'diff CONTAINER',
  description: "Inspect changes to files or directories on a container's filesystem",
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, args) {
    const client = await ctx.client();
    const changes = await client.containers.changes(args[0]!);
    let out = '';
    for (const c of changes ?? []) out += `${KINDS[c.Kind] ?? '?'} ${c.Path}\n`;
    ctx.stdout.write(out);
  },
};
