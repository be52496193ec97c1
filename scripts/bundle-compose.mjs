#!/usr/bin/env node
// Bundles the compose CLI plugin (src/cli/commands/compose/plugin.ts and everything it imports, yaml included) into
// one file, dist/compose-plugin.mjs: `docker compose` starts a new Node process for every command, and resolving
// and compiling ~200 separate modules was most of a `docker compose ps`. bin/docker-compose uses the bundle when it
// is there and falls back to dist/src otherwise. Called by `npm run build`.
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'src/cli/commands/compose/plugin.ts')],
  outfile: join(root, 'dist/compose-plugin.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Modules that load files next to themselves (the native addon, data/, ajv's runtime helpers) find them by
  // walking up from dist/, and CommonJS dependencies need a require of their own in an ES module.
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
