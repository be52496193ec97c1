/**
 * Carries a project's plan out through the Engine API: networks and volumes first, images (build or pull), then
 * services in dependency order — each service starts as soon as its dependencies meet their `depends_on`
 * condition, so independent services go in parallel — and the reverse for stop/down.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ImageInspect } from '../api/types/image.js';
import type { NetworkCreateRequest } from '../api/types/network.js';
import { unlessNotFound, type Client, type ImageBuildOptions } from '../client/index.js';
import { isNotFound } from '../errdefs/index.js';
import { containerName, createSpec, CreateContext, imageName, inlineFileObjects, stopTimeout } from './convert.js';
import { nameOf as cname, projectContainers, type ProjectContainer } from './containers.js';
import { buildImage, pullImage } from './images.js';
import { COMPOSE_VERSION, L, projectFilter } from './labels.js';
import { replicasOf } from './model/load.js';
import type { Project, Service } from './model/types.js';
import { Action, containerNumber, dependencyOrder, planService, withDependencies } from './plan.js';
import type { ProgressWriter } from './progress.js';

export class ComposeError extends Error {}

export interface UpOptions {
  services?: string[];
  noDeps?: boolean;
  forceRecreate?: boolean;
  noRecreate?: boolean;
  noStart?: boolean;
  build?: boolean;
  noBuild?: boolean;
  pull?: 'always' | 'missing' | 'never' | 'build' | 'policy';
  scale?: Record<string, number>;
  removeOrphans?: boolean;
  timeout?: number;
  wait?: boolean;
  waitTimeout?: number;
  /** -V: new anonymous volumes for recreated containers instead of the old ones. */
  renewAnonVolumes?: boolean;
}

export interface DownOptions {
  volumes?: boolean;
  removeOrphans?: boolean;
  rmi?: 'all' | 'local';
  timeout?: number;
  services?: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs tasks with their dependencies first: `deps(n)` names what n waits for; tasks with no link run in parallel. */
async function inOrder(names: string[], deps: (n: string) => string[], run: (n: string) => Promise<void>): Promise<void> {
  const done = new Map<string, Promise<void>>();
  const start = (n: string): Promise<void> => {
    let p = done.get(n);
    if (!p) {
      p = (async () => {
        await Promise.all(deps(n).filter((d) => names.includes(d)).map(start));
        await run(n);
      })();
      done.set(n, p);
    }
    return p;
  };
  const all = names.map(start);
  const results = await Promise.allSettled(all);
  const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) throw failed.reason;
}

/** A container `up` has made: its ID and name. */
interface Created {
  id: string;
  name: string;
}

/**
 * Whether `s` can be created before its dependencies run: every dependency only has to be started, and nothing in
 * its create body names a dependency's container (network_mode service:, links, volumes_from resolve to names the
 * dependency's own turn settles).
 */
function createdBeforeDependencies(s: Service): boolean {
  if (Object.values(s.depends_on ?? {}).some((d) => d.condition !== 'service_started')) return false;
  return !s.network_mode?.startsWith('service:') && !s.links?.length && !s.volumes_from?.length;
}

export class ProjectRunner {
  constructor(
    readonly project: Project,
    readonly client: Client,
    readonly progress: ProgressWriter,
    readonly lookup: (k: string) => string | undefined = (k) => process.env[k],
  ) {}

  get name(): string {
    return this.project.name;
  }

  containers(opts: { all?: boolean; oneoff?: boolean } = {}): Promise<ProjectContainer[]> {
    const labels = opts.oneoff === undefined ? [] : [`${L.oneoff}=${opts.oneoff ? 'True' : 'False'}`];
    return projectContainers(this.client, this.name, { all: opts.all ?? true, labels });
  }

  /** Containers of the project whose service is not in the model (enabled or disabled). */
  orphans(list: ProjectContainer[]): ProjectContainer[] {
    return list.filter((c) => c.Labels[L.oneoff] !== 'True' && !this.project.services[c.Labels[L.service]] && !this.project.disabled[c.Labels[L.service]]);
  }

