/**
 * `berth image …` and docker's top-level shortcuts (`images`, `rmi`, `tag`, `load`, `save`, `import`, `history`,
 * `pull`, `push`, `login`, `logout`).
 */
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { CliExit, Command, formatFlag } from '../../command.js';
import type { CliContext } from '../../command.js';
import { compileOne, loadFormat, renderFormat } from '../../output/format.js';
import type { ProgressStream } from '../../../client/index.js';
import type { JSONMessage } from '../../../api/types/image.js';
import { filtersFromArgs } from '../../../pkg/filters/filters.js';
import { humanSize, ago } from '../../../pkg/units/units.js';
import { imagesCommand, imagesListCommand } from './list.js';
import { loginCommand, logoutCommand, pullCommand, pushCommand } from './registry.js';

/** Prints a progress stream like docker's jsonmessage (non-tty form); throws on an in-band error. */
async function printProgress(ctx: CliContext, stream: ProgressStream, quietStatus = false): Promise<JSONMessage[]> {
  const all: JSONMessage[] = [];
  for await (const m of stream) {
    all.push(m);
    if (m.error || m.errorDetail) throw new CliExit(1, m.errorDetail?.message ?? m.error ?? 'error');
    if (m.stream) ctx.stdout.write(m.stream);
    else if (m.status && !quietStatus) ctx.stdout.write(`${m.id ? `${m.id}: ` : ''}${m.status}${m.progress ? ` ${m.progress}` : ''}\n`);
  }
  return all;
}

const inspectCommand: Command = {
  name: 'inspect',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Display detailed information on one or more images',
  minArgs: 1,
  flags: [{ ...formatFlag('Format output using a custom template'), short: 'f' }],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const out: unknown[] = [];
    let failed = false;
    for (const a of args) {
      try {
        out.push(await client.images.inspect(a));
      } catch (e) {
        failed = true;
        ctx.stderr.write(`Error response from daemon: ${(e as Error).message}\n`);
      }
    }
    const fmt = flags.format as string | undefined;
    if (fmt) {
      const t = await compileOne(fmt);
      for (const o of out) ctx.stdout.write(t.execute(o) + '\n');
    } else ctx.stdout.write(JSON.stringify(out, null, 4).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) + '\n');
    return failed ? 1 : 0;
  },
};

const rmCommand: Command = {
  name: 'rm',
  aliases: ['remove'],
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Remove one or more images',
  minArgs: 1,
  flags: [
    { name: 'force', short: 'f', type: 'bool', description: 'Force removal of the image' },
    { name: 'no-prune', type: 'bool', description: 'Do not delete untagged parents' },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    let failed = false;
    for (const a of args) {
      try {
        const items = await client.images.remove(a, { force: flags.force === true, noPrune: flags['no-prune'] === true });
        for (const i of items) ctx.stdout.write(i.Untagged ? `Untagged: ${i.Untagged}\n` : `Deleted: ${i.Deleted}\n`);
      } catch (e) {
        failed = true;
        ctx.stderr.write(`Error response from daemon: ${(e as Error).message}\n`);
      }
    }
    return failed ? 1 : 0;
  },
};

const tagCommand: Command = {
  name: 'tag',
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  minArgs: 2,
  maxArgs: 2,
  async run(ctx, args) {
    const client = await ctx.client();
    const target = args[1]!;
    // split repo and tag (a ':' after the last '/')
    const slash = target.lastIndexOf('/');
    const colon = target.lastIndexOf(':');
    const [repo, tag] = colon > slash && !target.includes('@') ? [target.slice(0, colon), target.slice(colon + 1)] : [target, ''];
    await client.images.tag(args[0]!, repo, tag || undefined);
  },
};

