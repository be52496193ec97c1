/**
 * `berth logs`: `GET /containers/{id}/logs`, demultiplexed to stdout/stderr (raw for TTY containers).
 */
import { FrameParser } from '../../../api/stdcopy.js';
import { getTimestamp } from '../../../pkg/units/units.js';
import { CliExit, type Command } from '../../command.js';

export const logsCommand: Command = {
  name: 'logs',
  usage: 'logs [OPTIONS] CONTAINER',
  description: 'Fetch the logs of a container',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: 'details', type: 'bool', description: 'Show extra details provided to logs' },
    { name: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
    { name: 'since', type: 'string', description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'tail', short: 'n', type: 'string', description: 'Number of lines to show from the end of the logs', default: 'all' },
    { name: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
    { name: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  ],
  async run(ctx, args, flags) {
    const name = args[0]!;
    const ts = (v: string | undefined, what: string) => {
      if (!v) return undefined;
      try {
        return getTimestamp(v);
      } catch (e) {
        throw new CliExit(1, `invalid value for "${what}": ${(e as Error).message}`);
      }
    };
    const since = ts(flags.since as string | undefined, 'since');
    const until = ts(flags.until as string | undefined, 'until');
    const client = await ctx.client();
    const c = await client.containers.inspect(name);
    const res = await client.containers.logs(name, {
      stdout: true,
      stderr: true,
      since,
      until,
      timestamps: flags.timestamps === true,
      follow: flags.follow === true,
      tail: flags.tail as string,
      details: flags.details === true,
    });
    const onSignal = () => res.destroy();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    ctx.stdout.on('error', onSignal);
    try {
      if (c.Config?.Tty) {
        for await (const chunk of res) {
          if (!ctx.stdout.write(chunk as Buffer)) await new Promise((r) => ctx.stdout.once('drain', r));
        }
        return;
      }
      const parser = new FrameParser();
      for await (const chunk of res) {
        for (const f of parser.push(chunk as Buffer)) {
          const out = f.stream === 1 ? ctx.stdout : ctx.stderr;
          if (f.stream === 3) {
            out.write(f.data);
            continue;
          }
          if (!out.write(f.data)) await new Promise((r) => out.once('drain', r));
        }
      }
    } catch (e) {
      if (['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE'].includes((e as NodeJS.ErrnoException).code ?? '') || (e as Error).message === 'aborted') return 0;
      throw e;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