  async ensureNetworks(services: string[]): Promise<void> {
    const used = new Set<string>();
    for (const n of services) for (const k of Object.keys(this.project.services[n]?.networks ?? {})) used.add(k);
    await Promise.all(
      [...used].map(async (key) => {
        const net = this.project.networks[key];
        const existing = await unlessNotFound(this.client.networks.inspect(net.name));
        if (net.external) {
          if (!existing) throw new ComposeError(`network ${net.name} declared as external, but could not be found`);
          return;
        }
        if (existing) {
          if (existing.Labels?.[L.project] && existing.Labels[L.project] !== this.name)
            this.progress.note(`WARN[0000] a network with name ${net.name} exists but was not created for project "${this.name}".\nSet \`external: true\` to use an existing network`);
          return;
        }
        this.progress.event('Network', net.name, 'Creating');
        const body: NetworkCreateRequest = {
          Name: net.name,
          Driver: net.driver ?? 'bridge',
          Options: net.driver_opts ?? {},
          Internal: net.internal ?? false,
          Attachable: net.attachable ?? false,
          EnableIPv6: net.enable_ipv6 ?? false,
          CheckDuplicate: true,
          Labels: { ...(net.labels ?? {}), [L.project]: this.name, [L.network]: key, [L.version]: COMPOSE_VERSION },
        };
        if (net.ipam) body.IPAM = { Driver: net.ipam.driver ?? 'default', Config: (net.ipam.config ?? []).map((c) => ({ Subnet: c.subnet, Gateway: c.gateway, IPRange: c.ip_range })) };
        try {
          await this.client.networks.create(body);
        } catch (e) {
          // Another `up` of the same project may have created it a moment ago.
          if (!(await unlessNotFound(this.client.networks.inspect(net.name)))) throw e;
        }
        this.progress.event('Network', net.name, 'Created', { done: true });
      }),
    );
  }

  async ensureVolumes(services: string[]): Promise<void> {
    const used = new Set<string>();
    for (const n of services) for (const v of this.project.services[n]?.volumes ?? []) if (v.type === 'volume' && v.source) used.add(v.source);
    await Promise.all(
      [...used].map(async (key) => {
        const vol = this.project.volumes[key];
        const existing = await unlessNotFound(this.client.volumes.inspect(vol.name));
        if (vol.external) {
          if (!existing) throw new ComposeError(`external volume "${vol.name}" not found`);
          return;
        }
        if (existing) return;
        this.progress.event('Volume', `"${vol.name}"`, 'Creating');
        await this.client.volumes.create({ Name: vol.name, Driver: vol.driver ?? 'local', DriverOpts: vol.driver_opts ?? {}, Labels: { ...(vol.labels ?? {}), [L.project]: this.name, [L.volume]: key, [L.version]: COMPOSE_VERSION } });
        this.progress.event('Volume', `"${vol.name}"`, 'Created', { done: true });
      }),
    );
  }

