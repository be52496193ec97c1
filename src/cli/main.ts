/**
 * `berth`: the docker-compatible CLI. Resolves the daemon address (-H, BERTH_HOST, DOCKER_HOST, default socket),
 * finds the command, parses its flags the way docker does, runs it, and maps failures to docker's exit codes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, DaemonUnreachableError, ProgressError } from '../client/index.js';
import { kindOf } from '../errdefs/index.js';
import { FlagError, FlagSpec, formatFlagHelp, parseFlags } from '../pkg/flags/flags.js';
import { CliContext, CliExit, Command } from './command.js';
import { findEntry, loadRootCommands } from './commands/index.js';

const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
const DEFAULT_DATA_ROOT = '/var/lib/berth';

const globalFlags: FlagSpec[] = [
  { name: 'host', short: 'H', type: 'list', description: 'Daemon socket to connect to' },
  { name: 'debug', short: 'D', type: 'bool', description: 'Enable debug mode' },
  { name: 'log-level', short: 'l', type: 'string', description: 'Set the logging level', default: 'info' },
  { name: 'version', short: 'v', type: 'bool', description: 'Print version information and quit' },
  { name: 'help', type: 'bool', description: 'Print usage' },
];

const prog = 'berth';

function usageLine(chain: Command[]): string {
  return `${prog} ${chain.map((c) => c.name).slice(0, -1).join(' ')}${chain.length > 1 ? ' ' : ''}${chain[chain.length - 1].usage}`;
}

function helpText(chain: Command[]): string {
  const cmd = chain[chain.length - 1];
  let out = `\nUsage:  ${usageLine(chain)}\n\n${cmd.description}\n`;
  if (cmd.aliases?.length) {
    const parent = chain.slice(0, -1).map((c) => `${c.name} `).join('');
    out += `\nAliases:\n  ${[cmd.name, ...cmd.aliases].map((a) => `${prog} ${parent}${a}`).join(', ')}\n`;
  }
  if (cmd.subcommands?.length) {
    const subs = cmd.subcommands.filter((s) => !s.hidden);
    const w = Math.max(...subs.map((s) => s.name.length)) + 2;
    out += `\nCommands:\n${subs.map((s) => `  ${s.name.padEnd(w)}${s.description.split('\n')[0]}`).join('\n')}\n`;
    out += `\nRun '${prog} ${chain.map((c) => c.name).join(' ')} COMMAND --help' for more information on a command.\n`;
  }
  const flags = cmd.flags ?? [];
  if (flags.length) out += `\nOptions:\n${formatFlagHelp(flags)}\n`;
  return out;
}

/** docker's root help: management commands (groups) and plain commands, each sorted, one line per command. */
async function rootHelp(): Promise<string> {
  const cmds = (await loadRootCommands()).filter((c) => !c.hidden).sort((a, b) => a.name.localeCompare(b.name));
  const w = Math.max(...cmds.map((c) => c.name.length)) + 2;
  const list = (xs: Command[]) => xs.map((c) => `  ${c.name.padEnd(w)}${c.description.split('\n')[0]}`).join('\n');
  return (
    `\nUsage:  ${prog} [OPTIONS] COMMAND\n\nA Docker-compatible container engine\n\n` +
    `Management Commands:\n${list(cmds.filter((c) => c.subcommands))}\n\n` +
    `Commands:\n${list(cmds.filter((c) => !c.subcommands))}\n\n` +
    `Global Options:\n${formatFlagHelp(globalFlags)}\n\nRun '${prog} COMMAND --help' for more information on a command.\n`
  );
}

function findCommand(list: Command[], name: string): Command | undefined {
  return list.find((c) => c.name === name || c.aliases?.includes(name));
}

