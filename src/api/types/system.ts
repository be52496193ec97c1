/**
 * Engine API system types: `GET /version`, `GET /info`, `GET /system/df`, `GET /events`. Field names are moby's
 * (api/types/system, api/types/events); clients and templates (`{{.Server.APIVersion}}`) read them by these names.
 */
import type { ContainerSummary } from './container.js';
import type { ImageSummary } from './image.js';
import type { Volume } from './volume.js';

export interface ComponentVersion {
  Name: string;
  Version: string;
  Details?: Record<string, string>;
}

/** `GET /version` (types.Version). */
export interface SystemVersion {
  Platform: { Name: string };
  Components?: ComponentVersion[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
  Experimental?: boolean;
  BuildTime?: string;
}

/** `GET /info` (system.Info): the fields `berth info` prints are typed, the rest pass through. */
export interface SystemInfo {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  DriverStatus: [string, string][] | null;
  Plugins: { Volume: string[] | null; Network: string[] | null; Authorization: string[] | null; Log: string[] | null };
  LoggingDriver: string;
  CgroupDriver: string;
  CgroupVersion: string;
  KernelVersion: string;
  OperatingSystem: string;
  OSType: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  DockerRootDir: string;
  Name: string;
  Labels: string[] | null;
  ServerVersion: string;
  Runtimes: Record<string, { path: string }>;
  DefaultRuntime: string;
  Swarm: { LocalNodeState: string; [k: string]: unknown };
  InitBinary: string;
  RuncCommit: { ID: string };
  SecurityOptions: string[] | null;
  Warnings: string[] | null;
  [more: string]: unknown;
}

/** `GET /system/df` (types.DiskUsage). */
export interface DiskUsage {
  LayersSize: number;
  Images: ImageSummary[] | null;
  Containers: ContainerSummary[] | null;
  Volumes: Volume[] | null;
  BuildCache: BuildCacheRecord[] | null;
}

/** One build cache record (types.BuildCache; the fields berth fills). */
export interface BuildCacheRecord {
  ID?: string;
  Type?: string;
  Description?: string;
  Size?: number;
  InUse?: boolean;
  Shared?: boolean;
  CreatedAt?: string;
  LastUsedAt?: string | null;
  UsageCount?: number;
}

/** `GET /events`: one event (events.Message). */
export interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope?: string;
  time: number;
  timeNano: number;
  /** Pre-1.22 fields dockerd still sends for container events. */
  status?: string;
  id?: string;
  from?: string;
}

/** The kinds of objects berthd reports events about. */
export type EventType = 'container' | 'image' | 'volume' | 'network' | 'daemon';

/** An event as berthd publishes it: an EventMessage of a known type, always in the local scope. */
export interface EngineEvent extends EventMessage {
  Type: EventType;
  scope: 'local';
}

/** `POST /berth/dashboard` (berth's own): where the dashboard listens; `URL` includes the access token. */
export interface DashboardStatus {
  URL: string;
  Address: string;
}
