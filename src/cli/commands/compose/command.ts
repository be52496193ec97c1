/** One `compose` subcommand: flags parsed pflag-style, then run with the compose context. */
import type { FlagSpec, FlagValues } from '../../../pkg/flags/flags.js';
import type { ComposeContext } from './context.js';

export interface ComposeCommand {
  name: string;
  aliases?: string[];
  usage: string;
  description: string;
  flags?: FlagSpec[];
  interspersed?: boolean;
  minArgs?: number;
  maxArgs?: number;
  hidden?: boolean;
  run(c: ComposeContext, args: string[], flags: FlagValues, set: Set<string>): Promise<number | void>;
}

export const timeoutFlag: FlagSpec = { name: 'timeout', short: 't', type: 'int', description: 'Specify a shutdown timeout in seconds' };
