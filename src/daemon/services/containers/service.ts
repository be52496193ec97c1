/**
 * ContainerService: Docker's container lifecycle on top of a Runtime (core/runtime; runc in production).
 *
 * create → Docker's create-time rules (create-config.ts), writable snapshot prepared, record saved
 * start  → rootfs mounted (rootfs.ts), /etc files written, OCI spec built, `runtime.create` (the task exists; its
 *          output is held), pending attach clients are wired, then `task.start` (the output flows).
 * exit   → `task.exited` → state recorded, `task.delete`, rootfs released, `die` event, then AutoRemove or the
 *          restart policy.
 *
 * Containers outlive berthd: on start-up `restore()` loads every running container's task and finishes the exit
 * handling of those that ended while berthd was down. Per-container work (start, remove, cp, commit, update,
 * archive) is serialised by one lock per container.
 */
import { trace } from '../../../pkg/trace/trace.js';
import { linkEnv, linkHostNames, linkNames, linksOf, onDefaultBridge, parseLink, resolveLinks, setLinks, type LinkRecord } from './links.js';
import fs from 'node:fs';
import path from 'node:path';
import type { ContainerCreateRequest } from '../../../api/types/container.js';
import type { Duplex } from 'node:stream';
import { ContainerConfig, ContainerRecord, HostConfig, newState } from '../../../core/containers/container.js';
import type { Mount } from '../../../core/mount/types.js';
import type { HostFacts, Kernel } from '../../../core/kernel/index.js';
import { hostKernel } from '../../../sys/kernel.js';
import type { ContainerConfig as ImageRuntimeConfig } from '../../../core/images/types.js';
import type { AttachOptions } from '../../../core/runtime/attach.js';
import { RuntimeError, type ExitStatus, type Runtime, type Task } from '../../../core/runtime/runtime.js';
import { conflict, EngineError, invalidArgument, notFound } from '../../../errdefs/index.js';
import { generateName, validateContainerName } from '../../../pkg/names/names.js';
import { generateId } from '../../../pkg/stringid/stringid.js';
import type { SpecBuilder } from '../../../core/runtime/spec-builder.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../../logger.js';
import { compactHealthcheck, emptyNetworkSettings, entrypointAndArgs, mergeConfig, normalizeConfig, normalizeHostConfig, validateRestartPolicy } from './create-config.js';
import { writeEtcFiles } from './etc-files.js';
import { planNamespaces, releaseShm, resolveNamespaceModes, type NamespacePlan } from './namespaces.js';
import { versionAtLeast } from '../../../api/version.js';
import { crashPoint } from '../../../pkg/failpoint/failpoint.js';
import { HealthMonitor, probeArgs } from './health.js';
import { logPlan, logReadable, mergeLogConfig, normalizeLogConfig, taskLog, validateLogConfig, type LogConfig } from './log-config.js';
import { RootfsOwner, type RootfsLease } from './rootfs.js';
import { Committer, type CommitImageStore, type CommitOptions } from './commit.js';
import { ContainerFiles, type PathStat } from './files.js';
import { ContainerResources, type StatsSample, type UpdateRequest } from './stats.js';
import type { Readable } from 'node:stream';
import type { Filters } from '../../../pkg/filters/filters.js';
import type { LogSource } from './logs.js';
import { ContainerStore } from './store.js';


/** What the container service needs from the image service. */
export interface ImageAccess {
  /** Resolves a reference or ID; NotFound `No such image: <ref>` otherwise. */
  resolve(ref: string): Promise<{ id: string; config: ImageRuntimeConfig | null }>;
  /** Creates the container's writable layer on top of the image. */
  prepareContainerLayer(imageId: string, key: string): Promise<void>;
  containerLayerMounts(key: string): Promise<Mount[]>;
  removeContainerLayer(key: string): Promise<void>;
}

/** The networking hook (implemented by the network service): it returns NetworkSettings, this service stores them. */
export type { ContainerNetworking } from '../../../core/network/index.js';
import type { ContainerNetworking, SandboxSetup } from '../../../core/network/index.js';

/**
 * The volume hook: resolves Binds/Mounts/Tmpfs/VOLUME into OCI mounts and inspect's `.Mounts`, creates anonymous
 * volumes at create time, and releases them on remove.
 */
export interface ContainerVolumes {
  /** Create time: validate mount specs, create named/anonymous volumes, fill rec.Mounts. */
  create(rec: ContainerRecord, imageVolumes: Record<string, object> | null | undefined): Promise<void>;
  /** Start time: the OCI mounts for rec.Mounts (copy-up of image content into empty new volumes happens here). */
  mounts(rec: ContainerRecord, rootfs: string): Promise<Array<{ destination: string; type: string; source: string; options: string[] }>>;
  /** Remove time: drop references; remove anonymous volumes when `removeAnonymous`. */
  remove(rec: ContainerRecord, removeAnonymous: boolean): Promise<void>;
  /** Exit time: the container no longer uses its volumes (dockerd's `unmount` events). */
  released?(rec: ContainerRecord): void;
}

export interface ContainerServiceOptions {
  network?: ContainerNetworking;
  volumes?: ContainerVolumes;
  dataRoot: string;
  /** Runs the containers' tasks. */
  runtime: Runtime;
  /** Builds the tasks' OCI specs and resolves their users (plugins/runtime/oci, wired by bootstrap). */
  specs: SpecBuilder;
  /** The kernel seam (mounts of the rootfs, ps for top); the host's by default. */
  kernel?: Kernel;
  /** Host facts for the spec builder (read once at start-up). */
  hostFacts: () => Promise<HostFacts>;
  initPath: string;
  images: ImageAccess;
  events: EventBus;
  logger: Logger;
  /** Daemon-wide logging driver and options (`--log-driver`, `--log-opt`); json-file without options by default. */
  defaultLogConfig?: LogConfig;
  /** What `docker commit` and `docker diff` need from the image service (layers, snapshots, image records). */
  imageWriter: CommitImageStore;
}

interface Running {
  task: Task;
  /** The task's hold on the container's rootfs, released after the exit. */
  rootfs?: RootfsLease;
  health?: HealthMonitor;
  /** Resolves when the exit has been fully handled (state saved, resources released). */
  exited: Promise<void>;
  resolveExited: () => void;
}

export class ContainerService {
  readonly store: ContainerStore;
  /** The one owner of each container's rootfs mount. */
  readonly rootfs: RootfsOwner;
  private readonly running = new Map<string, Running>();
  /** A stopped container's runtime state being released (runc delete after its exit), until it is gone. */
  private readonly runtimeReleases = new Map<string, Promise<void>>();
  /** Attach clients waiting for a container to start (docker run attaches before start). */
  private readonly pendingAttach = new Map<string, Array<{ socket: Duplex; opts: AttachOptions; resolve: () => void }>>();
  private readonly exitWaiters = new Map<string, Array<(code: number) => void>>();
  private readonly removeWaiters = new Map<string, Array<() => void>>();
  /** The per-container lock: held by whoever works on a container (start, remove, cp, commit, update, archive). */
  private readonly busy = new Map<string, Promise<void>>();

