/**
 * bin/berth and bin/docker-compose start Node without NODE_EXTRA_CA_CERTS (loading a CA bundle is ~90 ms of every
 * command's start-up) and put it back for the programs they run. Node warns on stderr when it loads a file named
 * there that does not exist, so a missing file shows whether Node read the variable; a credential helper the test
 * provides records the environment berth hands on. bin/berthd sets MALLOC_ARENA_MAX before Node starts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { berthBin, repoRoot, run } from '../harness.js';

const MISSING_BUNDLE = '/nonexistent/berth-test-extra-ca.pem';
let work: string;

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-launcher-'));
  fs.mkdirSync(path.join(work, 'bin'));
  // Answers `erase` and writes down the two variables it was given.
  fs.writeFileSync(
    path.join(work, 'bin', 'docker-credential-berthenv'),
    `#!/bin/sh\ncat >/dev/null\nprintf '%s|%s' "\${NODE_EXTRA_CA_CERTS-unset}" "\${BERTH_NODE_EXTRA_CA_CERTS-unset}" > "${work}/seen"\n`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(work, 'config.json'), JSON.stringify({ credsStore: 'berthenv', auths: { 'registry.invalid': {} } }));
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

const env = () => ({ NODE_EXTRA_CA_CERTS: MISSING_BUNDLE, DOCKER_CONFIG: work, PATH: `${work}/bin:${process.env.PATH}` });

test('berth does not load NODE_EXTRA_CA_CERTS and hands it on unchanged to a credential helper', async () => {
  const r = await run(berthBin, ['logout', 'registry.invalid'], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /extra certs/, 'Node read NODE_EXTRA_CA_CERTS at start-up');
  assert.match(r.stdout, /Removing login credentials for registry\.invalid/);
  assert.equal(fs.readFileSync(path.join(work, 'seen'), 'utf8'), `${MISSING_BUNDLE}|unset`);
});

test('the compose plugin does not load NODE_EXTRA_CA_CERTS either', async () => {
  const r = await run(path.join(repoRoot, 'bin/docker-compose'), ['compose', 'version'], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Docker Compose version v2\./);
  assert.doesNotMatch(r.stderr, /extra certs/);
});

test('run by node directly, bin/berth still works (Node reads the sh line as a string and a comment)', async () => {
  const r = await run(process.execPath, [berthBin, '--version'], { env: { NODE_EXTRA_CA_CERTS: '' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^berth version /);
});

test('berthd started as bin/berthd runs with two malloc arenas; one set by the user is kept', async () => {
  const { startDaemon } = await import('../harness.js');
  const environOf = (pid: number) => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  const d = await startDaemon();
  try {
    assert.ok(environOf(d.pid).includes('MALLOC_ARENA_MAX=2'), 'the launcher did not set MALLOC_ARENA_MAX');
    assert.match(fs.readFileSync(`/proc/${d.pid}/cmdline`, 'utf8'), /bin\/berthd\0/, 'the pid is not the node process running bin/berthd');
  } finally {
    await d.teardown();
  }
  const d2 = await startDaemon({ env: { MALLOC_ARENA_MAX: '4' } });
  try {
    assert.ok(environOf(d2.pid).includes('MALLOC_ARENA_MAX=4'));
  } finally {
    await d2.teardown();
  }
});
