/**
 * The container record: what berth knows about one container, persisted as JSON and shown (nearly verbatim) by
 * `GET /containers/{id}/json`. Field names are Docker's wire names so inspect output needs no translation.
 *
 * Lifecycle: created → running ⇄ paused → exited (→ running again on start/restart) → removed. `restarting` is the
 * back-off window of a restart policy; `dead` a container whose removal failed half-way, or whose record could not be
 * read (only `rm -f` applies to it).
 */
import { humanDuration, ZERO_TIME } from '../../pkg/units/units.js';
import type { VolumeBook } from '../volumes/types.js';
import type { MountSpec } from '../../api/types/container.js';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface Health {
  Status: 'starting' | 'healthy' | 'unhealthy' | 'none';
  FailingStreak: number;
  Log: HealthLogEntry[];
}

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: Health;
}

/** Docker's `Config` (the portable part of a container's configuration). */
export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number; StartInterval?: number } | null;
  Image: string;
  Volumes: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  NetworkDisabled?: boolean;
  OnBuild: string[] | null;
  Labels: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Shell?: string[] | null;
}

/** Docker's `HostConfig` (the host-specific part). Kept open-ended: unknown fields are stored and echoed back. */
export interface HostConfig {
  Binds: string[] | null;
  NetworkMode: string;
  PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> | null;
  RestartPolicy: { Name: string; MaximumRetryCount: number };
  AutoRemove: boolean;
  VolumesFrom: string[] | null;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  Dns: string[] | null;
  DnsOptions: string[] | null;
  DnsSearch: string[] | null;
  ExtraHosts: string[] | null;
  GroupAdd: string[] | null;
  IpcMode: string;
  PidMode: string;
  Privileged: boolean;
  ReadonlyRootfs: boolean;
  SecurityOpt: string[] | null;
  UTSMode: string;
  ShmSize: number;
  Tmpfs?: Record<string, string> | null;
  Init?: boolean | null;
  Memory: number;
  MemoryReservation: number;
  MemorySwap: number;
  NanoCpus: number;
  CpuShares: number;
  CpuPeriod: number;
  CpuQuota: number;
  CpuRealtimePeriod: number;
  CpuRealtimeRuntime: number;
  /** The cgroup the container's cgroup is created under ('' = the daemon's --cgroup-parent). */
  CgroupParent: string;
  CpusetCpus: string;
  CpusetMems: string;
  PidsLimit: number | null;
  OomKillDisable: boolean | null;
  Ulimits: Array<{ Name: string; Soft: number; Hard: number }> | null;
  Mounts?: MountSpec[] | null;
  Sysctls?: Record<string, string> | null;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  [key: string]: unknown;
}

/** A mount as inspect shows it. */
export interface MountPoint {
  Type: 'volume' | 'bind' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** The persisted record of one container. */
export interface ContainerRecord {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: HostConfig;
  Mounts: MountPoint[];
  Config: ContainerConfig;
  NetworkSettings: Record<string, unknown>;
  /** berth's own bookkeeping, not shown in inspect. */
  Berth: {
    /** The snapshot key of the container's writable layer. */
    snapshotKey: string;
    /** The pid of the container's monitor process while it runs. */
    monitorPid: number;
    /** True once the user stopped it (for unless-stopped and for "restart on daemon start"). */
    manuallyStopped: boolean;
    /** True when the container runs with host networking (no own netns). */
    hostNetwork?: boolean;
    /** The volume service's per-container notes (pending copy-ups, anonymous volume names). */
    volumes?: VolumeBook;
    /**
     * The removal journal: set (and saved) before a removal destroys anything, so a removal a crash interrupts is
     * finished at the next start, or the container is left Dead for `rm -f`.
     */
    removing?: { volumes: boolean };
    /** Set on a placeholder for a record that could not be read (never saved as such). */
    unreadable?: boolean;
  };
}

export { ZERO_TIME };

export function newState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

/** The human status column of `docker ps` ("Up 2 seconds (healthy)", "Exited (3) 2 seconds ago", "Created"). */
export function describeStatus(s: ContainerState, now = Date.now()): string {
  const since = (iso: string) => humanDuration(Math.max(0, now - Date.parse(iso)));
  switch (s.Status) {
    case 'running': {
      const health = s.Health && s.Health.Status !== 'none' ? ` (${s.Health.Status === 'starting' ? 'health: starting' : s.Health.Status})` : '';
      return `Up ${since(s.StartedAt)}${health}`;
    }
    case 'paused':
      return `Up ${since(s.StartedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'exited':
      return s.FinishedAt === ZERO_TIME ? 'Created' : `Exited (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
    default:
      return 'Created';
  }
}
