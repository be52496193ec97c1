/** `berth images` / `berth image ls`: docker's table, -q, -a, --digests, --no-trunc, --filter, --format. */
import { Command, formatFlag } from '../../command.js';
import { loadFormat, renderFormat } from '../../output/format.js';
import { goTimeString } from '../../output/gotime.js';
import { filtersFromArgs } from '../../../pkg/filters/filters.js';
import { humanSize, ago } from '../../../pkg/units/units.js';
import type { ImageSummary } from '../../../api/types/image.js';


/** One row of the table: the fields docker's `--format` exposes. */
export interface ImageRow {
  ID: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
  SharedSize: string;
  UniqueSize: string;
  VirtualSize: string;
  Containers: string;
}

function splitRepoTag(s: string): [string, string] {
  const at = s.indexOf('@');
  const base = at >= 0 ? s.slice(0, at) : s;
  const colon = base.lastIndexOf(':');
  if (colon > base.lastIndexOf('/')) return [base.slice(0, colon), base.slice(colon + 1)];
  return [base, '<none>'];
}

export function imageRows(images: ImageSummary[], opts: { noTrunc: boolean; digests: boolean }): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const img of images) {
    const id = opts.noTrunc ? img.Id : img.Id.replace(/^sha256:/, '').slice(0, 12);
    const base = {
      ID: id,
      CreatedSince: img.Created ? ago(img.Created * 1000) : 'N/A',
      CreatedAt: goTimeString(img.Created),
      Size: humanSize(img.Size),
      SharedSize: img.SharedSize < 0 ? 'N/A' : humanSize(img.SharedSize),
      UniqueSize: img.SharedSize < 0 ? 'N/A' : humanSize(img.Size - img.SharedSize),
      VirtualSize: humanSize(img.Size),
      Containers: img.Containers < 0 ? 'N/A' : String(img.Containers),
    };
    const tags = (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    const digests = (img.RepoDigests ?? []).filter((d) => d !== '<none>@<none>');
    const digestFor = (repo: string) => digests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? '<none>';
    if (tags.length === 0) {
      if (digests.length) {
        for (const d of digests) rows.push({ ...base, Repository: d.split('@')[0]!, Tag: '<none>', Digest: d.split('@')[1]! });
      } else rows.push({ ...base, Repository: '<none>', Tag: '<none>', Digest: '<none>' });
      continue;
    }
    for (const t of tags) {
      const [repo, tag] = splitRepoTag(t);
      rows.push({ ...base, Repository: repo, Tag: tag, Digest: digestFor(repo) });
    }
  }
  return rows;
}

const HEADERS = {
  ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT',
  Size: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', VirtualSize: 'VIRTUAL SIZE', Containers: 'CONTAINERS',
};

export const imagesListCommand: Command = {
  name: 'ls',
  aliases: ['list'],
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  description: 'List images',
  maxArgs: 1,
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Show all images (default hides intermediate images)' },
    { name: 'digests', type: 'bool', description: 'Show digests' },
    { name: 'filter', short: 'f', type: 'list', description: 'Filter output based on conditions provided', valueName: 'filter' },
    formatFlag(),
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
  ],
  async run(ctx, args, flags) {
    const filters = filtersFromArgs((flags.filter as string[]) ?? []);
    if (args[0]) filters.add('reference', args[0]);
    const client = await ctx.client();
    const images = await client.images.list({ all: flags.all === true, filters });
    const noTrunc = Boolean(flags['no-trunc']);
    const rows = imageRows(images, { noTrunc, digests: Boolean(flags.digests) });
    if (flags.quiet) {
      const seen = new Set<string>();
      for (const r of rows) {
        if (seen.has(r.ID)) continue;
        seen.add(r.ID);
        ctx.stdout.write(`${r.ID}\n`);
      }
      return;
    }
    const def = flags.digests
      ? '{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
      : '{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
    const parsed = await loadFormat((flags.format as string | undefined) ?? '', { defaultTable: def });
    ctx.stdout.write(renderFormat(parsed, rows, HEADERS));
  },
};

export const imagesCommand: Command = { ...imagesListCommand, name: 'images', aliases: [] };
