/** build, pull, push, cp: images of a project's services, and files in and out of its containers. */
import { ComposeError } from '../../../compose/apply.js';
import { unlessNotFound } from '../../../client/index.js';
import { serviceContainers } from '../../../compose/containers.js';
import { imageName } from '../../../compose/convert.js';
import { pushImage } from '../../../compose/images.js';
import { L } from '../../../compose/labels.js';
import { CliExit } from '../../command.js';
import type { ComposeCommand } from './command.js';

export const buildComposeCommand: ComposeCommand = {
  name: 'build',
  usage: 'build [OPTIONS] [SERVICE...]',
  description: 'Build or rebuild services',
  flags: [
    { name: 'build-arg', type: 'list', description: 'Set build-time variables for services' },
    { name: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
    { name: 'pull', type: 'bool', description: 'Always attempt to pull a newer version of the image' },
    { name: 'quiet', short: 'q', type: 'bool', description: "Don't print anything to STDOUT" },
    { name: 'with-dependencies', type: 'bool', description: 'Also build dependencies (transitively)' },
  ],
  async run(c, args, f) {
    const project = c.project(args);
    const r = await c.runner(project, 'Building');
    const names = (args.length ? args : Object.keys(project.services)).filter((n) => project.services[n]?.build);
    for (const a of f['build-arg'] as string[]) {
      const i = a.indexOf('=');
      for (const n of names) {
        const b = project.services[n].build!;
        b.args = { ...(b.args ?? {}), [i < 0 ? a : a.slice(0, i)]: i < 0 ? (process.env[a] ?? null) : a.slice(i + 1) };
      }
    }
    try {
      // Builds share the daemon's CPU: one at a time keeps the output readable and the cache warm for the next.
      for (const n of names) await r.build(project.services[n], { noCache: f['no-cache'] === true, pull: f.pull === true, onLine: f.quiet === true ? undefined : (l) => c.cli.stderr.write(l) });
    } catch (e) {
      r.progress.stop();
      if (e instanceof ComposeError) throw new CliExit(1, e.message);
      throw e;
    }
    r.progress.stop();
  },
};

export const pullComposeCommand: ComposeCommand = {
  name: 'pull',
  usage: 'pull [OPTIONS] [SERVICE...]',
  description: 'Pull service images',
  flags: [
    { name: 'ignore-pull-failures', type: 'bool', description: 'Pull what it can and ignores images with pull failures' },
    { name: 'ignore-buildable', type: 'bool', description: 'Ignore images that can be built' },
    { name: 'include-deps', type: 'bool', description: 'Also pull services declared as dependencies' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Pull without printing progress information' },
    { name: 'policy', type: 'string', description: 'Apply pull policy ("missing"|"always")' },
  ],
  async run(c, args, f) {
    const project = c.project(args);
    const r = await c.runner(project, 'Pulling');
    const names = (args.length ? args : Object.keys(project.services)).filter((n) => project.services[n]?.image && !(f['ignore-buildable'] === true && project.services[n].build));
    const failures: string[] = [];
    await Promise.all(
      names.map(async (n) => {
        const s = project.services[n];
        if (f.policy === 'missing' && (await unlessNotFound(r.client.images.inspect(s.image!)))) return;
        try {
          await r.pull(s);
        } catch (e) {
          // A service that can be built is allowed to have no image to pull (Compose warns and goes on).
          if (s.build || f['ignore-pull-failures'] === true) r.progress.note(`WARN[0000] ${(e as Error).message}`);
          else failures.push((e as Error).message);
        }
      }),
    );
    r.progress.stop();
    if (failures.length) throw new CliExit(1, failures[0]);
  },
};

export const pushComposeCommand: ComposeCommand = {
  name: 'push',
  usage: 'push [OPTIONS] [SERVICE...]',
  description: 'Push service images',
  flags: [
    { name: 'ignore-push-failures', type: 'bool', description: 'Push what it can and ignores images with push failures' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Push without printing progress information' },
  ],
  async run(c, args, f) {
    const project = c.project(args);
    const r = await c.runner(project, 'Pushing');
    const names = (args.length ? args : Object.keys(project.services)).filter((n) => project.services[n]?.image);
    const { registryAuthFor } = await import('./registry-auth.js');
    for (const n of names) {
      const ref = imageName(project, project.services[n]);
      r.progress.event('Image', ref, 'Pushing');
      try {
        await pushImage(r.client, ref, registryAuthFor(ref));
        r.progress.event('Image', ref, 'Pushed', { done: true });
      } catch (e) {
        r.progress.event('Image', ref, 'Error', { error: true });
        if (f['ignore-push-failures'] !== true) {
          r.progress.stop();
          throw new CliExit(1, (e as Error).message);
        }
      }
    }
    r.progress.stop();
  },
};

export const cpComposeCommand: ComposeCommand = {
  name: 'cp',
  usage: 'cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tdocker compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH',
  description: 'Copy files/folders between a service container and the local filesystem',
  minArgs: 2,
  maxArgs: 2,
  flags: [
    { name: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
    { name: 'index', type: 'int', description: 'Index of the container if service has multiple replicas', default: 0 },
  ],
  async run(c, args, f) {
    const name = c.projectName();
    const client = await c.client();
    const resolve = async (arg: string): Promise<string> => {
      const i = arg.indexOf(':');
      if (i <= 0 || arg.startsWith('/') || arg.startsWith('.')) return arg;
      const service = arg.slice(0, i);
      const list = await serviceContainers(client, name, service, { all: true });
      const x = f.index ? list.find((y) => Number(y.Labels[L.number]) === f.index) : list[0];
      if (!x) throw new CliExit(1, `no container found for service "${service}"`);
      return `${x.Id}:${arg.slice(i + 1)}`;
    };
    const { cpCommand } = await import('../container/cp.js');
    return cpCommand.run!(c.cli, [await resolve(args[0]), await resolve(args[1])], { archive: f.archive === true, 'follow-link': f['follow-link'] === true, quiet: true }, new Set());
  },
};
