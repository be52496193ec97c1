/**
 * Read-only views of a project: ps, logs, config, ls, images, top, port, events, version — in Compose v2's
 * formats (tables through berth's --format renderer, `--format json`).
 */
import YAML from 'yaml';
import { composeContainers, nameOf, projectContainers, serviceContainers, type ProjectContainer } from '../../../compose/containers.js';
import { COMPOSE_VERSION, L, projectFilter } from '../../../compose/labels.js';
import { replicasOf } from '../../../compose/model/load.js';
import type { Project } from '../../../compose/model/types.js';
import { dependencyOrder } from '../../../compose/plan.js';
import { CliExit } from '../../command.js';
import { loadFormat, renderFormat, renderOne } from '../../output/format.js';
import { withGoJSON } from '../../output/gojson.js';
import type { ComposeCommand } from './command.js';
import { displayName, LogPrinter } from './log-printer.js';

const PS_TABLE = 'table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}';
const PS_HEADERS: Record<string, string> = { Name: 'NAME', Image: 'IMAGE', Command: 'COMMAND', Service: 'SERVICE', RunningFor: 'CREATED', Status: 'STATUS', Ports: 'PORTS', ID: 'CONTAINER ID', State: 'STATE', Project: 'PROJECT', Health: 'HEALTH', ExitCode: 'EXIT CODE', CreatedAt: 'CREATED AT', Labels: 'LABELS', Networks: 'NETWORKS', Mounts: 'MOUNTS', Size: 'SIZE', LocalVolumes: 'LOCAL VOLUMES' };

function health(status: string): string {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status);
  return m ? m[1].replace('health: ', '') : '';
}

type ContainerContext = (typeof import('../container/ps.js'))['containerContext'];

function psRow(c: ProjectContainer, containerContext: ContainerContext) {
  const base = containerContext(c, { trunc: true });
  const exit = /^Exited \((-?\d+)\)/.exec(c.Status ?? '');
  const row = withGoJSON({
    Command: base.Command,
    CreatedAt: base.CreatedAt,
    ExitCode: exit ? Number(exit[1]) : 0,
    Health: health(c.Status ?? ''),
    ID: c.Id,
    Image: c.Image,
    Labels: base.Labels,
    LocalVolumes: base.LocalVolumes,
    Mounts: base.Mounts,
    Name: (c.Names[0] ?? '').replace(/^\//, ''),
    Names: base.Names,
    Networks: base.Networks,
    Ports: base.Ports,
    Project: c.Labels[L.project],
    Publishers: (c.Ports ?? []).map((p) => ({ URL: p.IP ?? '', TargetPort: p.PrivatePort, PublishedPort: p.PublicPort ?? 0, Protocol: p.Type })),
    RunningFor: base.RunningFor,
    Service: c.Labels[L.service],
    Size: base.Size,
    State: c.State,
    Status: c.Status,
  });
  Object.defineProperty(row, 'Label', { value: (n: string) => c.Labels[n] ?? '', enumerable: false });
  return row;
}

export const psComposeCommand: ComposeCommand = {
  name: 'ps',
  usage: 'ps [OPTIONS] [SERVICE...]',
  description: 'List containers',
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Show all stopped containers (including those created by the run command)' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
    { name: 'services', type: 'bool', description: 'Display services' },
    { name: 'format', type: 'string', description: 'Format output using a custom template:\n\'table\':            Print output in table format with column headers (default)\n\'table TEMPLATE\':   Print output in table format using the given Go template\n\'json\':             Print in JSON format\n\'TEMPLATE\':         Print output using the given Go template', default: 'table' },
    { name: 'status', type: 'list', description: 'Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]' },
    { name: 'filter', type: 'string', description: 'Filter services by a property (supported filters: status)' },
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'orphans', type: 'bool', description: 'Include orphaned services (not declared by project)', default: true },
  ],
  async run(c, args, f) {
    const name = c.projectName();
    const client = await c.client();
    const statuses = [...(f.status as string[])];
    const filter = f.filter as string | undefined;
    if (filter) {
      const m = /^status=(.+)$/.exec(filter);
      if (!m) throw new CliExit(1, `invalid filter: ${filter}`);
      statuses.push(m[1]);
    }
    const { containerContext } = await import('../container/ps.js');
    const row = (x: ProjectContainer) => psRow(x, containerContext);
    let list = await projectContainers(client, name, { all: f.all === true || statuses.length > 0 });
    if (f.all !== true) list = list.filter((x) => x.Labels[L.oneoff] !== 'True');
    if (args.length) list = list.filter((x) => args.includes(x.Labels[L.service]));
    if (statuses.length) list = list.filter((x) => statuses.includes(x.State));
    list.sort((a, b) => row(a).Name.localeCompare(row(b).Name));
    if (f.services === true) {
      const names = [...new Set(list.map((x) => x.Labels[L.service]))];
      c.cli.stdout.write(names.map((n) => n + '\n').join(''));
      return;
    }
    if (f.quiet === true) {
      c.cli.stdout.write(list.map((x) => x.Id + '\n').join(''));
      return;
    }
    const fmt = f.format as string;
    if (fmt === 'json') {
      c.cli.stdout.write(list.map((x) => JSON.stringify(row(x)) + '\n').join(''));
      return;
    }
    const parsed = await loadFormat(fmt === 'table' ? PS_TABLE : fmt);
    c.cli.stdout.write(renderFormat(parsed, list.map(row), PS_HEADERS));
  },
};

