/**
 * VolumeService: the volume API (list/create/inspect/remove/prune, the volume part of `system df`) and the container
 * hook (`ContainerVolumes`) that turns Binds / Mounts / VolumesFrom / VOLUME into `.Mounts` at create time and into
 * OCI mounts at start time.
 *
 * References: a volume is referenced by every container record whose `.Mounts` names it, running or not. They are
 * computed from the container records (ContainerStore, persisted on disk), so they survive berthd restarts. Between
 * the hook's create() and the container record being saved, the new references are held in `pending`.
 *
 * Per-container bookkeeping the hook needs later (copy-up still to do, anonymous volumes, bind sources `-v` may
 * create, tmpfs data of `--mount type=tmpfs`) is kept in the record's `Berth.volumes`, so it is saved with it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { versionAtLeast } from '../../api/version.js';
import type { ContainerRecord, MountPoint } from '../../core/containers/container.js';
import type { Kernel } from '../../core/kernel/index.js';
import { ANONYMOUS_LABEL, LOCAL_DRIVER, Volume, VolumeBook, VolumeCreateRequest, VolumeDriver, VolumeRecord } from '../../core/volumes/types.js';
import { conflict, EngineError, invalidArgument, notFound } from '../../errdefs/index.js';
import { Filters } from '../../pkg/filters/filters.js';
import { ApiMount, MountPointSpec, parseBindSpec, parseMountSpec, parseVolumesFrom } from '../../pkg/mountspec/index.js';
import { resolveInRootSync } from '../../pkg/securejoin/securejoin.js';
import { generateId } from '../../pkg/stringid/stringid.js';
import { propagationProblem } from '../../pkg/mountinfo/index.js';
import { tmpfsMount } from '../../core/runtime/spec-builder.js';
import { hostKernel } from '../../sys/kernel.js';
import type { Logger } from '../logger.js';
import type { EventBus } from './events.js';
import type { ContainerVolumes } from './containers/service.js';

/** What the service needs to see of the containers. ContainerStore satisfies it. */
export interface ContainerLookup {
  all(): ContainerRecord[];
  find(ref: string): ContainerRecord | undefined;
}

export interface VolumeServiceOptions {
  dataRoot: string;
  events: EventBus;
  logger: Logger;
  /** Called lazily (the container service is built after this one). */
  containers: () => ContainerLookup;
  /** The volume driver (bootstrap wires the local one, on `<data-root>/volumes`). */
  driver: VolumeDriver;
}

