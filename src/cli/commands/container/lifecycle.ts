/**
 * Lifecycle commands: start, stop, restart, kill, rm, pause, unpause, wait, rename — docker's output (each
 * container named as given, on success) and errors (all collected, exit 1).
 */
import type { FlagSpec } from '../../../pkg/flags/flags.js';
import { CliExit, type Command } from '../../command.js';
import { attachAndRun } from './run.js';
import { errorText, fatal, forEachContainer, isNotFound } from './util.js';

const signalFlag: FlagSpec = { name: 'signal', short: 's', type: 'string', description: 'Signal to send to the container' };
const timeoutFlag: FlagSpec = { name: 'timeout', short: 't', type: 'int', description: 'Seconds to wait before killing the container', aliases: ['time'] };

export const startCommand: Command = {
  name: 'start',
  usage: 'start [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Start one or more stopped containers',
  minArgs: 1,
  flags: [
    { name: 'attach', short: 'a', type: 'bool', description: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'checkpoint', type: 'string', description: 'Restore from this checkpoint', hidden: true },
    { name: 'checkpoint-dir', type: 'string', description: 'Use a custom checkpoint storage directory', hidden: true },
    { name: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' },
    { name: 'interactive', short: 'i', type: 'bool', description: "Attach container's STDIN" },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    if (flags.attach === true || flags.interactive === true) {
      if (args.length > 1) throw new CliExit(1, 'you cannot start and attach multiple containers at once');
      const c = await client.containers.inspect(args[0]!);
      const stdin = flags.interactive === true && c.Config.OpenStdin === true;
      if (stdin && c.Config.Tty && !ctx.stdin.isTTY) throw new CliExit(1, 'the input device is not a TTY');
      return attachAndRun(
        ctx,
        client,
        {
          id: c.Id,
          tty: c.Config.Tty === true,
          stdin,
          stdout: true,
          stderr: true,
          detachKeys: (flags['detach-keys'] as string | undefined) || undefined,
          autoRemove: c.HostConfig?.AutoRemove === true,
          sigProxy: !c.Config.Tty,
          start: async () => {
            await client.containers.start(c.Id);
          },
          wait: true,
        },
        (e) => {
          throw e;
        },
      );
    }
    const failed: string[] = [];
    for (const name of args) {
      try {
        await client.containers.start(name);
        ctx.stdout.write(name + '\n');
      } catch (e) {
        fatal(e);
        ctx.stderr.write(errorText(e) + '\n');
        failed.push(name);
      }
    }
    if (failed.length) throw new CliExit(1, `Error: failed to start containers: ${failed.join(', ')}`);
  },
};

export const stopCommand: Command = {
  name: 'stop',
  usage: 'stop [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Stop one or more running containers',
  minArgs: 1,
  flags: [signalFlag, timeoutFlag],
  async run(ctx, args, flags, set) {
    const client = await ctx.client();
    const opts = { signal: (flags.signal as string | undefined) || undefined, timeout: set.has('timeout') ? (flags.timeout as number) : undefined };
    await forEachContainer(ctx, args, (n) => client.containers.stop(n, opts));
  },
};

export const restartCommand: Command = {
  name: 'restart',
  usage: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Restart one or more containers',
  minArgs: 1,
  flags: [signalFlag, timeoutFlag],
  async run(ctx, args, flags, set) {
    const client = await ctx.client();
    const opts = { signal: (flags.signal as string | undefined) || undefined, timeout: set.has('timeout') ? (flags.timeout as number) : undefined };
    // docker restarts one after the other.
    await forEachContainer(ctx, args, (n) => client.containers.restart(n, opts), { sequential: true });
  },
};

export const killCommand: Command = {
  name: 'kill',
  usage: 'kill [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Kill one or more running containers',
  minArgs: 1,
  flags: [signalFlag],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const signal = (flags.signal as string | undefined) || undefined;
    await forEachContainer(ctx, args, (n) => client.containers.kill(n, signal));
  },
};

export const rmCommand: Command = {
  name: 'rm',
  aliases: ['remove'],
  usage: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Remove one or more containers',
  minArgs: 1,
  flags: [
    { name: 'force', short: 'f', type: 'bool', description: 'Force the removal of a running container (uses SIGKILL)' },
    { name: 'link', short: 'l', type: 'bool', description: 'Remove the specified link' },
    { name: 'volumes', short: 'v', type: 'bool', description: 'Remove anonymous volumes associated with the container' },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const force = flags.force === true;
    const opts = { volumes: flags.volumes === true, link: flags.link === true, force };
    await forEachContainer(
      ctx,
      args,
      async (n) => {
        const id = n.replace(/^\/+|\/+$/g, '');
        if (id === '') throw new Error('Container name cannot be empty');
        await client.containers.remove(id, opts);
      },
      { ignore: (e) => force && isNotFound(e) },
    );
  },
};

function simpleCommand(name: string, description: string, verb: 'pause' | 'unpause'): Command {
  return {
    name,
    usage: `${name} CONTAINER [CONTAINER...]`,
    description,
    minArgs: 1,
    async run(ctx, args) {
      const client = await ctx.client();
      await forEachContainer(ctx, args, (n) => client.containers[verb](n));
    },
  };
}

export const pauseCommand = simpleCommand('pause', 'Pause all processes within one or more containers', 'pause');
export const unpauseCommand = simpleCommand('unpause', 'Unpause all processes within one or more containers', 'unpause');

export const waitCommand: Command = {
  name: 'wait',
  usage: 'wait CONTAINER [CONTAINER...]',
  description: 'Block until one or more containers stop, then print their exit codes',
  minArgs: 1,
  async run(ctx, args) {
    const client = await ctx.client();
    const wait = async (n: string) => {
      const body = await (await client.containers.wait(n)).result;
      if (body.Error?.Message) throw new Error(body.Error.Message);
      ctx.stdout.write(`${body.StatusCode ?? 0}\n`);
    };
    await forEachContainer(ctx, args, wait, { sequential: true, print: false });
  },
};

export const renameCommand: Command = {
  name: 'rename',
  usage: 'rename CONTAINER NEW_NAME',
  description: 'Rename a container',
  minArgs: 2,
  maxArgs: 2,
  async run(ctx, args) {
    const oldName = args[0]!.trim();
    const newName = args[1]!.trim();
    if (oldName === '' || newName === '') throw new CliExit(1, 'Error: Neither old nor new names may be empty');
    const client = await ctx.client();
    await client.containers.rename(oldName, newName);
  },
};
