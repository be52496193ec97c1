/**
 * Image records and configs.
 *
 * Terms:
 * - *image config*: the Docker v2 / OCI image config JSON (`architecture`, `os`, `config`, `rootfs.diff_ids`,
 *   `history`...). Its sha256 digest is the *image ID*. The config bytes are kept verbatim in the content store, so
 *   the ID always matches them.
 * - *diffID*: sha256 of a layer's uncompressed tar. *Blob digest*: sha256 of the layer as stored/transferred
 *   (possibly compressed); equal to the diffID for plain tars. *Chain ID*: identifies a layer *with* all layers below
 *   it (see pkg/digest `chainID`); committed snapshots are named by chain ID.
 * - *image record*: what berth knows about an image beyond its config: the references pointing at it, the layers'
 *   blob digests (needed by `save` and `push`), its parent (for `commit` chains) and when it was last tagged.
 * - *reference*: a normalised `name:tag` (RepoTag) or `name@digest` (RepoDigest) string that resolves to an image ID.
 *   An image with no RepoTags is *dangling*.
 */
import type { Digest } from '../../pkg/digest/index.js';

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** The runtime part of an image config (`config` in the JSON; Docker's ContainerConfig subset). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig;
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Shell?: string[];
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** Docker v2 / OCI image config JSON. Unknown fields are preserved (the bytes are what is stored). */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  comment?: string;
  container?: string;
  container_config?: ContainerConfig;
  docker_version?: string;
  parent?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
  [k: string]: unknown;
}

/** What is known about one layer of an image. */
export interface LayerRecord {
  diffID: Digest;
  /** Digest of the blob in the content store holding this layer's tar (compressed or not), when kept. */
  blob?: Digest;
  /** Media type of that blob. */
  mediaType?: string;
  /** Size of the blob in bytes. */
  blobSize?: number;
  /**
   * A loaded uncompressed layer is kept only unpacked (issue 11 item 8, as dockerd): `blob` is then absent from the
   * content store and this blob (pkg/tar/split records, gzip'd) rebuilds the exact tar from the layer's snapshot.
   */
  tarSplit?: Digest;
}

export interface ImageRecord {
  /** Image ID: the config digest. */
  id: Digest;
  /** Normalised `domain/path:tag` strings. */
  repoTags: string[];
  /** Normalised `domain/path@sha256:…` strings. */
  repoDigests: string[];
  /** Parent image ID (images made by commit/build), if any. */
  parent?: Digest;
  layers: LayerRecord[];
  /** When a reference was last added (Docker's `Metadata.LastTagTime`). */
  lastTagTime?: string;
  /** When berth stored the image. */
  createdAt: string;
  /**
   * The multi-platform index the image came with (an OCI layout whose index had every platform's content): a push of
   * any of its tags pushes the index and every manifest in it, as dockerd's containerd image store does. The index,
   * its manifests, configs and layers stay in the content store while the record exists (gc.ts).
   */
  index?: { digest: Digest; mediaType: string; size: number };
}

export const MediaTypes = {
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

/** Whether container `containerId` uses an image, and whether it runs (given by the container service). */
export type ImageUsage = { running: boolean; containerId: string } | undefined;
