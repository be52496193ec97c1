/**
 * Every top-level CLI command. Groups (`image`, `container`, `system`, …) and docker's top-level shortcuts (`ps`,
 * `images`, `rmi`, …) are registered here.
 */
import type { Command } from '../command.js';
import { infoCommand } from './system/info.js';
import { systemCommand } from './system/index.js';
import { versionCommand } from './system/version.js';
import { imageCommand, imageShortcuts } from './image/index.js';

export const rootCommands: Command[] = [
  versionCommand,
  infoCommand,
  systemCommand,
  imageCommand,
  ...imageShortcuts,
  // (container, network, volume commands register here as they land)
];
