/**
 * How container records look on the wire: `GET /containers/json` items and `GET /containers/{id}/json`.
 */
import { ContainerRecord, describeStatus } from '../../../core/containers/container.js';
import { Filters } from '../../../pkg/filters/filters.js';
import { invalidArgument } from '../../../errdefs/index.js';

/** `docker ps`'s COMMAND: the path and args joined, args with spaces quoted the way docker does. */
function command(rec: ContainerRecord): string {
  const quote = (a: string) => (/[\s'"]/.test(a) || a === '' ? `'${a.replace(/'/g, "'\\''")}'` : a);
  return [rec.Path, ...rec.Args.map(quote)].join(' ');
}

function ports(rec: ContainerRecord): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const p = (rec.NetworkSettings.Ports ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
  for (const [key, bindings] of Object.entries(p)) {
    const [port, type] = key.split('/');
    if (!bindings || bindings.length === 0) out.push({ PrivatePort: Number(port), Type: type });
    else for (const b of bindings) out.push({ IP: b.HostIp || '0.0.0.0', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
  }
  return out;
}

export function listItem(rec: ContainerRecord, imageRef: string, size?: { rw: number; rootfs: number }): Record<string, unknown> {
  const networks = (rec.NetworkSettings.Networks ?? {}) as Record<string, unknown>;
  const item: Record<string, unknown> = {
    Id: rec.Id,
    Names: [rec.Name],
    Image: imageRef,
    ImageID: rec.Image,
    Command: command(rec),
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    Ports: ports(rec),
    Labels: rec.Config.Labels ?? {},
    State: rec.State.Status,
    Status: describeStatus(rec.State),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode === 'bridge' ? 'default' : rec.HostConfig.NetworkMode },
    NetworkSettings: { Networks: networks },
    Mounts: rec.Mounts.map((m) => ({ ...m })),
  };
  if (size) {
    item.SizeRw = size.rw;
    item.SizeRootFs = size.rootfs;
  }
  return item;
}

export function inspectView(rec: ContainerRecord, graphDriver: Record<string, unknown>, size?: { rw: number; rootfs: number }, links?: string[] | null): Record<string, unknown> {
  const pub: Partial<ContainerRecord> = { ...rec };
  delete pub.Berth; // berth's own bookkeeping stays out of inspect
  // legacy links as dockerd's link index shows them now (a renamed target by its new name, a removed one gone)
  if (links !== undefined) pub.HostConfig = { ...rec.HostConfig, Links: links };
  const out: Record<string, unknown> = { ...pub, GraphDriver: graphDriver };
  if (size) {
    out.SizeRw = size.rw;
    out.SizeRootFs = size.rootfs;
  }
  return out;
}

const LIST_FILTERS = ['id', 'name', 'label', 'status', 'ancestor', 'exited', 'before', 'since', 'network', 'volume', 'health', 'is-task', 'publish', 'expose'];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/**
 * Applies `docker ps` semantics: without `all` only running containers; filters; newest first; `limit`.
 * `ancestorIds(ref)` resolves an image reference to the image IDs it names (and their children, if known).
 */
export function selectContainers(
  all: ContainerRecord[],
  opts: { all: boolean; limit?: number; filters: Filters; ancestorIds: (ref: string) => string[]; find: (ref: string) => ContainerRecord | undefined },
): ContainerRecord[] {
  const f = opts.filters;
  f.validate?.(LIST_FILTERS);
  for (const s of f.get('status')) if (!STATUSES.includes(s)) throw invalidArgument(`invalid filter 'status=${s}'`);
  for (const h of f.get('health')) if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) throw invalidArgument(`Unrecognised filter value for health: ${h}`);
  const exited = f.get('exited').map((v) => {
    if (!/^-?\d+$/.test(v)) throw invalidArgument(`invalid filter 'exited=${v}'`);
    return Number(v);
  });
  const refTime = (key: string): number | undefined => {
    const v = f.get(key)[0];
    if (!v) return undefined;
    const c = opts.find(v);
    if (!c) throw invalidArgument(`No such container: ${v}`);
    return Date.parse(c.Created);
  };
  const before = refTime('before');
  const since = refTime('since');
  const ancestors = f.get('ancestor').flatMap((a) => opts.ancestorIds(a));
  let list = [...all].sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
  const showAll = opts.all || f.size > 0 && (f.has('status') || f.has('exited'));
  list = list.filter((c) => {
    if (!showAll && !opts.all && !c.State.Running) return false;
    if (!opts.all && !showAll && c.State.Status !== 'running' && c.State.Status !== 'paused' && c.State.Status !== 'restarting') return false;
    if (f.has('id') && !f.get('id').some((v) => c.Id.startsWith(v))) return false;
    if (f.has('name') && !f.get('name').some((v) => new RegExp(v).test(c.Name.slice(1)) || new RegExp(v).test(c.Name))) return false;
    if (f.has('label') && !f.matchKVList('label', c.Config.Labels ?? {})) return false;
    if (f.has('status') && !f.get('status').includes(c.State.Status)) return false;
    if (exited.length && (c.State.Status !== 'exited' || !exited.includes(c.State.ExitCode))) return false;
    if (ancestors.length && !ancestors.includes(c.Image)) return false;
    if (f.has('ancestor') && !ancestors.length) return false;
    if (before !== undefined && Date.parse(c.Created) >= before) return false;
    if (since !== undefined && Date.parse(c.Created) <= since) return false;
    if (f.has('network')) {
      const nets = Object.keys((c.NetworkSettings.Networks ?? {}) as object);
      const ids = Object.values((c.NetworkSettings.Networks ?? {}) as Record<string, { NetworkID?: string }>).map((n) => n.NetworkID ?? '');
      if (!f.get('network').some((v) => nets.includes(v) || ids.some((id) => id && id.startsWith(v)))) return false;
    }
    if (f.has('volume') && !f.get('volume').some((v) => c.Mounts.some((m) => m.Name === v || m.Source === v || m.Destination === v))) return false;
    if (f.has('health') && !f.get('health').includes(c.State.Health?.Status ?? 'none')) return false;
    return true;
  });
  if (opts.limit !== undefined && opts.limit > 0) list = list.slice(0, opts.limit);
  return list;
}
