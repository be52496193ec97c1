#!/usr/bin/env node
// Bundles the compose CLI plugin (src/cli/commands/compose/plugin.ts and everything it imports, yaml included) into
// dist/compose-plugin.mjs (+ compose-plugin.chunk-*.mjs for what is imported dynamically): `docker compose` starts
// a new Node process for every command, and resolving and compiling ~200 separate modules was most of a
// `docker compose ps`. bin/docker-compose uses the bundle when it is there and falls back to dist/src otherwise.
// Called by `npm run build`.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist');
// Dynamic imports (the Go-template engine, the container flag parser, watch, the build context packer) become
// chunks loaded on first use, so `up` and `down` do not parse them. Chunk names carry a content hash: drop the
// previous build's first.
mkdirSync(outdir, { recursive: true });
for (const f of readdirSync(outdir)) if (/^compose-plugin\.chunk-[A-Z0-9]+\.mjs$/.test(f)) rmSync(join(outdir, f));
await build({
  entryPoints: { 'compose-plugin': join(root, 'src/cli/commands/compose/plugin.ts') },
  outdir,
  splitting: true,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'compose-plugin.chunk-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Modules that load files next to themselves (the native addon, data/, ajv's runtime helpers) find them by
  // walking up from dist/, and CommonJS dependencies need a require of their own in an ES module.
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
