/** `berth volume rm [-f] VOLUME...`: prints each removed name; errors are reported together, exit 1. */
import { Command } from '../../command.js';

export const volumeRmCommand: Command = {
  name: 'rm',
  aliases: ['remove'],
  usage: 'rm [OPTIONS] VOLUME [VOLUME...]',
  description: 'Remove one or more volumes',
  minArgs: 1,
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force the removal of one or more volumes' }],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const errors: string[] = [];
    for (const name of args) {
      try {
        await client.volumes.remove(name, { force: flags.force === true });
        ctx.stdout.write(`${name}\n`);
      } catch (e) {
        if (!(e as { kind?: string }).kind) throw e;
        errors.push(`Error response from daemon: ${(e as Error).message}`);
      }
    }
    if (errors.length) {
      ctx.stderr.write(errors.join('\n') + '\n');
      return 1;
    }
  },
};
