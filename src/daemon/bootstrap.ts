/**
 * Daemon bootstrap: takes the data-root lock, builds every service, registers every route group, listens, and shuts
 * down cleanly on SIGTERM/SIGINT. Containers are NOT stopped on shutdown: each has its own monitor process and the
 * next berthd re-adopts it.
 */
import { IdleTrimmer } from '../pkg/memory/idle-trim.js';
import fs from 'node:fs';
import path from 'node:path';
import { FlockOp, type HostFacts } from '../core/kernel/index.js';
import { hostKernel } from '../sys/kernel.js';
import { cpuRealtimeUnsupported, type DaemonConfig } from './config.js';
import { Logger } from './logger.js';
import { registerSystemRoutes } from './routes/system.js';
import { ApiServer, parseListenAddress } from './server/http-server.js';
import { checkTcpListener, serverTlsOptions } from './server/tcp-security.js';
import { checkDashboardAddress, DashboardController, registerDashboardRoutes } from '../dashboard/controller.js';
import { invalidArgument } from '../errdefs/index.js';
import { Router } from './server/router.js';
import { SystemService } from './services/system-service.js';
import { ImageService } from './services/images/service.js';
import { LocalContentStore, FileLeaseManager } from '../plugins/content/local/index.js';
import { OverlaySnapshotter, overlaySupported } from '../plugins/snapshots/overlay/index.js';
import { NativeSnapshotter } from '../plugins/snapshots/native/index.js';
import { FileImageStore } from '../plugins/images/local/store.js';
import { DistributionHosts } from '../plugins/registry/hosts.js';
import type { Snapshotter } from '../core/snapshots/types.js';
import type { ContentStore, LeaseManager } from '../core/content/types.js';
import { HOST_ARCH } from '../core/images/platform.js';
import { registerImageRoutes } from './routes/images.js';
import { registerContainerRoutes } from './routes/containers.js';
import { applyModes, DATA_ROOT_MODES, EXEC_ROOT_MODES } from './modes.js';
import { registerEventRoutes } from './routes/events.js';
import { registerSwarmRoutes } from './routes/swarm.js';
import { registerBuildRoutes } from './routes/build.js';
import { ContainerService, ImageAccess } from './services/containers/service.js';
import { ExecService } from './services/containers/exec.js';
import { containerEventAttributes, EventBus } from './services/events.js';
import { listItem } from './services/containers/views.js';
import { readHostFacts } from '../plugins/runtime/oci/host.js';
import { ociSpecBuilder } from '../plugins/runtime/oci/spec.js';
import { RuncRuntime } from '../plugins/runtime/runc/runtime.js';
import { NetworkService, networkNaming } from './services/network-service.js'; // networking
import type { NetworkContainers } from '../core/network/index.js'; // networking
import { BridgeDriver } from '../plugins/network/bridge/driver.js'; // networking
import { chainNames, dnatPorts } from '../plugins/network/bridge/iptables.js'; // networking
import { HostDriver } from '../plugins/network/host/driver.js'; // networking
import { NullDriver } from '../plugins/network/null/driver.js'; // networking
import { defaultIpam } from '../plugins/network/ipam.js'; // networking
import { SystemNetOps } from '../plugins/network/netlink.js'; // networking
import { HostPortAllocator } from '../plugins/network/ports.js'; // networking
import { registerNetworkRoutes } from './routes/networks.js'; // networking
import { VolumeService } from './services/volume-service.js'; // volumes
import { LocalVolumeDriver } from '../plugins/volume/local/index.js'; // volumes
import { registerVolumeRoutes } from './routes/volumes.js'; // volumes
import { nativeArtifact } from '../pkg/native/artifact.js';

export class DaemonLockedError extends Error {
  readonly kind = 'Conflict';
}

/** A service that needs to start after construction and stop before the daemon exits. */
export interface Lifecycle {
  start?(): Promise<void>;
  shutdown?(): Promise<void>;
}

export class Daemon {
  readonly router = new Router();
  readonly logger: Logger;
  readonly system: SystemService;
  /** Image store (content, snapshots, image records); set during start(). */
  images!: ImageService;
  readonly events = new EventBus();
  containers!: ContainerService;
  execs!: ExecService;
  /** The web dashboard (src/dashboard), started by --dashboard or POST /berth/dashboard. */
  dashboard!: DashboardController;
  private server: ApiServer | undefined;
  private lockFd: number | undefined;
  private readonly lifecycles: Lifecycle[] = [];
  private stopping: Promise<void> | undefined;

