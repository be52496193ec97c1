/**
 * Every top-level CLI command. Groups (`image`, `container`, `system`, …) and docker's top-level shortcuts (`ps`,
 * `images`, `rmi`, …) are registered here.
 */
import type { Command } from '../command.js';
import { buildCommand, builderCommand } from './build/build.js';
import { composeCommand } from './compose/index.js';
import { containerCommand, containerShortcuts } from './container/index.js';
import { imageCommand, imageShortcuts } from './image/index.js';
import { networkCommand } from './network/index.js';
import { eventsCommand } from './system/events.js';
import { dashboardCommand } from './system/dashboard.js';
import { infoCommand } from './system/info.js';
import { systemCommand } from './system/index.js';
import { versionCommand } from './system/version.js';
import { volumeCommand } from './volume/index.js';

export const rootCommands: Command[] = [
  versionCommand,
  infoCommand,
  eventsCommand,
  dashboardCommand,
  systemCommand,
  imageCommand,
  ...imageShortcuts,
  buildCommand,
  builderCommand,
  networkCommand,
  volumeCommand,
  containerCommand,
  ...containerShortcuts,
  composeCommand,
];
