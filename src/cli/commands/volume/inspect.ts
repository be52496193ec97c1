/** `berth volume inspect VOLUME...`: a JSON array (4-space indent) or --format per volume; exit 1 if any is missing. */
import { Command } from '../../command.js';
import { renderOne } from '../../output/format.js';

export const volumeInspectCommand: Command = {
  name: 'inspect',
  usage: 'inspect [OPTIONS] VOLUME [VOLUME...]',
  description: 'Display detailed information on one or more volumes',
  minArgs: 1,
  flags: [{ name: 'format', short: 'f', type: 'string', description: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.", valueName: 'string' }],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const found: unknown[] = [];
    const errors: string[] = [];
    for (const name of args) {
      try {
        found.push(await client.volumes.inspect(name));
      } catch (e) {
        if (!(e as { kind?: string }).kind) throw e;
        errors.push(`Error response from daemon: ${(e as Error).message}`);
      }
    }
    const format = flags.format as string | undefined;
    if (format && format !== 'json') {
      for (const v of found) ctx.stdout.write((await renderOne(format, v)) + '\n');
    } else {
      ctx.stdout.write(JSON.stringify(found, null, 4) + '\n');
    }
    if (errors.length) {
      ctx.stderr.write(errors.join('\n') + '\n');
      return 1;
    }
  },
};
