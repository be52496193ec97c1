/**
 * The Engine API versions berth speaks. Requests under `/v<major>.<minor>/` are checked against this range; paths
 * without a version prefix are served at the default (newest) version, as dockerd does.
 */
export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';

/** berth's own release, shown as the server version (`Server: berth/<version>`). */
export const BERTH_VERSION = '0.1.0';

/** Compares two "major.minor" API versions: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}

/** True when `v` is at least `min` ("1.44" >= "1.41"). */
export function versionAtLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}
