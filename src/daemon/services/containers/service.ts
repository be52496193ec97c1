/**
 * ContainerService: Docker's container lifecycle on top of runc and the per-container monitor.
 *
 * create → (writable snapshot prepared, record saved)
 * start  → rootfs mounted, /etc files written, OCI bundle written, monitor spawned (runc create), berthd connects to
 *          the monitor's attach socket, pending attach clients are wired, then `start` (runc start) is sent.
 * exit   → the monitor's exit frame (or, after a berthd restart, its exit file) → state recorded, runc delete,
 *          rootfs unmounted, `die` event, then AutoRemove or the restart policy.
 *
 * Containers outlive berthd: on start-up `restore()` reconnects to every running container's monitor and finishes
 * the exit handling of those that ended while berthd was down.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { ContainerConfig, ContainerRecord, HostConfig, newState } from '../../../core/containers/container.js';
import type { Mount } from '../../../core/mount/types.js';
import { mountAll, unmount } from '../../../core/mount/index.js';
import { conflict, EngineError, invalidArgument } from '../../../errdefs/index.js';
import { generateName, validateContainerName } from '../../../pkg/names/names.js';
import { generateId } from '../../../pkg/stringid/stringid.js';
import { buildSpec, entrypointAndArgs, mergeConfig, validateHostConfig } from '../../../plugins/runtime/oci/spec.js';
import { readHostFacts } from '../../../plugins/runtime/oci/host.js';
import { resolveUser } from '../../../plugins/runtime/oci/user.js';
import type { HostFacts, ImageConfig } from '../../../plugins/runtime/oci/types.js';
import { readExitFile, startMonitor } from '../../../plugins/runtime/runc/monitor.js';
import { Runc } from '../../../plugins/runtime/runc/runc.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../../logger.js';
import { writeEtcFiles } from './etc-files.js';
import { HealthMonitor, probeArgs } from './health.js';
import { AttachOptions, ContainerIO } from './io.js';
import { logPlan, mergeLogConfig, normalizeLogConfig, validateLogConfig, type LogConfig } from './log-config.js';
import { ContainerStore } from './store.js';

/** What the container service needs from the image service. */
export interface ImageAccess {
  /** Resolves a reference or ID; NotFound `No such image: <ref>` otherwise. */
  resolve(ref: string): Promise<{ id: string; config: ImageConfig | null }>;
  /** Creates the container's writable layer on top of the image. */
  prepareContainerLayer(imageId: string, key: string): Promise<void>;
  containerLayerMounts(key: string): Promise<Mount[]>;
  removeContainerLayer(key: string): Promise<void>;
}

/** The networking hook (implemented by the network service): it returns NetworkSettings, this service stores them. */
export type { ContainerNetworking } from '../../../core/network/index.js';
import type { ContainerNetworking } from '../../../core/network/index.js';

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
}

export interface ContainerServiceOptions {
  network?: ContainerNetworking;
  volumes?: ContainerVolumes;
  dataRoot: string;
  execRoot: string;
  runtimePath: string;
  monitorPath: string;
  initPath: string;
  images: ImageAccess;
  events: EventBus;
  logger: Logger;
  /** Daemon-wide logging driver and options (`--log-driver`, `--log-opt`); json-file without options by default. */
  defaultLogConfig?: LogConfig;
}

/** The body of `POST /containers/create`: Config fields at top level plus HostConfig and NetworkingConfig. */
export interface CreateRequest extends Partial<ContainerConfig> {
  HostConfig?: Partial<HostConfig>;
  NetworkingConfig?: Record<string, unknown>;
}

interface Running {
  io: ContainerIO;
  health?: HealthMonitor;
  /** Resolves when the exit has been fully handled (state saved, resources released). */
  exited: Promise<void>;
  resolveExited: () => void;
}

const EXIT_FILE = 'exit.json';

export class ContainerService {
  readonly store: ContainerStore;
  private readonly runc: Runc;
  private readonly running = new Map<string, Running>();
  /** Attach clients waiting for a container to start (docker run attaches before start). */
  private readonly pendingAttach = new Map<string, Array<{ socket: Duplex; opts: AttachOptions; resolve: () => void }>>();
  private readonly exitWaiters = new Map<string, Array<(code: number) => void>>();
  private readonly removeWaiters = new Map<string, Array<() => void>>();
  private hostFacts: Promise<HostFacts> | undefined;
  /** Containers in the middle of start/stop, so concurrent requests do not interleave. */
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(private readonly o: ContainerServiceOptions) {
    this.store = new ContainerStore(path.join(o.dataRoot, 'containers'));
    this.runc = new Runc({ path: o.runtimePath, root: path.join(o.execRoot, 'runc') });
  }

