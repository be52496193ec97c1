import type { Command } from '../../command.js';
import { dfCommand } from './df.js';
import { eventsCommand } from './events.js';
import { infoCommand } from './info.js';

/** `berth system …`. */
export const systemCommand: Command = {
  name: 'system',
  usage: 'COMMAND',
  description: 'Manage berth',
  subcommands: [dfCommand, eventsCommand, infoCommand],
};
