/**
 * `berth exec`: create an exec instance, start it hijacked (or detached), stream I/O, exit with its exit code.
 */
import { CliExit, type Command } from '../../command.js';
import { OptsError, readEnv } from './opts.js';
import { consoleSize, monitorTtySize, pumpStreams } from './streams.js';
import type { ExecCreateRequest } from '../../../api/types/container.js';

const USAGE = 'exec [OPTIONS] CONTAINER COMMAND [ARG...]';

export const execCommand: Command = {
  name: 'exec',
  usage: USAGE,
  description: 'Execute a command in a running container',
  interspersed: false,
  minArgs: 2,
  flags: [
    { name: 'detach', short: 'd', type: 'bool', description: 'Detached mode: run command in the background' },
    { name: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' },
    { name: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
    { name: 'env-file', type: 'list', description: 'Read in a file of environment variables' },
    { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
    { name: 'privileged', type: 'bool', description: 'Give extended privileges to the command' },
    { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
    { name: 'user', short: 'u', type: 'string', description: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { name: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
  ],
  async run(ctx, args, flags) {
    const [container, ...cmd] = args as [string, ...string[]];
    const detach = flags.detach === true;
    const tty = flags.tty === true;
    const interactive = flags.interactive === true;
    let env: string[];
    try {
      env = readEnv((flags['env-file'] as string[]) ?? [], (flags.env as string[]) ?? []);
    } catch (e) {
      const msg = (e as Error).message;
      if (e instanceof OptsError && e.flag) {
        throw new CliExit(125, `${msg}\n\nUsage:  ${ctx.prog} ${USAGE}\n\nRun '${ctx.prog} exec --help' for more information`);
      }
      throw new CliExit(1, msg);
    }
    const client = await ctx.client();
    // A dummy inspect first, so "No such container" wins over TTY errors and no exec is leaked.
    await client.containers.inspect(container);
    if (!detach && interactive && tty && !ctx.stdin.isTTY) throw new CliExit(1, 'the input device is not a TTY');

    const detachKeys = (flags['detach-keys'] as string | undefined) || undefined;
    const body: ExecCreateRequest = {
      User: (flags.user as string | undefined) ?? '',
      Privileged: flags.privileged === true,
      Tty: tty,
      AttachStdin: !detach && interactive,
      AttachStderr: !detach,
      AttachStdout: !detach,
      DetachKeys: detachKeys ?? '',
      Env: env,
      WorkingDir: (flags.workdir as string | undefined) ?? '',
      Cmd: cmd,
    };
    if (tty) body.ConsoleSize = consoleSize(ctx);
    const created = await client.containers.exec(container, body);
    const execId = created?.Id;
    if (!execId) throw new CliExit(1, 'exec ID empty');

    if (detach) {
      await client.exec.startDetached(execId, { Tty: tty, ConsoleSize: body.ConsoleSize });
      return 0;
    }
    const socket = await client.exec.start(execId, { Tty: tty, ConsoleSize: body.ConsoleSize });
    const stopResize = tty && ctx.stdin.isTTY ? monitorTtySize(ctx, (h, w) => client.exec.resize(execId, h, w)) : () => {};
    let detached = false;
    try {
      detached = (await pumpStreams(ctx, socket, { tty, stdin: interactive, output: true, detachKeys })).detached;
    } finally {
      stopResize();
      socket.destroy();
    }
    if (detached) return 0;
    const info = await client.exec.inspect(execId);
    return info?.ExitCode ?? 0;
  },
};
