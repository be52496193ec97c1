#!/usr/bin/env node
// Bundles the compiled `berth` CLI (dist/src/cli/main.js and everything it imports from dist/) into one file,
// dist/src/cli/berth.bundle.mjs (+ berth.chunk-*.mjs), so a command loads one module instead of hundreds (issue 17: the CLI within 1.5×
// docker's wall time). Beside main.js on purpose: paths derived from import.meta.url (bin/berthd, native/build,
// the dashboard assets) resolve exactly as from the unbundled files. npm packages are bundled too (resolving and
// compiling CommonJS packages module by module was most of the start-up); modules loaded through createRequire
// stay in node_modules. Dynamic imports become chunks loaded on first use (esbuild code splitting).
// Called by `npm run build` after tsc; bin/berth uses the bundle only while it is newer than main.js.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/src/cli');
// Chunk names carry a content hash: drop the previous build's files first.
for (const f of readdirSync(outdir)) if (/^berth\.(bundle|chunk-[A-Z0-9]+)\.mjs$/.test(f)) rmSync(join(outdir, f));
await build({
  entryPoints: { 'berth.bundle': join(root, 'dist/src/cli/main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'berth.chunk-[hash]',
  logLevel: 'warning',
  legalComments: 'none',
  // CommonJS packages inside an ES module still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __berthRequire } from 'node:module'; const require = __berthRequire(import.meta.url);" },
});
console.log('bundle-cli: built dist/src/cli/berth.bundle.mjs');
