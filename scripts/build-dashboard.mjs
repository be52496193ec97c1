// Bundles the dashboard's page (src/dashboard/web) with esbuild into dist/dashboard: app.js (the first load) plus
// lazily loaded chunks for the graphs (uPlot) and the terminal (xterm.js), their CSS, and .gz copies the server sends
// to browsers that accept gzip. No CDN: everything the page needs is in dist/dashboard. Type-checks the page first.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'src/dashboard/web');
const out = path.join(root, 'dist/dashboard');
const { build } = await import('esbuild');

execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(web, 'tsconfig.json')], { stdio: 'inherit' });
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: path.join(web, 'main.ts'), 'app-css': path.join(web, 'style.css') },
  bundle: true,
  splitting: true,
  format: 'esm',
  minify: true,
  target: ['chrome110', 'firefox115', 'safari16'],
  outdir: out,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  assetNames: 'asset-[hash]',
  loader: { '.woff2': 'file', '.svg': 'file' },
  legalComments: 'none',
  logLevel: 'warning',
});
fs.renameSync(path.join(out, 'app-css.css'), path.join(out, 'app.css'));
fs.rmSync(path.join(out, 'app-css.js'), { force: true });
fs.copyFileSync(path.join(web, 'index.html'), path.join(out, 'index.html'));
let firstLoad = 0;
for (const f of fs.readdirSync(out)) {
  if (!/\.(js|css)$/.test(f)) continue;
  const gz = zlib.gzipSync(fs.readFileSync(path.join(out, f)), { level: 9 });
  fs.writeFileSync(path.join(out, `${f}.gz`), gz);
  if (f === 'app.js' || f === 'app.css') firstLoad += gz.length;
}
console.log(`build-dashboard: dist/dashboard built (first load ${Math.round(firstLoad / 1024)} KB gzip)`);
