/** `berth volume create [OPTIONS] [VOLUME]`: prints the volume's name. */
import { CliExit, Command } from '../../command.js';

function toMap(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    out[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? '' : kv.slice(eq + 1);
  }
  return out;
}

export const volumeCreateCommand: Command = {
  name: 'create',
  usage: 'create [OPTIONS] [VOLUME]',
  description: 'Create a volume',
  maxArgs: 1,
  flags: [
    { name: 'driver', short: 'd', type: 'string', description: 'Specify volume driver name', default: 'local', valueName: 'string' },
    { name: 'label', type: 'list', description: 'Set metadata for a volume', valueName: 'list' },
    { name: 'opt', short: 'o', type: 'list', description: 'Set driver specific options', valueName: 'map' },
    { name: 'name', type: 'string', description: 'Specify volume name', hidden: true, valueName: 'string' },
  ],
  async run(ctx, args, flags, set) {
    let name = (flags.name as string | undefined) ?? '';
    if (args.length) {
      if (set.has('name')) throw new CliExit(1, 'conflicting options: cannot specify a volume-name through both --name and as a positional arg');
      name = args[0]!;
    }
    const client = await ctx.client();
    const v = await client.volumes.create({ Name: name, Driver: flags.driver as string, DriverOpts: toMap(flags.opt as string[]), Labels: toMap(flags.label as string[]) });
    ctx.stdout.write(`${v.Name}\n`);
  },
};
