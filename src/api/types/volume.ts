/**
 * Engine API volume types as decoder schemas: the body of `POST /volumes/create` (moby's `volume.VolumeCreateBody`,
 * the name dockerd 20.10 reports in errors).
 */
import { str, stringMap, struct } from '../decode/schema.js';

export const volumeCreateBody = struct('volume.VolumeCreateBody', {
  Name: str(),
  Driver: str(),
  DriverOpts: stringMap,
  Labels: stringMap,
});