  /** The host's facts (cgroups, capabilities, kernel, devices), read once and shared by system, spec and stats. */
  private hostFacts: Promise<HostFacts> | undefined;
  private readonly facts = (): Promise<HostFacts> => (this.hostFacts ??= readHostFacts());

  constructor(readonly config: DaemonConfig) {
    this.logger = new Logger(config.logLevel);
    this.system = new SystemService(config, this.facts);
  }

  /** Takes the data-root lock so a second daemon on the same root is refused instead of corrupting state. */
  private lock(): void {
    applyModes(this.config.dataRoot, DATA_ROOT_MODES);
    applyModes(this.config.execRoot, EXEC_ROOT_MODES);
    const lockPath = path.join(this.config.dataRoot, 'berthd.lock');
    const fd = fs.openSync(lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      hostKernel.flock(fd, FlockOp.EX | FlockOp.NB);
    } catch (e) {
      const holder = fs.readFileSync(lockPath, 'utf8').trim();
      fs.closeSync(fd);
      if ((e as { code?: string }).code === 'EWOULDBLOCK' || (e as { code?: string }).code === 'EAGAIN')
        throw new DaemonLockedError(
          `another berthd${holder ? ` (pid ${holder})` : ''} is already running with data root ${this.config.dataRoot}; stop it first or use a different --data-root`,
        );
      throw e;
    }
    fs.ftruncateSync(fd);
    fs.writeSync(fd, `${process.pid}\n`, 0);
    this.lockFd = fd;
  }

