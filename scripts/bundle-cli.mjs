#!/usr/bin/env node
// Bundles the compiled `berth` CLI (dist/src/cli/main.js and everything it imports from dist/) into one CommonJS
// script, dist/src/cli/berth.bundle.cjs, which bin/berth compiles with V8's code cache (see bin/berth and the
// README's design note "The CLI"; issue 17: the CLI within 1.5× docker's wall time). One script and not ES module
// chunks: Node 20 keeps no code cache for ES modules, and its ES module loader alone costs a few ms per start.
// Beside main.js on purpose: paths derived from import.meta.url (bin/berthd, native/build, the dashboard assets)
// resolve exactly as from the unbundled files. npm packages are bundled too (resolving and compiling CommonJS
// packages module by module was most of the start-up); modules loaded through createRequire stay in node_modules.
// Dynamic imports become functions run on first use (esbuild's lazy module wrappers), so a command still runs only
// its own modules' top-level code; V8 compiles a function only when it first runs.
// Called by `npm run build` after tsc; bin/berth uses the bundle only while it is newer than main.js.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/src/cli');
// Drop earlier builds' files, the ES module bundle and its chunks included.
for (const f of readdirSync(outdir)) if (/^berth\.(bundle|chunk-[A-Z0-9]+)\.(mjs|cjs)(\.map)?$/.test(f)) rmSync(join(outdir, f));
await build({
  entryPoints: [join(root, 'dist/src/cli/main.js')],
  outfile: join(outdir, 'berth.bundle.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Minified: V8 reads and hashes the whole source even when the code cache serves every function, so its size costs
  // every command (940 KB → 630 KB without comments and indentation: ~2 ms; → 500 KB with short local names: ~1 ms
  // more). keepNames keeps functions' and classes' `.name`; stack traces name the short names, so the source map
  // beside (berth.bundle.cjs.map) maps them back: NODE_OPTIONS=--enable-source-maps berth ….
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  // ASCII only (esbuild's default, kept explicit; comments are gone): bin/berth decodes the file as latin1, the cheapest.
  charset: 'ascii',
  // import() of Node's built-ins as require(): bin/berth runs the bundle through vm.Script, which has no module loader.
  supported: { 'dynamic-import': false },
  // bin/berth passes the bundle's path as __filename.
  define: { 'import.meta.url': '__berthBundleUrl' },
  banner: { js: "const __berthBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
  legalComments: 'none',
});
// latin1 reads anything else as other characters (and V8 would reject the code cache made from the utf8 text).
if (readFileSync(join(outdir, 'berth.bundle.cjs')).some((b) => b > 0x7f)) throw new Error('bundle-cli: berth.bundle.cjs is not ASCII');
console.log('bundle-cli: built dist/src/cli/berth.bundle.cjs');
