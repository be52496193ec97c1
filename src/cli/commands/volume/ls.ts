/** `berth volume ls`: docker's `DRIVER  VOLUME NAME` table, -q, --filter, --format; sorted by name (natural order). */
import { Command, formatFlag } from '../../command.js';
import { renderList } from '../../output/format.js';
import { filtersFromArgs } from '../../../pkg/filters/filters.js';
import { naturalLess, VOLUME_HEADERS, volumeRow } from './shared.js';

export const volumeLsCommand: Command = {
  name: 'ls',
  aliases: ['list'],
  usage: 'ls [OPTIONS]',
  description: 'List volumes',
  maxArgs: 0,
  flags: [
    { name: 'filter', short: 'f', type: 'list', description: "Provide filter values (e.g. 'dangling=true')", valueName: 'filter' },
    formatFlag(
      "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.",
    ),
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display volume names' },
  ],
  async run(ctx, _args, flags) {
    const client = await ctx.client();
    const res = await client.volumes.list({ filters: filtersFromArgs(flags.filter as string[]) });
    const vols = [...(res.Volumes ?? [])].sort((a, b) => (naturalLess(a.Name, b.Name) ? -1 : naturalLess(b.Name, a.Name) ? 1 : 0));
    const out = await renderList(
      vols.map(volumeRow),
      { defaultTable: '{{.Driver}}\t{{.Name}}', headers: VOLUME_HEADERS, quiet: '{{.Name}}' },
      flags.format as string | undefined,
      Boolean(flags.quiet),
    );
    ctx.stdout.write(out);
  },
};
