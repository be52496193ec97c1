/**
 * The image config (Docker's `image.Image`: the JSON whose digest is the image ID) as a decoder schema. `docker
 * load` and `docker pull` check every config against it before anything is stored, as dockerd does
 * (`json: cannot unmarshal number into Go struct field Config.config.Labels of type string`); the bytes themselves
 * are stored verbatim, since the ID is their digest.
 */
import { arrayOf, bool, decodeText, int64, str, stringList, stringMap, struct, time, type Infer } from '../decode/schema.js';
import { configFields, type ContainerConfig } from './container.js';

const containerConfig = struct('container.Config', configFields);

export const imageConfig = struct('image.Image', {
  id: str(),
  parent: str('image.ID'),
  comment: str(),
  created: time,
  container: str(),
  container_config: containerConfig,
  docker_version: str(),
  author: str(),
  config: containerConfig,
  architecture: str(),
  variant: str(),
  os: str(),
  Size: int64,
  rootfs: struct('image.RootFS', { type: str(), diff_ids: arrayOf(str('layer.DiffID'), '[]layer.DiffID') }),
  history: arrayOf(
    struct('image.History', { created: time, author: str(), created_by: str(), comment: str(), empty_layer: bool }),
    '[]image.History',
  ),
  'os.version': str(),
  'os.features': stringList,
});

/**
 * Parses and checks image config bytes (from an archive, a registry or the content store); the result holds only
 * the fields above. Throws InvalidArgument with Go's wording, as dockerd refuses such an image. `T` is the caller's
 * view of the document (the image store's ImageConfig): the decoder has checked every field's type.
 */
export function parseImageConfig<T>(bytes: Buffer): T {
  return decodeText(imageConfig, bytes.toString('utf8')) as T;
}

/** `manifest.json` of a `docker save` archive (moby's tarexport manifest). */
export const archiveManifest = arrayOf(
  struct('tarexport.manifestItem', { Config: str(), RepoTags: stringList, Layers: stringList, Parent: str('image.ID') }),
  '[]tarexport.manifestItem',
);

const ociDescriptor = struct('v1.Descriptor', {
  mediaType: str(),
  digest: str('digest.Digest'),
  size: int64,
  annotations: stringMap,
  platform: struct('v1.Platform', { architecture: str(), os: str(), variant: str() }),
});

/** An OCI index or image manifest in an OCI layout (the fields `docker load` reads of either). */
export const ociDocument = struct('v1.Manifest', {
  mediaType: str(),
  manifests: arrayOf(ociDescriptor, '[]v1.Descriptor'),
  config: ociDescriptor,
  layers: arrayOf(ociDescriptor, '[]v1.Descriptor'),
});

// ---------------------------------------------------------------- TypeScript wire types (Engine API responses)

export type ImageConfigDocument = Infer<typeof imageConfig>;
/** An OCI layout document as `docker load` reads it (index or manifest), and one of its descriptors. */
export type OciDocument = NonNullable<Infer<typeof ociDocument>>;
export type OciDescriptor = Infer<typeof ociDescriptor>;

/** `GET /images/json`: one image. */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Containers: number;
  Labels: Record<string, string> | null;
}

/** `GET /images/{name}/json` (types.ImageInspect; the fields berth fills). */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Container?: string;
  ContainerConfig?: ContainerConfig;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  VirtualSize?: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers?: string[] };
  Metadata: { LastTagTime?: string };
}

/** `DELETE /images/{name}` and image prune: one untag or delete. */
export interface ImageDeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

/** `GET /images/{name}/history`: one layer, newest first. */
export interface HistoryResponseItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface ImagePruneReport {
  ImagesDeleted: ImageDeleteResponseItem[] | null;
  SpaceReclaimed: number;
}

/**
 * One message of a JSON progress stream (pull, push, load, import, build): jsonmessage.JSONMessage. A message with
 * `error`/`errorDetail` ends the operation with that error.
 */
export interface JSONMessage {
  id?: string;
  status?: string;
  stream?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { code?: number; message: string };
  aux?: Record<string, unknown>;
}

/** `POST /build/prune`. */
export interface BuildCachePruneReport {
  CachesDeleted: string[] | null;
  SpaceReclaimed: number;
}
