#!/usr/bin/env node
// Builds the small native pieces with the system compiler (called by `npm run build` and setup).
// Skips a target whose output is newer than all of its sources; exits non-zero on a compile error.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cc = process.env.CC || 'cc';
const force = process.argv.includes('--force');

/**
 * berth-monitor: the per-container monitor (an executable).
 * berth-sys.node: the N-API addon behind src/sys/linux.ts (mount, xattrs, mknod, flock), against Node's headers; its
 *   one V8 call (heap.cc) is C++, compiled by the same driver without exceptions (Node already links libstdc++); Node's headers as system headers.
 * berth-untar: the layer applier behind src/pkg/archive/apply-layer.ts (an executable, one process per layer).
 */
const nodeInclude = [process.env.NODE_INCLUDE, join(dirname(dirname(process.execPath)), 'include/node'), '/usr/include/node'].find(
  (d) => d && mtime(join(d, 'node_api.h')) >= 0,
);
const targets = [
  // zlib (Debian's zlib1g-dev) gzips rotated json-file logs (--log-opt compress=true)
  { name: 'berth-monitor', dir: 'native/monitor', flags: [], libs: ['-lz', '-lpthread'] },
  // zlib inflates gzip layers, libcrypto (Debian's libssl-dev) hashes the diffID with the CPU's SHA extensions
  { name: 'berth-untar', dir: 'native/untar', flags: [], libs: ['-lz', '-lcrypto'] },
  { name: 'berth-sys.node', dir: 'native/sys', flags: ['-shared', '-fPIC', '-fno-exceptions', '-DNODE_GYP_MODULE_NAME=berth_sys', `-isystem${nodeInclude ?? '/usr/include/node'}`] },
];

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

let failed = false;
for (const t of targets) {
  const srcDir = join(root, t.dir);
  const files = readdirSync(srcDir).filter((f) => /\.(c|cc|h)$/.test(f));
  const sources = files.filter((f) => !f.endsWith('.h')).map((f) => join(srcDir, f));
  const out = join(root, 'native/build', t.name);
  // this script is an input too: a changed flag must rebuild
  const inputs = [...files.map((f) => join(srcDir, f)), fileURLToPath(import.meta.url)];
  const newest = Math.max(...inputs.map(mtime));
  if (!force && mtime(out) >= newest) {
    console.log(`build-native: ${t.name} is up to date`);
    continue;
  }
  mkdirSync(dirname(out), { recursive: true });
  const args = ['-O2', '-Wall', '-Wextra', ...t.flags, '-o', out, ...sources, ...(t.libs ?? [])];
  const r = spawnSync(cc, args, { stdio: 'inherit' });
  if (r.error || r.status !== 0) {
    console.error(`build-native: ${cc} ${args.join(' ')} failed${r.error ? `: ${r.error.message}` : ''}`);
    failed = true;
    continue;
  }
  console.log(`build-native: built ${t.name}`);
}
process.exit(failed ? 1 : 0);