  /** Builds a service's image through the classic builder API; returns the image ID. */
  async build(s: Service, opts: { noCache?: boolean; pull?: boolean; quiet?: boolean; onLine?: (line: string) => void } = {}): Promise<string | undefined> {
    const b = s.build!;
    const tag = imageName(this.project, s);
    // The context packer (dockerignore, tar) loads only when something is built.
    const { buildContext } = await import('./build-context.js');
    const ctx = await buildContext(b.context, b.dockerfile ?? 'Dockerfile');
    const args: Record<string, string> = {};
    for (const [k, v] of Object.entries(b.args ?? {})) if (v !== null) args[k] = v;
    const labels = { ...(b.labels ?? {}) };
    const query: ImageBuildOptions = {
      tags: [tag],
      dockerfile: ctx.dockerfile,
      buildArgs: args,
      labels,
      target: b.target,
      networkMode: b.network,
      extraHosts: b.extra_hosts,
      cacheFrom: b.cache_from,
      noCache: opts.noCache || b.no_cache || undefined,
      pull: opts.pull || b.pull || undefined,
      remove: true,
      forceRemove: true,
    };
    this.progress.event('Service', s.name, 'Building');
    let id: string | undefined;
    try {
      id = await buildImage(this.client, ctx.stream, query, (m) => {
        if (typeof m.stream === 'string') opts.onLine?.(m.stream);
      });
    } catch (e) {
      this.progress.event('Service', s.name, 'Error', { error: true });
      throw new ComposeError(`failed to solve: ${(e as Error).message}`);
    }
    this.progress.event('Service', s.name, 'Built', { done: true });
    return id ?? (await unlessNotFound(this.client.images.inspect(tag)))?.Id;
  }

  /** Pulls the service's image (Compose v2 shows ` <service> Pulling` / `Pulled`). */
  async pull(s: Service): Promise<void> {
    const ref = s.image!;
    this.progress.event('Image', ref, 'Pulling');
    try {
      await pullImage(this.client, ref);
    } catch (e) {
      this.progress.event('Image', ref, 'Error', { error: true });
      throw new ComposeError(`Error response from daemon: ${(e as Error).message}`);
    }
    this.progress.event('Image', ref, 'Pulled', { done: true });
  }

  /** Makes sure every service has its image; returns service → image ID. */
  async ensureImages(services: string[], opts: UpOptions): Promise<Map<string, string | undefined>> {
    const ids = new Map<string, string | undefined>();
    // Services sharing an image ask the Engine about it once.
    const inspected = new Map<string, Promise<ImageInspect | undefined>>();
    await Promise.all(
      services.map(async (n) => {
        const s = this.project.services[n];
        const ref = imageName(this.project, s);
        if (!inspected.has(ref)) inspected.set(ref, unlessNotFound(this.client.images.inspect(ref)));
        let img = await inspected.get(ref)!;
        const policy = opts.pull && opts.pull !== 'policy' ? opts.pull : (s.pull_policy ?? 'missing');
        if (s.build && !opts.noBuild && (opts.build || policy === 'build' || (!img && !(s.image && policy !== 'build' && (await this.tryPull(s)))))) {
          ids.set(n, await this.build(s));
          return;
        }
        if (s.image && (policy === 'always' || (!img && policy !== 'never'))) {
          await this.pull(s);
          img = await unlessNotFound(this.client.images.inspect(ref));
        }
        if (!img) throw new ComposeError(`Error response from daemon: No such image: ${ref}`);
        ids.set(n, img.Id);
      }),
    );
    return ids;
  }

  /** For a service with both image and build: pull first, build only if the pull fails (Compose's order). */
  private async tryPull(s: Service): Promise<boolean> {
    try {
      await pullImage(this.client, s.image!);
      return true;
    } catch {
      return false;
    }
  }

