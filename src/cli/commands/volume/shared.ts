/** Pieces the volume commands share: the row context docker's volume formatter exposes, natural sorting, prompts. */
import type { CliContext } from '../../command.js';
import { withGoJSON } from '../../output/gojson.js';
import { humanSize } from '../../../pkg/units/units.js';
import type { Volume } from '../../../api/types/volume.js';

export type { Volume };

/** docker/cli formatter.volumeContext: Name, Driver, Scope, Mountpoint, Labels, Label "k", Links, Size, cluster fields. */
export function volumeRow(v: Volume): Record<string, unknown> {
  const labels = Object.entries(v.Labels ?? {}).map(([k, val]) => `${k}=${val}`).join(',');
  const row = withGoJSON({
    Name: v.Name,
    Driver: v.Driver,
    Scope: v.Scope,
    Mountpoint: v.Mountpoint,
    Labels: labels,
    Links: v.UsageData ? String(v.UsageData.RefCount) : 'N/A',
    Size: v.UsageData ? humanSize(v.UsageData.Size) : 'N/A',
    Group: 'N/A',
    Availability: 'N/A',
    Status: 'N/A',
  });
  Object.defineProperty(row, 'Label', { value: (k: string) => v.Labels?.[k] ?? '', enumerable: false });
  return row;
}

export const VOLUME_HEADERS: Record<string, string> = {
  Name: 'VOLUME NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  Mountpoint: 'MOUNTPOINT',
  Labels: 'LABELS',
  Links: 'LINKS',
  Size: 'SIZE',
  Group: 'GROUP',
  Availability: 'AVAILABILITY',
  Status: 'STATUS',
};

/** fvbommel/sortorder.NaturalLess: runs of digits compare by value. */
export function naturalLess(a: string, b: string): boolean {
  const re = /(\d+|\D+)/g;
  const ca = a.match(re) ?? [];
  const cb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i]!;
    const y = cb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = BigInt(x);
      const ny = BigInt(y);
      if (nx !== ny) return nx < ny;
      return x.length < y.length;
    }
    return x < y;
  }
  return ca.length < cb.length;
}

/** docker's prompt: prints the question and `[y/N] `, true only for y/Y. */
export async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  ctx.stdout.write(`${question} [y/N] `);
  const line = await new Promise<string>((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(buf.slice(0, nl));
    };
    const done = (s: string) => {
      ctx.stdin.off('data', onData);
      ctx.stdin.off('end', onEnd);
      ctx.stdin.pause();
      resolve(s);
    };
    const onEnd = () => done(buf);
    ctx.stdin.on('data', onData);
    ctx.stdin.on('end', onEnd);
  });
  return /^[yY]$/.test(line.trim());
}