export const logsComposeCommand: ComposeCommand = {
  name: 'logs',
  usage: 'logs [OPTIONS] [SERVICE...]',
  description: 'View output from containers',
  flags: [
    { name: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
    { name: 'tail', short: 'n', type: 'string', description: 'Number of lines to show from the end of the logs for each container', default: 'all' },
    { name: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
    { name: 'no-color', type: 'bool', description: 'Produce monochrome output' },
    { name: 'no-log-prefix', type: 'bool', description: "Don't print prefix in logs" },
    { name: 'since', type: 'string', description: 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
    { name: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
    { name: 'index', type: 'int', description: 'index of the container if service has multiple replicas', default: 0 },
  ],
  async run(c, args, f) {
    const name = c.projectName();
    const client = await c.client();
    let list = (await projectContainers(client, name, { all: true })).filter((x) => x.Labels[L.oneoff] !== 'True');
    if (args.length) list = list.filter((x) => args.includes(x.Labels[L.service]));
    if (f.index) list = list.filter((x) => Number(x.Labels[L.number]) === f.index);
    list.sort((a, b) => displayName(a, name).localeCompare(displayName(b, name)));
    const printer = new LogPrinter(c.cli.stdout, { color: f['no-color'] !== true && c.ansi(c.cli.stdout), prefix: f['no-log-prefix'] !== true });
    for (const x of list) printer.register(displayName(x, name));
    await Promise.all(
      list.map(async (x) => {
        const tty = (await client.containers.inspect(x.Id)).Config.Tty === true;
        const s = await client.containers.logs(x.Id, {
          stdout: true,
          stderr: true,
          follow: f.follow === true,
          tail: f.tail as string,
          timestamps: f.timestamps === true,
          since: f.since as string | undefined,
          until: f.until as string | undefined,
        });
        await printer.pump(displayName(x, name), s, tty);
      }),
    );
  },
};

/** The model as `config` prints it: long syntax, names resolved, service keys sorted. */
export function configView(p: Project): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  for (const n of Object.keys(p.services).sort()) {
    const s: Record<string, unknown> = { ...p.services[n] };
    delete s.name;
    delete s.env_file;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(s).sort()) if (s[k] !== undefined) sorted[k] = s[k];
    services[n] = sorted;
  }
  const out: Record<string, unknown> = { name: p.name, services };
  for (const k of ['networks', 'volumes', 'secrets', 'configs'] as const) if (Object.keys(p[k]).length) out[k] = p[k];
  return out;
}

export const configComposeCommand: ComposeCommand = {
  name: 'config',
  aliases: ['convert'],
  usage: 'config [OPTIONS] [SERVICE...]',
  description: 'Parse, resolve and render compose file in canonical format',
  flags: [
    { name: 'format', type: 'string', description: 'Format the output. Values: [yaml | json]', default: 'yaml' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only validate the configuration, don\'t print anything' },
    { name: 'services', type: 'bool', description: 'Print the service names, one per line' },
    { name: 'volumes', type: 'bool', description: 'Print the volume names, one per line' },
    { name: 'networks', type: 'bool', description: 'Print the network names, one per line' },
    { name: 'images', type: 'bool', description: 'Print the image names, one per line' },
    { name: 'profiles', type: 'bool', description: 'Print the profile names, one per line' },
    { name: 'output', short: 'o', type: 'string', description: 'Save to file (default to stdout)' },
    { name: 'no-interpolate', type: 'bool', description: "Don't interpolate environment variables", hidden: true },
  ],
  async run(c, args, f) {
    const p = c.project(args);
    if (args.length) for (const n of Object.keys(p.services)) if (!args.includes(n)) delete p.services[n];
    const lines = (xs: string[]) => c.cli.stdout.write(xs.map((x) => x + '\n').join(''));
    if (f.quiet === true) return;
    if (f.services === true) return void lines(dependencyOrder(p.services));
    if (f.volumes === true) return void lines(Object.keys(p.volumes));
    if (f.networks === true) return void lines(Object.keys(p.networks));
    if (f.images === true) return void lines(Object.values(p.services).map((s) => s.image ?? `${p.name}-${s.name}`));
    if (f.profiles === true) return void lines([...new Set(Object.values({ ...p.services, ...p.disabled }).flatMap((s) => s.profiles ?? []))].sort());
    const view = configView(p);
    const text = f.format === 'json' ? JSON.stringify(view, null, 2) + '\n' : YAML.stringify(view, { lineWidth: 0, aliasDuplicateObjects: false });
    if (f.output) {
      const fs = await import('node:fs');
      fs.writeFileSync(f.output as string, text);
      return;
    }
    c.cli.stdout.write(text);
  },
};

export const lsComposeCommand: ComposeCommand = {
  name: 'ls',
  usage: 'ls [OPTIONS]',
  description: 'List running compose projects',
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Show all stopped Compose projects' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display project names.' },
    { name: 'format', type: 'string', description: 'Format the output. Values: [table | json]', default: 'table' },
    { name: 'filter', type: 'list', description: 'Filter output based on conditions provided' },
  ],
  async run(c, _args, f) {
    const client = await c.client();
    const byProject = new Map<string, ProjectContainer[]>();
    for (const x of await composeContainers(client)) byProject.set(x.Labels[L.project], [...(byProject.get(x.Labels[L.project]) ?? []), x]);
    let rows = [...byProject.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, list]) => {
      const counts = new Map<string, number>();
      for (const x of list) counts.set(x.State, (counts.get(x.State) ?? 0) + 1);
      const status = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${s}(${n})`).join(', ');
      const files = list.find((x) => x.Labels[L.configFiles])?.Labels[L.configFiles] ?? '';
      return { Name: name, Status: status, ConfigFiles: files, running: counts.has('running') };
    });
    if (f.all !== true) rows = rows.filter((r) => r.running);
    for (const flt of f.filter as string[]) {
      const m = /^name=(.*)$/.exec(flt);
      if (!m) throw new CliExit(1, `invalid filter: ${flt}`);
      rows = rows.filter((r) => r.Name.includes(m[1]));
    }
    if (f.quiet === true) return void c.cli.stdout.write(rows.map((r) => r.Name + '\n').join(''));
    const view = rows.map((r) => withGoJSON({ Name: r.Name, Status: r.Status, ConfigFiles: r.ConfigFiles }));
    if (f.format === 'json') return void c.cli.stdout.write(JSON.stringify(view) + '\n');
    const fmt = f.format === 'table' ? 'table {{.Name}}\t{{.Status}}\t{{.ConfigFiles}}' : (f.format as string);
    c.cli.stdout.write(renderFormat(await loadFormat(fmt), view, { Name: 'NAME', Status: 'STATUS', ConfigFiles: 'CONFIG FILES' }));
  },
};

function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(3))}${units[i]}`;
}

export const imagesComposeCommand: ComposeCommand = {
  name: 'images',
  usage: 'images [OPTIONS] [SERVICE...]',
  description: 'List images used by the created containers',
  flags: [
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
    { name: 'format', type: 'string', description: 'Format the output. Values: [table | json]', default: 'table' },
  ],
  async run(c, args, f) {
    const name = c.projectName();
    const client = await c.client();
    let list = await projectContainers(client, name, { all: true });
    if (args.length) list = list.filter((x) => args.includes(x.Labels[L.service]));
    const rows = [];
    for (const x of list.sort((a, b) => a.Names[0].localeCompare(b.Names[0]))) {
      const imageId = x.ImageID ?? '';
      const img = (await client.images.inspect(imageId).catch(() => undefined)) ?? { Id: imageId, RepoTags: [], Size: 0 };
      const tag = img.RepoTags?.find((t) => t === x.Image || t === `${x.Image}:latest`) ?? img.RepoTags?.[0] ?? '<none>:<none>';
      const i = tag.lastIndexOf(':');
      rows.push(withGoJSON({ ContainerName: x.Names[0].replace(/^\//, ''), Repository: tag.slice(0, i), Tag: tag.slice(i + 1), ID: img.Id.replace(/^sha256:/, '').slice(0, 12), Size: humanSize(img.Size) }));
    }
    if (f.quiet === true) return void c.cli.stdout.write([...new Set(rows.map((r) => r.ID))].map((x) => x + '\n').join(''));
    if (f.format === 'json') return void c.cli.stdout.write(JSON.stringify(rows) + '\n');
    c.cli.stdout.write(renderFormat(await loadFormat('table {{.ContainerName}}\t{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}'), rows, { ContainerName: 'CONTAINER', Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', Size: 'SIZE' }));
  },
};

export const topComposeCommand: ComposeCommand = {
  name: 'top',
  usage: 'top [SERVICES...]',
  description: 'Display the running processes',
  async run(c, args) {
    const name = c.projectName();
    const client = await c.client();
    let list = await projectContainers(client, name, { all: false });
    if (args.length) list = list.filter((x) => args.includes(x.Labels[L.service]));
    for (const x of list.sort((a, b) => a.Names[0].localeCompare(b.Names[0]))) {
      const t = await client.containers.top(x.Id);
      c.cli.stdout.write(`${x.Names[0].replace(/^\//, '')}\n`);
      const { formatTabbed } = await import('../../output/tabwriter.js');
      c.cli.stdout.write(formatTabbed([t.Titles, ...(t.Processes ?? [])].map((r) => r.join('\t')).join('\n') + '\n', { padding: 3, minwidth: 0 }) + '\n');
    }
  },
};

export const portComposeCommand: ComposeCommand = {
  name: 'port',
  usage: 'port [OPTIONS] SERVICE PRIVATE_PORT',
  description: 'Print the public port for a port binding',
  minArgs: 2,
  maxArgs: 2,
  flags: [
    { name: 'protocol', type: 'string', description: 'tcp or udp', default: 'tcp' },
    { name: 'index', type: 'int', description: 'Index of the container if service has multiple replicas', default: 0 },
  ],
  async run(c, args, f) {
    const [service, port] = args;
    const name = c.projectName();
    const list = await serviceContainers(await c.client(), name, service);
    const x = f.index ? list.find((y) => Number(y.Labels[L.number]) === f.index) : list[0];
    if (!x) throw new CliExit(1, `service "${service}" is not running`);
    const p = (x.Ports ?? []).find((y) => String(y.PrivatePort) === port && y.Type === f.protocol && y.PublicPort);
    if (!p) throw new CliExit(1, `no port ${port}/${f.protocol} for container ${x.Names[0].replace(/^\//, '')}: []`);
    c.cli.stdout.write(`${p.IP || '0.0.0.0'}:${p.PublicPort}\n`);
  },
};

export const eventsComposeCommand: ComposeCommand = {
  name: 'events',
  usage: 'events [OPTIONS] [SERVICE...]',
  description: 'Receive real time events from containers',
  flags: [
    { name: 'json', type: 'bool', description: 'Output events as a stream of json objects' },
    { name: 'since', type: 'string', description: 'Show all events created since timestamp' },
    { name: 'until', type: 'string', description: 'Stream events until this timestamp' },
  ],
  async run(c, args, f) {
    const name = c.projectName();
    const client = await c.client();
    const events = client.system.events({ filters: { type: ['container'], ...projectFilter(name) }, since: f.since as string | undefined, until: f.until as string | undefined });
    for await (const e of events) {
      const service = e.Actor.Attributes[L.service];
      if (args.length && !args.includes(service)) continue;
      const attrs: Record<string, string> = {};
      for (const [k, v] of Object.entries(e.Actor.Attributes)) if (!k.startsWith('com.docker.compose.')) attrs[k] = v;
      const time = new Date(Math.floor(e.timeNano / 1e6)).toISOString();
      if (f.json === true) c.cli.stdout.write(JSON.stringify({ time, type: e.Type, action: e.Action, id: e.Actor.ID, service, attributes: attrs }) + '\n');
      else c.cli.stdout.write(`${time} ${e.Type} ${e.Action} ${e.Actor.ID} (${Object.entries(attrs).map(([k, v]) => `${k}=${v}`).join(', ')})\n`);
    }
  },
};

export const versionComposeCommand: ComposeCommand = {
  name: 'version',
  usage: 'version [OPTIONS]',
  description: 'Show the Docker Compose version information',
  flags: [
    { name: 'format', short: 'f', type: 'string', description: 'Format the output. Values: [pretty | json]. (Default: pretty)' },
    { name: 'short', type: 'bool', description: 'Shows only Compose\'s version number' },
  ],
  async run(c, _args, f) {
    const v = `v${COMPOSE_VERSION}-berth`;
    if (f.short === true) return void c.cli.stdout.write(v.slice(1) + '\n');
    if (f.format === 'json') return void c.cli.stdout.write(JSON.stringify({ version: v }) + '\n');
    if (f.format && f.format !== 'pretty') {
      return void c.cli.stdout.write(await renderOne(f.format as string, { version: v }) + '\n');
    }
    c.cli.stdout.write(`Docker Compose version ${v}\n`);
  },
};

export { replicasOf };