  private readonly files: ContainerFiles;
  private readonly committer: Committer;
  private readonly resources: ContainerResources;

  private readonly kernel: Kernel;

  constructor(private readonly o: ContainerServiceOptions) {
    this.kernel = o.kernel ?? hostKernel;
    this.store = new ContainerStore(path.join(o.dataRoot, 'containers'));
    this.rootfs = new RootfsOwner({
      layerMounts: (key) => o.images.containerLayerMounts(key),
      path: (id) => o.runtime.rootfsPath(id),
      logger: o.logger,
      kernel: this.kernel,
    });
    this.files = new ContainerFiles({ store: this.store, snapshots: o.imageWriter.snapshots, rootfs: this.rootfs });
    this.committer = new Committer({ store: this.store, images: o.imageWriter, pauser: this, events: o.events });
    this.resources = new ContainerResources({
      store: this.store,
      events: o.events,
      taskOf: (id) => this.taskOf(id),
      swapSupported: async () => (await this.facts()).swapLimit,
      cpuRealtime: async () => (await this.facts()).cpuRealtime,
      kernel: this.kernel,
    });
  }

  // ------------------------------------------------------------------ records

  /** Every container record. */
  list(): ContainerRecord[] {
    return this.store.all();
  }

  /** A container by ID, name or unique prefix; undefined when none matches. */
  find(ref: string): ContainerRecord | undefined {
    return this.store.find(ref);
  }

  /** A container by ID, name or unique prefix; NotFound `No such container: <ref>` otherwise. */
  get(ref: string): ContainerRecord {
    return this.store.get(ref);
  }

  private facts(): Promise<HostFacts> {
    return this.o.hostFacts();
  }

