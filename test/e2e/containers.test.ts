/**
 * Containers end to end through the real docker CLI: run/exec/logs/stop/rm, isolation checks, bad input, and the
 * crash test — kill -9 berthd while containers run, restart it, and find everything intact.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { importBusybox, mountsUnder, run, sleep, startDaemon, TestDaemon } from '../harness.js';

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

const docker = (args: string[], opts?: { input?: string }) => live.docker(args, opts);

test('run --rm prints output and removes the container', async () => {
  const r = await docker(['run', '--rm', IMG, 'echo', 'hello from berth']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello from berth\n');
  const ps = await docker(['ps', '-aq']);
  assert.equal(ps.stdout.trim(), '');
});

test('exit codes pass through; stdout and stderr stay apart', async () => {
  const r = await docker(['run', '--rm', IMG, 'sh', '-c', 'echo out; echo err >&2; exit 7']);
  assert.equal(r.code, 7);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
});

test('stdin is piped with -i', async () => {
  const r = await docker(['run', '--rm', '-i', IMG, 'sh', '-c', 'cat; echo done'], { input: 'line1\nline2\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'line1\nline2\ndone\n');
});

test('isolation: pid 1, own hostname, default capabilities, masked /proc paths, read-only rootfs', async () => {
  const r = await docker(['run', '--rm', '--hostname', 'boxy', IMG, 'sh', '-c', 'echo $$; hostname; grep CapEff /proc/self/status; cat /proc/timer_list 2>&1 | wc -c']);
  assert.equal(r.code, 0, r.stderr);
  const [pid, host, capeff, masked] = r.stdout.trim().split('\n');
  assert.equal(pid, '1');
  assert.equal(host, 'boxy');
  assert.match(capeff, /00000000a80425fb/);
  assert.equal(masked.trim(), '0');
  const ro = await docker(['run', '--rm', '--read-only', IMG, 'touch', '/x']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
});

test('memory limit is visible in the container cgroup; --privileged works on this host', async () => {
  const r = await docker(['run', '--rm', '-m', '64m', IMG, 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), String(64 * 1024 * 1024));
  const p = await docker(['run', '--rm', '--privileged', IMG, 'grep', 'CapEff', '/proc/self/status']);
  assert.equal(p.code, 0, p.stderr);
  assert.doesNotMatch(p.stdout, /00000000a80425fb/);
});

test('detached container: ps, logs, exec, inspect, stop, rm', async () => {
  const run = await docker(['run', '-d', '--name', 'e2e-web', '-l', 'app=web', IMG, 'sh', '-c', 'echo started; while true; do sleep 1; done']);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = await docker(['ps', '--filter', 'label=app=web', '--format', '{{.Names}} {{.Status}}']);
  assert.match(ps.stdout, /^e2e-web Up/);
  await waitFor(async () => (await docker(['logs', 'e2e-web'])).stdout === 'started\n');
  const ex = await docker(['exec', 'e2e-web', 'sh', '-c', 'echo in-exec; exit 3']);
  assert.equal(ex.stdout, 'in-exec\n');
  assert.equal(ex.code, 3);
  const insp = await docker(['inspect', '-f', '{{.State.Status}} {{.State.Running}} {{.Config.Labels.app}} {{.Name}}', 'e2e-web']);
  assert.equal(insp.stdout.trim(), 'running true web /e2e-web');
  const rmRunning = await docker(['rm', 'e2e-web']);
  assert.equal(rmRunning.code, 1);
  assert.match(rmRunning.stderr, /You cannot remove a running container [0-9a-f]{64}\. Stop the container before attempting removal or force remove/);
  const t0 = Date.now();
  const stop = await docker(['stop', '-t', '1', 'e2e-web']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.ok(Date.now() - t0 < 8000);
  const st = await docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'e2e-web']);
  assert.match(st.stdout.trim(), /^exited (137|143)$/);
  assert.equal((await docker(['rm', 'e2e-web'])).code, 0);
  assert.deepEqual(mountsUnder(live.execRoot), []);
});

test('bad input: unknown image, missing command (127), not executable (126), name in use, bad name', async () => {
  const noimg = await docker(['run', '--rm', '--pull', 'never', 'nope/nope:1', 'true']);
  assert.equal(noimg.code, 125);
  assert.match(noimg.stderr, /No such image: nope\/nope:1/);
  const missing = await docker(['run', '--rm', IMG, '/nonexistent']);
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /exec: "\/nonexistent": stat \/nonexistent: no such file or directory/);
  const notExec = await docker(['run', '--rm', IMG, '/etc/passwd']);
  assert.equal(notExec.code, 126);
  assert.match(notExec.stderr, /permission denied/);
  assert.equal((await docker(['create', '--name', 'e2e-dup', IMG])).code, 0);
  const dup = await docker(['create', '--name', 'e2e-dup', IMG]);
  assert.equal(dup.code, 1); // docker create exits 1 on daemon errors (run exits 125), as with dockerd
  assert.match(dup.stderr, /Conflict. The container name "\/e2e-dup" is already in use by container "[0-9a-f]{64}"/);
  const bad = await docker(['create', '--name', 'bad name', IMG]);
  assert.match(bad.stderr, /Invalid container name \(bad name\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed/);
  await docker(['rm', 'e2e-dup']);
  // Nothing half-made is left behind.
  const all = await docker(['ps', '-aq']);
  assert.equal(all.stdout.trim(), '');
  assert.deepEqual(mountsUnder(live.execRoot), []);
  assert.equal((await docker(['version', '--format', '{{.Server.Version}}'])).code, 0);
});

test('kill -9 of berthd loses nothing: containers keep running, logs, exec, stop work, exits are recorded', async () => {
  const ids: string[] = [];
  for (const n of ['a', 'b', 'c']) {
    const r = await docker(['run', '-d', '--name', `crash-${n}`, IMG, 'sh', '-c', `i=0; while true; do echo ${n}$i; i=$((i+1)); sleep 0.2; done`]);
    assert.equal(r.code, 0, r.stderr);
    ids.push(r.stdout.trim());
  }
  const short = await docker(['run', '-d', '--name', 'crash-exit', IMG, 'sh', '-c', 'sleep 1; exit 42']);
  assert.equal(short.code, 0, short.stderr);
  live = await d.restart('SIGKILL');
  // While berthd was down, crash-exit exited; and the loops kept logging.
  await sleep(1500);
  const ps = await docker(['ps', '--format', '{{.Names}}']);
  assert.deepEqual(ps.stdout.trim().split('\n').sort(), ['crash-a', 'crash-b', 'crash-c']);
  const exited = await docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'crash-exit']);
  assert.equal(exited.stdout.trim(), 'exited 42');
  const ex = await docker(['exec', 'crash-b', 'echo', 'alive']);
  assert.equal(ex.stdout, 'alive\n');
  const logs = await docker(['logs', 'crash-a']);
  assert.ok(logs.stdout.split('\n').length > 5, logs.stdout);
  // logs -f against the re-adopted container follows new output and ends when it stops.
  const follow = docker(['logs', '-f', '--tail', '1', 'crash-c']);
  await sleep(700);
  assert.equal((await docker(['stop', '-t', '1', 'crash-c'])).code, 0);
  const followed = await follow;
  assert.equal(followed.code, 0, followed.stderr);
  assert.ok(followed.stdout.trim().split('\n').length >= 3, followed.stdout);
  for (const n of ['a', 'b', 'c']) assert.equal((await docker(['rm', '-f', `crash-${n}`])).code, 0);
  assert.equal((await docker(['rm', 'crash-exit'])).code, 0);
});

async function waitFor(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(50);
  }
  assert.fail('condition not met in time');
}

test('OOM: a container over its memory limit is killed and State.OOMKilled is set', async () => {
  const r = await docker(['run', '--name', 'oom', '-m', '16m', '--memory-swap', '16m', IMG, 'sh', '-c', 'tail /dev/zero']);
  assert.equal(r.code, 137);
  assert.equal((await docker(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'oom'])).stdout.trim(), 'true 137');
  await docker(['rm', 'oom']);
});

test('bad create bodies are 400s with Go-decoder wording, and nothing is left behind', async () => {
  const post = (body: string) =>
    run('curl', ['-s', '-w', '\n%{http_code}', '--unix-socket', live.socket, '-X', 'POST', '-H', 'Content-Type: application/json', '-d', body, 'http://x/v1.47/containers/create']);
  const cases: Array<[string, RegExp]> = [
    ['{"Image":', /invalid JSON/],
    ['{"Image":5}', /cannot unmarshal number into Go struct field ContainerConfigWrapper.Image of type string/],
    [`{"Image":"${IMG}","Cmd":5}`, /cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd/],
    [`{"Image":"${IMG}","HostConfig":{"Memory":"lots"}}`, /cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64/],
    [`{"Image":"${IMG}","Tty":"yes"}`, /of type bool/],
    ['[]', /cannot unmarshal/],
    ['{}', /No image specified/],
  ];
  for (const [body, re] of cases) {
    const r = await post(body);
    const [text, status] = r.stdout.trim().split('\n').filter(Boolean);
    assert.equal(status, '400', `${body} → ${r.stdout}`);
    assert.match(JSON.parse(text).message, re);
  }
  assert.equal((await docker(['ps', '-aq'])).stdout.trim(), '');
  assert.equal((await docker(['version', '--format', '{{.Server.Version}}'])).code, 0);
});
