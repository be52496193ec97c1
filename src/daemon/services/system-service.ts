/**
 * SystemService answers `/info` and `/version` with real figures about this host and this daemon. Figures owned by
 * other services (container and image counts) come through small provider callbacks so this module imports none of
 * them.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { API_VERSION, BERTH_VERSION, MIN_API_VERSION } from '../../api/version.js';
import type { HostFacts } from '../../core/kernel/index.js';
import type { DaemonConfig } from '../config.js';

export interface ContainerCounts {
  total: number;
  running: number;
  paused: number;
  stopped: number;
}

/** The figures other services contribute to `/info`. */
export interface SystemProviders {
  containerCounts?: () => ContainerCounts;
  imageCount?: () => number;
  storageDriver?: () => { name: string; status: [string, string][] };
  /** `/system/df` parts, each owned by its service. */
  imagesDf?: () => Promise<{ LayersSize: number; Images: Array<Record<string, unknown>> }>;
  containersDf?: () => Promise<Array<Record<string, unknown>>>;
  volumesDf?: () => Promise<object[]>;
  /** Build cache records (the builder's). */
  buildCacheDf?: () => Promise<Array<Record<string, unknown>>>;
  /** The container runtime's version (the runtime plugin asks its program). */
  runtimeVersion?: () => Promise<{ version: string; commit: string }>;
}


function osPrettyName(): { name: string; version: string } {
  try {
    const text = fs.readFileSync('/etc/os-release', 'utf8');
    const get = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1] ?? '';
    return { name: get('PRETTY_NAME') || 'Linux', version: get('VERSION_ID') };
  } catch {
    return { name: 'Linux', version: '' };
  }
}

const goArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
const unameArch: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ia32: 'i686', ppc64: 'ppc64le', s390x: 's390x' };

export class SystemService {
  readonly providers: SystemProviders = {};
  readonly startedAt = new Date();
  private engineId: string | undefined;

  /** `hostFacts`: the daemon's one reading of the host (cgroup version and driver). */
  constructor(
    private readonly config: DaemonConfig,
    private readonly hostFacts: () => Promise<Pick<HostFacts, 'cgroupVersion' | 'cgroupDriver'>>,
  ) {}

  /** The engine ID persists across restarts, like dockerd's. */
  private id(): string {
    if (this.engineId) return this.engineId;
    const file = path.join(this.config.dataRoot, 'engine-id');
    try {
      this.engineId = fs.readFileSync(file, 'utf8').trim();
    } catch {
      this.engineId = crypto.randomUUID();
      fs.writeFileSync(file, this.engineId + '\n');
    }
    return this.engineId;
  }

  private async runc(): Promise<{ version: string; commit: string }> {
    return (await this.providers.runtimeVersion?.()) ?? { version: 'unknown', commit: '' };
  }

  async version(): Promise<Record<string, unknown>> {
    const runc = await this.runc();
    const details = {
      ApiVersion: API_VERSION,
      Arch: goArch[process.arch] ?? process.arch,
      BuildTime: this.startedAt.toISOString(),
      Experimental: 'false',
      GitCommit: 'berth',
      GoVersion: `node${process.versions.node}`,
      KernelVersion: os.release(),
      MinAPIVersion: MIN_API_VERSION,
      Os: 'linux',
    };
    return {
      Platform: { Name: 'berth' },
      Components: [
        { Name: 'Engine', Version: BERTH_VERSION, Details: details },
        { Name: 'runc', Version: runc.version, Details: { GitCommit: runc.commit } },
      ],
      Version: BERTH_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'berth',
      GoVersion: details.GoVersion,
      Os: 'linux',
      Arch: details.Arch,
      KernelVersion: details.KernelVersion,
      BuildTime: details.BuildTime,
    };
  }

  /** `GET /system/df`: disk usage by images, containers, volumes and the build cache. */
  async df(): Promise<Record<string, unknown>> {
    const images = (await this.providers.imagesDf?.()) ?? { LayersSize: 0, Images: [] };
    return {
      LayersSize: images.LayersSize,
      Images: images.Images,
      Containers: (await this.providers.containersDf?.()) ?? [],
      Volumes: (await this.providers.volumesDf?.()) ?? [],
      BuildCache: (await this.providers.buildCacheDf?.()) ?? [],
    };
  }

  async info(): Promise<Record<string, unknown>> {
    const counts = this.providers.containerCounts?.() ?? { total: 0, running: 0, paused: 0, stopped: 0 };
    const driver = this.providers.storageDriver?.() ?? { name: 'overlay2', status: [] };
    const rel = osPrettyName();
    const facts = await this.hostFacts();
    const security = ['name=seccomp,profile=builtin'];
    if (facts.cgroupVersion === 2) security.push('name=cgroupns');
    return {
      ID: this.id(),
      Containers: counts.total,
      ContainersRunning: counts.running,
      ContainersPaused: counts.paused,
      ContainersStopped: counts.stopped,
      Images: this.providers.imageCount?.() ?? 0,
      Driver: driver.name,
      DriverStatus: driver.status,
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: readSysctl('net/ipv4/ip_forward') === '1',
      BridgeNfIptables: readSysctl('net/bridge/bridge-nf-call-iptables') === '1',
      BridgeNfIp6tables: readSysctl('net/bridge/bridge-nf-call-ip6tables') === '1',
      Debug: this.config.debug,
      NFd: countDir('/proc/self/fd'),
      OomKillDisable: facts.cgroupVersion === 1,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: this.config.logConfig?.Type ?? 'json-file',
      CgroupDriver: facts.cgroupDriver,
      CgroupVersion: String(facts.cgroupVersion),
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: rel.name,
      OSVersion: rel.version,
      OSType: 'linux',
      Architecture: unameArch[process.arch] ?? process.arch,
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: {
        AllowNondistributableArtifactsCIDRs: [],
        AllowNondistributableArtifactsHostnames: [],
        InsecureRegistryCIDRs: ['127.0.0.0/8'],
        IndexConfigs: { 'docker.io': { Name: 'docker.io', Mirrors: this.config.registryMirrors, Secure: true, Official: true } },
        Mirrors: this.config.registryMirrors,
      },
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      GenericResources: null,
      DockerRootDir: this.config.dataRoot,
      HttpProxy: process.env.HTTP_PROXY ?? '',
      HttpsProxy: process.env.HTTPS_PROXY ?? '',
      NoProxy: process.env.NO_PROXY ?? '',
      Name: os.hostname(),
      Labels: this.config.labels,
      ExperimentalBuild: false,
      ServerVersion: BERTH_VERSION,
      Runtimes: { runc: { path: this.config.runtime } },
      DefaultRuntime: 'runc',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: 'docker-init',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: (await this.runc()).commit },
      InitCommit: { ID: '' },
      SecurityOptions: security,
      Warnings: null,
    };
  }
}

function readSysctl(name: string): string {
  try {
    return fs.readFileSync(`/proc/sys/${name}`, 'utf8').trim();
  } catch {
    return '';
  }
}

function countDir(p: string): number {
  try {
    return fs.readdirSync(p).length;
  } catch {
    return 0;
  }
}
