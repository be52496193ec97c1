#!/usr/bin/env node
// Copies Docker's default seccomp profile (moby's own format, with includes/excludes) from Debian's
// golang-github-docker-docker-dev into data/seccomp-default.json. The daemon converts it to OCI form per
// container at run time (src/plugins/runtime/oci/seccomp.ts), so no Go package is needed at run time.
// Usage: node scripts/gen-seccomp.mjs [source.json] [dest.json]
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = process.argv[2] ?? '/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json';
const dest = process.argv[3] ?? path.join(root, 'data', 'seccomp-default.json');

const profile = JSON.parse(readFileSync(src, 'utf8'));
if (typeof profile.defaultAction !== 'string' || !Array.isArray(profile.syscalls)) {
  throw new Error(`${src} does not look like a moby seccomp profile`);
}
const out = {
  NOTICE:
    "Docker's default seccomp profile from moby (github.com/moby/moby profiles/seccomp/default.json), " +
    'Copyright Docker, Inc., licensed under the Apache License 2.0. Copied unmodified apart from this field.',
  ...profile,
};
mkdirSync(path.dirname(dest), { recursive: true });
writeFileSync(dest, JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${dest}: ${profile.syscalls.length} rules`);
