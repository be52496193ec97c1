/**
 * Where the captured dockerd responses live: `shared/dockerd-samples` beside the checkout (CI clones the repo next to a
 * copy of shared/), found from this file whether it runs from test/ (tsx) or dist/test/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json')) && dir !== '/') dir = path.dirname(dir);
  return dir;
}

export const SAMPLES_DIR = [path.resolve(repoRoot(), '../shared/dockerd-samples'), '/work/shared/dockerd-samples'].find((d) => fs.existsSync(d)) ?? path.resolve(repoRoot(), '../shared/dockerd-samples');
