/**
 * `POST /commit`: a new image from a container's writable layer.
 *
 * The layer is the overlay upper dir as an OCI layer tar (diffLayer), minus runc's mount-point artefacts (empty
 * /etc/hosts, /etc/hostname, /etc/resolv.conf placeholders and the /dev, /proc, /sys directories — Docker keeps those
 * in a separate init layer, so they never reach committed images). It is imported on top of the image's layers
 * through the image service (content blob + committed snapshot under a lease), and the image config is the parent's
 * with the container's config merged as moby's `merge` does, `--change` lines applied, and one history entry. An
 * empty diff adds no layer (history `empty_layer`), as in Docker.
 */
import type { Readable } from 'node:stream';
import type { ContainerRecord } from '../../../core/containers/container.js';
import { applyChanges } from '../../../core/images/changes.js';
import type { ContainerConfig as ImageRuntimeConfig, ImageConfig, LayerRecord } from '../../../core/images/types.js';
import type { ImageWriter } from '../../../core/images/writer.js';
import { conflict, invalidArgument, notImplemented } from '../../../errdefs/index.js';
import { diffLayer } from '../../../pkg/archive/diff-layer.js';
import { chainIDs, type Digest } from '../../../pkg/digest/index.js';
import * as ref from '../../../pkg/reference/index.js';
import { readTar } from '../../../pkg/tar/reader.js';
import { tarFromEntries } from '../../../pkg/tar/writer.js';
import type { EventBus } from '../events.js';
import type { ContainerStore } from './store.js';

/** sha256 of an empty tar (two zero blocks): Docker's DigestSHA256EmptyTar. */
export const EMPTY_TAR_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

/** What commit writes through: the one image writer (core/images/writer.ts), shared with the builder. */
export type CommitImageStore = ImageWriter;

/** Pausing hooks (the container service's pause/unpause, which record state and publish events). */
export interface CommitPauser {
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
}

export interface CommitOptions {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** Pause a running container while its layer is read (Docker's default: true). */
  pause?: boolean;
  changes?: string[];
  /** The request body: a Config whose fields override the container's. */
  config?: ImageRuntimeConfig | null;
  signal?: AbortSignal;
}

/**
 * moby's daemon/commit.go `merge(userConf, imageConf)`: fills the user's (body + changes) config with the
 * container's values where the user gave none.
 */
export function mergeCommitConfig(user: ImageRuntimeConfig, base: ImageRuntimeConfig): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = { ...user };
  if (!out.User) out.User = base.User ?? '';
  if (base.ExposedPorts && Object.keys(base.ExposedPorts).length) out.ExposedPorts = { ...base.ExposedPorts, ...(out.ExposedPorts ?? {}) };
  if (base.Env?.length) {
    const env = [...(out.Env ?? [])];
    const keys = new Set(env.map((e) => e.split('=')[0]));
    for (const e of base.Env) if (!keys.has(e.split('=')[0])) env.push(e);
    out.Env = env;
  }
  if (base.Labels && Object.keys(base.Labels).length) out.Labels = { ...base.Labels, ...(out.Labels ?? {}) };
  if (!out.Entrypoint?.length) {
    if (!out.Cmd?.length) out.Cmd = base.Cmd ?? null;
    if (out.Entrypoint === undefined || out.Entrypoint === null) out.Entrypoint = base.Entrypoint ?? null;
  }
  if (!out.Healthcheck && base.Healthcheck) out.Healthcheck = base.Healthcheck;
  if (!out.WorkingDir) out.WorkingDir = base.WorkingDir ?? '';
  if (base.Volumes && Object.keys(base.Volumes).length) out.Volumes = { ...base.Volumes, ...(out.Volumes ?? {}) };
  if (!out.StopSignal && base.StopSignal) out.StopSignal = base.StopSignal;
  return out;
}

