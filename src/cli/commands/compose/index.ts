/**
 * `berth compose` (and `docker compose` through the CLI plugin, src/cli/commands/compose/plugin.ts): global compose
 * flags, then a subcommand with its own flags — parsed with pflag's rules, usage errors worded as Compose words them.
 */
import { FlagError, formatFlagHelp, parseFlags } from '../../../pkg/flags/flags.js';
import { CliExit, type CliContext, type Command } from '../../command.js';
import type { ComposeCommand } from './command.js';
import { globalComposeFlags, makeComposeContext, modelError } from './context.js';
import { execComposeCommand, runComposeCommand } from './exec.js';
import { buildComposeCommand, cpComposeCommand, pullComposeCommand, pushComposeCommand } from './images.js';
import { configComposeCommand, eventsComposeCommand, imagesComposeCommand, logsComposeCommand, lsComposeCommand, portComposeCommand, psComposeCommand, topComposeCommand, versionComposeCommand } from './info.js';
import { createCommand, downCommand, killCommand, pauseCommand, restartCommand, rmCommand, startCommand, stopCommand, unpauseCommand, upCommand, waitCommand, watchCommand } from './lifecycle.js';

export const composeSubcommands: ComposeCommand[] = [
  buildComposeCommand,
  configComposeCommand,
  cpComposeCommand,
  createCommand,
  downCommand,
  eventsComposeCommand,
  execComposeCommand,
  imagesComposeCommand,
  killCommand,
  logsComposeCommand,
  lsComposeCommand,
  pauseCommand,
  portComposeCommand,
  psComposeCommand,
  pullComposeCommand,
  pushComposeCommand,
  restartCommand,
  rmCommand,
  runComposeCommand,
  startCommand,
  stopCommand,
  topComposeCommand,
  unpauseCommand,
  upCommand,
  versionComposeCommand,
  waitCommand,
  watchCommand,
];

const helpFlag = { name: 'help', short: 'h', type: 'bool' as const, description: 'help for compose' };

function rootHelp(prog: string): string {
  const w = Math.max(...composeSubcommands.map((c) => c.name.length)) + 2;
  return (
    `\nUsage:  ${prog} compose [OPTIONS] COMMAND\n\nDefine and run multi-container applications with Docker\n\nOptions:\n${formatFlagHelp(globalComposeFlags.filter((f) => !f.hidden))}\n\n` +
    `Commands:\n${composeSubcommands.filter((c) => !c.hidden).map((c) => `  ${c.name.padEnd(w)}${c.description}`).join('\n')}\n\n` +
    `Run '${prog} compose COMMAND --help' for more information on a command.\n`
  );
}

function commandHelp(prog: string, c: ComposeCommand): string {
  const flags = (c.flags ?? []).filter((f) => !f.hidden);
  return `\nUsage:  ${prog} compose ${c.usage}\n\n${c.description}\n${c.aliases?.length ? `\nAliases:\n  ${[c.name, ...c.aliases].map((a) => `${prog} compose ${a}`).join(', ')}\n` : ''}${flags.length ? `\nOptions:\n${formatFlagHelp(flags)}\n` : ''}`;
}

/** Runs `compose ARGS…` (everything after the word `compose`). */
export async function runCompose(cli: CliContext, argv: string[], prog: string): Promise<number> {
  let g;
  try {
    g = parseFlags(argv, [...globalComposeFlags, helpFlag], { interspersed: false });
  } catch (e) {
    if (e instanceof FlagError) throw new CliExit(1, `${e.message}`);
    throw e;
  }
  const [name, ...rest] = g.args;
  if (!name || g.values.help) {
    cli.stdout.write(rootHelp(prog));
    return 0;
  }
  const cmd = composeSubcommands.find((c) => c.name === name || c.aliases?.includes(name));
  if (!cmd) throw new CliExit(1, `unknown docker command: "compose ${name}"`);
  let parsed;
  try {
    parsed = parseFlags(rest, [...(cmd.flags ?? []), { ...helpFlag, description: `help for ${cmd.name}` }], { interspersed: cmd.interspersed ?? true });
  } catch (e) {
    if (e instanceof FlagError) throw new CliExit(1, e.message);
    throw e;
  }
  if (parsed.values.help) {
    cli.stdout.write(commandHelp(prog, cmd));
    return 0;
  }
  const n = parsed.args.length;
  if ((cmd.minArgs !== undefined && n < cmd.minArgs) || (cmd.maxArgs !== undefined && n > cmd.maxArgs)) {
    throw new CliExit(1, `'${prog} compose ${cmd.name}' requires ${cmd.minArgs === cmd.maxArgs ? `exactly ${cmd.minArgs}` : n < (cmd.minArgs ?? 0) ? `at least ${cmd.minArgs}` : `at most ${cmd.maxArgs}`} argument${(cmd.minArgs ?? cmd.maxArgs) === 1 ? '' : 's'}.\nSee '${prog} compose ${cmd.name} --help'.\n\nUsage:  ${prog} compose ${cmd.usage}`);
  }
  const c = makeComposeContext(cli, g.values, `${prog} compose`);
  try {
    return (await cmd.run(c, parsed.args, parsed.values, parsed.set)) ?? 0;
  } catch (e) {
    modelError(e);
  }
}

/** `berth compose …` in berth's command tree: flags are left for runCompose. */
export const composeCommand: Command = {
  name: 'compose',
  usage: 'compose [OPTIONS] COMMAND',
  description: 'Define and run multi-container applications',
  rawArgs: true,
  async run(ctx, args) {
    return runCompose(ctx, args, ctx.prog);
  },
};
