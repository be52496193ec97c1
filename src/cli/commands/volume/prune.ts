/** `berth volume prune [-a] [-f] [--filter]`: docker's warning, prompt, `Deleted Volumes:` list and reclaimed space. */
import { Command } from '../../command.js';
import { filtersFromArgs } from '../../../pkg/filters/filters.js';
import { humanSize } from '../../../pkg/units/units.js';
import { confirm } from './shared.js';

const ANON_WARNING = 'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?';
const ALL_WARNING = 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?';

export const volumePruneCommand: Command = {
  name: 'prune',
  usage: 'prune [OPTIONS]',
  description: 'Remove unused local volumes',
  maxArgs: 0,
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Remove all unused volumes, not just anonymous ones' },
    { name: 'filter', type: 'list', description: "Provide filter values (e.g. 'label=<label>')", valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
  ],
  async run(ctx, _args, flags) {
    const filters = filtersFromArgs(flags.filter as string[]);
    if (flags.all) filters.add('all', 'true');
    if (!flags.force && !(await confirm(ctx, flags.all ? ALL_WARNING : ANON_WARNING))) return 0;
    const client = await ctx.client();
    const report = await client.volumes.prune(filters);
    let out = '';
    if (report.VolumesDeleted?.length) out = `Deleted Volumes:\n${report.VolumesDeleted.map((n) => `${n}\n`).join('')}\n`;
    ctx.stdout.write(`${out}Total reclaimed space: ${humanSize(report.VolumesDeleted?.length ? report.SpaceReclaimed : 0)}\n`);
  },
};
