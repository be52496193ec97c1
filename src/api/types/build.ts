/**
 * `POST /build` query parameters that carry JSON: `labels` and `buildargs` (dockerd decodes them as plain maps, so
 * errors name the map's element type: `error reading labels: json: cannot unmarshal number into Go value of type
 * string`).
 */
import { mapOf, ptr, str, stringList, stringMap } from '../decode/schema.js';

export const buildLabels = stringMap;
/** Build args map to *string: a null value means "take it from the environment". */
export const buildArgs = mapOf(ptr(str()));
/** `cachefrom`: a JSON list of image references. */
export const buildCacheFrom = stringList;