/** Starts berthd in the background when nobody serves the default socket and we may (root), then waits for /_ping. */
async function ensureDaemon(client: Client, mayStart: boolean): Promise<void> {
  // Without autostart there is nothing to do before the command's own request (a ping would be a wasted round trip).
  if (!mayStart || (await client.system.ping())) return;
  // Loaded here only: node:child_process costs every command ~5 ms CPU at start-up.
  const { spawn } = await import('node:child_process');
  const here = path.dirname(fileURLToPath(import.meta.url));
  const berthd = path.resolve(here, '../../../bin/berthd');
  fs.mkdirSync(DEFAULT_DATA_ROOT, { recursive: true });
  const log = fs.openSync(path.join(DEFAULT_DATA_ROOT, 'berthd.log'), 'a');
  const child = spawn(berthd, [], { detached: true, stdio: ['ignore', log, log] }); // its sh launcher sets malloc's limits
  child.unref();
  fs.closeSync(log);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await client.system.ping()) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function main(argv: string[]): Promise<number> {
  let g;
  try {
    g = parseFlags(argv, globalFlags, { interspersed: false });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nSee '${prog} --help'.\n`);
    return 125;
  }
  const [name, ...rest] = g.args;
  if (g.values.version && !name) {
    const { BERTH_VERSION } = await import('../api/version.js');
    process.stdout.write(`berth version ${BERTH_VERSION}, build berth\n`);
    return 0;
  }
  if (!name || g.values.help || name === 'help') {
    process.stdout.write(await rootHelp());
    return 0;
  }

  const hosts = g.values.host as string[];
  const explicitHost = hosts[hosts.length - 1] ?? process.env.BERTH_HOST ?? process.env.DOCKER_HOST;
  const host = explicitHost || DEFAULT_HOST;
  let client: Client | undefined;
  const ctx: CliContext = {
    host,
    prog,
    stdout: process.stdout,
    stderr: process.stderr,
    // A getter: the first read of process.stdin makes its stream (a pipe's loads net, a file's fs streams and
    // readline: ~2 ms), which only commands that read stdin need.
    get stdin() {
      return process.stdin;
    },
    async client() {
      if (!client) {
        client = new Client(host);
        await ensureDaemon(client, !explicitHost && process.getuid?.() === 0);
      }
      return client;
    },
  };

  // Walk down the command tree.
  const chain: Command[] = [];
  let list: Command[] | undefined; // undefined: the root, whose commands load on demand
  let args = [name, ...rest];
  for (;;) {
    const cmd = list ? findCommand(list, args[0]) : await findEntry(args[0])?.load();
    if (!cmd) {
      const where = chain.length ? `${prog} ${chain.map((c) => c.name).join(' ')}` : prog;
      process.stderr.write(`${prog}: unknown command: ${where} ${args[0]}\n\nRun '${where} --help' for more information\n`);
      return chain.length ? 1 : 125;
    }
    chain.push(cmd);
    args = args.slice(1);
    if (cmd.subcommands && !cmd.run) {
      if (!args.length || args[0] === '--help' || args[0] === '-h') {
        process.stdout.write(helpText(chain));
        return 0;
      }
      list = cmd.subcommands;
      continue;
    }
    break;
  }
  const cmd = chain[chain.length - 1];
  const cmdPath = `${prog} ${chain.map((c) => c.name).join(' ')}`;
  const flagSpecs = [...(cmd.flags ?? []), { name: 'help', type: 'bool', description: 'Print usage' } as FlagSpec];
  let parsed;
  try {
    parsed = cmd.rawArgs ? { args, values: {}, set: new Set<string>() } : parseFlags(args, flagSpecs, { interspersed: cmd.interspersed ?? true });
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    process.stderr.write(`${e.message}\n\nUsage:  ${usageLine(chain)}\n\nRun '${cmdPath} --help' for more information\n`);
    return 125;
  }
  if (parsed.values.help) {
    process.stdout.write(helpText(chain));
    return 0;
  }
  const n = parsed.args.length;
  if (!cmd.rawArgs && ((cmd.minArgs !== undefined && n < cmd.minArgs) || (cmd.maxArgs !== undefined && n > cmd.maxArgs))) {
    const rule =
      cmd.minArgs === cmd.maxArgs
        ? `exactly ${cmd.minArgs} argument${cmd.minArgs === 1 ? '' : 's'}`
        : n < (cmd.minArgs ?? 0)
          ? `at least ${cmd.minArgs} argument${cmd.minArgs === 1 ? '' : 's'}`
          : `at most ${cmd.maxArgs} argument${cmd.maxArgs === 1 ? '' : 's'}`;
    process.stderr.write(`${prog}: '${cmdPath}' requires ${rule}\n\nUsage:  ${usageLine(chain)}\n\nSee '${cmdPath} --help' for more information\n`);
    return 1;
  }
  try {
    const code = await cmd.run!(ctx, parsed.args, parsed.values, parsed.set);
    return code ?? 0;
  } catch (e) {
    if (e instanceof CliExit) {
      if (e.message) process.stderr.write(e.message.endsWith('\n') ? e.message : e.message + '\n');
      return e.code;
    }
    if (e instanceof DaemonUnreachableError || e instanceof ProgressError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    if ((e as { kind?: string }).kind && kindOf(e) !== 'Internal') {
      process.stderr.write(`Error response from daemon: ${(e as Error).message}\n`);
      return 1;
    }
    if ((e as { status?: number }).status) {
      process.stderr.write(`Error response from daemon: ${(e as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`${prog}: ${(e as Error).stack ?? e}\n`);
    return 1;
  } finally {
    client?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`${prog}: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 125;
  },
);
