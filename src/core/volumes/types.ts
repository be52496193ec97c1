/**
 * Volumes: named directories that outlive containers. This file holds the plain data (the Engine API's `Volume`
 * shape) and the driver interface; implementations live in src/plugins/volume/<driver>/.
 *
 * Terms:
 * - volume: a name, a driver, a mount point on the host (`Mountpoint`), labels and driver options. The local driver
 *   keeps it at `<data-root>/volumes/<name>/_data`.
 * - anonymous volume: a volume created without a name (`-v /path`, `VOLUME` in an image, `docker volume create`
 *   without a name). It gets a random 64-hex name and the label `com.docker.volume.anonymous=""`; `volume prune`
 *   removes only these unless `all=true`, and `docker rm -v` removes a container's anonymous volumes.
 * - reference: a container record whose `.Mounts` names the volume. References are derived from the container
 *   records on disk, never kept only in memory, so they survive berthd restarts. A referenced volume cannot be
 *   removed (409 `remove <name>: volume is in use - [<ids>]`).
 *
 * Lifecycle (local driver): create (directory + metadata, atomically) → mount (first container start; only for
 * volumes with `type`/`device` options) → … → remove (unmount if mounted, then delete).
 */
import { invalidArgument } from '../../errdefs/index.js';

/** The label Docker puts on anonymous volumes. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/** The default (and only built-in) driver. */
export const LOCAL_DRIVER = 'local';

/** The Engine API's volume object and create body: the wire types (api/types/volume.ts) are the only definition. */
export type { Volume, VolumeCreateRequest } from '../../api/types/volume.js';

/** What a driver stores about one volume. */
export interface VolumeRecord {
  name: string;
  /** RFC 3339, as Docker formats it. */
  createdAt: string;
  labels: Record<string, string> | null;
  options: Record<string, string> | null;
}

export interface CreateVolumeOptions {
  labels?: Record<string, string> | null;
  options?: Record<string, string> | null;
}

/**
 * A volume driver. All methods are idempotent where the description says so; errors are EngineErrors with Docker's
 * wording (the service prefixes the operation and name: `create x: …`).
 */
export interface VolumeDriver {
  readonly name: string;
  /** Loads persisted volumes (and cleans up half-finished creates/removes from a crash). */
  init(): Promise<void>;
  /** Creates a volume; returns the existing one when the name is taken (Docker's create is idempotent). */
  create(name: string, opts: CreateVolumeOptions): Promise<{ record: VolumeRecord; created: boolean }>;
  get(name: string): VolumeRecord | undefined;
  list(): VolumeRecord[];
  /** The host path containers see. */
  path(name: string): string;
  /**
   * Makes the volume usable (mounts `device` with `type`/`o` at first use for volumes with options); returns the
   * host path. Idempotent: a volume that is already mounted stays as it is.
   */
  mount(name: string): Promise<string>;
  /** Unmounts what mount() mounted (no-op for plain volumes). Idempotent. */
  unmount(name: string): Promise<void>;
  /** Deletes the volume and its data. The caller checks references first. */
  remove(name: string): Promise<void>;
  /** Bytes used by the volume's data (regular files, hard links counted once); -1 when it cannot be measured. */
  size(name: string): Promise<number>;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Docker's local volume name rule; throws InvalidArgument with Docker's message. */
export function validateVolumeName(name: string): void {
  if (name.length === 1) throw invalidArgument('volume name is too short, names should be at least two alphanumeric characters');
  // The name is a directory name: past NAME_MAX dockerd fails with a 500 from mkdir; a 400 says what is wrong.
  if (name.length > 255) throw invalidArgument('volume name is too long, names should be at most 255 characters');
  if (!NAME_RE.test(name))
    throw invalidArgument(
      `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
}

/** Go's time.Format(time.RFC3339) in local time: `2026-11-25T12:16:01Z` or `…+01:00`. */
export function rfc3339(d: Date = new Date()): string {
  const off = -d.getTimezoneOffset();
  const pad = (n: number) => String(Math.trunc(Math.abs(n))).padStart(2, '0');
  const local = new Date(d.getTime() + off * 60_000);
  const base = local.toISOString().slice(0, 19);
  if (off === 0) return `${base}Z`;
  return `${base}${off > 0 ? '+' : '-'}${pad(off / 60)}:${pad(off % 60)}`;
}

/** The volume service's notes on one container, kept in ContainerRecord.Berth.volumes. */
export interface VolumeBook {
  /** Destinations whose (new, empty) volume still gets the image's content at first start. */
  copyUp?: string[];
  /** Anonymous volume names this container's `rm -v` removes. */
  anonymous?: string[];
  /** Bind sources that are created when missing (`-v`, `--mount …,bind-create-mountpoint`). */
  createSource?: string[];
  /** Bind destinations mounted non-recursively. */
  nonRecursive?: string[];
  /** --mount type=tmpfs: destination → mount data. */
  tmpfs?: Record<string, string>;
}
