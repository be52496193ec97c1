/**
 * berth's own CLI end to end against a real berthd: the same flows users run with docker, same output shapes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { importBusybox, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
const IMG = 'e2e/busybox:1';

before(async () => {
  d = await startDaemon();
  await importBusybox(d, IMG);
});

after(async () => {
  await d?.teardown();
});

const berth = (args: string[], opts?: { input?: string }) => d.berth(args, opts);

test('run --rm, exit codes, stdin, usage errors', async () => {
  const r = await berth(['run', '--rm', IMG, 'echo', 'hello from berth']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello from berth\n');
  assert.equal((await berth(['run', '--rm', IMG, 'sh', '-c', 'exit 9'])).code, 9);
  const i = await berth(['run', '--rm', '-i', IMG, 'cat'], { input: 'piped\n' });
  assert.equal(i.stdout, 'piped\n');
  const bad = await berth(['run', '--nosuchflag', IMG]);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /unknown flag: --nosuchflag/);
  const missing = await berth(['run', '--rm', IMG, '/nonexistent']);
  assert.equal(missing.code, 127);
  const rmNone = await berth(['rm']);
  assert.equal(rmNone.code, 1);
  assert.match(rmNone.stderr, /requires at least 1 argument/);
});

test('detached lifecycle: ps, logs, exec, inspect, stop, rm', async () => {
  const run = await berth(['run', '-d', '--name', 'cli-web', '-l', 'tier=web', IMG, 'sh', '-c', 'echo ready; sleep 30']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout.trim(), /^[0-9a-f]{64}$/);
  const ps = await berth(['ps', '--format', '{{.Names}}\t{{.Labels}}']);
  assert.match(ps.stdout, /^cli-web\ttier=web$/m);
  const table = await berth(['ps']);
  assert.match(table.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/);
  for (let i = 0; i < 50 && (await berth(['logs', 'cli-web'])).stdout !== 'ready\n'; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal((await berth(['logs', 'cli-web'])).stdout, 'ready\n');
  const ex = await berth(['exec', 'cli-web', 'sh', '-c', 'echo $((6*7))']);
  assert.equal(ex.stdout, '42\n');
  assert.equal((await berth(['inspect', '-f', '{{.State.Running}} {{index .Config.Labels "tier"}}', 'cli-web'])).stdout, 'true web\n');
  assert.equal((await berth(['stop', '-t', '1', 'cli-web'])).stdout, 'cli-web\n');
  assert.equal((await berth(['rm', 'cli-web'])).stdout, 'cli-web\n');
  const gone = await berth(['inspect', 'cli-web']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /No such object: cli-web/);
});

test('images, volumes, networks, system df and events', async () => {
  const images = await berth(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.match(images.stdout, /^e2e\/busybox:1$/m);
  assert.equal((await berth(['volume', 'create', 'cli-vol'])).stdout, 'cli-vol\n');
  assert.match((await berth(['volume', 'ls', '-q'])).stdout, /^cli-vol$/m);
  assert.match((await berth(['network', 'ls', '--format', '{{.Name}}'])).stdout, /^bridge\nhost\nnone\n$/);
  const df = await berth(['system', 'df']);
  assert.match(df.stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+1\s+0\s+/);
  assert.match(df.stdout, /Local Volumes\s+1\s+0/);
  const since = String(Math.floor(Date.now() / 1000) - 1);
  await berth(['volume', 'rm', 'cli-vol']);
  const until = String(Math.floor(Date.now() / 1000) + 1);
  const ev = await berth(['events', '--since', since, '--until', until, '--filter', 'type=volume']);
  assert.match(ev.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z volume destroy cli-vol/m);
});

test('the rest of the container verbs through berth: cp, diff, commit, export, top, stats, port, update, pause, rename, kill, wait, restart, attach, prune', async () => {
  assert.equal((await berth(['run', '-d', '--name', 'verbs', '-p', '127.0.0.1::80', IMG, 'sh', '-c', 'trap "exit 5" USR1; while true; do sleep 0.1; done'])).code, 0);
  const src = `${d.root}/cp-in.txt`;
  (await import('node:fs')).writeFileSync(src, 'copied\n');
  assert.equal((await berth(['cp', src, 'verbs:/tmp/in.txt'])).code, 0);
  assert.equal((await berth(['exec', 'verbs', 'cat', '/tmp/in.txt'])).stdout, 'copied\n');
  const out = `${d.root}/cp-out.txt`;
  assert.equal((await berth(['cp', 'verbs:/tmp/in.txt', out])).code, 0);
  assert.equal((await import('node:fs')).readFileSync(out, 'utf8'), 'copied\n');
  assert.match((await berth(['diff', 'verbs'])).stdout, /^A \/tmp\/in\.txt$/m);
  assert.match((await berth(['top', 'verbs'])).stdout, /^UID\s+PID\s+PPID/);
  assert.match((await berth(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'verbs'])).stdout, /^verbs \d+$/m);
  assert.match((await berth(['port', 'verbs'])).stdout, /^80\/tcp -> 127\.0\.0\.1:\d+$/m);
  assert.equal((await berth(['update', '-m', '64m', 'verbs'])).code, 0);
  assert.equal((await berth(['inspect', '-f', '{{.HostConfig.Memory}}', 'verbs'])).stdout, '67108864\n');
  assert.equal((await berth(['pause', 'verbs'])).code, 0);
  assert.equal((await berth(['inspect', '-f', '{{.State.Status}}', 'verbs'])).stdout, 'paused\n');
  assert.equal((await berth(['unpause', 'verbs'])).code, 0);
  assert.equal((await berth(['rename', 'verbs', 'verbs2'])).code, 0);
  const commit = await berth(['commit', '-c', 'CMD ["cat","/tmp/in.txt"]', 'verbs2', 'e2e/committed:1']);
  assert.match(commit.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal((await berth(['run', '--rm', 'e2e/committed:1'])).stdout, 'copied\n');
  const exp = await berth(['export', '-o', `${d.root}/export.tar`, 'verbs2']);
  assert.equal(exp.code, 0, exp.stderr);
  assert.ok((await import('node:fs')).statSync(`${d.root}/export.tar`).size > 100_000);
  const waiter = berth(['wait', 'verbs2']);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await berth(['kill', '-s', 'USR1', 'verbs2'])).code, 0);
  assert.equal((await waiter).stdout, '5\n');
  assert.equal((await berth(['restart', '-t', '1', 'verbs2'])).code, 0);
  assert.equal((await berth(['inspect', '-f', '{{.State.Running}}', 'verbs2'])).stdout, 'true\n');
  await berth(['rm', '-f', 'verbs2']);
  await berth(['run', '-d', '--name', 'att', IMG, 'sh', '-c', 'sleep 3; echo attached-out; exit 2']);
  const att = await berth(['attach', 'att']);
  assert.equal(att.stdout, 'attached-out\n');
  assert.equal(att.code, 2);
  const prune = await berth(['container', 'prune', '-f']);
  assert.match(prune.stdout, /Deleted Containers:\n[0-9a-f]{64}\n/);
  assert.equal((await berth(['ps', '-aq'])).stdout, '');
});

test('version --format sees docker field names: {{.Server.APIVersion}} prints what docker prints', async () => {
  const tmpl = '{{.Server.APIVersion}} {{.Server.Os}} {{.Server.MinAPIVersion}}';
  const ours = await berth(['version', '--format', tmpl]);
  const theirs = await d.docker(['version', '--format', tmpl]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.stdout, theirs.stdout);
  assert.match(ours.stdout, /^1\.\d+ linux 1\.\d+\n$/);
  // `{{json .Server}}` keeps the wire names, as docker's does.
  assert.match((await berth(['version', '--format', '{{json .Server}}'])).stdout, /"ApiVersion":"1\.\d+"/);
});
