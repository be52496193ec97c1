/**
 * Every top-level CLI command. Groups (`image`, `container`, `system`, …) and docker's top-level shortcuts (`ps`,
 * `images`, `rmi`, …) are registered here.
 *
 * Loaded lazily (issue 17: the CLI within 1.5× docker's wall time): each entry names the command (and its aliases)
 * and imports its module only when that command runs, so `berth ps` parses ps's code and what it uses, not every
 * command's. The bundle (scripts/bundle-cli.mjs) turns each import into a chunk. index.test.ts checks that every
 * entry's names are exactly its command's name and aliases, so this list cannot drift from the commands.
 */
import type { Command } from '../command.js';

export interface CommandEntry {
  /** The command's name, then its aliases (as the loaded Command has them). */
  names: string[];
  load(): Promise<Command>;
}

const imageShortcut = (name: string): CommandEntry => ({
  names: [name],
  load: async () => (await import('./image/index.js')).imageShortcuts.find((c) => c.name === name)!,
});

const containerModules = {
  attach: () => import('./container/attach.js').then((m) => m.attachCommand),
  commit: () => import('./container/commit.js').then((m) => m.commitCommand),
  cp: () => import('./container/cp.js').then((m) => m.cpCommand),
  create: () => import('./container/run.js').then((m) => m.createCommand),
  diff: () => import('./container/info.js').then((m) => m.diffCommand),
  exec: () => import('./container/exec.js').then((m) => m.execCommand),
  export: () => import('./container/commit.js').then((m) => m.exportCommand),
  kill: () => import('./container/lifecycle.js').then((m) => m.killCommand),
  logs: () => import('./container/logs.js').then((m) => m.logsCommand),
  pause: () => import('./container/lifecycle.js').then((m) => m.pauseCommand),
  port: () => import('./container/info.js').then((m) => m.portCommand),
  rename: () => import('./container/lifecycle.js').then((m) => m.renameCommand),
  restart: () => import('./container/lifecycle.js').then((m) => m.restartCommand),
  rm: () => import('./container/lifecycle.js').then((m) => m.rmCommand),
  run: () => import('./container/run.js').then((m) => m.runCommand),
  start: () => import('./container/lifecycle.js').then((m) => m.startCommand),
  stats: () => import('./container/stats.js').then((m) => m.statsCommand),
  stop: () => import('./container/lifecycle.js').then((m) => m.stopCommand),
  top: () => import('./container/info.js').then((m) => m.topCommand),
  unpause: () => import('./container/lifecycle.js').then((m) => m.unpauseCommand),
  update: () => import('./container/update.js').then((m) => m.updateCommand),
  wait: () => import('./container/lifecycle.js').then((m) => m.waitCommand),
  ps: () => import('./container/ps.js').then((m) => m.psCommand),
  inspect: () => import('./container/inspect.js').then((m) => m.inspectCommand),
};

export const rootEntries: CommandEntry[] = [
  { names: ['version'], load: () => import('./system/version.js').then((m) => m.versionCommand) },
  { names: ['info'], load: () => import('./system/info.js').then((m) => m.infoCommand) },
  { names: ['events'], load: () => import('./system/events.js').then((m) => m.eventsCommand) },
  { names: ['dashboard'], load: () => import('./system/dashboard.js').then((m) => m.dashboardCommand) },
  { names: ['system'], load: () => import('./system/index.js').then((m) => m.systemCommand) },
  { names: ['image'], load: () => import('./image/index.js').then((m) => m.imageCommand) },
  { names: ['images'], load: () => import('./image/list.js').then((m) => m.imagesCommand) },
  ...['rmi', 'tag', 'load', 'save', 'import', 'history'].map(imageShortcut),
  { names: ['pull'], load: () => import('./image/registry.js').then((m) => m.pullCommand) },
  { names: ['push'], load: () => import('./image/registry.js').then((m) => m.pushCommand) },
  { names: ['login'], load: () => import('./image/registry.js').then((m) => m.loginCommand) },
  { names: ['logout'], load: () => import('./image/registry.js').then((m) => m.logoutCommand) },
  { names: ['build', 'buildx', 'b'], load: () => import('./build/build.js').then((m) => m.buildCommand) },
  { names: ['builder'], load: () => import('./build/build.js').then((m) => m.builderCommand) },
  { names: ['network'], load: () => import('./network/index.js').then((m) => m.networkCommand) },
  { names: ['volume'], load: () => import('./volume/index.js').then((m) => m.volumeCommand) },
  { names: ['container'], load: () => import('./container/index.js').then((m) => m.containerCommand) },
  ...Object.entries(containerModules).map(([name, load]) => ({ names: name === 'rm' ? ['rm', 'remove'] : [name], load })),
  { names: ['compose'], load: () => import('./compose/index.js').then((m) => m.composeCommand) },
];

/** The entry a top-level name or alias selects. */
export function findEntry(name: string): CommandEntry | undefined {
  return rootEntries.find((e) => e.names.includes(name));
}

/** Every top-level command, loaded (root help lists them all). */
export function loadRootCommands(): Promise<Command[]> {
  return Promise.all(rootEntries.map((e) => e.load()));
}
