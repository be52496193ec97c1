/**
 * `berth attach`: attach the local terminal to a running container's main process.
 */
import type { ContainerInspect } from '../../../api/types/container.js';
import { CliExit, type Command } from '../../command.js';
import { attachAndRun } from './run.js';

type InspectState = ContainerInspect;

/** docker's inspectContainerAndCheckState. */
function checkState(c: InspectState): void {
  if (!c.State.Running) throw new CliExit(1, 'You cannot attach to a stopped container, start it first');
  if (c.State.Paused) throw new CliExit(1, 'You cannot attach to a paused container, unpause it first');
  if (c.State.Restarting) throw new CliExit(1, 'You cannot attach to a restarting container, wait until it is running');
}

export const attachCommand: Command = {
  name: 'attach',
  usage: 'attach [OPTIONS] CONTAINER',
  description: 'Attach local standard input, output, and error streams to a running container',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' },
    { name: 'no-stdin', type: 'bool', description: 'Do not attach STDIN' },
    { name: 'sig-proxy', type: 'bool', description: 'Proxy all received signals to the process', default: true },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const c: InspectState = await client.containers.inspect(args[0]!);
    checkState(c);
    const noStdin = flags['no-stdin'] === true;
    if (!noStdin && c.Config.Tty && !ctx.stdin.isTTY) throw new CliExit(1, 'the input device is not a TTY');
    return attachAndRun(
      ctx,
      client,
      {
        id: c.Id,
        tty: c.Config.Tty === true,
        stdin: !noStdin && c.Config.OpenStdin === true,
        stdout: true,
        stderr: true,
        detachKeys: (flags['detach-keys'] as string | undefined) || undefined,
        autoRemove: false,
        sigProxy: flags['sig-proxy'] === true && !c.Config.Tty,
        wait: true,
        onDetach: () => {
          throw new CliExit(1, 'read escape sequence');
        },
      },
      (e) => {
        throw e;
      },
    );
  },
};
