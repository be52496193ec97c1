/**
 * `berth container …` and docker's top-level container shortcuts (`run`, `ps`, `exec`, `logs`, …).
 */
import type { Command } from '../../command.js';
import { attachCommand } from './attach.js';
import { commitCommand, exportCommand } from './commit.js';
import { cpCommand } from './cp.js';
import { execCommand } from './exec.js';
import { diffCommand, portCommand, topCommand } from './info.js';
import { containerInspectCommand, inspectCommand } from './inspect.js';
import {
  killCommand,
  pauseCommand,
  renameCommand,
  restartCommand,
  rmCommand,
  startCommand,
  stopCommand,
  unpauseCommand,
  waitCommand,
} from './lifecycle.js';
import { logsCommand } from './logs.js';
import { pruneCommand } from './prune.js';
import { psCommand } from './ps.js';
import { createCommand, runCommand } from './run.js';
import { statsCommand } from './stats.js';
import { updateCommand } from './update.js';

/** `container ls` (aliases `list`, `ps`): the same command as `ps`. */
const lsCommand: Command = { ...psCommand, name: 'ls', aliases: ['list', 'ps'], usage: 'ls [OPTIONS]' };

const shared: Command[] = [
  attachCommand,
  commitCommand,
  cpCommand,
  createCommand,
  diffCommand,
  execCommand,
  exportCommand,
  killCommand,
  logsCommand,
  pauseCommand,
  portCommand,
  renameCommand,
  restartCommand,
  rmCommand,
  runCommand,
  startCommand,
  statsCommand,
  stopCommand,
  topCommand,
  unpauseCommand,
  updateCommand,
  waitCommand,
];

export const containerCommand: Command = {
  name: 'container',
  usage: 'container COMMAND',
  description: 'Manage containers',
  subcommands: [...shared, containerInspectCommand, lsCommand, pruneCommand].sort((a, b) => (a.name < b.name ? -1 : 1)),
};

/** The top-level shortcuts docker has for container commands (`inspect` is the any-object one). */
export const containerShortcuts: Command[] = [...shared, psCommand, inspectCommand];
