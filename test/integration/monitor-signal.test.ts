/**
 * Signals to a container's init go through its monitor (no `runc kill`), and runc is still used where it must be:
 * `--all` (a stop that timed out), SIGKILL to a paused container, and a container whose monitor an older berthd
 * started (no monitor.json in its bundle: that monitor does not know the signal frame). berthd runs with a `runc`
 * wrapper in front of its PATH that logs every runc call, so the test sees which way each signal went.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, sleep, startDaemon, type TestDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let live: TestDaemon;
let wrapperDir: string;
let callLog: string;
const IMG = 'monsig/busybox:1';
const TRAP = 'trap "echo got-usr1" USR1; trap "exit 21" TERM; echo ready; while :; do sleep 0.05; done';

before(async () => {
  wrapperDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-monsig-'));
  callLog = path.join(wrapperDir, 'runc-calls.log');
  fs.writeFileSync(path.join(wrapperDir, 'runc'), `#!/bin/sh\necho "$*" >> '${callLog}'\nexec /usr/sbin/runc "$@"\n`, { mode: 0o755 });
  d = await startDaemon({ env: { PATH: `${wrapperDir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` } });
  live = d;
  await importBusybox(d, IMG);
});

after(async () => {
  await d?.teardown();
  if (wrapperDir) fs.rmSync(wrapperDir, { recursive: true, force: true });
});

const docker = (args: string[]) => live.docker(args);
const idOf = async (name: string) => (await docker(['inspect', '-f', '{{.Id}}', name])).stdout.trim();
/** The runc kill calls berthd made for a container since the log was last cleared. */
function runcKills(id: string): string[] {
  const calls = fs.existsSync(callLog) ? fs.readFileSync(callLog, 'utf8').split('\n') : [];
  return calls.filter((l) => / kill /.test(l) && l.includes(id)).map((l) => l.slice(l.indexOf(' kill ') + 1));
}
const clearLog = () => fs.rmSync(callLog, { force: true });

/** Waits until the container's shell has set its traps (a signal before that would take the default action). */
async function trapsSet(name: string, times = 1): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await docker(['logs', name])).stdout.split('ready\n').length - 1 >= times) return;
    await sleep(50);
  }
  assert.fail(`${name} never said ready`);
}

async function runTrapped(name: string): Promise<string> {
  const r = await docker(['run', '-d', '--name', name, IMG, 'sh', '-c', TRAP]);
  assert.equal(r.code, 0, r.stderr);
  await trapsSet(name);
  return r.stdout.trim();
}

test('stop and kill signal the init through its monitor: no runc kill', async () => {
  const id = await runTrapped('viamon');
  clearLog();
  assert.equal((await docker(['kill', '-s', 'USR1', 'viamon'])).code, 0);
  for (let i = 0; i < 50 && !(await docker(['logs', 'viamon'])).stdout.includes('got-usr1'); i++) await sleep(100);
  assert.match((await docker(['logs', 'viamon'])).stdout, /got-usr1/);
  const stop = await docker(['stop', 'viamon']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal((await docker(['inspect', '-f', '{{.State.ExitCode}}', 'viamon'])).stdout.trim(), '21');
  // restart: stop (through the monitor) and a start with a new monitor, which takes signals too
  assert.equal((await docker(['restart', 'viamon'])).code, 0);
  assert.equal((await docker(['kill', 'viamon'])).code, 0);
  assert.equal((await docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'viamon'])).stdout.trim(), 'exited 137');
  assert.deepEqual(runcKills(id), []);
  // an exited container: Docker's words, from the daemon (no runtime call)
  const late = await docker(['kill', 'viamon']);
  assert.notEqual(late.code, 0);
  assert.match(late.stderr, new RegExp(`Cannot kill container: viamon: Container ${id} is not running`));
  await docker(['rm', 'viamon']);
});

test('a paused container: SIGKILL goes through runc (it thaws the cgroup), stop resumes it first', async () => {
  const id = await runTrapped('paused');
  assert.equal((await docker(['pause', 'paused'])).code, 0);
  clearLog();
  const kill = await docker(['kill', 'paused']);
  assert.equal(kill.code, 0, kill.stderr);
  assert.equal((await docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'paused'])).stdout.trim(), 'exited 137');
  assert.deepEqual(runcKills(id), [`kill ${id} SIGKILL`]);

  await docker(['start', 'paused']);
  await trapsSet('paused', 2);
  assert.equal((await docker(['pause', 'paused'])).code, 0);
  const stop = await docker(['stop', 'paused']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal((await docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'paused'])).stdout.trim(), 'exited 21');
  await docker(['rm', 'paused']);
});

test('a stop that times out kills every process with runc kill --all', async () => {
  const r = await docker(['run', '-d', '--name', 'stubborn', IMG, 'sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done']);
  const id = r.stdout.trim();
  await trapsSet('stubborn');
  clearLog();
  assert.equal((await docker(['stop', '-t', '1', 'stubborn'])).code, 0);
  assert.equal((await docker(['inspect', '-f', '{{.State.ExitCode}}', 'stubborn'])).stdout.trim(), '137');
  assert.deepEqual(runcKills(id), [`kill --all ${id} SIGKILL`]);
  await docker(['rm', 'stubborn']);
});

test('after a crash, re-adopted containers: through the monitor when its record says so, through runc when it has none (an older berthd)', async () => {
  const newer = await runTrapped('newer');
  const older = await runTrapped('older');
  // what an older berthd leaves: a bundle without monitor.json (its monitor knows no signal frame)
  const bundle = (id: string) => path.join(live.execRoot, 'containers', id);
  assert.ok(fs.existsSync(path.join(bundle(newer), 'monitor.json')));
  fs.rmSync(path.join(bundle(older), 'monitor.json'));
  live = await d.restart('SIGKILL');
  clearLog();
  for (const name of ['newer', 'older']) {
    const stop = await docker(['stop', name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name])).stdout.trim(), 'exited 21');
  }
  assert.deepEqual(runcKills(newer), []);
  assert.deepEqual(runcKills(older), [`kill ${older} SIGTERM`]);
  assert.equal(await idOf('older'), older);
  await docker(['rm', 'newer', 'older']);
});