  async start(): Promise<void> {
    // Listeners are checked (and TLS files read) before anything else, so a refused TCP address starts nothing.
    const addrs = this.config.hosts.map(parseListenAddress);
    for (const addr of addrs)
      if (addr.proto === 'tcp') for (const w of (await checkTcpListener(addr.address, addr.port!, this.config.tls)).warnings) this.logger.warn(w);
    const tlsOptions = this.config.tls.enabled ? serverTlsOptions(this.config.tls) : undefined;
    if (this.config.dashboard) await checkDashboardAddress(this.config.dashboard.address, Boolean(this.config.dashboard.tlsCert));
    const rtRefused = cpuRealtimeUnsupported(this.config.cpuRealtime, await this.facts());
    if (rtRefused) throw new Error(rtRefused);
    this.lock();
    fs.mkdirSync(path.dirname(this.config.pidfile), { recursive: true });
    fs.writeFileSync(this.config.pidfile, `${process.pid}`);

    // Services and route groups. Each route group registers against the narrow backend it needs.
    registerSystemRoutes(this.router, this.system);
    const imageStack = await openImageStack({ dataRoot: this.config.dataRoot, snapshotter: snapshotterFor(this.config.storageDriver), log: (m) => this.logger.info(m), error: (m) => this.logger.error(m) });
    this.images = imageStack.images;
    this.system.providers.imageCount = () => this.images.count();
    this.system.providers.storageDriver = () => ({ name: this.images.driverName, status: [] });
    // registry: pull/push/login against OCI Distribution registries
    const registry = new (await import('./services/registry-service.js')).RegistryService({
      images: this.images,
      content: imageStack.content,
      leases: imageStack.leases,
      unpack: this.images.unpack,
      hosts: new DistributionHosts({ mirrors: this.config.registryMirrors, insecure: this.config.insecureRegistries, certsDirs: this.config.registryCertsDirs, debug: (m) => this.logger.debug(m) }),
      events: this.events,
      maxConcurrentDownloads: this.config.maxConcurrentDownloads,
      maxConcurrentUploads: this.config.maxConcurrentUploads,
      debug: (m) => this.logger.debug(m),
    });
    (await import('./routes/auth.js')).registerAuthRoutes(this.router, registry);
    registerImageRoutes(this.router, this.images, registry); // registry: pull via fromImage, push

    // Containers: runc + one berth-monitor per container; images provide root filesystems.
    const images = this.images;
    const imageAccess: ImageAccess = {
      async resolve(ref) {
        const img = images.resolve(ref);
        const cfg = await images.config(img.id);
        return { id: img.id, config: cfg.config ?? null };
      },
      async prepareContainerLayer(imageId, key) {
        await images.rootfsMounts(imageId, key);
      },
      containerLayerMounts: (key) => images.containerMounts(key),
      removeContainerLayer: (key) => images.removeContainerLayer(key),
    };
    // networking: bridges, IPAM, iptables; loaded before containers are re-adopted, reconciled after.
    const network = newNetworkService(this.config, this.events, this.logger); // networking
    this.lifecycles.push({ start: () => network.start(), shutdown: () => network.shutdown() });
    const volumes = new VolumeService({
      dataRoot: this.config.dataRoot,
      events: this.events,
      logger: this.logger,
      containers: () => this.containers.store,
      driver: new LocalVolumeDriver(path.join(this.config.dataRoot, 'volumes'), (m) => this.logger.warn(m)),
    }); // volumes
    this.lifecycles.push({ start: () => volumes.start() }); // volumes: loaded before containers restart
    // The runtime: runc, with one berth-monitor per task process.
    const runtime = new RuncRuntime({
      execRoot: this.config.execRoot,
      runtimePath: this.config.runtime,
      monitorPath: nativeArtifact('berth-monitor'),
      hostFacts: this.facts,
      cgroupParent: this.config.cgroupParent,
      cpuRealtime: this.config.cpuRealtime,
    });
    this.system.providers.runtimeVersion = () => runtime.version();
    const facts = this.facts;
    this.containers = new ContainerService({
      network, // networking
      volumes, // volumes
      dataRoot: this.config.dataRoot,
      runtime,
      specs: ociSpecBuilder,
      kernel: hostKernel,
      hostFacts: facts,
      initPath: '/usr/bin/tini-static',
      images: imageAccess,
      imageWriter: this.images,
      events: this.events,
      logger: this.logger,
      defaultLogConfig: this.config.logConfig,
    });
    this.execs = new ExecService({
      containers: this.containers,
      rootfsPath: (id) => runtime.rootfsPath(id),
      users: ociSpecBuilder,
      events: this.events,
      hostCaps: async () => (await facts()).boundingCaps,
    });
    images.setUsageProvider((id) => this.containers.imageUser(id));
    images.setEventSink((action, id, attributes) => this.events.publish('image', action, id, attributes));
    // every container event carries the container's image, name and labels, and die its run time (dockerd's)
    this.events.setAttributeSource('container', (id, action) => containerEventAttributes(this.containers.store.get(id), action));
    this.system.providers.containerCounts = () => this.containers.counts();
    this.system.providers.imagesDf = () => images.df((id) => this.containers.store.all().filter((c) => c.Image === id).length);
    this.system.providers.containersDf = async () =>
      this.containers.store.all().map((c) => listItem(c, c.Config.Image));
    registerContainerRoutes(this.router, {
      containers: this.containers,
      execs: this.execs,
      imageDisplayName: (id, asGiven) => {
        try {
          return images.resolve(asGiven).id === id ? asGiven : id;
        } catch {
          return id;
        }
      },
      ancestorIds: (ref) => {
        try {
          return [images.resolve(ref).id];
        } catch {
          return [];
        }
      },
      graphDriver: async () => ({ Name: images.driverName, Data: null }),
      layerSize: async (id) => {
        const rec = this.containers.get(id);
        const rw = (await images.containerLayerUsage(rec.Berth.snapshotKey)).size;
        const img = images.get(rec.Image);
        return { rw, rootfs: rw + (img ? await images.imageSize(img) : 0) };
      },
    });
    // container extras: archive (cp), export, changes, commit, top, stats, update
    (await import('./routes/container-extras.js')).registerContainerExtraRoutes(this.router, {
      containers: this.containers,
      events: this.events,
    });
    // ---- build: classic Dockerfile builder (POST /build, /build/prune), loaded on the first build, prune or df ----
    {
      const containers = this.containers;
      let builder: Promise<import('../build/builder.js').Builder> | undefined;
      const getBuilder = () => (builder ??= import('../build/builder.js').then(({ Builder }) => new Builder({
        dataRoot: this.config.dataRoot,
        images: this.images,
        arch: HOST_ARCH,
        containers: {
          create: (name, body) => containers.create(name, body),
          attach: (ref, socket, opts) => containers.attach(ref, socket, opts),
          start: (ref) => containers.start(ref),
          wait: (ref, cond, signal) => containers.wait(ref, cond, signal),
          kill: (ref, signal) => containers.kill(ref, signal),
          remove: (ref, opts) => containers.remove(ref, opts),
        },
        pull: async (name, signal) => {
          let failed: string | undefined;
          await registry.pull({ fromImage: name, signal }, (m) => {
            const err = (m as { error?: string }).error;
            if (err) failed = err;
          });
          if (failed) throw new Error(failed);
        },
      })));
      registerBuildRoutes(this.router, getBuilder);
      this.system.providers.buildCacheDf = async () => (await getBuilder()).df();
    }
    // ---- end build ----
    registerEventRoutes(this.router, this.events);
    {
      // dashboard: the Engine API in-process (same routes, same errors) and docker exec for its terminal
      const execs = this.execs;
      this.dashboard = new DashboardController({
        dataRoot: this.config.dataRoot,
        engine: { handle: (req, res) => this.server!.handle(req, res) },
        terminal: {
          createExec: (container, o) => execs.create(container, { AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, Cmd: o.cmd, Env: o.env, ConsoleSize: [o.rows, o.cols] }),
          startExec: (id, stream) => execs.start(id, { detach: false }, stream),
          resizeExec: (id, rows, cols) => execs.resize(id, rows, cols),
        },
        log: (m) => this.logger.warn(m),
      });
      registerDashboardRoutes(this.router, this.dashboard);
      this.lifecycles.push({ shutdown: () => this.dashboard.shutdown() });
    }
    registerSwarmRoutes(this.router); // never in a swarm: dockerd's answers for that
    network.attachContainers(networkContainers(this.containers.store)); // networking
    registerNetworkRoutes(this.router, network); // networking
    registerVolumeRoutes(this.router, volumes); // volumes
    this.system.providers.volumesDf = () => volumes.df(); // volumes
    this.lifecycles.push({
      start: async () => {
        await this.containers.restore();
        await this.containers.applyRestartPoliciesAtBoot();
      },
      shutdown: () => this.containers.shutdown(),
    });
    this.lifecycles.push({ start: () => network.reconcile() }); // networking: release what exited containers held
    // (networks, volumes register here as they land)

    for (const l of this.lifecycles) await l.start?.();

    // After work, a full GC and malloc_trim give back what a pull or a burst of runs left resident (issue 17 item 4).
    const trimmer = new IdleTrimmer();
    this.server = new ApiServer({ router: this.router, logger: this.logger, socketGid: this.socketGid(), tls: tlsOptions, onActivity: () => trimmer.touch() });
    for (const addr of addrs) {
      await this.server.listen(addr);
      this.logger.info(`API listen on ${addr.proto === 'unix' ? addr.address : `${addr.address}:${addr.port}`}`);
    }
    // ---- dashboard: off unless configured or asked for by `berth dashboard` (POST /berth/dashboard) ----
    if (this.config.dashboard) {
      const d = await this.dashboard.ensure(this.config.dashboard.address, { cert: this.config.dashboard.tlsCert, key: this.config.dashboard.tlsKey });
      this.logger.info(`dashboard listening on ${d.origin}; open ${d.url}`);
    }
    this.logger.info(`berthd started (pid ${process.pid}, data root ${this.config.dataRoot})`);
  }

