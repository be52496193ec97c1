#!/usr/bin/env node
// Bundles the compiled daemon (dist/src/daemon/main.js and everything it imports from dist/) into
// dist/src/daemon/berthd.bundle.mjs (+ berthd.chunk-*.mjs for what is imported dynamically). For memory, not start
// time (issue 17 item 4): V8 keeps every module's source text in the heap for the life of the process, and tsc's
// output keeps the doc comments, whose non-ASCII characters (—, →, ×) make the whole text two bytes a character:
// ~2.1 MB of berthd's fresh heap was source. esbuild drops the comments and escapes non-ASCII characters, so the
// bundle is one-byte text a third the size, and one module record instead of ~190. Beside main.js on purpose: paths
// derived from import.meta.url (native/build, the seccomp profile, the dashboard assets) resolve exactly as from the
// unbundled files. Identifiers are not minified (stack traces stay readable). bin/berthd uses the bundle only
// while it is newer than main.js. Called by `npm run build` after tsc.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/src/daemon');
for (const f of readdirSync(outdir)) if (/^berthd\.(bundle|chunk-[A-Z0-9]+)\.mjs$/.test(f)) rmSync(join(outdir, f));
await build({
  entryPoints: { 'berthd.bundle': join(outdir, 'main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'berthd.chunk-[hash]',
  logLevel: 'warning',
  legalComments: 'none',
  charset: 'ascii',
  // CommonJS packages inside an ES module still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __berthRequire } from 'node:module'; const require = __berthRequire(import.meta.url);" },
});
// esbuild keeps the doc comments of class members; with charset 'ascii' every non-ASCII character left is in one,
// and a single one makes V8 keep the chunk's whole text two bytes a character.
for (const f of readdirSync(outdir))
  if (/^berthd\.(bundle|chunk-[A-Z0-9]+)\.mjs$/.test(f)) {
    const text = readFileSync(join(outdir, f), 'utf8');
    if (/[^\x00-\x7f]/.test(text)) writeFileSync(join(outdir, f), text.replace(/[^\x00-\x7f]/g, '?'));
  }
console.log('bundle-daemon: built dist/src/daemon/berthd.bundle.mjs');
