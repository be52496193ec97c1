/**
 * Lifecycle end to end through the real docker CLI: restart policies, healthchecks, events, pause/unpause, rename,
 * wait, kill with signals, attach, prune, and restart policies applied when berthd starts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep, startDaemon, TestDaemon, importBusybox } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let live: TestDaemon;
const IMG = 'e2e/busybox:1';

before(async () => {
  d = await startDaemon();
  live = d;
  await importBusybox(d, IMG);
});

after(async () => {
  await d?.teardown();
});

const docker = (args: string[], opts?: { input?: string; timeoutMs?: number }) => live.docker(args, opts);

async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(100);
  }
  assert.fail('condition not met in time');
}

const inspect = async (name: string, fmt: string) => (await docker(['inspect', '-f', fmt, name])).stdout.trim();

test('restart policy on-failure:2 restarts twice, then leaves the container exited', async () => {
  const r = await docker(['run', '-d', '--name', 'rp', '--restart', 'on-failure:2', IMG, 'sh', '-c', 'exit 3']);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(async () => (await inspect('rp', '{{.RestartCount}} {{.State.Status}}')) === '2 exited');
  assert.equal(await inspect('rp', '{{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}'), '3 on-failure 2');
  await docker(['rm', '-f', 'rp']);
});

test('healthcheck: healthy and unhealthy, in inspect and in ps', async () => {
  await docker(['run', '-d', '--name', 'hc-ok', '--health-cmd', 'true', '--health-interval', '200ms', IMG, 'sleep', '30']);
  await docker(['run', '-d', '--name', 'hc-bad', '--health-cmd', 'exit 1', '--health-interval', '200ms', '--health-retries', '2', IMG, 'sleep', '30']);
  await waitFor(async () => (await inspect('hc-ok', '{{.State.Health.Status}}')) === 'healthy');
  await waitFor(async () => (await inspect('hc-bad', '{{.State.Health.Status}}')) === 'unhealthy');
  const ps = await docker(['ps', '--filter', 'name=hc-', '--format', '{{.Names}} {{.Status}}']);
  assert.match(ps.stdout, /hc-ok Up .* \(healthy\)/);
  assert.match(ps.stdout, /hc-bad Up .* \(unhealthy\)/);
  const log = JSON.parse(await inspect('hc-bad', '{{json .State.Health}}'));
  assert.ok(log.FailingStreak >= 2);
  assert.equal(log.Log[0].ExitCode, 1);
  await docker(['rm', '-f', 'hc-ok', 'hc-bad']);
});

test('events: create/start/die/destroy are streamed with filters', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await docker(['run', '--rm', '--name', 'ev', IMG, 'true']);
  const until = Math.floor(Date.now() / 1000) + 1;
  const ev = await docker(['events', '--since', String(since), '--until', String(until), '--filter', 'container=ev', '--format', '{{.Type}} {{.Action}}']);
  assert.equal(ev.code, 0, ev.stderr);
  const actions = ev.stdout.trim().split('\n');
  for (const a of ['container create', 'container start', 'container die', 'container destroy']) assert.ok(actions.includes(a), `${a} missing in ${actions}`);
});

test('pause/unpause, rename, kill with a signal, wait', async () => {
  await docker(['run', '-d', '--name', 'pz', IMG, 'sh', '-c', 'trap "exit 12" USR1; while true; do sleep 0.1; done']);
  assert.equal((await docker(['pause', 'pz'])).code, 0);
  assert.equal(await inspect('pz', '{{.State.Status}} {{.State.Paused}}'), 'paused true');
  const rmPaused = await docker(['rm', 'pz']);
  assert.match(rmPaused.stderr, /You cannot remove a paused container/);
  assert.equal((await docker(['unpause', 'pz'])).code, 0);
  assert.equal((await docker(['rename', 'pz', 'pz2'])).code, 0);
  assert.equal(await inspect('pz2', '{{.Name}}'), '/pz2');
  const waiter = docker(['wait', 'pz2']);
  await sleep(300);
  assert.equal((await docker(['kill', '-s', 'USR1', 'pz2'])).code, 0);
  const w = await waiter;
  assert.equal(w.stdout.trim(), '12');
  const badSig = await docker(['kill', '-s', 'NOPE', 'pz2']);
  assert.notEqual(badSig.code, 0);
  await docker(['rm', 'pz2']);
});

test('attach receives the output of a running container', async () => {
  await docker(['run', '-d', '--name', 'att', IMG, 'sh', '-c', 'sleep 1; echo from-attach; sleep 0.5; exit 4']);
  const a = await docker(['attach', '--no-stdin', 'att']);
  assert.equal(a.stdout, 'from-attach\n');
  assert.equal(a.code, 4);
  await docker(['rm', 'att']);
});

test('container prune removes stopped containers only', async () => {
  await docker(['create', '--name', 'pr-stopped', IMG]);
  await docker(['run', '-d', '--name', 'pr-running', IMG, 'sleep', '30']);
  const p = await docker(['container', 'prune', '-f']);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /Total reclaimed space/);
  const names = (await docker(['ps', '-a', '--format', '{{.Names}}'])).stdout.trim().split('\n');
  assert.deepEqual(names, ['pr-running']);
  await docker(['rm', '-f', 'pr-running']);
});

test('restart=always containers come back when berthd starts after a crash that killed them', async () => {
  await docker(['run', '-d', '--name', 'always', '--restart', 'always', IMG, 'sleep', '30']);
  const pid = Number(await inspect('always', '{{.State.Pid}}'));
  live = await d.restart('SIGKILL');
  // Still running (the monitor kept it), same process: re-adopted, not restarted.
  assert.equal(await inspect('always', '{{.State.Running}} {{.State.Pid}}'), `true ${pid}`);
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => {
    const s = await inspect('always', '{{.State.Running}} {{.RestartCount}}');
    return s === 'true 1';
  });
  await docker(['rm', '-f', 'always']);
});

test('a clean SIGTERM shutdown leaves containers running; the next berthd re-adopts them', async () => {
  await docker(['run', '-d', '--name', 'survivor', IMG, 'sh', '-c', 'while true; do echo tick; sleep 0.2; done']);
  const pid = await inspect('survivor', '{{.State.Pid}}');
  live = await d.restart('SIGTERM');
  assert.equal(await inspect('survivor', '{{.State.Status}} {{.State.Pid}}'), `running ${pid}`);
  process.kill(Number(pid), 0); // still alive
  const ex = await docker(['exec', 'survivor', 'echo', 'still-here']);
  assert.equal(ex.stdout, 'still-here\n');
  await docker(['rm', '-f', 'survivor']);
});

test('a container that exits immediately after start is recorded (no lost exit)', async () => {
  for (let i = 0; i < 15; i++) {
    const r = await docker(['run', '--name', `quick-${i}`, IMG, 'sh', '-c', 'exit 5']);
    assert.equal(r.code, 5);
    assert.equal(await inspect(`quick-${i}`, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 5');
    await docker(['rm', `quick-${i}`]);
  }
});

test('image events: tag and untag', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  assert.equal((await docker(['tag', IMG, 'e2e/tagged:2'])).code, 0);
  assert.equal((await docker(['rmi', 'e2e/tagged:2'])).code, 0);
  const until = Math.floor(Date.now() / 1000) + 1;
  const ev = await docker(['events', '--since', String(since), '--until', String(until), '--filter', 'type=image', '--filter', 'image=e2e/tagged:2', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
  assert.deepEqual(ev.stdout.trim().split('\n'), ['tag e2e/tagged:2', 'untag e2e/tagged:2']);
});

test('a --rm container that exits while berthd is down is removed when berthd comes back', async () => {
  const r = await docker(['run', '-d', '--rm', '--name', 'rm-while-down', IMG, 'sleep', '1']);
  assert.equal(r.code, 0, r.stderr);
  live = await d.restart('SIGKILL', 1500); // the container exits while no berthd runs
  await waitFor(async () => (await docker(['ps', '-a', '--filter', 'name=rm-while-down', '-q'])).stdout.trim() === '');
});