  /**
   * The gid for the unix sockets (`-G`, a name or a number), as dockerd: a missing default group is a warning, a
   * missing group the user named is an error, an empty name means no group change.
   */
  private socketGid(): number | undefined {
    const name = this.config.socketGroup;
    if (!name) return undefined;
    const gid = lookupGroup(name);
    if (gid !== undefined) return gid;
    if (/^\d+$/.test(name)) {
      this.logger.warn(`Could not find GID ${name}`);
      return Number(name);
    }
    if (this.config.socketGroupIsDefault) {
      this.logger.debug(`could not change group of the unix socket to ${name}: group ${name} not found`);
      return undefined;
    }
    throw invalidArgument(`group ${name} not found`);
  }

  /** Stops serving; containers keep running under their monitors. Idempotent. */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      // A daemon that never got the lock owns nothing here: the socket and pidfile belong to the one holding it.
      if (this.lockFd === undefined) return;
      this.logger.info('shutting down');
      await this.server?.close();
      for (const l of [...this.lifecycles].reverse()) {
        try {
          await l.shutdown?.();
        } catch (e) {
          this.logger.error(`shutdown: ${(e as Error).message}`);
        }
      }
      for (const host of this.config.hosts) {
        const addr = parseListenAddress(host);
        if (addr.proto === 'unix') fs.rmSync(addr.address, { force: true });
      }
      fs.rmSync(this.config.pidfile, { force: true });
      if (this.lockFd !== undefined) fs.closeSync(this.lockFd);
    })();
    return this.stopping;
  }
}

