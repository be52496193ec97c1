/**
 * Every top-level CLI command. Groups (`image`, `container`, `system`, …) and docker's top-level shortcuts (`ps`,
 * `images`, `rmi`, …) are registered here.
 */
import type { Command } from '../command.js';
import { infoCommand } from './system/info.js';
import { systemCommand } from './system/index.js';
import { versionCommand } from './system/version.js';
import { imageCommand, imageShortcuts } from './image/index.js';
import { networkCommand } from './network/index.js';
import { volumeCommand } from './volume/index.js'; // volumes
import { containerCommand, containerShortcuts } from './container/index.js'; // containers

export const rootCommands: Command[] = [
  versionCommand,
  infoCommand,
  systemCommand,
  imageCommand,
  ...imageShortcuts,
  networkCommand,
  volumeCommand, // volumes
  containerCommand, // containers
  ...containerShortcuts, // containers
  // (container, network, volume commands register here as they land)
];