/** Names runc creates as mount points; dropped from a committed layer when they are empty placeholders. */
const MOUNT_POINTS = new Set(['etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'dev', 'proc', 'sys', '.dockerenv']);

/** The container's layer tar with mount-point placeholders removed. */
export function commitLayer(upperDir: string, signal?: AbortSignal): Readable {
  async function* entries() {
    for await (const { header, body } of readTar(diffLayer(upperDir, { signal }))) {
      const name = header.name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
      if (MOUNT_POINTS.has(name) && (header.type === 'dir' || (header.type === 'file' && header.size === 0))) continue;
      if (/^(dev|proc|sys)\//.test(name) && header.type !== 'file') continue;
      yield { header, body: header.type === 'file' ? body : undefined };
    }
  }
  return tarFromEntries(entries());
}

export class Committer {
  constructor(
    private readonly o: { store: ContainerStore; images: CommitImageStore; pauser: CommitPauser; events: EventBus },
  ) {}

  async commit(opts: CommitOptions): Promise<{ Id: string }> {
    if (!opts.container) throw invalidArgument('Container name cannot be empty');
    const rec = this.o.store.get(opts.container);
    let tagRef: string | undefined;
    if (opts.repo) tagRef = ref.format(ref.parseRepoTag(opts.repo, opts.tag || undefined));
    else if (opts.tag) throw invalidArgument('tag requires a repository name');
    if (rec.State.Status === 'removing' || rec.State.Dead) throw conflict(`You cannot commit container ${rec.Id} which is being removed`);
    if (this.o.images.snapshots.name !== 'overlayfs') throw notImplemented(`commit is not supported by the ${this.o.images.snapshots.name} snapshotter`);

    // Config first: bad --change lines fail before anything is paused or written.
    const newConfig = mergeCommitConfig(applyChanges({ ...(opts.config ?? {}) }, opts.changes ?? []), containerRuntimeConfig(rec));

    const parent = this.o.images.resolve(rec.Image);
    const parentConfig = await this.o.images.config(parent.id);
    const parentChains = chainIDs(parent.layers.map((l) => l.diffID as Digest));

    // the lease first: when it cannot be written (a full disk) nothing has been paused yet
    const lease = await this.o.images.leases.create();
    const pause = (opts.pause ?? true) && rec.State.Running && !rec.State.Paused;
    try {
      if (pause) await this.o.pauser.pause(rec.Id);
      const upper = await this.o.images.snapshots.writableDir(rec.Berth.snapshotKey);
      const layer = await this.o.images.importLayer(commitLayer(upper, opts.signal), {
        parentChain: parentChains[parentChains.length - 1],
        lease: lease.id,
        signal: opts.signal,
      });
      if (pause) {
        await this.o.pauser.unpause(rec.Id).catch(() => {});
      }
      const empty = layer.diffID === EMPTY_TAR_DIFF_ID;
      const created = new Date().toISOString();
      const history = [...(parentConfig.history ?? [])];
      history.push({
        created,
        ...(opts.author ? { author: opts.author } : {}),
        created_by: (rec.Config.Cmd ?? []).join(' '),
        ...(opts.comment ? { comment: opts.comment } : {}),
        ...(empty ? { empty_layer: true } : {}),
      });
      const diffIDs = [...parentConfig.rootfs.diff_ids, ...(empty ? [] : [layer.diffID])];
      const config: ImageConfig = {
        architecture: parentConfig.architecture,
        ...(opts.author ? { author: opts.author } : {}),
        ...(opts.comment ? { comment: opts.comment } : {}),
        config: newConfig,
        container: rec.Id,
        container_config: containerRuntimeConfig(rec),
        created,
        docker_version: 'berth',
        history,
        os: parentConfig.os,
        ...(parentConfig.variant ? { variant: parentConfig.variant } : {}),
        parent: parent.id,
        rootfs: { type: 'layers', diff_ids: diffIDs },
      };
      const layers: LayerRecord[] = [...parent.layers];
      if (!empty) layers.push({ diffID: layer.diffID, blob: layer.blob, blobSize: layer.blobSize, mediaType: layer.mediaType });
      const img = await this.o.images.createImage(Buffer.from(JSON.stringify(config)), layers, tagRef ? [tagRef] : [], {
        parent: parent.id as Digest,
        lease: lease.id,
      });
      this.o.events.publish('container', 'commit', rec.Id, {
        comment: opts.comment ?? '',
        imageID: img.id,
        imageRef: tagRef ?? '',
        image: rec.Config.Image,
        name: rec.Name.slice(1),
      });
      return { Id: img.id };
    } finally {
      if (pause && this.o.store.find(rec.Id)?.State.Paused) await this.o.pauser.unpause(rec.Id).catch(() => {});
      await this.o.images.leases.delete(lease.id).catch(() => {});
    }
  }
}

/** The container's Config in the image config's shape (Docker copies it into `container_config`). */
function containerRuntimeConfig(rec: ContainerRecord): ImageRuntimeConfig {
  const c = rec.Config;
  return {
    Hostname: c.Hostname,
    Domainname: c.Domainname,
    User: c.User,
    AttachStdin: c.AttachStdin,
    AttachStdout: c.AttachStdout,
    AttachStderr: c.AttachStderr,
    ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    Tty: c.Tty,
    OpenStdin: c.OpenStdin,
    StdinOnce: c.StdinOnce,
    Env: c.Env,
    Cmd: c.Cmd,
    ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    Image: c.Image,
    Volumes: c.Volumes,
    WorkingDir: c.WorkingDir,
    Entrypoint: c.Entrypoint,
    OnBuild: c.OnBuild,
    Labels: c.Labels,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
  };
}
