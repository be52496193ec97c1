/**
 * Project lifecycle: up, down, create, start, stop, restart, kill, rm, pause, unpause, wait — each through
 * ProjectRunner (src/compose/apply.ts) in dependency order, with Compose v2's progress lines and errors.
 */
import { ComposeError, ProjectRunner } from '../../../compose/apply.js';
import { stopTimeout } from '../../../compose/convert.js';
import { nameOf as cname, type ProjectContainer } from '../../../compose/containers.js';
import { L } from '../../../compose/labels.js';
import { withDependencies } from '../../../compose/plan.js';
import type { Client } from '../../../client/index.js';
import { CliExit } from '../../command.js';
import type { ComposeCommand } from './command.js';
import { timeoutFlag } from './command.js';
import { modelError, type ComposeContext } from './context.js';
import { displayName, LogPrinter } from './log-printer.js';
import type { ProjectWatch } from '../../../compose/watch.js';

function parseScale(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([^=]+)=(\d+)$/.exec(v);
    if (!m) throw new CliExit(1, `invalid --scale option "${v}": expected SERVICE=NUM`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** Waits until the container is not running; its exit code. */
async function exitCodeOf(client: Client, id: string): Promise<number> {
  return (await (await client.containers.wait(id, 'not-running')).result).StatusCode;
}

/** Runs an operation that reports progress, turning compose errors into exit 1 with the message. */
async function withProgress<T>(r: ProjectRunner, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    r.progress.stop();
    if (e instanceof ComposeError) throw new CliExit(1, e.message);
    throw e;
  } finally {
    r.progress.stop();
  }
}

/** Project containers of the named services (all when none named); unknown names are an error. */
async function selected(c: ComposeContext, r: ProjectRunner, services: string[], opts: { all?: boolean; oneoff?: boolean } = {}): Promise<ProjectContainer[]> {
  for (const s of services) if (!r.project.services[s] && !r.project.disabled[s]) throw new CliExit(1, `no such service: ${s}`);
  const list = await r.containers({ all: opts.all ?? true, oneoff: opts.oneoff ?? false });
  void c;
  return services.length ? list.filter((x) => services.includes(x.Labels[L.service])) : list;
}

const upFlags = [
  { name: 'detach', short: 'd', type: 'bool', description: 'Detached mode: Run containers in the background' },
  { name: 'build', type: 'bool', description: 'Build images before starting containers' },
  { name: 'no-build', type: 'bool', description: "Don't build an image, even if it's policy" },
  { name: 'pull', type: 'string', description: 'Pull image before running ("always"|"missing"|"never")', default: 'policy' },
  { name: 'force-recreate', type: 'bool', description: "Recreate containers even if their configuration and image haven't changed" },
  { name: 'no-recreate', type: 'bool', description: "If containers already exist, don't recreate them. Incompatible with --force-recreate." },
  { name: 'no-deps', type: 'bool', description: "Don't start linked services" },
  { name: 'no-start', type: 'bool', description: "Don't start the services after creating them" },
  { name: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
  { name: 'scale', type: 'list', description: 'Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.' },
  { name: 'wait', type: 'bool', description: 'Wait for services to be running|healthy. Implies detached mode.' },
  { name: 'wait-timeout', type: 'int', description: 'Maximum duration in seconds to wait for the project to be running|healthy' },
  { name: 'abort-on-container-exit', type: 'bool', description: 'Stops all containers if any container was stopped. Incompatible with -d' },
  { name: 'abort-on-container-failure', type: 'bool', description: 'Stops all containers if any container exited with failure. Incompatible with -d' },
  { name: 'exit-code-from', type: 'string', description: 'Return the exit code of the selected service container. Implies --abort-on-container-exit' },
  { name: 'attach-dependencies', type: 'bool', description: 'Automatically attach to log output of dependent services' },
  { name: 'no-color', type: 'bool', description: 'Produce monochrome output' },
  { name: 'no-log-prefix', type: 'bool', description: "Don't print prefix in logs" },
  { name: 'quiet-pull', type: 'bool', description: 'Pull without printing progress information' },
  { name: 'timestamps', type: 'bool', description: 'Show timestamps' },
  { name: 'renew-anon-volumes', short: 'V', type: 'bool', description: 'Recreate anonymous volumes instead of retrieving data from the previous containers' },
  { name: 'always-recreate-deps', type: 'bool', description: 'Recreate dependent containers. Incompatible with --no-recreate.' },
  { name: 'watch', short: 'w', type: 'bool', description: 'Watch source code and rebuild/refresh containers when files are updated.' },
  timeoutFlag,
] as ComposeCommand['flags'];

export const upCommand: ComposeCommand = {
  name: 'up',
  usage: 'up [OPTIONS] [SERVICE...]',
  description: 'Create and start containers',
  flags: upFlags,
  async run(c, args, f) {
    const detach = f.detach === true || f.wait === true;
    const exitFrom = f['exit-code-from'] as string | undefined;
    const abort = f['abort-on-container-exit'] === true || !!exitFrom;
    if (detach && abort) throw new CliExit(1, '--abort-on-container-exit and --detach are incompatible');
    if (f['force-recreate'] && f['no-recreate']) throw new CliExit(1, '--force-recreate and --no-recreate are incompatible');
    const watch = f.watch === true;
    if (watch && detach) throw new CliExit(1, '--watch and --detach are incompatible');
    const project = c.project(args);
    if (exitFrom && !project.services[exitFrom]) throw new CliExit(1, `no such service: ${exitFrom}`);
    const r = await c.runner(project);
    // Watched services with a build are always built on up, so what runs matches the sources (Compose v2).
    if (watch) for (const s of Object.values(project.services)) if (s.build && s.develop) s.pull_policy = 'build';
    const started = Math.floor(Date.now() / 1000);
    const pull = f.pull as string;
    if (!['always', 'missing', 'never', 'build', 'policy'].includes(pull)) throw new CliExit(1, `invalid --pull option "${pull}"`);
    await withProgress(r, () =>
      r.up({
        services: args,
        noDeps: f['no-deps'] === true,
        forceRecreate: f['force-recreate'] === true,
        noRecreate: f['no-recreate'] === true,
        noStart: f['no-start'] === true,
        build: f.build === true,
        noBuild: f['no-build'] === true,
        pull: pull as 'always',
        scale: parseScale(f.scale as string[]),
        removeOrphans: f['remove-orphans'] === true,
        timeout: f.timeout as number | undefined,
        wait: f.wait === true,
        waitTimeout: f['wait-timeout'] as number | undefined,
        renewAnonVolumes: f['renew-anon-volumes'] === true,
      }),
    );
    if (detach || f['no-start'] === true) return 0;
    let watcher: ProjectWatch | undefined;
    if (watch) {
      const printer = watchPrinter(c, f['no-color'] !== true && c.ansi(c.cli.stdout));
      const { ProjectWatch } = await import('../../../compose/watch.js');
      watcher = new ProjectWatch(r, { services: args, log: printer, warn: (m) => c.cli.stderr.write(`WARN[0000] ${m}\n`) });
      await withProgress(r, () => watcher!.start());
    }
    try {
      return await attachUntilExit(c, r, args.length && !f['attach-dependencies'] ? args : withDependencies(project.services, args), {
      since: started,
      abort,
      abortOnFailure: f['abort-on-container-failure'] === true,
      exitFrom,
      color: f['no-color'] !== true && c.ansi(c.cli.stdout),
      prefix: f['no-log-prefix'] !== true,
      timeout: f.timeout as number | undefined,
      watch: watcher,
      });
    } finally {
      watcher?.stop();
    }
  },
};

/** Compose v2's watch lines: ` ⦿ message`, in bright green on a terminal. */
function watchPrinter(c: ComposeContext, color: boolean): (m: string) => void {
  const prefix = `${' '.repeat('#watch'.length + 1)} ⦿ `;
  return (m) => {
    for (const line of m.split('\n')) c.cli.stdout.write(color ? `\x1b[92m${prefix}\x1b[0m${line}\n` : `${prefix}${line}\n`);
  };
}

export const watchCommand: ComposeCommand = {
  name: 'watch',
  usage: 'watch [SERVICE...]',
  description: 'Watch build context for service and rebuild/refresh containers when files are updated',
  flags: [
    { name: 'no-up', type: 'bool', description: 'Do not build & start services before watching' },
    { name: 'prune', type: 'bool', description: 'Prune dangling images on rebuild', default: true },
    { name: 'quiet', type: 'bool', description: 'hide build output' },
  ],
  async run(c, args, f) {
    const project = c.project(args);
    const r = await c.runner(project);
    if (f['no-up'] !== true) {
      for (const s of Object.values(project.services)) if (s.build && s.develop) s.pull_policy = 'build';
      await withProgress(r, () => r.up({ services: args }));
    }
    const { ProjectWatch } = await import('../../../compose/watch.js');
    const watcher = new ProjectWatch(r, { services: args, log: watchPrinter(c, c.ansi(c.cli.stdout)), warn: (m) => c.cli.stderr.write(`WARN[0000] ${m}\n`), quiet: f.quiet === true, prune: f.prune !== false });
    await withProgress(r, () => watcher.start());
    // Until interrupted: the containers keep running after the watch ends, as with Compose v2.
    await new Promise<void>((resolve) => {
      const end = () => resolve();
      process.once('SIGINT', end);
      process.once('SIGTERM', end);
    });
    watcher.stop();
    await watcher.idle();
    return 0;
  },
};

/**
 * Attached `up`: follows every container's output with prefixes until they have all exited (or, with
 * --abort-on-container-exit, until the first one does); Ctrl-C stops the project as Compose does.
 */
async function attachUntilExit(
  c: ComposeContext,
  r: ProjectRunner,
  services: string[],
  o: { since: number; abort: boolean; abortOnFailure: boolean; exitFrom?: string; color: boolean; prefix: boolean; timeout?: number; watch?: ProjectWatch },
): Promise<number> {
  const client = r.client;
  const list = (await r.containers({ oneoff: false })).filter((x) => services.includes(x.Labels[L.service]));
  const printer = new LogPrinter(c.cli.stdout, { color: o.color, prefix: o.prefix });
  const abortLogs = new AbortController();
  for (const x of list) printer.register(displayName(x, r.name));
  c.cli.stdout.write(`Attaching to ${list.map((x) => displayName(x, r.name)).join(', ')}\n`);
  let stopping = false;
  let exitCode = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((res) => (resolveDone = res));
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    const p = c.progress();
    const runner = new ProjectRunner(r.project, client, p);
    const all = await runner.containers({ oneoff: false, all: false });
    await runner.eachService(all, 'stop', async (x) => {
      p.event('Container', cname(x), 'Stopping');
      await client.containers.stop(x.Id, { timeout: stopTimeout(r.project.services[x.Labels[L.service]], o.timeout) }).catch(() => {});
      p.event('Container', cname(x), 'Stopped', { done: true });
    });
    p.stop();
  };
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    c.cli.stderr.write('Gracefully stopping... (press Ctrl+C again to force)\n');
    exitCode = 130;
    stopAll().then(resolveDone, resolveDone);
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  let remaining = list.length;
  // A container recreated meanwhile (watch's rebuild, another `up`) is followed on in its replacement.
  const replacement = async (x: ProjectContainer): Promise<ProjectContainer | undefined> => {
    if (stopping) return undefined;
    if (o.watch?.rebuilding.has(x.Labels[L.service])) await o.watch.idle();
    const now = await r.containers({ oneoff: false }).catch(() => []);
    if (now.some((y) => y.Id === x.Id)) return undefined;
    return now.find((y) => y.Labels[L.service] === x.Labels[L.service] && y.Labels[L.number] === x.Labels[L.number]);
  };
  const pumps = list.map(async (first) => {
    let x = first;
    const name = displayName(x, r.name);
    let code: number;
    for (let since = String(o.since); ; ) {
      const tty = await client.containers.inspect(x.Id).then((i) => i.Config.Tty === true, () => false);
      const logs = client.containers.logs(x.Id, { stdout: true, stderr: true, follow: true, since, signal: abortLogs.signal });
      const pump = logs.then((s) => printer.pump(name, s, tty)).catch(() => {});
      code = await exitCodeOf(client, x.Id).catch(() => -1);
      await Promise.race([pump, new Promise((res) => setTimeout(res, 500))]);
      const next = await replacement(x);
      if (!next) break;
      x = next;
      since = String(Math.floor(Date.now() / 1000) - 1);
    }
    if (!stopping) c.cli.stdout.write(`${name} exited with code ${code}\n`);
    if (o.exitFrom ? x.Labels[L.service] === o.exitFrom : false) exitCode = code;
    remaining--;
    if (!stopping && (o.abort || (o.abortOnFailure && code !== 0))) {
      if (!o.exitFrom && code !== 0) exitCode = code;
      c.cli.stdout.write(`Aborting on container exit...\n`);
      await stopAll();
      resolveDone();
    }
    if (remaining === 0) resolveDone();
  });
  if (!list.length) resolveDone();
  await done;
  abortLogs.abort();
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigint);
  void pumps;
  return exitCode;
}

