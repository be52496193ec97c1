/**
 * Engine API volume types as decoder schemas: the body of `POST /volumes/create` (moby's `volume.VolumeCreateBody`,
 * the name dockerd 20.10 reports in errors).
 */
import { str, stringMap, struct, type Infer } from '../decode/schema.js';

export const volumeCreateBody = struct('volume.VolumeCreateBody', {
  Name: str(),
  Driver: str(),
  DriverOpts: stringMap,
  Labels: stringMap,
});

// ---------------------------------------------------------------- TypeScript wire types

export type VolumeCreateRequest = Infer<typeof volumeCreateBody>;

/** `GET /volumes/{name}` and one entry of `GET /volumes` (volume.Volume). */
export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Status?: Record<string, unknown>;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  Scope: string;
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface VolumeListResponse {
  Volumes: Volume[] | null;
  Warnings: string[] | null;
}

export interface VolumePruneReport {
  VolumesDeleted: string[] | null;
  SpaceReclaimed: number;
}
