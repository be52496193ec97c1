import type { Command } from '../../command.js';
import { volumeCreateCommand } from './create.js';
import { volumeInspectCommand } from './inspect.js';
import { volumeLsCommand } from './ls.js';
import { volumePruneCommand } from './prune.js';
import { volumeRmCommand } from './rm.js';

/** `berth volume …`. */
export const volumeCommand: Command = {
  name: 'volume',
  usage: 'volume COMMAND',
  description: 'Manage volumes',
  subcommands: [volumeCreateCommand, volumeInspectCommand, volumeLsCommand, volumePruneCommand, volumeRmCommand],
};
