/** `berth events` / `berth system events`: streams daemon events, docker's line format or --format. */
import { jsonLines } from '../../../client/client.js';
import { filtersFromArgs } from '../../../pkg/filters/filters.js';
import { getTimestamp } from '../../../pkg/units/units.js';
import { Command, formatFlag } from '../../command.js';
import { renderOne } from '../../output/format.js';

interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

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
    const query: Record<string, string> = {};
    if (flags.since) query.since = getTimestamp(flags.since as string);
    if (flags.until) query.until = getTimestamp(flags.until as string);
    const filters = flags.filter as string[];
    if (filters.length) query.filters = filtersFromArgs(filters).encode();
    const res = await (await ctx.client()).request('GET', '/events', { query });
    const format = flags.format as string | undefined;
    for await (const e of jsonLines<EventMessage>(res)) {
      ctx.stdout.write((format ? renderOne(format, e) : formatEvent(e)) + '\n');
    }
  },
};