  /** Takes the container's lock; the returned function releases it. */
  async lock(id: string): Promise<() => void> {
    while (this.busy.has(id)) await this.busy.get(id);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    this.busy.set(id, held);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (this.busy.get(id) === held) this.busy.delete(id);
      release();
    };
  }

  /** Runs `fn` holding the container's lock. */
  async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const unlock = await this.lock(id);
    try {
      return await fn();
    } finally {
      unlock();
    }
  }

  /** The task of a running container (undefined when it has none). */
  taskOf(id: string): Task | undefined {
    return this.running.get(id)?.task;
  }

  // ------------------------------------------------------------------ start-up

  /**
   * Loads records and re-adopts running containers (their tasks), or records the exits that happened meanwhile;
   * finishes removals a crash interrupted; reports unreadable records as Dead containers. Never throws for one
   * container: the daemon always starts.
   */
  async restore(): Promise<void> {
    const { records, orphans } = this.store.load((id, err, text) => {
      this.o.logger.error(`container ${id}: unreadable record (${err.message}); it is shown as Dead until removed (docker rm -f)`);
      return this.unreadablePlaceholder(id, err, text);
    });
    // runtime state of containers removed just before a crash (see removeLocked)
    await this.o.runtime.deleteUnknown(new Set([...records.map((r) => r.Id)])).catch(() => {});
    for (const id of orphans) {
      // a create or removal cut short by a crash: its writable layer and directory have no record to belong to
      this.o.logger.warn(`container ${id.slice(0, 12)}: directory without a record; removing it`);
      await this.o.images.removeContainerLayer(id).catch(() => {});
      await this.o.runtime.delete(id).catch(() => {});
      this.store.removeOrphan(id);
    }
    await Promise.all(
      records.map(async (rec) => {
        if (!rec.State.Running || rec.Berth.unreadable) return;
        try {
          const task = await this.o.runtime.load(rec.Id, { tty: rec.Config.Tty });
          if (task.connected) {
            this.track(rec, task, this.rootfs.adopt(rec.Id));
            this.o.logger.info(`re-adopted running container ${rec.Id.slice(0, 12)}`);
            return;
          }
          // The monitor is gone: the container exited while berthd was down (or the host rebooted), or the monitor
          // was killed and left the container running without anyone holding its output.
          const lease = this.rootfs.adopt(rec.Id);
          const exit = await task.exited;
          if (!exit) return await this.endOrphan(rec, task, lease);
          await this.handleExit(rec, exit, task, lease);
        } catch (e) {
          this.o.logger.error(`container ${rec.Id.slice(0, 12)}: restore failed: ${(e as Error).message}`);
        }
      }),
    );
    // Removals that a crash interrupted: finish them (a failure leaves the container Dead, with the reason logged).
    await Promise.all(
      this.store.all().filter((r) => r.Berth.removing).map(async (rec) => {
        this.o.logger.info(`container ${rec.Id.slice(0, 12)}: finishing its interrupted removal`);
        await this.remove(rec.Id, { force: true, volumes: rec.Berth.removing!.volumes }).catch((e) =>
          this.o.logger.error(`container ${rec.Id.slice(0, 12)}: removal could not be finished (${(e as Error).message}); left Dead`),
        );
      }),
    );
  }

  /**
   * A Dead stand-in for a record that could not be read: what the truncated text still tells (name, image,
   * creation time) is kept, so `docker ps -a` lists it and `docker rm -f` removes it (runtime state, layer,
   * directory). The file on disk is left as it is until then.
   */
  private unreadablePlaceholder(id: string, err: Error, text: string | undefined): ContainerRecord {
    const field = (re: RegExp) => (text ? re.exec(text)?.[1] : undefined);
    let name = field(/"Name":"(\/[a-zA-Z0-9][a-zA-Z0-9_.-]*)"/) ?? `/${id.slice(0, 12)}`;
    if (this.store.nameTaken(name)) name = `/${id}`;
    const image = field(/"Image":"(sha256:[0-9a-f]{64})"/) ?? '';
    const created = field(/"Created":"([0-9TZ:.+-]+)"/) ?? new Date(0).toISOString();
    const dir = this.store.dir(id);
    return {
      Id: id,
      Created: created,
      Path: '',
      Args: [],
      State: { ...newState(), Status: 'dead', Dead: true, Error: `unreadable container record: ${err.message}` },
      Image: image,
      ResolvConfPath: path.join(dir, 'resolv.conf'),
      HostnamePath: path.join(dir, 'hostname'),
      HostsPath: path.join(dir, 'hosts'),
      LogPath: path.join(dir, `${id}-json.log`),
      Name: name,
      RestartCount: 0,
      Driver: 'overlay2',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: null,
      HostConfig: normalizeHostConfig({}),
      Mounts: [],
      Config: normalizeConfig({ Image: image }, id),
      NetworkSettings: emptyNetworkSettings(),
      Berth: { snapshotKey: id, monitorPid: 0, manuallyStopped: true, unreadable: true },
    };
  }

  private track(rec: ContainerRecord, task: Task, rootfs: RootfsLease | undefined): void {
    let resolveExited!: () => void;
    const exited = new Promise<void>((r) => (resolveExited = r));
    const probe = probeArgs(rec.Config.Healthcheck?.Test);
    const health = probe
      ? new HealthMonitor(rec, rec.Config.Healthcheck ?? {}, probe, {
          task,
          save: (r) => {
            if (this.store.find(r.Id)) this.store.save(r);
          },
          publish: (r, status) => this.o.events.publish('container', `health_status: ${status}`, r.Id, { image: r.Config.Image, name: r.Name.slice(1) }),
        })
      : undefined;
    this.running.set(rec.Id, { task, rootfs, exited, resolveExited, health });
    void task.exited.then(async (exit) => {
      if (!exit) return this.endOrphan(rec, task, rootfs);
      await this.handleExit(rec, exit, task, rootfs);
    });
  }

  /**
   * The monitor died without recording an exit (kill -9). A container without its monitor has nobody reading its
   * output or reaping it, so it is ended, as dockerd ends a container whose shim died: exit 137 with the reason in
   * State.Error, and then the restart policy applies.
   */
  private async endOrphan(rec: ContainerRecord, task: Task, rootfs: RootfsLease | undefined): Promise<void> {
    const pid = rec.State.Pid;
    // not running either (a host reboot): the exit status is unknown, 255 as dockerd reports it
    if (!isAlive(pid)) return this.handleExit(rec, { exitCode: 255, oomKilled: false }, task, rootfs);
    this.o.logger.warn(`container ${rec.Id.slice(0, 12)}: its monitor died; stopping the container`);
    await task.kill('SIGKILL', { all: true }).catch(() => {});
    // the init was re-parented to the host's init, which reaps it
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
    rec.State.Error = 'container monitor exited unexpectedly';
    await this.handleExit(rec, { exitCode: 137, oomKilled: false }, task, rootfs);
  }

  // ------------------------------------------------------------------ create

  /** `apiVersion`: the client's, for dockerd's version-dependent defaults (IpcMode `shareable` below 1.40). */
  async create(name: string | undefined, body: ContainerCreateRequest, opts: { apiVersion?: string } = {}): Promise<{ Id: string; Warnings: string[] }> {
    // Field types are checked where the body is decoded (api/types/container.ts); the rules below need the host.
    if (!body || typeof body !== 'object') throw invalidArgument('config cannot be empty in order to create a container');
    if (!body.Image) throw invalidArgument('No image specified');
    if (name !== undefined && name !== '') validateContainerName(name);
    const image = await this.o.images.resolve(body.Image);
    const id = generateId();
    trace(id, 'create: image resolved');
    const hc = normalizeHostConfig(body.HostConfig ?? {});
    // Older clients expect the default IPC mode to be shareable (dockerd does this when a HostConfig is sent).
    if (body.HostConfig && !body.HostConfig.IpcMode && opts.apiVersion && !versionAtLeast(opts.apiVersion, '1.40')) hc.IpcMode = 'shareable';
    const facts = await this.facts();
    // Docker's default cgroup namespace: the host's on cgroups v1, a private one on v2.
    if (!body.HostConfig?.CgroupnsMode) hc.CgroupnsMode = facts.cgroupVersion === 2 ? 'private' : 'host';
    if (hc.Isolation && hc.Isolation !== 'default') throw invalidArgument(`Invalid isolation: "${hc.Isolation}" - linux only supports 'default'`);
    if (body.HostConfig?.Runtime && body.HostConfig.Runtime !== 'runc') throw invalidArgument(`Unknown runtime specified ${body.HostConfig.Runtime}`);
    resolveNamespaceModes(hc, body.Hostname, this.store);
    // legacy links: kept by target ID on the default bridge; aliases of the endpoint on a user-defined network
    let links: LinkRecord[] = [];
    let networking = body.NetworkingConfig;
    const linkSpecs = (hc.Links as string[] | null | undefined) ?? [];
    if (linkSpecs.length) {
      const mode = hc.NetworkMode;
      if (mode === 'host') throw invalidArgument("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
      if (mode?.startsWith('container:')) throw invalidArgument("conflicting options: container type network can't be used with links. This would result in undefined behavior");
      if (onDefaultBridge(mode)) links = resolveLinks(linkSpecs, (r) => this.store.find(r));
      else if (mode !== 'none') {
        for (const l of linkSpecs) parseLink(l);
        const eps = { ...((networking?.EndpointsConfig ?? {}) as Record<string, { Links?: string[] | null }>) };
        const had = eps[mode!]?.Links ?? [];
        eps[mode!] = { ...eps[mode!], Links: [...had, ...linkSpecs.filter((l) => !had.includes(l))] }; // the docker CLI sends them in both places
        networking = { ...networking, EndpointsConfig: eps } as typeof networking;
      }
      hc.Links = null;
    }
    hc.LogConfig = mergeLogConfig(body.HostConfig?.LogConfig as Partial<LogConfig> | undefined, this.o.defaultLogConfig);
    validateLogConfig(hc.LogConfig as LogConfig); // the merged one: the daemon's defaults are checked too
    if (hc.AutoRemove && hc.RestartPolicy.Name !== 'no' && hc.RestartPolicy.Name !== '')
      throw invalidArgument("can't create 'AutoRemove' container with restart policy");
    validateRestartPolicy(hc.RestartPolicy);
    this.o.specs.validateHostConfig(hc, facts);

    const cname = name || generateName((n) => this.store.nameTaken(n) !== undefined);
    if (!this.store.reserveName(cname, id)) {
      const holder = this.store.nameTaken(cname)!;
      throw conflict(
        `Conflict. The container name "/${cname.replace(/^\//, '')}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    try {
      const userConfig = normalizeConfig(body, id);
      const merged: ContainerConfig = mergeConfig(userConfig, image.config);
      // The image's HEALTHCHECK applies unless the container sets its own (fields merge one by one, like Docker).
      const imageHealth = image.config?.Healthcheck;
      if (imageHealth) merged.Healthcheck = compactHealthcheck({ ...imageHealth, ...(userConfig.Healthcheck ?? {}) });
      // Docker keeps the image's values in Config (so inspect shows the effective command, env and workdir).
      const { path: p, args } = entrypointAndArgs(merged);
      const dir = this.store.dir(id);
      fs.mkdirSync(dir, { recursive: true, mode: 0o710 });
      await this.o.images.prepareContainerLayer(image.id, id);
      trace(id, 'create: writable layer prepared');
      const rec: ContainerRecord = {
        Id: id,
        Created: new Date().toISOString(),
        Path: p,
        Args: args,
        State: newState(),
        Image: image.id,
        ResolvConfPath: path.join(dir, 'resolv.conf'),
        HostnamePath: path.join(dir, 'hostname'),
        HostsPath: path.join(dir, 'hosts'),
        LogPath: (hc.LogConfig as LogConfig).Type === 'json-file' ? path.join(dir, `${id}-json.log`) : '', // dockerd: only json-file has one
        Name: `/${cname.replace(/^\//, '')}`,
        RestartCount: 0,
        Driver: 'overlay2',
        Platform: 'linux',
        MountLabel: '',
        ProcessLabel: '',
        AppArmorProfile: '',
        ExecIDs: null,
        HostConfig: hc,
        Mounts: [],
        Config: { ...merged, User: merged.User ?? '', WorkingDir: merged.WorkingDir ?? '', Env: merged.Env ?? [], Image: body.Image },
        NetworkSettings: emptyNetworkSettings(),
        Berth: { snapshotKey: id, monitorPid: 0, manuallyStopped: false, hostNetwork: hc.NetworkMode === 'host' },
      };
      setLinks(rec, links);
      const net = await this.o.network?.create?.(rec, networking, { macAddress: (body as { MacAddress?: string }).MacAddress });
      if (net) {
        rec.NetworkSettings = net.settings;
        rec.HostConfig.PortBindings = net.portBindings;
      }
      trace(id, 'create: network endpoint allocated');
      await this.o.volumes?.create(rec, image.config?.Volumes);
      this.store.save(rec);
      trace(id, 'create: record saved');
      this.o.events.publish('container', 'create', id, { image: body.Image, name: rec.Name.slice(1) });
      return { Id: id, Warnings: [] };
    } catch (e) {
      this.store.releaseName(cname);
      await this.o.images.removeContainerLayer(id).catch(() => {});
      fs.rmSync(this.store.dir(id), { recursive: true, force: true });
      throw e;
    }
  }

  // ------------------------------------------------------------------ start

  async start(ref: string): Promise<'started' | 'already'> {
    const rec = this.store.get(ref);
    return this.exclusive(rec.Id, async () => {
      if (rec.State.Paused) throw conflict('cannot start a paused container, try unpause instead');
      if (rec.State.Running) return 'already';
      if (rec.State.Status === 'removing' || rec.State.Dead) throw conflict(`container is marked for removal and cannot be started`);
      try {
        await this.startLocked(rec);
      } catch (e) {
        // A --rm container that cannot start is removed, as Docker does (the CLI waits for that removal).
        if (rec.HostConfig.AutoRemove) setImmediate(() => void this.remove(rec.Id, { force: true, volumes: true }).catch(() => {}));
        throw e;
      }
      return 'started';
    });
  }

  private async startLocked(rec: ContainerRecord): Promise<void> {
    const runtime = this.o.runtime;
    let lease: RootfsLease | undefined;
    let task: Task | undefined;
    let networked = false;
    let ns: NamespacePlan | undefined;
    try {
      trace(rec.Id, 'start: begin');
      ns = planNamespaces(rec, this.store, (id) => this.store.dir(id));
      // legacy links on the default bridge: every target that still exists must run there (dockerd's words)
      const linkEnvs: string[] = [];
      const linkHosts: Array<{ ip: string; names: string[] }> = [];
      if (onDefaultBridge(rec.HostConfig.NetworkMode)) {
        for (const l of linksOf(rec)) {
          const t = this.store.find(l.id);
          if (!t) continue; // removed since: the link went with it
          if (!t.State.Running) throw new EngineError('Internal', `Cannot link to a non running container: ${t.Name} AS ${rec.Name}/${l.alias}`);
          if (!onDefaultBridge(t.HostConfig.NetworkMode)) throw invalidArgument(`Cannot link to ${t.Name}, as it does not belong to the default network`);
          const ip = String((t.NetworkSettings.Networks as Record<string, { IPAddress?: string }> | undefined)?.bridge?.IPAddress ?? '');
          linkEnvs.push(...linkEnv(rec.Name, l.alias, ip, t));
          linkHosts.push({ ip, names: linkHostNames(l.alias, t) });
        }
      }
      const hc = rec.HostConfig;
      const hostname = rec.Config.Hostname || rec.Id.slice(0, 12);
      // The rootfs mount and the network sandbox do not depend on each other: set them up concurrently. Each one that
      // succeeded is recorded before a failure of the other is thrown, so the catch below undoes exactly those.
      const [mounted, sandbox] = await Promise.allSettled([
        this.rootfs.acquire(rec.Id, rec.Berth.snapshotKey).finally(() => trace(rec.Id, 'start: rootfs mounted')),
        (this.o.network
          ? this.o.network.setup(rec)
          : Promise.resolve<SandboxSetup>({ netnsPath: hc.NetworkMode === 'host' ? 'host' : undefined, settings: rec.NetworkSettings })
        ).finally(() => trace(rec.Id, 'start: network sandbox set up')),
      ]);
      if (mounted.status === 'fulfilled') lease = mounted.value;
      if (sandbox.status === 'fulfilled') {
        rec.NetworkSettings = sandbox.value.settings; // what the teardown below undoes
        networked = true;
      }
      if (mounted.status === 'rejected') throw mounted.reason;
      if (sandbox.status === 'rejected') throw sandbox.reason;
      const rootfs = lease!.root;
      const net = (sandbox as PromiseFulfilledResult<SandboxSetup>).value;
      const volumeMounts = (await this.o.volumes?.mounts(rec, rootfs)) ?? [];
      const etc = await writeEtcFiles({
        dir: this.store.dir(rec.Id),
        hostname,
        domainname: rec.Config.Domainname,
        ip: net.ip,
        ip6: net.ip6,
        extraHosts: [...(hc.ExtraHosts ?? []), ...(net.extraHosts ?? [])],
        linkHosts,
        dns: hc.Dns ?? [],
        dnsSearch: hc.DnsSearch ?? [],
        dnsOptions: hc.DnsOptions ?? [],
        hostNetwork: hc.NetworkMode === 'host',
        embeddedDns: Boolean(net.resolver),
      });
      trace(rec.Id, 'start: volumes and /etc files');
      const user = await this.o.specs.resolveUser(rootfs, rec.Config.User ?? '', hc.GroupAdd ?? []);
      const facts = await this.facts();
      const etcMount = (src: string, dst: string) => ({
        destination: dst,
        type: 'bind',
        source: src,
        options: ['rbind', 'rprivate', ...(hc.ReadonlyRootfs ? ['ro'] : [])],
      });
      const spec = this.o.specs.buildSpec({
        id: rec.Id,
        rootfsPath: rootfs,
        config: { ...rec.Config, Hostname: hostname, Env: [...linkEnvs, ...(rec.Config.Env ?? [])] },
        hostConfig: hc,
        user,
        mounts: [
          etcMount(etc.resolvConfPath, '/etc/resolv.conf'),
          etcMount(etc.hostnamePath, '/etc/hostname'),
          etcMount(etc.hostsPath, '/etc/hosts'),
          ...ns.mounts,
          ...volumeMounts,
        ],
        netnsPath: net.netnsPath,
        netSysctls: net.sysctls,
        ipcNsPath: ns.ipcNsPath,
        pidNsPath: ns.pidNsPath,
        cgroupsPath: runtime.cgroupsPath(rec.Id, hc.CgroupParent),
        hostFacts: facts,
        initPath: this.o.initPath,
      });

      trace(rec.Id, 'start: user resolved, spec built');
      const lc = normalizeLogConfig(rec.HostConfig.LogConfig as LogConfig);
      const log = logPlan(lc, rec.Config.Labels ?? {}, rec.Config.Env ?? [], { id: rec.Id, name: rec.Name, imageId: rec.Image, imageName: rec.Config.Image });
      const logTo = taskLog(log, logReadable(lc, this.store.dir(rec.Id), rec.Id)?.file);
      await this.runtimeReleases.get(rec.Id); // the last run's runc state must be gone (handleExit)
      task = await runtime.create(rec.Id, spec, {
        tty: rec.Config.Tty,
        stdin: rec.Config.OpenStdin,
        ...(logTo ? { log: logTo } : {}),
        ...(net.resolver && net.netnsPath ? { dns: { netnsPath: net.netnsPath, configPath: net.resolver.configPath } } : {}),
      });
      const created = task;
      const sessions = (this.pendingAttach.get(rec.Id) ?? []).map((p) => {
        const session = created.attach(p.socket, p.opts);
        void session.done.then(() => p.resolve());
        return session.ready;
      });
      this.pendingAttach.delete(rec.Id);
      await Promise.all(sessions); // every waiting client is subscribed before the first byte can be written
      trace(rec.Id, 'start: attach sessions wired');
      const pid = await task.start();
      trace(rec.Id, 'start: task started');
      rec.State = {
        ...rec.State,
        Status: 'running',
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: pid,
        ExitCode: 0,
        Error: '',
        StartedAt: (task.startedAt ?? new Date()).toISOString(),
        FinishedAt: rec.State.FinishedAt,
      };
      rec.Berth.monitorPid = task.monitorPid;
      rec.Berth.manuallyStopped = false;
      this.store.save(rec);
      trace(rec.Id, 'start: record saved');
      this.track(rec, task, lease);
      this.o.events.publish('container', 'start', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
    } catch (err) {
      const e = err instanceof RuntimeError ? startError(err) : err;
      await (task ? task.delete() : runtime.delete(rec.Id)).catch(() => {});
      if (networked) await this.o.network?.teardown(rec).then((s) => { rec.NetworkSettings = s; }).catch(() => {});
      lease?.release();
      if (ns?.shm) releaseShm(this.store.dir(rec.Id));
      rec.State.Error = (e as Error).message;
      rec.State.ExitCode = err instanceof RuntimeError ? exitCodeFor(err) : 128;
      if (rec.State.Status === 'created' || rec.State.Status === 'exited') this.store.save(rec);
      // Attach clients waiting for this start get nothing more: end them.
      for (const p of this.pendingAttach.get(rec.Id) ?? []) {
        p.socket.end();
        p.resolve();
      }
      this.pendingAttach.delete(rec.Id);
      throw e;
    }
  }

  // ------------------------------------------------------------------ exit

  private async handleExit(rec: ContainerRecord, exit: ExitStatus, task: Task | undefined, rootfs: RootfsLease | undefined): Promise<void> {
    const { exitCode, finishedAt, oomKilled } = exit;
    trace(rec.Id, 'exit: exit seen');
    const run = this.running.get(rec.Id);
    this.running.delete(rec.Id);
    run?.health?.stop();
    await this.o.network
      ?.teardown(rec)
      .then((s) => {
        rec.NetworkSettings = s;
        trace(rec.Id, 'exit: network teardown');
      })
      .catch((e) => this.o.logger.warn(`network teardown ${rec.Id.slice(0, 12)}: ${(e as Error).message}`));
    trace(rec.Id, 'exit: network teardown done');
    rootfs?.release();
    if (rec.HostConfig.IpcMode === 'shareable') releaseShm(this.store.dir(rec.Id));
    rec.State = {
      ...rec.State,
      Status: 'exited',
      Running: false,
      Paused: false,
      Restarting: false,
      Pid: 0,
      ExitCode: exitCode,
      OOMKilled: oomKilled,
      FinishedAt: finishedAt ?? new Date().toISOString(),
    };
    rec.Berth.monitorPid = 0;
    if (this.store.find(rec.Id)) this.saveState(rec);
    crashPoint('exit:state-saved');
    // The runtime's state (runc delete: a Go runtime start, the long pole of a stop) is released after the exit is
    // recorded, off the stop's path: nothing a stopped container answers depends on it, and the next start or the
    // removal waits for it (runtimeReleases). A crash before it ran leaves runc's state, which the next create or
    // the removal deletes.
    const released = (task?.delete() ?? Promise.resolve()).catch(() => {}).then(() => trace(rec.Id, 'exit: runc delete'));
    this.runtimeReleases.set(rec.Id, released);
    void released.then(() => {
      if (this.runtimeReleases.get(rec.Id) === released) this.runtimeReleases.delete(rec.Id);
    });
    trace(rec.Id, 'exit: rootfs released, state saved');
    if (oomKilled) this.o.events.publish('container', 'oom', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
    this.o.events.publish('container', 'die', rec.Id, { exitCode: String(exitCode), image: rec.Config.Image, name: rec.Name.slice(1) });
    this.o.volumes?.released?.(rec);
    for (const w of this.exitWaiters.get(rec.Id) ?? []) w(exitCode);
    this.exitWaiters.delete(rec.Id);
    run?.resolveExited();
    if (rec.HostConfig.AutoRemove) {
      await this.remove(rec.Id, { force: true, volumes: true }).catch((e) => this.o.logger.warn(`auto-remove ${rec.Id}: ${(e as Error).message}`));
      return;
    }
    this.maybeRestart(rec);
  }

  /** Restart policies: always, unless-stopped, on-failure[:N], with Docker's doubling back-off. */
  private maybeRestart(rec: ContainerRecord): void {
    const policy = rec.HostConfig.RestartPolicy;
    if (rec.Berth.manuallyStopped) return;
    const code = rec.State.ExitCode;
    const wants =
      policy.Name === 'always' ||
      policy.Name === 'unless-stopped' ||
      (policy.Name === 'on-failure' && code !== 0 && (!policy.MaximumRetryCount || rec.RestartCount < policy.MaximumRetryCount));
    if (!wants) return;
    const delay = Math.min(100 * 2 ** Math.min(rec.RestartCount, 10), 60_000);
    rec.State.Status = 'restarting';
    rec.State.Restarting = true;
    this.store.save(rec);
    setTimeout(() => {
      const cur = this.store.find(rec.Id);
      if (!cur || cur.Berth.manuallyStopped || cur.State.Running || cur.State.Status !== 'restarting') return;
      cur.RestartCount++;
      void this.exclusive(cur.Id, () => this.startLocked(cur)).then(
        () => this.o.events.publish('container', 'restart', cur.Id, { image: cur.Config.Image, name: cur.Name.slice(1) }),
        (e) => {
          this.o.logger.warn(`restart ${cur.Id.slice(0, 12)}: ${(e as Error).message}`);
          cur.State.Status = 'exited';
          cur.State.Restarting = false;
          this.store.save(cur);
        },
      );
    }, delay).unref();
  }

  /** Starts containers whose restart policy says so (always; unless-stopped unless stopped by hand). */
  async applyRestartPoliciesAtBoot(): Promise<void> {
    for (const rec of this.store.all()) {
      if (rec.State.Running) continue;
      const p = rec.HostConfig.RestartPolicy.Name;
      if (p === 'always' || (p === 'unless-stopped' && !rec.Berth.manuallyStopped) || rec.State.Status === 'restarting') {
        await this.start(rec.Id).catch((e) => this.o.logger.warn(`restart policy start ${rec.Id.slice(0, 12)}: ${(e as Error).message}`));
      }
    }
  }

  // ------------------------------------------------------------------ stop / kill / wait

  async kill(ref: string, signal = 'KILL'): Promise<void> {
    const rec = this.store.get(ref);
    if (!rec.State.Running) throw conflict(`Cannot kill container: ${ref}: Container ${rec.Id} is not running`);
    const sig = normalizeSignal(signal);
    // Like Docker, a container killed by hand is not brought back by its restart policy. Only terminating signals
    // count: `kill -s HUP` to reload a config must not disable the policy for a later crash.
    if (sig === 'SIGKILL' || sig === 'SIGTERM' || sig === 'SIGINT') {
      rec.Berth.manuallyStopped = true;
      this.store.save(rec);
    }
    await this.taskOf(rec.Id)?.kill(sig).catch((e: Error) => {
      if (!(e instanceof RuntimeError && e.gone)) throw e;
    });
    this.o.events.publish('container', 'kill', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1), signal: String(signalNumber(sig)) });
    // As dockerd, a SIGKILL answers once the container is dead and its exit recorded (`kill` then `rm` or
    // `compose down` right after see it stopped); other signals answer at once.
    const run = this.running.get(rec.Id);
    if (sig === 'SIGKILL' && run) await Promise.race([run.exited, sleep(10_000)]);
  }

  async stop(ref: string, timeoutSeconds?: number, signal?: string): Promise<'stopped' | 'already'> {
    const rec = this.store.get(ref);
    if (!rec.State.Running) {
      if (rec.State.Status === 'restarting') {
        rec.Berth.manuallyStopped = true;
        rec.State.Status = 'exited';
        rec.State.Restarting = false;
        this.store.save(rec);
        return 'stopped';
      }
      return 'already';
    }
    rec.Berth.manuallyStopped = true;
    this.store.save(rec);
    const run = this.running.get(rec.Id);
    const sig = normalizeSignal(signal || rec.Config.StopSignal || 'SIGTERM');
    const t = timeoutSeconds ?? rec.Config.StopTimeout ?? 10;
    const task = run?.task;
    if (rec.State.Paused) await task?.resume().catch(() => {});
    await task?.kill(sig).catch(() => {});
    this.o.events.publish('container', 'kill', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1), signal: String(signalNumber(sig)) });
    const exited = run?.exited ?? Promise.resolve();
    const timedOut = t < 0 ? false : await Promise.race([exited.then(() => false), sleep(t * 1000).then(() => true)]);
    if (timedOut) {
      await task?.kill('SIGKILL', { all: true }).catch(() => {});
      await Promise.race([exited, sleep(10_000)]);
    } else await exited;
    this.o.events.publish('container', 'stop', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
    return 'stopped';
  }

  async restart(ref: string, timeoutSeconds?: number, signal?: string): Promise<void> {
    const rec = this.store.get(ref);
    await this.stop(rec.Id, timeoutSeconds, signal);
    await this.start(rec.Id);
    rec.Berth.manuallyStopped = false;
    this.o.events.publish('container', 'restart', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
  }

  /**
   * Waits for a condition: `not-running` (default; returns at once when not running), `next-exit`, `removed`.
   * `ready` resolves once the waiter is registered (so docker run can start the container safely afterwards).
   */
  async wait(ref: string, condition: string, signal: AbortSignal): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const rec = this.store.get(ref);
    if (!['', 'not-running', 'next-exit', 'removed'].includes(condition)) throw invalidArgument(`invalid condition: "${condition}"`);
    if ((condition === '' || condition === 'not-running') && !rec.State.Running && rec.State.Status !== 'restarting')
      return { StatusCode: rec.State.ExitCode, Error: null };
    const code = await new Promise<number>((resolve, reject) => {
      const onAbort = () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      signal.addEventListener('abort', onAbort, { once: true });
      if (condition === 'removed') {
        let last = rec.State.ExitCode;
        const ws = this.exitWaiters.get(rec.Id) ?? [];
        ws.push((c) => (last = c));
        this.exitWaiters.set(rec.Id, ws);
        const rs = this.removeWaiters.get(rec.Id) ?? [];
        rs.push(() => resolve(last));
        this.removeWaiters.set(rec.Id, rs);
      } else {
        const ws = this.exitWaiters.get(rec.Id) ?? [];
        ws.push(resolve);
        this.exitWaiters.set(rec.Id, ws);
      }
    });
    return { StatusCode: code, Error: null };
  }

  // ------------------------------------------------------------------ remove

  async remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.State.Running || rec.State.Status === 'restarting') {
      if (!opts.force) {
        throw conflict(
          rec.State.Paused
            ? `You cannot remove a paused container ${rec.Id}. Unpause and then stop the container before attempting removal or force remove`
            : `You cannot remove a running container ${rec.Id}. Stop the container before attempting removal or force remove`,
        );
      }
      rec.Berth.manuallyStopped = true;
      this.journalRemoval(rec, opts.volumes);
      if (rec.State.Running) {
        const run = this.running.get(rec.Id);
        if (rec.State.Paused) await run?.task.resume().catch(() => {});
        await run?.task.kill('SIGKILL', { all: true }).catch(() => {});
        if (run) await Promise.race([run.exited, sleep(10_000)]);
      }
    }
    if (!this.store.find(rec.Id)) return; // auto-removed meanwhile
    // The rest holds the container's lock: a `docker cp` or commit in flight finishes first.
    const unlock = await this.lock(rec.Id);
    try {
      await this.removeLocked(rec, opts);
    } finally {
      unlock();
    }
  }

  /**
   * Records that a removal has begun (saved before anything is destroyed): a crash from here on is finished by the
   * next start (restore), or leaves the container Dead for `rm -f`.
   */
  private journalRemoval(rec: ContainerRecord, volumes: boolean): void {
    rec.Berth.removing = { volumes: rec.Berth.removing?.volumes || volumes };
    this.store.save(rec);
    crashPoint('remove:journaled');
  }

  /**
   * The removal steps, in an order a crash can resume: journal, then runtime state, writable layer and network
   * (concurrently), volumes, and last the record (its directory goes after the record file; see ContainerStore.remove). Each step
   * is idempotent. A step that fails leaves the container Dead.
   */
  private async removeLocked(rec: ContainerRecord, opts: { volumes: boolean }): Promise<void> {
    if (!this.store.find(rec.Id)) return; // removed meanwhile
    this.journalRemoval(rec, opts.volumes);
    rec.State.Status = 'removing';
    try {
      trace(rec.Id, 'remove: journaled');
      this.rootfs.clear(rec.Id);
      // Runtime state, writable layer and network endpoint are independent of each other (the rootfs is unmounted
      // by now): removed concurrently. Each step is idempotent, so a crash anywhere among them is finished by the
      // next start as before; a failure is thrown once all three have settled.
      const steps = await Promise.allSettled([
        // not waiting for the exit's `runc delete` (runtimeReleases): it finishes on its own, and a crash before it
        // did leaves runc state without a record, which restore() releases (runtime.deleteUnknown)
        this.o.runtime
          .delete(rec.Id)
          .then(() => {
            trace(rec.Id, 'remove: runtime bundle deleted');
            crashPoint('remove:runtime-deleted');
          }),
        this.o.images
          .removeContainerLayer(rec.Berth.snapshotKey)
          .catch((e) => {
            if (!(e instanceof EngineError && e.kind === 'NotFound')) throw e;
          })
          .then(() => {
            trace(rec.Id, 'remove: writable layer removed');
            crashPoint('remove:layer-removed');
          }),
        (this.o.network?.remove?.(rec) ?? Promise.resolve()).catch(() => {}).then(() => crashPoint('remove:network-removed')),
      ]);
      const failed = steps.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      await this.o.volumes?.remove(rec, rec.Berth.removing?.volumes ?? opts.volumes);
      crashPoint('remove:volumes-removed');
      releaseShm(this.store.dir(rec.Id));
      trace(rec.Id, 'remove: network and volumes released');
    } catch (e) {
      rec.State.Status = 'dead';
      rec.State.Dead = true;
      if (this.store.find(rec.Id)) this.store.save(rec);
      throw e;
    }
    this.store.remove(rec);
    trace(rec.Id, 'remove: record removed');
    this.o.events.publish('container', 'destroy', rec.Id, { ...(rec.Config.Labels ?? {}), image: rec.Config.Image, name: rec.Name.slice(1) }); // gone from the store: its labels come from here
    for (const w of this.removeWaiters.get(rec.Id) ?? []) w();
    this.removeWaiters.delete(rec.Id);
    this.exitWaiters.delete(rec.Id);
  }

  // ------------------------------------------------------------------ attach / resize / rename / pause

  /** Attaches a hijacked client. Before start the client is queued and wired at start (no output is missed). */
  attach(ref: string, socket: Duplex, opts: AttachOptions): Promise<void> {
    const rec = this.store.get(ref);
    const run = this.running.get(rec.Id);
    this.o.events.publish('container', 'attach', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
    if (run) return run.task.attach(socket, opts).done.then(() => undefined);
    return new Promise((resolve) => {
      const list = this.pendingAttach.get(rec.Id) ?? [];
      list.push({ socket, opts, resolve });
      this.pendingAttach.set(rec.Id, list);
      socket.once('close', () => {
        const l = this.pendingAttach.get(rec.Id);
        const i = l?.findIndex((p) => p.socket === socket) ?? -1;
        if (l && i >= 0) {
          l.splice(i, 1);
          resolve();
        }
      });
    });
  }

  resize(ref: string, rows: number, cols: number): void {
    const rec = this.store.get(ref);
    const run = this.running.get(rec.Id);
    if (!run) throw conflict(`Container ${rec.Id} is not running`);
    run.task.resize(rows, cols);
  }

  /** Inspect's HostConfig.Links of a container (its legacy links to targets that still exist), or null. */
  links(rec: ContainerRecord): string[] | null {
    return linkNames(rec, (id) => this.store.find(id));
  }

  /**
   * `DELETE /containers/<me>/<alias>?link=true` (dockerd's rmLink): `name` is the link's name, `<me>/<alias>`. The
   * container's own name (no parent) is dockerd's 500 "Conflict, cannot remove the default link name…".
   */
  removeLink(name: string): void {
    const full = `/${name.replace(/^\/+/, '')}`;
    const cut = full.lastIndexOf('/');
    const parentName = full.slice(0, cut);
    const alias = full.slice(cut + 1);
    const parent = parentName ? this.store.find(parentName.slice(1)) : undefined;
    const link = parent ? linksOf(parent).find((l) => l.alias === alias && this.store.find(l.id)) : undefined;
    if (!parentName) {
      this.store.get(full.slice(1)); // 404 for a container that does not exist
      throw new EngineError('Internal', 'Conflict, cannot remove the default link name of the container');
    }
    if (!parent || !link) throw notFound(`No such container: ${full.slice(1)}`);
    setLinks(parent, linksOf(parent).filter((l) => l !== link));
    this.store.save(parent);
  }

  rename(ref: string, newName: string): void {
    const rec = this.store.get(ref);
    if (!newName) throw invalidArgument('Neither old nor new names may be empty');
    validateContainerName(newName);
    const clean = newName.replace(/^\//, '');
    if (`/${clean}` === rec.Name) throw invalidArgument(`Renaming a container with the same name as its current name`);
    if (!this.store.reserveName(clean, rec.Id)) {
      throw conflict(
        `Conflict. The container name "/${clean}" is already in use by container "${this.store.nameTaken(clean)}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    const old = rec.Name;
    this.store.rename(rec, clean);
    this.o.events.publish('container', 'rename', rec.Id, { image: rec.Config.Image, name: clean, oldName: old });
  }

  /**
   * Records a state change that has already happened (an exit, a pause): the record in memory is the truth, so a
   * write that fails (a full disk) is logged, not thrown — the caller's operation did take place.
   */
  private saveState(rec: ContainerRecord): void {
    try {
      this.store.save(rec);
    } catch (e) {
      this.o.logger.error(`container ${rec.Id.slice(0, 12)}: state not saved: ${(e as Error).message}`);
    }
  }

  async pause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    if (rec.State.Paused) throw conflict(`Container ${rec.Id} is already paused`);
    const task = this.taskOf(rec.Id);
    if (!task) throw conflict(`Container ${rec.Id} is not running`);
    await task.pause();
    rec.State.Paused = true;
    rec.State.Status = 'paused';
    this.saveState(rec);
    this.o.events.publish('container', 'pause', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    if (!rec.State.Paused) throw conflict(`Container ${rec.Id} is not paused`);
    const task = this.taskOf(rec.Id);
    if (!task) throw conflict(`Container ${rec.Id} is not running`);
    await task.resume();
    rec.State.Paused = false;
    rec.State.Status = 'running';
    this.saveState(rec);
    this.o.events.publish('container', 'unpause', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
  }

  /** A running container and its task, for exec. */
  runningInfo(ref: string): { rec: ContainerRecord; task: Task } {
    const rec = this.store.get(ref);
    const task = this.taskOf(rec.Id);
    if (!rec.State.Running || !task) throw conflict(`Container ${rec.Id} is not running`);
    if (rec.State.Paused) throw conflict(`Container ${rec.Id} is paused, unpause the container before exec`);
    return { rec, task };
  }

  /** A promise that resolves when the container stops (for logs --follow); resolved already when not running. */
  /** Where a container's log can be read back (its driver's file), undefined when the driver keeps none. */
  logSource(id: string): LogSource | undefined {
    const rec = this.store.get(id);
    return logReadable(normalizeLogConfig(rec.HostConfig.LogConfig as LogConfig), this.store.dir(rec.Id), rec.Id);
  }

  stopped(id: string): Promise<void> {
    return this.running.get(id)?.exited ?? Promise.resolve();
  }

  counts(): { total: number; running: number; paused: number; stopped: number } {
    let running = 0;
    let paused = 0;
    const all = this.store.all();
    for (const r of all) {
      if (r.State.Paused) paused++;
      else if (r.State.Running) running++;
    }
    return { total: all.length, running, paused, stopped: all.length - running - paused };
  }

  /** Whether an image is used by a container (for image removal). */
  imageUser(imageId: string): { running: boolean; containerId: string } | undefined {
    let stopped: string | undefined;
    for (const r of this.store.all()) {
      if (r.Image !== imageId) continue;
      if (r.State.Running) return { running: true, containerId: r.Id };
      stopped ??= r.Id;
    }
    return stopped ? { running: false, containerId: stopped } : undefined;
  }

  // ------------------------------------------------------------------ files, commit, resources (under the lock)

  statPath(ref: string, p: string): Promise<PathStat> {
    const rec = this.store.find(ref);
    if (!rec) return this.files.statPath(ref, p); // the not-found error, in its order among the checks
    return this.exclusive(rec.Id, () => this.files.statPath(rec.Id, p));
  }

  /** `docker cp` out: the lock is held until the tar stream closes. */
  archivePath(ref: string, p: string, signal?: AbortSignal): Promise<{ stat: PathStat; tar: Readable }> {
    const rec = this.store.find(ref);
    if (!rec) return this.files.archivePath(ref, p, signal); // the not-found error, in its order among the checks
    return this.streamLocked(rec.Id, () => this.files.archivePath(rec.Id, p, signal), (r) => r.tar);
  }

  extractToDir(ref: string, p: string, input: Readable, opts: Parameters<ContainerFiles['extractToDir']>[3]): Promise<void> {
    const rec = this.store.find(ref);
    if (!rec) return this.files.extractToDir(ref, p, input, opts); // the not-found error, in its order among the checks
    return this.exclusive(rec.Id, () => this.files.extractToDir(rec.Id, p, input, opts));
  }

  /** `docker export`: the lock is held until the tar stream closes. */
  export(ref: string, signal?: AbortSignal): Promise<Readable> {
    const rec = this.store.find(ref);
    if (!rec) return this.files.export(ref, signal); // the not-found error, in its order among the checks
    return this.streamLocked(rec.Id, () => this.files.export(rec.Id, signal), (r) => r);
  }

  changes(ref: string): ReturnType<ContainerFiles['changes']> {
    const rec = this.store.find(ref);
    if (!rec) return this.files.changes(ref); // the not-found error, in its order among the checks
    return this.exclusive(rec.Id, () => this.files.changes(rec.Id));
  }

  commit(opts: CommitOptions): Promise<{ Id: string }> {
    if (!opts.container) return this.committer.commit(opts); // its own error for an empty name
    const rec = this.store.find(opts.container);
    if (!rec) return this.committer.commit(opts);
    return this.exclusive(rec.Id, () => this.committer.commit({ ...opts, container: rec.Id }));
  }

  top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    return this.resources.top(ref, psArgs);
  }

  /** One stats sample of a running container (undefined when it is not running). */
  statsSample(rec: ContainerRecord): Promise<StatsSample | undefined> {
    return this.resources.sample(rec);
  }

  update(ref: string, body: UpdateRequest): Promise<{ Warnings: string[] }> {
    const rec = this.store.find(ref);
    if (!rec) return this.resources.update(ref, body); // the not-found error, in its order among the checks
    return this.exclusive(rec.Id, () => this.resources.update(rec.Id, body));
  }

  /** `POST /containers/prune`: removes stopped containers matching the filters; returns their IDs. */
  async prune(filters: Filters): Promise<string[]> {
    filters.validate(['until', 'label', 'label!']);
    const untilMs = filters.until();
    const deleted: string[] = [];
    for (const rec of this.store.all()) {
      if (rec.State.Running || rec.State.Status === 'restarting') continue;
      if (untilMs !== undefined && Date.parse(rec.Created) >= untilMs) continue;
      if (!filters.matchLabels(rec.Config.Labels)) continue;
      await this.remove(rec.Id, { force: false, volumes: false });
      deleted.push(rec.Id);
    }
    return deleted;
  }

  /** Runs `fn` under the lock and keeps it until the stream `fn` returned has closed. */
  private async streamLocked<T>(id: string, fn: () => Promise<T>, stream: (r: T) => Readable): Promise<T> {
    const unlock = await this.lock(id);
    try {
      const r = await fn();
      const s = stream(r);
      if (s.destroyed || s.closed) unlock();
      else s.once('close', unlock);
      return r;
    } catch (e) {
      unlock();
      throw e;
    }
  }

  /** Closes monitor connections; containers keep running. */
  async shutdown(): Promise<void> {
    for (const r of this.running.values()) r.task.close();
  }
}

// ------------------------------------------------------------------ helpers

function isAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19,
  SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28,
  SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};

/** "KILL", "sigkill", "SIGKILL", "9" → "SIGKILL"; unknown → 400 `Invalid signal: X`. */
export function normalizeSignal(s: string): string {
  const t = s.trim().toUpperCase();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    const name = Object.entries(SIGNALS).find(([, v]) => v === n)?.[0];
    if (name) return name;
    if (n >= 34 && n <= 64) return t; // real-time signals pass through as numbers
    throw invalidArgument(`Invalid signal: ${s}`);
  }
  const name = t.startsWith('SIG') ? t : `SIG${t}`;
  if (!(name in SIGNALS)) throw invalidArgument(`Invalid signal: ${s}`);
  return name;
}

export function signalNumber(name: string): number {
  return SIGNALS[name] ?? Number(name);
}

/** Docker's message for a task that could not be created or started; the CLI derives 126/127 from its wording. */
function startError(e: RuntimeError): EngineError {
  if (e.failure === 'log-driver') return new EngineError('InvalidArgument', e.message);
  const kind = e.failure === 'other' ? 'Internal' : 'InvalidArgument';
  return new EngineError(kind, `failed to create task for container: ${e.message}`);
}

/** Docker's exit codes for a failed start: 127 program not found, 126 not executable, 128 anything else. */
function exitCodeFor(e: RuntimeError): number {
  return e.failure === 'not-found' ? 127 : e.failure === 'permission-denied' ? 126 : 128;
}

