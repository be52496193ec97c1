/**
 * The Docker SDK for Python (Debian's python3-docker 5.x, as scripts/setup.sh installs it) against berthd: the
 * calls its users make — ping, version, info, images, containers.run (detached and attached), logs, exec_run (with
 * demux), put/get_archive, one-shot stats, top, pause, rename, df, wait, remove, networks and volumes create/remove, and swarm.leave answered as a dockerd outside a swarm.
 * The script (test/e2e/python/sdk_smoke.py) prints one "ok <step>" line per step; the test checks every step ran.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, repoRoot, run, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
const IMG = 'pysdk/busybox:1';
const script = path.join(repoRoot, 'test/e2e/python/sdk_smoke.py');

function hasSdk(): boolean {
  try {
    execFileSync('python3', ['-c', 'import docker'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  d = await startDaemon();
  await importBusybox(d, IMG);
});

after(async () => {
  await d?.teardown();
});

const STEPS = [
  'ping', 'version', 'info', 'images.get', 'images.list', 'images.get missing', 'containers.run detach', 'reload status',
  'containers.get', 'containers.list filter', 'logs', 'logs stdout only', 'exec_run', 'exec_run demux', 'exec_run string cmd',
  'put_archive', 'get_archive', 'stats', 'top', 'pause', 'rename', 'df', 'wait', 'removed', 'containers.run attached', 'run non-zero', 'networks.create', 'network containers', 'networks.remove',
  'volumes.create', 'volumes.remove', 'swarm.leave', 'swarm.leave force', 'prune',
];

test('the Python SDK: every step of the smoke script passes', { skip: hasSdk() ? false : 'python3-docker is not installed (scripts/setup.sh)' }, async () => {
  const r = await run('python3', [script, IMG], { env: { DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.root, 'docker-config') }, timeoutMs: 180_000 });
  const done = r.stdout.split('\n').filter((l) => l.startsWith('ok ')).map((l) => l.slice(3));
  assert.equal(r.code, 0, `python exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.deepEqual(done, STEPS);
  assert.match(r.stdout, /^done$/m);
});