  /** Creates (or re-creates) every service and starts it, in dependency order. */
  async up(opts: UpOptions = {}): Promise<void> {
    const services = withDependencies(this.project.services, opts.services ?? [], opts.noDeps);
    for (const n of opts.services ?? []) if (!this.project.services[n]) throw new ComposeError(`no such service: ${n}`);
    const existing = await this.containers({ oneoff: false });
    const orphans = this.orphans(existing);
    if (orphans.length) {
      if (opts.removeOrphans) await Promise.all(orphans.map((c) => this.removeContainer(c, { stop: true, timeout: opts.timeout })));
      else this.progress.note(`WARN[0000] Found orphan containers ([${orphans.map(cname).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`);
    }
    await Promise.all([this.ensureNetworks(services), this.ensureVolumes(services)]);
    const imageIds = await this.ensureImages(services, opts);
    const byService = new Map<string, ProjectContainer[]>();
    for (const c of existing) {
      const s = c.Labels[L.service];
      byService.set(s, [...(byService.get(s) ?? []), c]);
    }
    // Which containers each service ends up with, for service:x network modes, links and volumes_from.
    const current = new Map<string, string[]>();
    const stoppedForRestart = new Set<string>();
    for (const [s, list] of byService) current.set(s, list.filter((c) => c.State === 'running').map(cname));
    const containerOf = (svc: string) => current.get(svc)?.[0];

    const plans = new Map<string, Action[]>();
    const planOf = (n: string): Action[] => {
      let actions = plans.get(n);
      if (!actions) {
        const s = this.project.services[n];
        const replicas = opts.scale?.[n] ?? replicasOf(s);
        actions = planService(s, byService.get(n) ?? [], { replicas, forceRecreate: opts.forceRecreate, noRecreate: opts.noRecreate, imageId: imageIds.get(n) });
        plans.set(n, actions);
      }
      return actions;
    };
    // As Compose v2 creates containers before it starts them, a service whose dependencies only have to be started
    // gets its new containers once theirs are created (dependency order), not once they run: by the time its
    // dependencies are up, it only has to start. Services waiting for health or completion are created after.
    const early = new Map<string, Promise<Map<number, Created>>>();
    const createEarly = (n: string): Promise<Map<number, Created>> => {
      let p = early.get(n);
      if (!p) {
        p = (async () => {
          const s = this.project.services[n];
          await Promise.all(Object.keys(s.depends_on ?? {}).filter((d) => services.includes(d)).map(createEarly));
          const made = new Map<number, Created>();
          if (!createdBeforeDependencies(s)) return made;
          const creates = planOf(n).filter((a) => a.kind === 'create');
          await Promise.all(creates.map(async (a) => made.set(a.number, await this.createNew(s, a.number, imageIds.get(n), containerOf, opts))));
          return made;
        })();
        // Observed by the service's own turn; a failure there (or a dependency's) is what `up` reports.
        p.catch(() => {});
        early.set(n, p);
      }
      return p;
    };
    for (const n of services) void createEarly(n);

    await inOrder(
      services,
      (n) => Object.keys(this.project.services[n].depends_on ?? {}),
      async (n) => {
        const s = this.project.services[n];
        const made = await createEarly(n);
        await this.waitDependencies(s, services, current);
        let actions = planOf(n);
        // A dependent stopped because this service (depends_on.restart) was recreated starts again now.
        actions = actions.map((a) => (a.kind === 'keep' && stoppedForRestart.has(a.container.Id) ? { ...a, kind: 'start' } : a));
        const recreating = actions.some((a) => a.kind === 'recreate');
        // depends_on.restart: dependents are stopped while this service is recreated, and started after it.
        const outside = recreating ? await this.stopRestartDependents(n, byService, services, stoppedForRestart, opts) : [];
        const names = await Promise.all(actions.map((a) => this.carryOut(s, a, imageIds.get(n), containerOf, opts, made.get(a.number))));
        current.set(n, names.filter((x): x is string => !!x));
        for (const c of outside.reverse()) {
          if (opts.noStart) continue;
          await this.waitDependencies(this.project.services[c.Labels[L.service]], services);
          await this.startOne(s, c.Id, cname(c));
        }
      },
    );
    if (opts.wait) await this.waitHealthy(services, opts.waitTimeout);
  }