/**
 * The image stack on a data root: the local content store and its leases, the snapshotter (overlayfs when the kernel
 * and the filesystem allow it, else the copying native one; `snapshotter` forces one), the image records — injected
 * into the ImageService by interface. Tests open the same stack through here.
 */
export async function openImageStack(opts: { dataRoot: string; snapshotter?: string; log?: (msg: string) => void; error?: (msg: string) => void }): Promise<{ images: ImageService; content: ContentStore; leases: LeaseManager }> {
  const log = opts.log ?? (() => {});
  const leases = await FileLeaseManager.open(opts.dataRoot);
  const content = await LocalContentStore.open(opts.dataRoot, { leases });
  const snapRoot = path.join(opts.dataRoot, 'snapshots');
  let snapshots: NativeSnapshotter | OverlaySnapshotter;
  const want = opts.snapshotter;
  if (want === 'native' || (want !== 'overlayfs' && !(await overlaySupported(snapRoot)))) {
    snapshots = await NativeSnapshotter.open(path.join(snapRoot, 'native'), { leases });
    log('snapshotter: native (copying); overlayfs unavailable or disabled');
  } else {
    snapshots = await OverlaySnapshotter.open(path.join(snapRoot, 'overlay'), { leases });
  }
  if (snapshots.damaged) (opts.error ?? log)(`snapshotter ${snapshots.name}: ${snapshots.damaged}`);
  const store = await FileImageStore.open(path.join(opts.dataRoot, 'images'));
  return { images: await ImageService.create({ content, leases, snapshots, store, log }), content, leases };
}

/** The snapshotter a `--storage-driver` (dockerd's names) asks for; '' lets berth choose. */
function snapshotterFor(driver: string): string | undefined {
  if (driver === '') return undefined;
  if (driver === 'vfs' || driver === 'native') return 'native';
  if (driver === 'overlay2' || driver === 'overlay' || driver === 'overlayfs') return 'overlayfs';
  throw new Error(`error initializing graphdriver: driver not supported: ${driver}`);
}

/** The ImageService alone on a data root (see openImageStack). */
export async function openImageService(opts: { dataRoot: string; snapshotter?: string; log?: (msg: string) => void }): Promise<ImageService> {
  return (await openImageStack(opts)).images;
}

/** The gid of a group from /etc/group (by name or by gid), if it exists. */
function lookupGroup(name: string): number | undefined {
  try {
    for (const line of fs.readFileSync('/etc/group', 'utf8').split('\n')) {
      const [g, , gid] = line.split(':');
      if (g === name || (gid !== undefined && gid === name)) return Number(gid);
    }
  } catch {
    /* no /etc/group: no group ownership */
  }
  return undefined;
}

// ---- networking wiring ----

/** The network service with its drivers, IPAM, port allocator and kernel seam. */
function newNetworkService(config: DaemonConfig, events: EventBus, logger: Logger): NetworkService {
  const ops = new SystemNetOps(hostKernel);
  const naming = networkNaming(config.dataRoot);
  const mtu = 1500;
  const chains = config.iptables !== false ? chainNames(naming.tag, naming.bridgePrefix) : undefined;
  return new NetworkService({
    dataRoot: config.dataRoot,
    execRoot: config.execRoot,
    bip: config.bip,
    defaultAddressPools: config.defaultAddressPools,
    ipv6: config.ipv6,
    fixedCidrV6: config.fixedCidrV6,
    naming,
    mtu,
    drivers: { bridge: new BridgeDriver({ ops, mtu, chains }), host: new HostDriver(), null: new NullDriver() },
    ipam: defaultIpam,
    ports: new HostPortAllocator(chains ? { foreign: dnatPorts } : {}),
    ops,
    events,
    logger,
  });
}

/** The network service's view of the containers: it reads records, the container store keeps the settings it returns. */
function networkContainers(store: ContainerService['store']): NetworkContainers {
  return {
    find: (ref) => store.find(ref),
    get: (ref) => store.get(ref),
    all: () => store.all(),
    storeNetworkSettings(id, settings) {
      const rec = store.get(id);
      rec.NetworkSettings = settings;
      store.save(rec);
    },
  };
}
