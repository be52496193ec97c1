/** `berth system df`: disk usage by images, containers, local volumes and build cache, docker's table and --format. */
import { Command, formatFlag } from '../../command.js';
import { renderList } from '../../output/format.js';
import { humanSize } from '../../../pkg/units/units.js';
import type { DiskUsage } from '../../../api/types/system.js';

type DfResponse = DiskUsage;

/** One row: the fields docker's `system df --format` exposes. */
interface DfRow {
  Type: string;
  TotalCount: string;
  Active: string;
  Size: string;
  Reclaimable: string;
}

function reclaimable(bytes: number, total: number, withPercent: boolean): string {
  if (!withPercent) return humanSize(bytes);
  const pct = total > 0 ? Math.floor((bytes * 100) / total) : 0;
  return `${humanSize(bytes)} (${pct}%)`;
}

/** docker's build cache row: size of every record, reclaimable what is neither in use nor shared. */
function buildCacheRow(bc: NonNullable<DfResponse['BuildCache']>): DfRow {
  const size = bc.reduce((s, c) => s + (c.Size ?? 0), 0);
  const free = bc.filter((c) => !c.InUse && !c.Shared).reduce((s, c) => s + (c.Size ?? 0), 0);
  return { Type: 'Build Cache', TotalCount: String(bc.length), Active: String(bc.filter((c) => c.InUse).length), Size: humanSize(size), Reclaimable: humanSize(free) };
}

export function dfRows(df: DfResponse): DfRow[] {
  const images = df.Images ?? [];
  const activeImages = images.filter((i) => i.Containers > 0);
  const imageReclaim = images.filter((i) => i.Containers <= 0).reduce((s, i) => s + i.Size - Math.max(0, i.SharedSize), 0);
  const containers = df.Containers ?? [];
  const cSize = containers.reduce((s, c) => s + (c.SizeRw ?? 0), 0);
  const cReclaim = containers.filter((c) => c.State !== 'running' && c.State !== 'paused').reduce((s, c) => s + (c.SizeRw ?? 0), 0);
  const volumes = df.Volumes ?? [];
  const vSize = volumes.reduce((s, v) => s + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const vReclaim = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((s, v) => s + Math.max(0, v.UsageData?.Size ?? 0), 0);
  return [
    { Type: 'Images', TotalCount: String(images.length), Active: String(activeImages.length), Size: humanSize(df.LayersSize), Reclaimable: reclaimable(imageReclaim, df.LayersSize, true) },
    { Type: 'Containers', TotalCount: String(containers.length), Active: String(containers.filter((c) => c.State === 'running').length), Size: humanSize(cSize), Reclaimable: reclaimable(cReclaim, cSize, true) },
    { Type: 'Local Volumes', TotalCount: String(volumes.length), Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(vSize), Reclaimable: reclaimable(vReclaim, vSize, true) },
    buildCacheRow(df.BuildCache ?? []),
  ];
}

export const dfCommand: Command = {
  name: 'df',
  usage: 'df [OPTIONS]',
  description: 'Show docker disk usage',
  flags: [formatFlag()],
  maxArgs: 0,
  async run(ctx, _args, flags) {
    const df = await (await ctx.client()).system.diskUsage();
    ctx.stdout.write(
      await renderList(dfRows(df), {
        defaultTable: '{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}',
        headers: { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' },
      }, flags.format as string | undefined),
    );
  },
};