/** An OCI mount entry. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

function book(rec: ContainerRecord): VolumeBook {
  return (rec.Berth.volumes ??= {});
}

const LIST_FILTERS = ['dangling', 'name', 'driver', 'label'];
const PRUNE_FILTERS = ['label', 'label!', 'all'];

const opErr = (op: string, name: string, e: unknown): EngineError => {
  if (e instanceof EngineError) return new EngineError(e.kind, `${op} ${name}: ${e.message}`, { cause: e });
  return new EngineError('Internal', `${op} ${name}: ${(e as Error).message}`, { cause: e });
};

export class VolumeService implements ContainerVolumes {
  readonly driver: VolumeDriver;
  /** References of containers being created (not yet in the store). */
  private readonly pending = new Map<string, Set<string>>();
  private pruning = false;

  constructor(private readonly o: VolumeServiceOptions) {
    this.driver = o.driver;
  }

  async start(): Promise<void> {
    await this.driver.init();
  }

  // ------------------------------------------------------------------ references

  /** volume name → IDs of the containers referencing it. */
  private references(exclude?: string): Map<string, string[]> {
    const refs = new Map<string, string[]>();
    const add = (name: string, id: string) => {
      const l = refs.get(name);
      if (!l) refs.set(name, [id]);
      else if (!l.includes(id)) l.push(id);
    };
    for (const rec of this.o.containers().all()) {
      if (rec.Id === exclude) continue;
      for (const m of rec.Mounts ?? []) if (m.Type === 'volume' && m.Name) add(m.Name, rec.Id);
    }
    for (const [id, names] of this.pending) if (id !== exclude) for (const n of names) add(n, id);
    return refs;
  }

  private toApi(r: VolumeRecord): Volume {
    return {
      CreatedAt: r.createdAt,
      Driver: LOCAL_DRIVER,
      Labels: r.labels,
      Mountpoint: this.driver.path(r.name),
      Name: r.name,
      Options: r.options,
      Scope: 'local',
    };
  }

  private getRecord(name: string, op = 'get'): VolumeRecord {
    const r = this.driver.get(name);
    if (!r) throw notFound(`${op} ${name}: no such volume`);
    return r;
  }

  private checkDriver(driver: string | undefined, op: string, name: string): void {
    if (driver && driver !== LOCAL_DRIVER) throw notFound(`${op} ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
  }

  // ------------------------------------------------------------------ API

  async list(filters: Filters): Promise<{ Volumes: Volume[]; Warnings: null }> {
    filters.validate(LIST_FILTERS);
    const dangling = filters.has('dangling') ? filters.bool('dangling') : undefined;
    const refs = this.references();
    const out = this.driver
      .list()
      .filter(() => filters.exactMatch('driver', LOCAL_DRIVER))
      .filter((r) => !filters.has('name') || filters.match('name', r.name))
      .filter((r) => filters.matchLabels(r.labels))
      .filter((r) => dangling === undefined || dangling === !refs.has(r.name))
      .map((r) => this.toApi(r))
      .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    return { Volumes: out, Warnings: null };
  }

  async inspect(name: string): Promise<Volume> {
    return this.toApi(this.getRecord(name));
  }

  /** `POST /volumes/create`: an existing name returns the existing volume (as Docker does). */
  async createVolume(req: VolumeCreateRequest): Promise<Volume> {
    let name = req.Name ?? '';
    const labels = req.Labels ?? null;
    let withLabels = labels;
    if (!name) {
      name = generateId();
      withLabels = { ...(labels ?? {}), [ANONYMOUS_LABEL]: '' };
    }
    this.checkDriver(req.Driver, 'create', name);
    const r = await this.ensure(name, { labels: withLabels, options: req.DriverOpts ?? null });
    return this.toApi(r);
  }

  private async ensure(name: string, opts: { labels: Record<string, string> | null; options: Record<string, string> | null }): Promise<VolumeRecord> {
    try {
      const { record, created } = await this.driver.create(name, opts);
      if (created) this.o.events.publish('volume', 'create', name, { driver: LOCAL_DRIVER });
      return record;
    } catch (e) {
      throw opErr('create', name, e);
    }
  }

  /** `DELETE /volumes/{name}`: 409 while referenced; `force` ignores a missing volume. */
  async removeVolume(name: string, force: boolean): Promise<void> {
    if (!this.driver.get(name)) {
      if (force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    await this.removeChecked(name);
  }

  /**
   * Checks references and removes the volume from the namespace in the same tick, so no interleaving request can
   * add a reference in between; the returned promise settles when the data is gone. Throws Conflict when in use.
   */
  private removeChecked(name: string, exclude?: string): Promise<void> {
    const refs = this.references(exclude).get(name);
    if (refs?.length) throw conflict(`remove ${name}: volume is in use - [${refs.join(', ')}]`);
    return this.driver.remove(name).then(
      () => void this.o.events.publish('volume', 'destroy', name, { driver: LOCAL_DRIVER }),
      (e) => {
        throw opErr('remove', name, e);
      },
    );
  }

  /** `POST /volumes/prune`: unreferenced local volumes without driver options; anonymous ones only unless all=true. */
  async prune(filters: Filters, apiVersion: string): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    if (this.pruning) throw conflict('a prune operation is already running');
    this.pruning = true;
    try {
      filters.validate(PRUNE_FILTERS);
      let all = !versionAtLeast(apiVersion, '1.42');
      const allValues = filters.get('all');
      if (allValues.length > 1) throw invalidArgument(`invalid filter 'all=[${allValues.join(' ')}]': only one value is expected`);
      if (allValues.length === 1) {
        const v = parseGoBool(allValues[0]!);
        if (v === undefined) throw invalidArgument(`invalid filter 'all': strconv.ParseBool: parsing "${allValues[0]}": invalid syntax`);
        all ||= v;
      }
      const report = { VolumesDeleted: [] as string[], SpaceReclaimed: 0 };
      const candidates = this.driver
        .list()
        .filter((r) => !r.options || Object.keys(r.options).length === 0)
        .filter((r) => all || Object.prototype.hasOwnProperty.call(r.labels ?? {}, ANONYMOUS_LABEL))
        .filter((r) => filters.matchLabels(r.labels));
      for (const r of candidates) {
        if (this.references().has(r.name)) continue;
        const size = await this.driver.size(r.name);
        try {
          await this.removeChecked(r.name);
        } catch (e) {
          this.o.logger.warn(`prune: ${(e as Error).message}`);
          continue;
        }
        report.VolumesDeleted.push(r.name);
        if (size > 0) report.SpaceReclaimed += size;
      }
      this.o.events.publish('volume', 'prune', '', { reclaimed: String(report.SpaceReclaimed) });
      return report;
    } finally {
      this.pruning = false;
    }
  }

  /** The volume part of `GET /system/df`: local volumes without driver options, with size and reference count. */
  async df(): Promise<Volume[]> {
    const refs = this.references();
    const out: Volume[] = [];
    for (const r of this.driver.list()) {
      if (r.options && Object.keys(r.options).length) continue;
      out.push({ ...this.toApi(r), UsageData: { Size: await this.driver.size(r.name), RefCount: refs.get(r.name)?.length ?? 0 } });
    }
    return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  }

  /**
   * The host path behind a container path when it lies under one of the container's bind/volume mounts (for
   * `docker cp` on a stopped container); undefined when the path is in the container's own filesystem.
   */
  hostPathFor(rec: ContainerRecord, containerPath: string): { hostPath: string; readOnly: boolean } | undefined {
    const p = path.posix.normalize('/' + containerPath);
    let best: MountPoint | undefined;
    for (const m of rec.Mounts ?? []) {
      if (m.Type === 'tmpfs') continue;
      const d = m.Destination;
      if ((p === d || p.startsWith(d === '/' ? '/' : d + '/')) && (!best || d.length > best.Destination.length)) best = m;
    }
    if (!best) return undefined;
    return { hostPath: path.join(best.Source, path.posix.relative(best.Destination, p)), readOnly: !best.RW };
  }

  // ------------------------------------------------------------------ container hook

  /** Create time: validate, create volumes, fill rec.Mounts (Docker's registerMountPoints + createContainerVolumesOS). */
  async create(rec: ContainerRecord, imageVolumes: Record<string, object> | null | undefined): Promise<void> {
    const hc = rec.HostConfig;
    const bk = book(rec);
    const points = new Map<string, MountPoint>();
    const createdAnon: string[] = [];
    const pend = new Set<string>();
    this.pending.set(rec.Id, pend);
    const addAnon = (name: string) => (bk.anonymous ??= []).includes(name) || bk.anonymous.push(name);
    const addCopy = (dest: string) => (bk.copyUp ??= []).includes(dest) || bk.copyUp.push(dest);
    try {
      // 1. --volumes-from: the other container's mount points, read-only when asked (copy-up never applies).
      for (const spec of hc.VolumesFrom ?? []) {
        const vf = parseVolumesFrom(spec);
        const src = this.o.containers().find(vf.container);
        if (!src) throw notFound(`No such container: ${vf.container}`);
        const srcAnon = src.Berth.volumes?.anonymous ?? [];
        const srcBook = src.Berth.volumes ?? {};
        for (const m of src.Mounts ?? []) {
          points.set(m.Destination, { ...m, Mode: '', RW: m.RW && vf.rw });
          if (m.Type === 'volume' && m.Name) {
            pend.add(m.Name);
            if (srcAnon.includes(m.Name)) addAnon(m.Name);
          }
          if (m.Type === 'tmpfs' && srcBook.tmpfs?.[m.Destination] !== undefined) (bk.tmpfs ??= {})[m.Destination] = srcBook.tmpfs[m.Destination]!;
          if (srcBook.nonRecursive?.includes(m.Destination)) (bk.nonRecursive ??= []).push(m.Destination);
        }
      }
      // 2. Binds and 3. Mounts override what volumes-from brought; a destination twice among them is an error.
      const own = new Set<string>();
      const specs: Array<{ mp: MountPointSpec; fromBinds: boolean }> = [];
      for (const b of hc.Binds ?? []) specs.push({ mp: parseBindSpec(b, String(hc.VolumeDriver ?? '')), fromBinds: true });
      for (const m of hc.Mounts ?? []) specs.push({ mp: parseMountSpec(m, (p) => fs.existsSync(p)), fromBinds: false });
      for (const { mp, fromBinds } of specs) {
        if (own.has(mp.destination)) throw invalidArgument(`Duplicate mount point: ${mp.destination}`);
        own.add(mp.destination);
        if (mp.type === 'bind') {
          points.set(mp.destination, {
            Type: 'bind',
            Source: mp.source,
            Destination: mp.destination,
            Mode: mp.mode,
            RW: mp.rw,
            Propagation: mp.propagation,
          });
          if (fromBinds || mp.createMountpoint) (bk.createSource ??= []).push(mp.destination);
          if (mp.nonRecursive) (bk.nonRecursive ??= []).push(mp.destination);
        } else if (mp.type === 'tmpfs') {
          points.set(mp.destination, { Type: 'tmpfs', Source: '', Destination: mp.destination, Mode: '', RW: mp.rw, Propagation: '' });
          (bk.tmpfs ??= {})[mp.destination] = mp.tmpfsData ?? '';
        } else {
          const v = mp.volume!;
          this.checkDriver(v.driver, 'create', mp.source || '');
          const anonymous = mp.source === '';
          const name = mp.source || generateId();
          pend.add(name);
          const existed = Boolean(this.driver.get(name));
          const labels = anonymous ? { ...(v.labels ?? {}), [ANONYMOUS_LABEL]: '' } : v.labels;
          await this.ensure(name, { labels, options: v.options });
          if (anonymous && !existed) createdAnon.push(name);
          if (anonymous) addAnon(name);
          points.set(mp.destination, {
            Type: 'volume',
            Name: name,
            Source: this.driver.path(name),
            Destination: mp.destination,
            Driver: LOCAL_DRIVER,
            // Docker's setBindModeIfNull: local volumes without a mode show "z".
            Mode: mp.mode || 'z',
            RW: mp.rw,
            Propagation: '',
          });
          if (mp.copyData) addCopy(mp.destination);
        }
      }
      // 4. Config.Volumes and the image's VOLUMEs: anonymous volumes, unless something is mounted there already.
      const dests = new Set([...Object.keys(rec.Config.Volumes ?? {}), ...Object.keys(imageVolumes ?? {})].map(cleanPath));
      for (const dest of dests) {
        if (!dest.startsWith('/')) throw invalidArgument(`invalid mount path: '${dest}' mount path must be absolute`);
        if (points.has(dest) || Object.keys(hc.Tmpfs ?? {}).some((t) => cleanPath(t) === dest)) continue;
        const name = generateId();
        pend.add(name);
        await this.ensure(name, { labels: { [ANONYMOUS_LABEL]: '' }, options: null });
        createdAnon.push(name);
        addAnon(name);
        points.set(dest, {
          Type: 'volume',
          Name: name,
          Source: this.driver.path(name),
          Destination: dest,
          Driver: LOCAL_DRIVER,
          Mode: '',
          RW: true,
          Propagation: '',
        });
        addCopy(dest);
      }
      rec.Mounts = [...points.values()];
      // The record is saved right after this hook returns; until then `pending` protects the new references.
      setImmediate(() => {
        if (this.pending.get(rec.Id) === pend) this.pending.delete(rec.Id);
      });
    } catch (e) {
      this.pending.delete(rec.Id);
      for (const name of createdAnon) {
        try {
          await this.removeChecked(name, rec.Id);
        } catch {
          /* referenced meanwhile: keep it */
        }
      }
      throw e;
    }
  }

  /** Start time: mount what needs mounting, copy the image's content into new volumes, return the OCI mounts. */
  async mounts(rec: ContainerRecord, rootfs: string): Promise<OciMount[]> {
    const bk = book(rec);
    const out: OciMount[] = [];
    for (const m of rec.Mounts ?? []) {
      const propagation = m.Propagation || 'rprivate';
      const bindOpts = (): string[] => [bk.nonRecursive?.includes(m.Destination) ? 'bind' : 'rbind', ...(m.RW ? [] : ['ro']), propagation];
      if (m.Type === 'bind') {
        if (!fs.existsSync(m.Source)) {
          if (!bk.createSource?.includes(m.Destination)) throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
          await fs.promises.mkdir(m.Source, { recursive: true, mode: 0o755 });
        }
        // dockerd's WithMounts: shared/slave propagation needs a source on a shared (or slave) mount
        const problem = propagationProblem(m.Source, propagation);
        if (problem) throw new EngineError('Internal', problem);
        out.push({ destination: m.Destination, type: 'bind', source: m.Source, options: bindOpts() });
      } else if (m.Type === 'volume') {
        const name = m.Name!;
        if (!this.driver.get(name)) throw notFound(`get ${name}: no such volume`);
        const host = await this.driver.mount(name).catch((e) => {
          throw opErr('mount', name, e);
        });
        if (bk.copyUp?.includes(m.Destination)) {
          await copyUp(rootfs, m.Destination, host);
          bk.copyUp = bk.copyUp.filter((d) => d !== m.Destination);
        }
        out.push({ destination: m.Destination, type: 'bind', source: host, options: bindOpts() });
        this.o.events.publish('volume', 'mount', name, {
          container: rec.Id,
          destination: m.Destination,
          driver: LOCAL_DRIVER,
          propagation: m.Propagation,
          'read/write': String(m.RW),
        });
      } else if (m.Type === 'tmpfs') {
        const data = bk.tmpfs?.[m.Destination] ?? '';
        const t = tmpfsMount(m.Destination, data);
        out.push({ destination: t.destination, type: 'tmpfs', source: 'tmpfs', options: t.options ?? [] });
      }
    }
    return out;
  }

  /** Exit time: one `unmount` event per volume the container had mounted, as dockerd sends when it stops. */
  released(rec: ContainerRecord): void {
    for (const m of rec.Mounts ?? []) if (m.Type === 'volume' && m.Name) this.o.events.publish('volume', 'unmount', m.Name, { container: rec.Id, driver: LOCAL_DRIVER });
  }

  /** Remove time: with `removeAnonymous` (`rm -v`, AutoRemove) delete the container's unreferenced anonymous volumes. */
  async remove(rec: ContainerRecord, removeAnonymous: boolean): Promise<void> {
    this.pending.delete(rec.Id);
    if (!removeAnonymous) return;
    for (const name of book(rec).anonymous ?? []) {
      if (!this.driver.get(name)) continue;
      try {
        await this.removeChecked(name, rec.Id);
      } catch (e) {
        if (!(e instanceof EngineError && e.kind === 'Conflict' && /in use/.test(e.message))) this.o.logger.warn(`remove volume ${name}: ${(e as Error).message}`);
      }
    }
  }
}

function cleanPath(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 ? n.replace(/\/$/, '') : n;
}

function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(s)) return false;
  return undefined;
}

/**
 * Resolves `p` inside `root` following symlinks as if `root` were `/` (so an image's symlink can never point the
 * copy outside the container's filesystem). Returns undefined when a component is missing or the lookup fails.
 */
export function resolveInRoot(root: string, p: string): string | undefined {
  try {
    const r = resolveInRootSync(root, p);
    return r.missing ? undefined : path.join(root, ...r.components);
  } catch {
    return undefined;
  }
}

/** Docker's copy-up: when the volume is empty and the image has a directory there, copy it in (owners, modes, xattrs). */
export async function copyUp(rootfs: string, destination: string, volumePath: string, kernel: Kernel = hostKernel): Promise<void> {
  const src = resolveInRoot(rootfs, destination);
  if (!src) return;
  const st = await fs.promises.stat(src).catch(() => undefined);
  if (!st?.isDirectory()) return;
  if ((await fs.promises.readdir(volumePath)).length > 0) return;
  try {
    await kernel.copyTree(src, volumePath, { contents: true });
  } catch (e) {
    throw new EngineError('Internal', `copy image content of ${destination} into volume: ${(e as Error).message}`);
  }
}