export const downCommand: ComposeCommand = {
  name: 'down',
  usage: 'down [OPTIONS] [SERVICES]',
  description: 'Stop and remove containers, networks',
  flags: [
    { name: 'volumes', short: 'v', type: 'bool', description: 'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers' },
    { name: 'rmi', type: 'string', description: 'Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")' },
    { name: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
    timeoutFlag,
  ],
  async run(c, args, f) {
    const rmi = f.rmi as string | undefined;
    if (rmi && rmi !== 'all' && rmi !== 'local') throw new CliExit(1, `invalid value for --rmi: ${rmi}`);
    let project;
    try {
      project = c.project();
    } catch (e) {
      // Without a compose file, `-p NAME down` still works from the labels alone.
      const name = (c.global['project-name'] as string | undefined) || process.env.COMPOSE_PROJECT_NAME;
      if (!name) throw e;
      project = { name, workingDir: process.cwd(), configFiles: [], envFiles: [], services: {}, disabled: {}, networks: {}, volumes: {}, secrets: {}, configs: {} };
    }
    const r = await c.runner(project);
    await withProgress(r, () => r.down({ volumes: f.volumes === true, removeOrphans: f['remove-orphans'] === true || !Object.keys(project.services).length, rmi: rmi as 'all' | undefined, timeout: f.timeout as number | undefined, services: args }));
  },
};

export const createCommand: ComposeCommand = {
  name: 'create',
  usage: 'create [OPTIONS] [SERVICE...]',
  description: 'Creates containers for a service',
  flags: upFlags!.filter((x) => ['build', 'no-build', 'pull', 'force-recreate', 'no-recreate', 'remove-orphans', 'scale', 'quiet-pull'].includes(x.name)),
  async run(c, args, f) {
    const project = c.project(args);
    const r = await c.runner(project);
    await withProgress(r, () =>
      r.up({ services: args, noStart: true, build: f.build === true, noBuild: f['no-build'] === true, forceRecreate: f['force-recreate'] === true, noRecreate: f['no-recreate'] === true, pull: f.pull as 'always', scale: parseScale(f.scale as string[]), removeOrphans: f['remove-orphans'] === true }),
    );
  },
};

function simple(name: string, description: string, verb: string, done: string, op: (r: ProjectRunner, x: ProjectContainer, f: Record<string, unknown>) => Promise<void>, opts: { order?: 'start' | 'stop'; flags?: ComposeCommand['flags']; filter?: (x: ProjectContainer) => boolean; expand?: (r: ProjectRunner, services: string[], f: Record<string, unknown>) => string[] } = {}): ComposeCommand {
  return {
    name,
    usage: `${name} [OPTIONS] [SERVICE...]`,
    description,
    flags: opts.flags,
    async run(c, args, f) {
      const project = c.project(args);
      const r = await c.runner(project);
      const list = (await selected(c, r, args.length && opts.expand ? opts.expand(r, args, f) : args)).filter(opts.filter ?? (() => true));
      await withProgress(r, () =>
        r.eachService(list, opts.order ?? 'start', async (x) => {
          r.progress.event('Container', cname(x), verb);
          await op(r, x, f);
          r.progress.event('Container', cname(x), done, { done: true });
        }),
      );
    },
  };
}

export const startCommand = simple('start', 'Start services', 'Starting', 'Started', (r, x) => r.client.containers.start(x.Id), { filter: (x) => x.State !== 'running' });
export const stopCommand = simple('stop', 'Stop services', 'Stopping', 'Stopped', (r, x, f) => r.client.containers.stop(x.Id, { timeout: stopTimeout(r.project.services[x.Labels[L.service]], f.timeout as number | undefined) }), { order: 'stop', flags: [timeoutFlag], filter: (x) => x.State === 'running' || x.State === 'paused' || x.State === 'restarting' });
export const restartCommand = simple('restart', 'Restart service containers', 'Restarting', 'Started', (r, x, f) => r.client.containers.restart(x.Id, { timeout: stopTimeout(r.project.services[x.Labels[L.service]], f.timeout as number | undefined) }), {
  flags: [timeoutFlag, { name: 'no-deps', type: 'bool', description: "Don't restart dependent services" }],
  // Services that depend on a restarted one with `restart: true` are restarted too (after it), unless --no-deps.
  expand: (r, services, f) => (f['no-deps'] === true ? services : restartDependents(r.project.services, services)),
});

/** `services` plus, transitively, every service depending on one of them with `depends_on.<x>.restart: true`. */
export function restartDependents(all: Record<string, { depends_on?: Record<string, { restart: boolean }> }>, services: string[]): string[] {
  const out = new Set(services);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [n, s] of Object.entries(all)) {
      if (out.has(n)) continue;
      if (Object.entries(s.depends_on ?? {}).some(([d, x]) => x.restart && out.has(d))) {
        out.add(n);
        grew = true;
      }
    }
  }
  return [...out];
}
export const pauseCommand = simple('pause', 'Pause services', 'Pausing', 'Paused', (r, x) => r.client.containers.pause(x.Id), { filter: (x) => x.State === 'running' });
export const unpauseCommand = simple('unpause', 'Unpause services', 'Unpausing', 'Unpaused', (r, x) => r.client.containers.unpause(x.Id), { filter: (x) => x.State === 'paused' });
export const killCommand = simple('kill', 'Force stop service containers', 'Killing', 'Killed', (r, x, f) => r.client.containers.kill(x.Id, (f.signal as string) || 'SIGKILL'), {
  order: 'stop',
  flags: [
    { name: 'signal', short: 's', type: 'string', description: 'SIGNAL to send to the container', default: 'SIGKILL' },
    { name: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
  ],
  filter: (x) => x.State === 'running' || x.State === 'paused' || x.State === 'restarting',
});

export const rmCommand: ComposeCommand = {
  name: 'rm',
  usage: 'rm [OPTIONS] [SERVICE...]',
  description: 'Removes stopped service containers',
  flags: [
    { name: 'force', short: 'f', type: 'bool', description: "Don't ask to confirm removal" },
    { name: 'stop', short: 's', type: 'bool', description: 'Stop the containers, if required, before removing' },
    { name: 'volumes', short: 'v', type: 'bool', description: 'Remove any anonymous volumes attached to containers' },
  ],
  async run(c, args, f) {
    const project = c.project(args);
    const r = await c.runner(project);
    let list = await selected(c, r, args);
    if (f.stop === true) {
      await withProgress(r, () => r.eachService(list.filter((x) => x.State === 'running'), 'stop', async (x) => {
        r.progress.event('Container', cname(x), 'Stopping');
        await r.client.containers.stop(x.Id, { timeout: stopTimeout(project.services[x.Labels[L.service]]) });
        r.progress.event('Container', cname(x), 'Stopped', { done: true });
      }));
      list = await selected(c, r, args);
    }
    const stopped = list.filter((x) => x.State !== 'running' && x.State !== 'paused' && x.State !== 'restarting');
    if (!stopped.length) {
      c.cli.stderr.write('No stopped containers\n');
      return;
    }
    if (f.force !== true) {
      c.cli.stdout.write(`Going to remove ${stopped.map(cname).join(', ')}\n`);
      if (!c.cli.stdin.isTTY) throw new CliExit(1, 'confirmation required: use -f to remove without asking');
      c.cli.stdout.write('? Are you sure you want to remove them? (y/N) ');
      const { readLine } = await import('../container/util.js');
      const answer = (await readLine(c.cli.stdin)).trim().toLowerCase();
      if (answer !== 'y' && answer !== 'yes') return;
    }
    await withProgress(r, () => Promise.all(stopped.map((x) => r.removeContainer(x, { volumes: f.volumes === true }))).then(() => undefined));
  },
};

export const waitCommand: ComposeCommand = {
  name: 'wait',
  usage: 'wait SERVICE [SERVICE...] [OPTIONS]',
  description: 'Block until containers of all (or specified) services stop.',
  minArgs: 1,
  flags: [{ name: 'down-project', type: 'bool', description: 'Drops project when the first container stops' }],
  async run(c, args, f) {
    const project = c.project(args);
    const r = await c.runner(project);
    const list = await selected(c, r, args);
    let first = 0;
    const codes = await Promise.race([
      Promise.all(list.map(async (x) => {
        const code = await exitCodeOf(r.client, x.Id);
        c.cli.stdout.write(`${code}\n`);
        first ||= code;
        return code;
      })),
      ...(f['down-project'] === true ? list.map((x) => exitCodeOf(r.client, x.Id).then((code) => [code])) : []),
    ]);
    if (f['down-project'] === true) await withProgress(r, () => r.down({}));
    return codes[0] ?? first;
  },
};

export { modelError };