  /** `created`: the container an early create already made for a `create` action. */
  private async carryOut(s: Service, a: Action, imageId: string | undefined, containerOf: (svc: string) => string | undefined, opts: UpOptions, created?: Created): Promise<string | undefined> {
    switch (a.kind) {
      case 'keep':
        this.progress.event('Container', cname(a.container), 'Running', { done: true });
        return cname(a.container);
      case 'start':
        if (opts.noStart) return cname(a.container);
        this.progress.event('Container', cname(a.container), 'Starting');
        await this.client.containers.start(a.container.Id);
        this.progress.event('Container', cname(a.container), 'Started', { done: true });
        return cname(a.container);
      case 'remove':
        await this.removeContainer(a.container, { stop: true, timeout: stopTimeout(s, opts.timeout) });
        return undefined;
      case 'recreate': {
        const old = a.container;
        const name = cname(old);
        this.progress.event('Container', name, 'Recreate');
        if (old.State === 'running' || old.State === 'paused' || old.State === 'restarting') await this.client.containers.stop(old.Id, { timeout: stopTimeout(s, opts.timeout) });
        const inheritVolumes = opts.renewAnonVolumes ? undefined : await this.anonymousVolumes(old.Id);
        // The old container steps aside under a temporary name, so the new one can take its name.
        await this.client.containers.rename(old.Id, `${old.Id.slice(0, 12)}_${name}`);
        const id = await this.createOne(s, { number: a.number, imageId, replaces: old.Id, containerOf, inheritVolumes });
        await this.client.containers.remove(old.Id, { force: true });
        this.progress.event('Container', name, 'Recreated', { done: opts.noStart });
        if (!opts.noStart) await this.startOne(s, id, name);
        return name;
      }
      case 'create': {
        const { id, name } = created ?? (await this.createNew(s, a.number, imageId, containerOf, opts));
        if (!opts.noStart) await this.startOne(s, id, name);
        return name;
      }
    }
  }

  /** Creates replica `number` of `s`, with its progress lines. */
  private async createNew(s: Service, number: number, imageId: string | undefined, containerOf: (svc: string) => string | undefined, opts: UpOptions): Promise<Created> {
    const name = containerName(this.project, s, number); // the name createOne's spec gives it
    this.progress.event('Container', name, 'Creating');
    const id = await this.createOne(s, { number, imageId, containerOf });
    this.progress.event('Container', name, 'Created', { done: opts.noStart });
    return { id, name };
  }

  /**
   * Stops the running containers of the services that depend on `service` with `restart: true` (transitively), as
   * Compose v2 does before it recreates `service`. Those among `services` start again in their turn; the others are
   * returned, for the caller to start once `service` is up.
   */
  private async stopRestartDependents(service: string, byService: Map<string, ProjectContainer[]>, services: string[], stopped: Set<string>, opts: UpOptions): Promise<ProjectContainer[]> {
    const outside: ProjectContainer[] = [];
    const visit = async (dep: string, seen: Set<string>) => {
      for (const [name, other] of Object.entries(this.project.services)) {
        if (seen.has(name) || !other.depends_on?.[dep]?.restart) continue;
        seen.add(name);
        await visit(name, seen);
        await Promise.all(
          (byService.get(name) ?? [])
            .filter((c) => c.State === 'running' && c.Labels[L.oneoff] !== 'True' && !stopped.has(c.Id))
            .map(async (c) => {
              stopped.add(c.Id);
              this.progress.event('Container', cname(c), 'Stopping');
              await this.client.containers.stop(c.Id, { timeout: stopTimeout(other, opts.timeout) });
              this.progress.event('Container', cname(c), 'Stopped', { done: true });
              if (!services.includes(name)) outside.push(c);
            }),
        );
      }
    };
    await visit(service, new Set([service]));
    return outside;
  }

  /** The old container's anonymous volumes (not one of the project's named volumes, nor any other named one), by mount point. */
  private async anonymousVolumes(id: string): Promise<Record<string, string>> {
    const named = new Set(Object.values(this.project.volumes).map((v) => v.name));
    const out: Record<string, string> = {};
    const i = await this.client.containers.inspect(id).catch(() => undefined);
    for (const m of i?.Mounts ?? []) {
      if (m.Type !== 'volume' || !m.Name || !m.Destination || named.has(m.Name)) continue;
      // Anonymous volumes are named by a 64-hex ID; anything else was named by someone.
      if (!/^[0-9a-f]{64}$/.test(m.Name)) continue;
      out[path.posix.normalize(m.Destination)] = m.Name;
    }
    return out;
  }

