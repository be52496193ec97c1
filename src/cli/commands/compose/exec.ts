/**
 * `exec` and `run`: a command in a service's container, or in a new one-off container of the service. The streams
 * are berth's own exec/start code (src/cli/commands/container), so TTYs, stdin and exit codes behave as `docker
 * exec` / `docker run` do; that code (with the container flag parser behind it) loads only when one of them runs.
 */
import crypto from 'node:crypto';
import { ComposeError } from '../../../compose/apply.js';
import { serviceContainers } from '../../../compose/containers.js';
import { createSpec } from '../../../compose/convert.js';
import { L } from '../../../compose/labels.js';
import { withDependencies } from '../../../compose/plan.js';
import { CliExit } from '../../command.js';
import type { ComposeCommand } from './command.js';

export const execComposeCommand: ComposeCommand = {
  name: 'exec',
  usage: 'exec [OPTIONS] SERVICE COMMAND [ARGS...]',
  description: 'Execute a command in a running container',
  interspersed: false,
  minArgs: 2,
  flags: [
    { name: 'detach', short: 'd', type: 'bool', description: 'Detached mode: Run command in the background' },
    { name: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
    { name: 'index', type: 'int', description: 'Index of the container if service has multiple replicas', default: 0 },
    { name: 'no-TTY', short: 'T', type: 'bool', description: 'Disable pseudo-TTY allocation. By default `docker compose exec` allocates a TTY.' },
    { name: 'privileged', type: 'bool', description: 'Give extended privileges to the process' },
    { name: 'user', short: 'u', type: 'string', description: 'Run the command as this user' },
    { name: 'workdir', short: 'w', type: 'string', description: 'Path to workdir directory for this command' },
    { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached', default: true, hidden: true },
    { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY', default: true, hidden: true },
  ],
  async run(c, args, f) {
    const [service, ...cmd] = args;
    const name = c.projectName();
    const list = await serviceContainers(await c.client(), name, service);
    const index = (f.index as number) || 1;
    const target = list.find((x) => Number(x.Labels[L.number]) === index) ?? (f.index ? undefined : list[0]);
    if (!target) throw new CliExit(1, `service "${service}" is not running`);
    const tty = f['no-TTY'] !== true && f.tty !== false && Boolean(c.cli.stdin.isTTY);
    const set = new Set<string>();
    const { execCommand } = await import('../container/exec.js');
    return execCommand.run!(c.cli, [target.Id, ...cmd], { detach: f.detach === true, env: f.env as string[], 'env-file': [], interactive: f.detach !== true && f.interactive !== false, privileged: f.privileged === true, tty, user: f.user as string | undefined, workdir: f.workdir as string | undefined }, set);
  },
};

export const runComposeCommand: ComposeCommand = {
  name: 'run',
  usage: 'run [OPTIONS] SERVICE [COMMAND] [ARGS...]',
  description: 'Run a one-off command on a service',
  interspersed: false,
  minArgs: 1,
  flags: [
    { name: 'detach', short: 'd', type: 'bool', description: 'Run container in background and print container ID' },
    { name: 'rm', type: 'bool', description: 'Automatically remove the container when it exits' },
    { name: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
    { name: 'entrypoint', type: 'string', description: 'Override the entrypoint of the image' },
    { name: 'name', type: 'string', description: 'Assign a name to the container' },
    { name: 'no-deps', type: 'bool', description: "Don't start linked services" },
    { name: 'no-TTY', short: 'T', type: 'bool', description: 'Disable pseudo-TTY allocation (default: auto-detected)' },
    { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached', default: true },
    { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY', default: true, hidden: true },
    { name: 'user', short: 'u', type: 'string', description: 'Run as specified username or uid' },
    { name: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
    { name: 'label', short: 'l', type: 'list', description: 'Add or override a label' },
    { name: 'service-ports', short: 'P', type: 'bool', description: "Run command with all service's ports enabled and mapped to the host" },
    { name: 'build', type: 'bool', description: 'Build image before starting container' },
    { name: 'pull', type: 'string', description: 'Pull image before running ("always"|"missing"|"never")', default: 'policy' },
    { name: 'quiet-pull', type: 'bool', description: 'Pull without printing progress information' },
    { name: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
  ],
  async run(c, args, f) {
    const [service, ...cmd] = args;
    const project = c.project([service]);
    const s = project.services[service];
    if (!s) throw new CliExit(1, `no such service: ${service}`);
    const r = await c.runner(project);
    const deps = f['no-deps'] === true ? [] : withDependencies(project.services, [service]).filter((n) => n !== service);
    try {
      if (deps.length) await r.up({ services: deps, removeOrphans: f['remove-orphans'] === true });
      else await Promise.all([r.ensureNetworks([service]), r.ensureVolumes([service])]);
      const ids = await r.ensureImages([service], { build: f.build === true, pull: f.pull as 'always' });
      await r.waitDependencies(s, deps);
      r.progress.stop();
      const tty = f['no-TTY'] !== true && f.tty !== false && Boolean(c.cli.stdin.isTTY);
      const interactive = f.interactive !== false && f.detach !== true;
      const labels: Record<string, string> = {};
      for (const l of f.label as string[]) {
        const i = l.indexOf('=');
        labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
      }
      const name = (f.name as string | undefined) ?? `${project.name}-${service}-run-${crypto.randomBytes(6).toString('hex')}`;
      const entrypoint = f.entrypoint !== undefined ? (f.entrypoint === '' ? [''] : [f.entrypoint as string]) : undefined;
      const spec = createSpec(project, s, {
        number: 1,
        oneoff: true,
        name,
        imageId: ids.get(service),
        command: cmd.length ? cmd : undefined,
        entrypoint,
        env: f.env as string[],
        user: f.user as string | undefined,
        workdir: f.workdir as string | undefined,
        tty,
        stdinOpen: interactive,
        noPorts: f['service-ports'] !== true,
        autoRemove: f.rm === true && f.detach !== true,
        extraLabels: labels,
      });
      if (f.rm === true && f.detach === true) throw new CliExit(1, '--rm and --detach cannot be combined');
      // A one-off container is never restarted by policy (Compose clears it for `run`).
      spec.body.HostConfig = { ...spec.body.HostConfig, RestartPolicy: { Name: 'no' } };
      if (interactive) Object.assign(spec.body, { AttachStdin: true, StdinOnce: true });
      Object.assign(spec.body, { AttachStdout: true, AttachStderr: true });
      const { Id: id } = await r.client.containers.create(spec.body, { name: spec.name });
      for (const n of spec.extraNetworks) await r.client.networks.connect(n.name, id, n.endpoint);
      if (f.detach === true) {
        await r.client.containers.start(id);
        c.cli.stdout.write(`${spec.name}\n`);
        return 0;
      }
      const { startCommand } = await import('../container/lifecycle.js');
      return await startCommand.run!(c.cli, [id], { attach: true, interactive }, new Set());
    } catch (e) {
      r.progress.stop();
      if (e instanceof ComposeError) throw new CliExit(1, e.message);
      throw e;
    }
  },
};
