/**
 * Where this checkout's native programs and addon are: `native/build/` under the checkout's root, the nearest
 * directory above this module with a package.json, so it works from src/ (run by tsx) and from dist/ alike.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The checkout's root directory (where package.json, scripts/ and native/ are). */
export function checkoutRoot(): string {
  if (root === undefined) {
    let dir = path.dirname(fileURLToPath(import.meta.url));
    while (!fs.existsSync(path.join(dir, 'package.json')) && dir !== path.dirname(dir)) dir = path.dirname(dir);
    root = dir;
  }
  return root;
}

/** The path of `native/build/<name>` (berth-monitor, berth-untar, berth-sys.node), whether or not it is built. */
export function nativeArtifact(name: string): string {
  return path.join(checkoutRoot(), 'native', 'build', name);
}