  private async startOne(_s: Service, id: string, name: string): Promise<void> {
    this.progress.event('Container', name, 'Starting');
    await this.client.containers.start(id);
    this.progress.event('Container', name, 'Started', { done: true });
  }

  /** Creates one container of `s`: extra networks joined and inline secrets copied in. */
  async createOne(s: Service, ctx: CreateContext): Promise<string> {
    const spec = createSpec(this.project, s, ctx);
    for (const v of s.volumes ?? []) if (v.type === 'bind' && v.bind?.create_host_path && v.source && !fs.existsSync(v.source)) fs.mkdirSync(v.source, { recursive: true });
    const { Id: id } = await this.client.containers.create(spec.body, { name: spec.name });
    for (const n of spec.extraNetworks) await this.client.networks.connect(n.name, id, n.endpoint);
    const files = inlineFileObjects(this.project, s, this.lookup);
    if (files.length) {
      const { tarFromEntries } = await import('../pkg/tar/writer.js');
      const tar = tarFromEntries(files.map((f) => ({ header: { name: f.target.replace(/^\//, ''), mode: f.mode, uid: f.uid, gid: f.gid, type: 'file' as const }, body: f.content })));
      await this.client.containers.putArchive(id, '/', tar);
    }
    return id;
  }

  /** Waits for each `depends_on` of `s` (among `services`) to meet its condition. */
  async waitDependencies(s: Service, services: string[], started?: Map<string, string[]>): Promise<void> {
    await Promise.all(
      Object.entries(s.depends_on ?? {}).map(async ([dep, d]) => {
        if (!services.includes(dep) && !this.project.services[dep]) return;
        // Started by this very `up` a moment ago: nothing to ask the Engine for.
        if (d.condition === 'service_started' && started?.get(dep)?.length) return;
        const list = (await this.containers({ oneoff: false })).filter((c) => c.Labels[L.service] === dep);
        if (!list.length) {
          if (d.required) throw new ComposeError(`service "${dep}" has no container to wait for`);
          return;
        }
        await Promise.all(list.map((c) => this.waitCondition(c, d.condition)));
      }),
    );
  }

  private async waitCondition(c: ProjectContainer, condition: string): Promise<void> {
    const name = cname(c);
    if (condition === 'service_started') return;
    this.progress.event('Container', name, 'Waiting');
    if (condition === 'service_completed_successfully') {
      const { StatusCode: code } = await (await this.client.containers.wait(c.Id, 'not-running')).result;
      if (code !== 0) {
        this.progress.event('Container', name, 'Error', { error: true });
        throw new ComposeError(`service "${c.Labels[L.service]}" didn't complete successfully: exit ${code}`);
      }
      this.progress.event('Container', name, 'Exited', { done: true });
      return;
    }
    // service_healthy: the Engine has no health wait, so poll inspect (as Compose does).
    for (;;) {
      const i = await this.client.containers.inspect(c.Id);
      const h = i.State.Health?.Status;
      if (!i.State.Health && !i.Config.Healthcheck?.Test) throw new ComposeError(`container ${name} has no healthcheck configured`);
      if (h === 'healthy') break;
      if (h === 'unhealthy') {
        this.progress.event('Container', name, 'Error', { error: true });
        throw new ComposeError(`dependency failed to start: container ${name} is unhealthy`);
      }
      if (!i.State.Running && i.State.Status !== 'created') throw new ComposeError(`dependency failed to start: container ${name} exited (${i.State.ExitCode})`);
      await sleep(100);
    }
    this.progress.event('Container', name, 'Healthy', { done: true });
  }

  /** `up --wait`: every container running, and healthy where it has a healthcheck. */
  async waitHealthy(services: string[], timeoutSec?: number): Promise<void> {
    const deadline = timeoutSec ? Date.now() + timeoutSec * 1000 : Infinity;
    const list = (await this.containers({ oneoff: false })).filter((c) => services.includes(c.Labels[L.service]));
    await Promise.all(
      list.map(async (c) => {
        const name = cname(c);
        this.progress.event('Container', name, 'Waiting');
        for (;;) {
          const i = await this.client.containers.inspect(c.Id);
          const h = i.State.Health?.Status;
          if (i.State.Running && (!h || h === 'healthy')) break;
          if (h === 'unhealthy') throw new ComposeError(`container ${name} is unhealthy`);
          if (!i.State.Running && i.State.Status === 'exited') {
            if (i.State.ExitCode === 0 && this.isDependencyOnlyOneShot(c.Labels[L.service])) break;
            throw new ComposeError(`container ${name} exited (${i.State.ExitCode})`);
          }
          if (Date.now() > deadline) throw new ComposeError(`timeout waiting for ${name}`);
          await sleep(100);
        }
        this.progress.event('Container', name, 'Healthy', { done: true });
      }),
    );
  }

  private isDependencyOnlyOneShot(service: string): boolean {
    return Object.values(this.project.services).some((s) => s.depends_on?.[service]?.condition === 'service_completed_successfully');
  }

  async removeContainer(c: ProjectContainer, opts: { stop?: boolean; timeout?: number; volumes?: boolean }): Promise<void> {
    if (opts.stop) await this.stopForRemoval(c, opts.timeout);
    await this.removeStopped(c, opts.volumes);
  }

  private async stopForRemoval(c: ProjectContainer, timeout: number | undefined): Promise<void> {
    if (c.State !== 'running' && c.State !== 'restarting' && c.State !== 'paused') return;
    const name = cname(c);
    this.progress.event('Container', name, 'Stopping');
    await this.client.containers.stop(c.Id, { timeout });
    this.progress.event('Container', name, 'Stopped');
  }

  private async removeStopped(c: ProjectContainer, volumes: boolean | undefined): Promise<void> {
    const name = cname(c);
    this.progress.event('Container', name, 'Removing');
    try {
      await this.client.containers.remove(c.Id, { force: true, volumes });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    this.progress.event('Container', name, 'Removed', { done: true });
  }

  /** Applies `fn` to the project's containers, dependents before their dependencies (stop order) or after (start). */
  async eachService(list: ProjectContainer[], order: 'start' | 'stop', fn: (c: ProjectContainer) => Promise<void>): Promise<void> {
    const byService = new Map<string, ProjectContainer[]>();
    for (const c of list) byService.set(c.Labels[L.service], [...(byService.get(c.Labels[L.service]) ?? []), c]);
    const names = [...byService.keys()];
    // Dependencies as the containers record them (label), so this works without the compose file too.
    const depsOf = (n: string): string[] => {
      const fromModel = this.project.services[n]?.depends_on;
      if (fromModel) return Object.keys(fromModel);
      const label = byService.get(n)?.[0]?.Labels[L.dependsOn] ?? '';
      return label ? label.split(',').map((x) => x.split(':')[0]) : [];
    };
    const dependents = (n: string) => names.filter((m) => depsOf(m).includes(n));
    await inOrder(names, order === 'start' ? depsOf : dependents, async (n) => {
      await Promise.all((byService.get(n) ?? []).sort((a, b) => containerNumber(a) - containerNumber(b)).map(fn));
    });
  }

  async down(opts: DownOptions = {}): Promise<void> {
    const all = await this.containers({});
    const orphans = this.orphans(all);
    let targets = all.filter((c) => !orphans.includes(c) || opts.removeOrphans);
    if (opts.services?.length) targets = targets.filter((c) => opts.services!.includes(c.Labels[L.service]));
    if (orphans.length && !opts.removeOrphans && Object.keys(this.project.services).length)
      this.progress.note(`WARN[0000] Found orphan containers ([${orphans.map(cname).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`);
    // Dependents are stopped before what they depend on; their removal need not hold that up (the dependency only
    // waits until they no longer run), so removals overlap the next stops.
    const removals: Promise<void>[] = [];
    const stopped = await Promise.allSettled([
      this.eachService(targets, 'stop', async (c) => {
        await this.stopForRemoval(c, stopTimeout(this.project.services[c.Labels[L.service]], opts.timeout));
        const removal = this.removeStopped(c, opts.volumes);
        removal.catch(() => {}); // settled below, with the others
        removals.push(removal);
      }),
    ]);
    const stopFailed = stopped.find((r) => r.status === 'rejected');
    // A network only refuses removal while a container runs on it (its endpoint goes at the container's exit, as
    // in dockerd), so once every container has stopped the networks go, overlapping the last removals; volumes
    // and images wait until the containers are gone (a stopped container still uses them).
    const networks = opts.services?.length || stopFailed ? undefined : this.removeNetworks();
    networks?.catch(() => {});
    const failed = [stopFailed, ...(await Promise.allSettled(removals))].find((r) => r?.status === 'rejected');
    if (failed) throw failed.reason;
    if (opts.services?.length) return;
    await Promise.all([networks, opts.volumes ? this.removeVolumes() : undefined, opts.rmi ? this.removeImages(opts.rmi) : undefined]);
  }

  private async removeNetworks(): Promise<void> {
    // The model's networks (not external) and any other network labelled for this project.
    const nets = new Set<string>();
    for (const n of Object.values(this.project.networks)) if (!n.external) nets.add(n.name);
    for (const n of await this.client.networks.list({ filters: projectFilter(this.name) })) nets.add(n.Name);
    await Promise.all(
      [...nets].map(async (name) => {
        const n = await unlessNotFound(this.client.networks.inspect(name));
        if (!n) return;
        if (n.Labels?.[L.project] && n.Labels[L.project] !== this.name) return;
        this.progress.event('Network', name, 'Removing');
        try {
          await this.client.networks.remove(n.Id);
          this.progress.event('Network', name, 'Removed', { done: true });
        } catch (e) {
          this.progress.event('Network', name, 'Error', { error: true });
          this.progress.note(`failed to remove network ${name}: ${(e as Error).message}`);
        }
      }),
    );
  }

  private async removeVolumes(): Promise<void> {
    const vols = new Set<string>();
    for (const v of Object.values(this.project.volumes)) if (!v.external) vols.add(v.name);
    for (const v of (await this.client.volumes.list({ filters: projectFilter(this.name) })).Volumes ?? []) vols.add(v.Name);
    await Promise.all(
      [...vols].map(async (name) => {
        if (!(await unlessNotFound(this.client.volumes.inspect(name)))) return;
        this.progress.event('Volume', name, 'Removing');
        try {
          await this.client.volumes.remove(name);
          this.progress.event('Volume', name, 'Removed', { done: true });
        } catch (e) {
          this.progress.event('Volume', name, 'Error', { error: true });
          this.progress.note(`failed to remove volume ${name}: ${(e as Error).message}`);
        }
      }),
    );
  }

  private async removeImages(rmi: 'all' | 'local'): Promise<void> {
    const images = new Set<string>();
    for (const s of Object.values(this.project.services)) if (rmi === 'all' || !s.image) images.add(imageName(this.project, s));
    for (const ref of images) {
      if (!(await unlessNotFound(this.client.images.inspect(ref)))) continue;
      this.progress.event('Image', ref, 'Removing');
      try {
        await this.client.images.remove(ref);
        this.progress.event('Image', ref, 'Removed', { done: true });
      } catch (e) {
        this.progress.event('Image', ref, 'Error', { error: true });
      }
    }
  }
}

export const _testing = { inOrder, path };
