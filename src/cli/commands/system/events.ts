/** `berth events` / `berth system events`: streams daemon events, docker's line format or --format. */
import { filtersFromArgs } from '../../../pkg/filters/filters.js';
import { getTimestamp } from '../../../pkg/units/units.js';
import { Command, formatFlag } from '../../command.js';
import { renderOne } from '../../output/format.js';

import type { EventMessage } from '../../../api/types/system.js';

/** Docker's default event line: `<RFC3339Nano> <type> <action> <id> (k=v, ...)`, attributes sorted by key. */
export function formatEvent(e: EventMessage): string {
  const secs = Math.floor(e.timeNano / 1e9);
  const nanos = String(e.timeNano % 1e9).padStart(9, '0');
  const when = new Date(secs * 1000).toISOString().replace(/\.\d{3}Z$/, `.${nanos}Z`);
  const attrs = Object.keys(e.Actor.Attributes ?? {})
    .sort()
    .map((k) => `${k}=${e.Actor.Attributes[k]}`);
  return `${when} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs.length ? ` (${attrs.join(', ')})` : ''}`;
}

export const eventsCommand: Command = {
  name: 'events',
  usage: 'events [OPTIONS]',
  description: 'Get real time events from the server',
  flags: [
    { name: 'filter', short: 'f', type: 'list', description: 'Filter output based on conditions provided', valueName: 'filter' },
    formatFlag(),
    { name: 'since', type: 'string', description: 'Show all events created since timestamp' },
    { name: 'until', type: 'string', description: 'Stream events until this timestamp' },
  ],
  maxArgs: 0,
  async run(ctx, _args, flags) {
    const since = flags.since ? getTimestamp(flags.since as string) : undefined;
    const until = flags.until ? getTimestamp(flags.until as string) : undefined;
    const filters = filtersFromArgs(flags.filter as string[]);
    const format = flags.format as string | undefined;
    for await (const e of (await ctx.client()).system.events({ since, until, filters })) {
      ctx.stdout.write((format ? await renderOne(format, e) : formatEvent(e)) + '\n');
    }
  },
};
