/**
 * `berth commit` (a new image from a container's changes) and `berth export` (the container's filesystem as tar).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { familiarName, parseNormalized, withDefaultTag } from '../../../pkg/reference/index.js';
import { CliExit, type Command } from '../../command.js';
import { pipeToStdout } from './util.js';

export const commitCommand: Command = {
  name: 'commit',
  usage: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  description: "Create a new image from a container's changes",
  minArgs: 1,
  maxArgs: 2,
  flags: [
    { name: 'author', short: 'a', type: 'string', description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'change', short: 'c', type: 'list', description: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', type: 'string', description: 'Commit message' },
    { name: 'pause', short: 'p', type: 'bool', description: 'Pause container during commit', default: true },
  ],
  async run(ctx, args, flags) {
    const [container, reference] = args as [string, string | undefined];
    let repo: string | undefined;
    let tag: string | undefined;
    if (reference) {
      let ref;
      try {
        ref = parseNormalized(reference);
      } catch (e) {
        throw new CliExit(1, (e as Error).message);
      }
      if (ref.digest) throw new CliExit(1, 'refusing to create a tag with a digest reference');
      ref = withDefaultTag(ref);
      repo = familiarName(ref);
      tag = ref.tag;
    }
    const client = await ctx.client();
    const r = await client.commit({
      container,
      repo,
      tag,
      comment: (flags.message as string | undefined) || undefined,
      author: (flags.author as string | undefined) || undefined,
      pause: flags.pause === true,
      changes: (flags.change as string[]).length ? (flags.change as string[]) : undefined,
    });
    ctx.stdout.write(`${r?.Id ?? ''}\n`);
  },
};

export const exportCommand: Command = {
  name: 'export',
  usage: 'export [OPTIONS] CONTAINER',
  description: "Export a container's filesystem as a tar archive",
  minArgs: 1,
  maxArgs: 1,
  flags: [{ name: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' }],
  async run(ctx, args, flags) {
    const output = (flags.output as string | undefined) ?? '';
    if (output === '' && ctx.stdout.isTTY) throw new CliExit(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const client = await ctx.client();
    const res = await client.containers.export(args[0]!);
    if (output === '') {
      await pipeToStdout(ctx, res);
      return;
    }
    // Written to a temporary file beside the target, then renamed (docker's CopyToFile).
    const dir = path.dirname(path.resolve(output));
    const tmp = path.join(dir, `.docker_temp_${process.pid}_${Date.now()}`);
    try {
      await pipeline(res, fs.createWriteStream(tmp));
      fs.renameSync(tmp, output);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw new CliExit(1, `failed to export container: ${(e as Error).message}`);
    }
  },
};
