/**
 * `berth container prune`: remove stopped containers, after docker's confirmation prompt.
 */
import { humanSizeWithPrecision } from '../../../pkg/units/units.js';
import type { Command } from '../../command.js';
import { filterQuery } from './ps.js';
import { confirm } from './util.js';

export const pruneCommand: Command = {
  name: 'prune',
  usage: 'prune [OPTIONS]',
  description: 'Remove all stopped containers',
  maxArgs: 0,
  flags: [
    { name: 'filter', type: 'list', description: 'Provide filter values (e.g. "until=<timestamp>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
  ],
  async run(ctx, _args, flags) {
    const filters = filterQuery(ctx.prog, 'container prune [OPTIONS]', 'container prune', (flags.filter as string[]) ?? []);
    if (flags.force !== true && !(await confirm(ctx, 'WARNING! This will remove all stopped containers.'))) return 0;
    const client = await ctx.client();
    const r = await client.containers.prune(filters);
    let space = 0;
    if (r?.ContainersDeleted?.length) {
      ctx.stdout.write('Deleted Containers:\n' + r.ContainersDeleted.map((id) => id + '\n').join('') + '\n');
      space = r.SpaceReclaimed ?? 0;
    }
    ctx.stdout.write(`Total reclaimed space: ${humanSizeWithPrecision(space, 4)}\n`);
  },
};
