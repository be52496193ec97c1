/**
 * The CLI's command model: a tree of commands (`image ls`, `container run`), each with pflag-style flags, an argument
 * count rule, and a `run` function that talks to the daemon through `ctx.client()`.
 *
 * Error → exit code rules (docker's): usage errors exit 125 (1 for a wrong argument count, as cobra does in
 * docker); an API error prints `Error response from daemon: <message>` and exits 1 (commands such as `run` override
 * with 125 via `UsageExit`/`exitCode`); a command's own failure returns its exit code.
 */
import type { FlagSpec, FlagValues } from '../pkg/flags/flags.js';
import type { Client } from '../client/index.js';

export interface CliContext {
  /** The connected client (starts the daemon on first use when allowed). */
  client(): Promise<Client>;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadStream;
  /** The daemon address in use (for messages). */
  readonly host: string;
  /** Program name shown in messages ("berth", or "docker" when invoked as docker). */
  readonly prog: string;
}

export interface Command {
  name: string;
  aliases?: string[];
  /** Usage line after the program name, e.g. `run [OPTIONS] IMAGE [COMMAND] [ARG...]`. */
  usage: string;
  description: string;
  flags?: FlagSpec[];
  /** false: flags end at the first positional argument (run, exec). */
  interspersed?: boolean;
  minArgs?: number;
  maxArgs?: number;
  subcommands?: Command[];
  hidden?: boolean;
  /** The command parses its own flags (`compose`, whose global flags come before its subcommand): args arrive untouched. */
  rawArgs?: boolean;
  run?(ctx: CliContext, args: string[], flags: FlagValues, set: Set<string>): Promise<number | void>;
}

/** An error that must end the CLI with a particular exit code and message (already docker-worded). */
export class CliExit extends Error {
  constructor(readonly code: number, message = '') {
    super(message);
  }
}

/** Shared flag: `--format`. */
export const formatFlag = (description = 'Format output using a custom template'): FlagSpec => ({
  name: 'format',
  type: 'string',
  description,
  valueName: 'string',
});

/** Writes lines to stdout, one per item. */
export function println(ctx: CliContext, text = ''): void {
  ctx.stdout.write(text + '\n');
}