const historyCommand: Command = {
  name: 'history',
  usage: '[OPTIONS] IMAGE',
  description: 'Show the history of an image',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    formatFlag(),
    { name: 'human', short: 'H', type: 'bool', default: true, description: 'Print sizes and dates in human readable format' },
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const hist = await client.images.history(args[0]!);
    const noTrunc = Boolean(flags['no-trunc']);
    const human = flags.human !== false;
    const rows = hist.map((h) => {
      const id = h.Id === '<missing>' || noTrunc ? h.Id : h.Id.replace(/^sha256:/, '').slice(0, 12);
      let by = h.CreatedBy.replace(/\t/g, ' ');
      if (!noTrunc && by.length > 45) by = by.slice(0, 44) + '…';
      return {
        ID: id,
        CreatedSince: human ? (h.Created ? ago(h.Created * 1000) : 'N/A') : new Date(h.Created * 1000).toISOString(),
        CreatedAt: new Date(h.Created * 1000).toISOString(),
        CreatedBy: by,
        Size: human ? humanSize(h.Size) : String(h.Size),
        Comment: h.Comment,
      };
    });
    if (flags.quiet) {
      for (const r of rows) ctx.stdout.write(`${r.ID}\n`);
      return;
    }
    const parsed = await loadFormat((flags.format as string | undefined) ?? '', {
      defaultTable: '{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
    });
    ctx.stdout.write(
      renderFormat(parsed, rows, { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' }),
    );
  },
};

const loadCommand: Command = {
  name: 'load',
  usage: '[OPTIONS]',
  description: 'Load an image from a tar archive or STDIN',
  maxArgs: 0,
  flags: [
    { name: 'input', short: 'i', type: 'string', description: 'Read from tar archive file, instead of STDIN', valueName: 'string' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the load output' },
  ],
  async run(ctx, _args, flags) {
    const file = flags.input as string | undefined;
    if (!file && ctx.stdin.isTTY) throw new CliExit(1, 'requested load from stdin, but stdin is empty');
    const body = file ? fs.createReadStream(file) : ctx.stdin;
    const client = await ctx.client();
    await printProgress(ctx, await client.images.load(body, { quiet: flags.quiet === true }), Boolean(flags.quiet));
  },
};

const saveCommand: Command = {
  name: 'save',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  minArgs: 1,
  flags: [{ name: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT', valueName: 'string' }],
  async run(ctx, args, flags) {
    const out = flags.output as string | undefined;
    if (!out && ctx.stdout.isTTY) throw new CliExit(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const client = await ctx.client();
    const res = await client.images.save(args);
    if (out) {
      const tmp = `${out}.${process.pid}.tmp`;
      await pipeline(res, fs.createWriteStream(tmp));
      fs.renameSync(tmp, out);
    } else await pipeline(res, ctx.stdout);
  },
};

const importCommand: Command = {
  name: 'import',
  usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  description: 'Import the contents from a tarball to create a filesystem image',
  minArgs: 1,
  maxArgs: 2,
  flags: [
    { name: 'change', short: 'c', type: 'list', description: 'Apply Dockerfile instruction to the created image', valueName: 'list' },
    { name: 'message', short: 'm', type: 'string', description: 'Set commit message for imported image', valueName: 'string' },
    { name: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable', valueName: 'string' },
  ],
  async run(ctx, args, flags) {
    const src = args[0]!;
    if (/^https?:\/\//.test(src)) throw new CliExit(1, 'importing from a URL is not supported by berth');
    const body = src === '-' ? ctx.stdin : fs.createReadStream(src);
    if (src !== '-' && !fs.existsSync(src)) throw new CliExit(1, `open ${src}: no such file or directory`);
    const client = await ctx.client();
    const res = await client.images.import(body, {
      repo: args[1],
      changes: (flags.change as string[]) ?? [],
      message: (flags.message as string | undefined) || undefined,
      platform: (flags.platform as string | undefined) || undefined,
    });
    for (const m of await printProgress(ctx, res, true)) if (m.status) ctx.stdout.write(`${m.status}\n`);
  },
};

const pruneCommand: Command = {
  name: 'prune',
  usage: '[OPTIONS]',
  description: 'Remove unused images',
  maxArgs: 0,
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Remove all unused images, not just dangling ones' },
    { name: 'filter', type: 'list', description: 'Provide filter values (e.g. "until=<timestamp>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
  ],
  async run(ctx, _args, flags) {
    if (!flags.force) {
      ctx.stdout.write(
        flags.all
          ? 'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] '
          : 'WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ',
      );
      const answer = await new Promise<string>((resolve) => {
        ctx.stdin.once('data', (d) => resolve(String(d)));
        ctx.stdin.once('end', () => resolve(''));
      });
      ctx.stdin.pause();
      if (!/^y(es)?$/i.test(answer.trim())) return;
    }
    const filters = filtersFromArgs((flags.filter as string[]) ?? []);
    if (flags.all) filters.add('dangling', 'false');
    const client = await ctx.client();
    const r = await client.images.prune(filters);
    if (r.ImagesDeleted?.length) {
      ctx.stdout.write('Deleted Images:\n');
      for (const i of r.ImagesDeleted) ctx.stdout.write(i.Untagged ? `untagged: ${i.Untagged}\n` : `deleted: ${i.Deleted}\n`);
      ctx.stdout.write('\n');
    }
    ctx.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  },
};

export const imageCommand: Command = {
  name: 'image',
  usage: 'COMMAND',
  description: 'Manage images',
  subcommands: [historyCommand, importCommand, inspectCommand, loadCommand, imagesListCommand, pruneCommand, pullCommand, pushCommand, rmCommand, saveCommand, tagCommand],
};

/** Docker's top-level shortcuts for image commands. */
export const imageShortcuts: Command[] = [
  imagesCommand,
  { ...rmCommand, name: 'rmi', aliases: [] },
  tagCommand,
  loadCommand,
  saveCommand,
  importCommand,
  historyCommand,
  // registry commands (./registry.ts)
  pullCommand,
  pushCommand,
  loginCommand,
  logoutCommand,
];