  private facts(): Promise<HostFacts> {
    this.hostFacts ??= readHostFacts();
    return this.hostFacts;
  }

  private bundleDir(id: string): string {
    return path.join(this.o.execRoot, 'containers', id);
  }

  /**
   * The monitor's attach socket. A unix socket path must fit in 108 bytes, so sockets live in a short directory
   * named by the first 32 hex digits of the ID (collisions are as unlikely as for 128-bit IDs).
   */
  socketPath(id: string): string {
    return path.join(this.o.execRoot, 's', id.slice(0, 32));
  }

  /** Serialises lifecycle operations per container. */
  private async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    while (this.busy.has(id)) await this.busy.get(id)!.catch(() => {});
    const p = fn();
    this.busy.set(id, p);
    try {
      return await p;
    } finally {
      this.busy.delete(id);
    }
  }

  // ------------------------------------------------------------------ start-up

  /** Loads records and re-adopts running containers (reconnect to monitors, or record exits that happened). */
  async restore(): Promise<void> {
    const recs = this.store.load((id, err) => this.o.logger.error(`container ${id}: unreadable record: ${err.message}`));
    await Promise.all(
      recs.map(async (rec) => {
        if (!rec.State.Running) return;
        const dir = this.bundleDir(rec.Id);
        try {
          await this.adopt(rec, this.socketPath(rec.Id));
          this.o.logger.info(`re-adopted running container ${rec.Id.slice(0, 12)}`);
        } catch {
          // The monitor is gone: the container exited while berthd was down (or the host rebooted), or the monitor
          // was killed and left the container running without anyone holding its output.
          const exit = await readExitFile(path.join(dir, EXIT_FILE)).catch(() => undefined);
          if (!exit) return this.endOrphan(rec);
          await this.handleExit(rec, exit.exitCode, exit.finishedAt, exit.oomKilled);
        }
      }),
    );
  }

  private async adopt(rec: ContainerRecord, socket: string): Promise<void> {
    const io = new ContainerIO(rec.Config.Tty);
    await io.connect(socket);
    this.track(rec, io);
  }

  private track(rec: ContainerRecord, io: ContainerIO): void {
    let resolveExited!: () => void;
    const exited = new Promise<void>((r) => (resolveExited = r));
    const probe = probeArgs(rec.Config.Healthcheck?.Test);
    const health = probe
      ? new HealthMonitor(rec, rec.Config.Healthcheck ?? {}, probe, {
          runcPath: this.o.runtimePath,
          runcRoot: path.join(this.o.execRoot, 'runc'),
          bundleDir: (id) => this.bundleDir(id),
          save: (r) => {
            if (this.store.find(r.Id)) this.store.save(r);
          },
          publish: (r, status) => this.o.events.publish('container', `health_status: ${status}`, r.Id, { image: r.Config.Image, name: r.Name.slice(1) }),
        })
      : undefined;
    this.running.set(rec.Id, { io, exited, resolveExited, health });
    void io.ended.then(async (code) => {
      // code undefined: the monitor went away without an exit frame (killed); its exit file may still tell.
      const exit = await readExitFile(path.join(this.bundleDir(rec.Id), EXIT_FILE)).catch(() => undefined);
      if (code === undefined && !exit) return this.endOrphan(rec);
      await this.handleExit(rec, exit?.exitCode ?? code ?? 255, exit?.finishedAt, exit?.oomKilled ?? false);
    });
  }

  /**
   * The monitor died without recording an exit (kill -9). A container without its monitor has nobody reading its
   * output or reaping it, so it is ended, as dockerd ends a container whose shim died: exit 137 with the reason in
   * State.Error, and then the restart policy applies.
   */
  private async endOrphan(rec: ContainerRecord): Promise<void> {
    const pid = rec.State.Pid;
    // not running either (a host reboot): the exit status is unknown, 255 as dockerd reports it
    if (!isAlive(pid)) return this.handleExit(rec, 255, undefined, false);
    this.o.logger.warn(`container ${rec.Id.slice(0, 12)}: its monitor died; stopping the container`);
    await this.runc.kill(rec.Id, 'SIGKILL', { all: true }).catch(() => {});
    // the init was re-parented to the host's init, which reaps it
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
    rec.State.Error = 'container monitor exited unexpectedly';
    await this.handleExit(rec, 137, undefined, false);
  }

  // ------------------------------------------------------------------ create

  async create(name: string | undefined, body: CreateRequest): Promise<{ Id: string; Warnings: string[] }> {
    // Field types are checked where the body is decoded (api/types/container.ts); the rules below need the host.
    if (!body || typeof body !== 'object') throw invalidArgument('config cannot be empty in order to create a container');
    if (!body.Image) throw invalidArgument('No image specified');
    if (name !== undefined && name !== '') validateContainerName(name);
    const image = await this.o.images.resolve(body.Image);
    const id = generateId();
    const hc = normalizeHostConfig(body.HostConfig ?? {});
    hc.LogConfig = mergeLogConfig(body.HostConfig?.LogConfig as Partial<LogConfig> | undefined, this.o.defaultLogConfig);
    validateLogConfig(hc.LogConfig as LogConfig); // the merged one: the daemon's defaults are checked too
    if (hc.AutoRemove && hc.RestartPolicy.Name !== 'no' && hc.RestartPolicy.Name !== '')
      throw invalidArgument("can't create 'AutoRemove' container with restart policy");
    validateRestartPolicy(hc.RestartPolicy);
    validateHostConfig(hc as never, await this.facts());

    const cname = name || generateName((n) => this.store.nameTaken(n) !== undefined);
    if (!this.store.reserveName(cname, id)) {
      const holder = this.store.nameTaken(cname)!;
      throw conflict(
        `Conflict. The container name "/${cname.replace(/^\//, '')}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    try {
      const userConfig = normalizeConfig(body, id);
      const merged = mergeConfig(userConfig as never, image.config) as unknown as ContainerConfig;
      // The image's HEALTHCHECK applies unless the container sets its own (fields merge one by one, like Docker).
      const imageHealth = (image.config as { Healthcheck?: ContainerConfig['Healthcheck'] } | null)?.Healthcheck;
      if (imageHealth) merged.Healthcheck = { ...imageHealth, ...(userConfig.Healthcheck ?? {}) };
      // Docker keeps the image's values in Config (so inspect shows the effective command, env and workdir).
      const { path: p, args } = entrypointAndArgs(merged as never);
      const dir = this.store.dir(id);
      fs.mkdirSync(dir, { recursive: true, mode: 0o710 });
      await this.o.images.prepareContainerLayer(image.id, id);
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
        LogPath: path.join(dir, `${id}-json.log`),
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
      const net = await this.o.network?.create?.(rec, body.NetworkingConfig);
      if (net) {
        rec.NetworkSettings = net.settings;
        rec.HostConfig.PortBindings = net.portBindings;
      }
      await this.o.volumes?.create(rec, (image.config as { Volumes?: Record<string, object> | null } | null)?.Volumes);
      this.store.save(rec);
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
    const bundle = this.bundleDir(rec.Id);
    const rootfs = path.join(bundle, 'rootfs');
    fs.rmSync(bundle, { recursive: true, force: true });
    fs.mkdirSync(rootfs, { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.dirname(this.socketPath(rec.Id)), { recursive: true, mode: 0o700 });
    let mounted = false;
    let networked = false;
    try {
      const mounts = await this.o.images.containerLayerMounts(rec.Berth.snapshotKey);
      mountAll(mounts, rootfs);
      mounted = true;
      const hc = rec.HostConfig;
      const hostname = rec.Config.Hostname || rec.Id.slice(0, 12);
      const net = this.o.network ? await this.o.network.setup(rec) : { netnsPath: hc.NetworkMode === 'host' ? 'host' : undefined, settings: rec.NetworkSettings };
      rec.NetworkSettings = net.settings;
      networked = true;
      const volumeMounts = (await this.o.volumes?.mounts(rec, rootfs)) ?? [];
      const etc = await writeEtcFiles({
        dir: this.store.dir(rec.Id),
        hostname,
        domainname: rec.Config.Domainname,
        ip: net.ip,
        extraHosts: [...(hc.ExtraHosts ?? []), ...(net.extraHosts ?? [])],
        dns: hc.Dns ?? [],
        dnsSearch: hc.DnsSearch ?? [],
        dnsOptions: hc.DnsOptions ?? [],
        hostNetwork: hc.NetworkMode === 'host',
      });
      const user = await resolveUser(rootfs, rec.Config.User ?? '', hc.GroupAdd ?? []);
      const facts = await this.facts();
      const etcMount = (src: string, dst: string) => ({
        destination: dst,
        type: 'bind',
        source: src,
        options: ['rbind', 'rprivate', ...(hc.ReadonlyRootfs ? ['ro'] : [])],
      });
      const spec = buildSpec({
        id: rec.Id,
        rootfsPath: rootfs,
        config: { ...rec.Config, Hostname: hostname } as never,
        hostConfig: hc as never,
        user,
        mounts: [
          etcMount(etc.resolvConfPath, '/etc/resolv.conf'),
          etcMount(etc.hostnamePath, '/etc/hostname'),
          etcMount(etc.hostsPath, '/etc/hosts'),
          ...volumeMounts,
        ],
        netnsPath: net.netnsPath,
        cgroupsPath: `/berth/${rec.Id}`,
        hostFacts: facts,
        initPath: this.o.initPath,
      });
      await fs.promises.writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));

      const io = new ContainerIO(rec.Config.Tty);
      const log = logPlan(normalizeLogConfig(rec.HostConfig.LogConfig as LogConfig), rec.Config.Labels ?? {}, rec.Config.Env ?? []);
      const started = await startMonitor({
        monitorPath: this.o.monitorPath,
        id: rec.Id,
        bundle,
        runcPath: this.o.runtimePath,
        runcRoot: path.join(this.o.execRoot, 'runc'),
        mode: 'create',
        tty: rec.Config.Tty,
        stdin: rec.Config.OpenStdin,
        ...(log.file ? { logFile: rec.LogPath, logRotation: log, logAttrs: log.attrs } : {}),
        exitFile: path.join(bundle, EXIT_FILE),
        socketPath: this.socketPath(rec.Id),
        pidFile: path.join(bundle, 'init.pid'),
      }).catch((e: Error) => {
        throw runtimeStartError(e.message);
      });
      const conn = await io.connect(this.socketPath(rec.Id));
      const sessions = (this.pendingAttach.get(rec.Id) ?? []).map((p) => {
        const session = io.attach(p.socket, p.opts);
        void session.done.then(() => p.resolve());
        return session.ready;
      });
      this.pendingAttach.delete(rec.Id);
      await Promise.all(sessions); // every waiting client is subscribed before the first byte can be written
      const pid = await conn.start().catch((e: Error) => {
        throw runtimeStartError(e.message);
      });
      rec.State = {
        ...rec.State,
        Status: 'running',
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: pid || started.pid,
        ExitCode: 0,
        Error: '',
        StartedAt: new Date().toISOString(),
        FinishedAt: rec.State.FinishedAt,
      };
      rec.Berth.monitorPid = started.monitorPid;
      rec.Berth.manuallyStopped = false;
      this.store.save(rec);
      this.track(rec, io);
      this.o.events.publish('container', 'start', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
    } catch (e) {
      await this.runc.delete(rec.Id, { force: true }).catch(() => {});
      if (networked) await this.o.network?.teardown(rec).then((s) => { rec.NetworkSettings = s; }).catch(() => {});
      if (mounted) this.unmountRootfs(rootfs);
      rec.State.Error = (e as Error).message;
      rec.State.ExitCode = exitCodeForStartError((e as Error).message);
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

  private unmountRootfs(rootfs: string): void {
    try {
      unmount(rootfs);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EINVAL' && (e as { code?: string }).code !== 'ENOENT')
        this.o.logger.warn(`unmount ${rootfs}: ${(e as Error).message}`);
    }
  }

  // ------------------------------------------------------------------ exit

  private async handleExit(rec: ContainerRecord, exitCode: number, finishedAt: string | undefined, oomKilled: boolean): Promise<void> {
    const run = this.running.get(rec.Id);
    this.running.delete(rec.Id);
    run?.health?.stop();
    // runc's state and the network are independent: release them concurrently (each is a process spawn or more).
    await Promise.all([
      this.runc.delete(rec.Id, { force: true }).catch(() => {}),
      this.o.network?.teardown(rec).then((s) => { rec.NetworkSettings = s; }).catch((e) => this.o.logger.warn(`network teardown ${rec.Id.slice(0, 12)}: ${(e as Error).message}`)),
    ]);
    this.unmountRootfs(path.join(this.bundleDir(rec.Id), 'rootfs'));
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
    if (this.store.find(rec.Id)) this.store.save(rec);
    if (oomKilled) this.o.events.publish('container', 'oom', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
    this.o.events.publish('container', 'die', rec.Id, { exitCode: String(exitCode), image: rec.Config.Image, name: rec.Name.slice(1) });
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
    await this.runc.kill(rec.Id, sig).catch((e: Error) => {
      if (!/not running|does not exist|container not running/.test(e.message)) throw e;
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
    if (rec.State.Paused) await this.runc.resume(rec.Id).catch(() => {});
    await this.runc.kill(rec.Id, sig).catch(() => {});
    this.o.events.publish('container', 'kill', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1), signal: String(signalNumber(sig)) });
    const exited = run?.exited ?? Promise.resolve();
    const timedOut = t < 0 ? false : await Promise.race([exited.then(() => false), sleep(t * 1000).then(() => true)]);
    if (timedOut) {
      await this.runc.kill(rec.Id, 'SIGKILL', { all: true }).catch(() => {});
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
      if (rec.State.Running) {
        const run = this.running.get(rec.Id);
        if (rec.State.Paused) await this.runc.resume(rec.Id).catch(() => {});
        await this.runc.kill(rec.Id, 'SIGKILL', { all: true }).catch(() => {});
        if (run) await Promise.race([run.exited, sleep(10_000)]);
      }
    }
    if (!this.store.find(rec.Id)) return; // auto-removed meanwhile
    rec.State.Status = 'removing';
    // Only a container whose exit was never handled still has runc state; skip the spawn otherwise.
    if (fs.existsSync(path.join(this.o.execRoot, 'runc', rec.Id))) await this.runc.delete(rec.Id, { force: true }).catch(() => {});
    this.unmountRootfs(path.join(this.bundleDir(rec.Id), 'rootfs'));
    try {
      await this.o.images.removeContainerLayer(rec.Berth.snapshotKey);
    } catch (e) {
      if (!(e instanceof EngineError && e.kind === 'NotFound')) {
        rec.State.Status = 'dead';
        rec.State.Dead = true;
        this.store.save(rec);
        throw e;
      }
    }
    await this.o.network?.remove?.(rec).catch(() => {});
    await this.o.volumes?.remove(rec, opts.volumes);
    fs.rmSync(this.bundleDir(rec.Id), { recursive: true, force: true });
    this.store.remove(rec);
    this.o.events.publish('container', 'destroy', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
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
    if (run) return run.io.attach(socket, opts).done.then(() => undefined);
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
    run.io.resize(rows, cols);
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

  async pause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    if (rec.State.Paused) throw conflict(`Container ${rec.Id} is already paused`);
    await this.runc.pause(rec.Id);
    rec.State.Paused = true;
    rec.State.Status = 'paused';
    this.store.save(rec);
    this.o.events.publish('container', 'pause', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    if (!rec.State.Paused) throw conflict(`Container ${rec.Id} is not paused`);
    await this.runc.resume(rec.Id);
    rec.State.Paused = false;
    rec.State.Status = 'running';
    this.store.save(rec);
    this.o.events.publish('container', 'unpause', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1) });
  }

  /** The running container's bundle and state, for exec, top, stats and archive. */
  runningInfo(ref: string): { rec: ContainerRecord; bundle: string } {
    const rec = this.store.get(ref);
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    if (rec.State.Paused) throw conflict(`Container ${rec.Id} is paused, unpause the container before exec`);
    return { rec, bundle: this.bundleDir(rec.Id) };
  }

  /** A promise that resolves when the container stops (for logs --follow); resolved already when not running. */
  stopped(id: string): Promise<void> {
    return this.running.get(id)?.exited ?? Promise.resolve();
  }

  get runcClient(): Runc {
    return this.runc;
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

  /** Closes monitor connections; containers keep running. */
  async shutdown(): Promise<void> {
    for (const r of this.running.values()) r.io.close();
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

/** Docker's message for runtime start failures; the CLI derives 126/127 from its wording. */
function runtimeStartError(message: string): EngineError {
  const text = `failed to create task for container: OCI runtime create failed: runc create failed: ${message.replace(/^runc (create|start) failed: /, '')}: unknown`;
  const kind = /no such file or directory|executable file not found|permission denied|not a directory/.test(message) ? 'InvalidArgument' : 'Internal';
  return new EngineError(kind, text);
}

function exitCodeForStartError(message: string): number {
  if (/executable file not found|no such file or directory/.test(message)) return 127;
  if (/permission denied/.test(message)) return 126;
  return 128;
}

/** Docker's built-in log drivers on Linux; berth writes json-file logs for each (other drivers: a later issue). */

function validateRestartPolicy(p: { Name: string; MaximumRetryCount: number }): void {
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(p.Name)) throw invalidArgument(`invalid restart policy: unknown policy '${p.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  if (p.MaximumRetryCount && p.Name !== 'on-failure') throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (p.MaximumRetryCount < 0) throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
}

function normalizeConfig(body: CreateRequest, id: string): ContainerConfig {
  const list = (v: unknown): string[] | null => (v === undefined || v === null ? null : typeof v === 'string' ? [v] : Array.isArray(v) ? v.map(String) : invalidType('list'));
  return {
    Hostname: body.Hostname || '',
    Domainname: body.Domainname || '',
    User: body.User || '',
    AttachStdin: Boolean(body.AttachStdin),
    AttachStdout: Boolean(body.AttachStdout),
    AttachStderr: Boolean(body.AttachStderr),
    ExposedPorts: body.ExposedPorts ?? null,
    Tty: Boolean(body.Tty),
    OpenStdin: Boolean(body.OpenStdin),
    StdinOnce: Boolean(body.StdinOnce),
    Env: list(body.Env),
    Cmd: list(body.Cmd),
    Healthcheck: body.Healthcheck ?? null,
    Image: String(body.Image),
    Volumes: body.Volumes ?? null,
    WorkingDir: body.WorkingDir || '',
    Entrypoint: list(body.Entrypoint),
    OnBuild: null,
    Labels: body.Labels ?? {},
    StopSignal: body.StopSignal,
    StopTimeout: body.StopTimeout ?? null,
    ...(body.Hostname ? {} : { Hostname: id.slice(0, 12) }),
  };
}

function invalidType(what: string): never {
  throw invalidArgument(`json: cannot unmarshal value into Go value of type ${what}`);
}

function normalizeHostConfig(h: Partial<HostConfig>): HostConfig {
  return {
    ...h,
    Binds: h.Binds ?? null,
    NetworkMode: h.NetworkMode && h.NetworkMode !== 'default' ? h.NetworkMode : 'bridge',
    PortBindings: h.PortBindings ?? {},
    RestartPolicy: { Name: h.RestartPolicy?.Name || 'no', MaximumRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0 },
    AutoRemove: Boolean(h.AutoRemove),
    VolumesFrom: h.VolumesFrom ?? null,
    CapAdd: h.CapAdd ?? null,
    CapDrop: h.CapDrop ?? null,
    Dns: h.Dns ?? [],
    DnsOptions: h.DnsOptions ?? [],
    DnsSearch: h.DnsSearch ?? [],
    ExtraHosts: h.ExtraHosts ?? null,
    GroupAdd: h.GroupAdd ?? null,
    IpcMode: h.IpcMode || 'private',
    PidMode: h.PidMode ?? '',
    Privileged: Boolean(h.Privileged),
    ReadonlyRootfs: Boolean(h.ReadonlyRootfs),
    SecurityOpt: h.SecurityOpt ?? null,
    UTSMode: h.UTSMode ?? '',
    ShmSize: h.ShmSize || 67108864,
    Memory: h.Memory ?? 0,
    MemoryReservation: h.MemoryReservation ?? 0,
    MemorySwap: h.MemorySwap ?? 0,
    NanoCpus: h.NanoCpus ?? 0,
    CpuShares: h.CpuShares ?? 0,
    CpuPeriod: h.CpuPeriod ?? 0,
    CpuQuota: h.CpuQuota ?? 0,
    CpusetCpus: h.CpusetCpus ?? '',
    CpusetMems: h.CpusetMems ?? '',
    PidsLimit: h.PidsLimit ?? null,
    OomKillDisable: h.OomKillDisable ?? false,
    Ulimits: h.Ulimits ?? [],
    LogConfig: normalizeLogConfig(h.LogConfig as LogConfig | undefined),
    Runtime: 'runc',
    ConsoleSize: h.ConsoleSize ?? [0, 0],
    CgroupnsMode: h.CgroupnsMode || 'host',
  };
}

function emptyNetworkSettings(): Record<string, unknown> {
  return {
    Bridge: '',
    SandboxID: '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: {},
    SandboxKey: '',
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: '',
    Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    MacAddress: '',
    // The network service fills one endpoint per network at create time.
    Networks: {},
  };
}

