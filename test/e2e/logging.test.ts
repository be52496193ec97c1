/**
 * Logging end to end through the real docker CLI (issue 12, json-file rotation and the none driver): the monitor
 * rotates (max-size, max-file, compress) also while berthd is down, `docker logs` reads across rotated and
 * compressed files, `logs -f` follows across rotations without losing or repeating a line, bad options are refused
 * at create with dockerd's wording.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { berthdBin, dockerBin, importBusybox, run, sleep, startDaemon, TestDaemon } from '../harness.js';

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

const docker = (args: string[], opts?: { timeoutMs?: number }) => live.docker(args, opts);
const inspect = async (name: string, fmt: string) => (await docker(['inspect', '-f', fmt, name])).stdout.trim();

/** The container's log files (current and rotated) with their sizes. */
function logFiles(logPath: string): Array<{ name: string; size: number }> {
  const dir = path.dirname(logPath);
  const base = path.basename(logPath);
  return fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(base))
    .map((name) => ({ name, size: fs.statSync(path.join(dir, name)).size }));
}

/** Asserts the lines are consecutive integers ending at `last`; returns the first. */
function assertRun(lines: string[], last: number): number {
  assert.ok(lines.length > 0, 'no lines');
  const first = Number(lines[0]);
  lines.forEach((l, i) => assert.equal(l, String(first + i), `line ${i} after ${first}`));
  assert.equal(Number(lines[lines.length - 1]), last);
  return first;
}

test('max-size=1m,max-file=3: 40 MB of output keeps ≤ 3 MB on disk; logs reads across the files; --tail 1', async () => {
  const n = 5_000_000;
  const r = await docker(['run', '-d', '--name', 'rot', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=3', IMG, 'seq', '1', String(n)]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await docker(['wait', 'rot'], { timeoutMs: 120_000 })).stdout.trim(), '0');
  assert.equal(await inspect('rot', '{{json .HostConfig.LogConfig}}'), '{"Type":"json-file","Config":{"max-file":"3","max-size":"1m"}}');
  const logPath = await inspect('rot', '{{.LogPath}}');
  const files = logFiles(logPath);
  assert.deepEqual(files.map((f) => f.name).sort(), [path.basename(logPath), `${path.basename(logPath)}.1`, `${path.basename(logPath)}.2`]);
  for (const f of files) assert.ok(f.size <= 1_000_000, `${f.name} is ${f.size} bytes`);
  assert.equal((await docker(['logs', '--tail', '1', 'rot'])).stdout, `${n}\n`);
  const all = (await docker(['logs', 'rot'], { timeoutMs: 60_000 })).stdout.split('\n');
  assert.equal(all.pop(), '');
  assertRun(all, n);
  await docker(['rm', 'rot']);
});

test('logs -f follows across rotations: no line lost or repeated', async () => {
  // paced so the follower is never more than max-file files behind (then lines are gone, with dockerd too)
  const script = 'sleep 1; i=0; while [ $i -lt 15000 ]; do echo $i; i=$((i+1)); [ $((i % 300)) = 0 ] && sleep 0.05; done; sleep 0.5; echo done';
  const r = await docker(['run', '-d', '--name', 'follow', '--log-opt', 'max-size=50k', '--log-opt', 'max-file=5', IMG, 'sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(dockerBin, ['logs', '-f', 'follow'], { env: { ...process.env, DOCKER_HOST: live.host } });
    let text = '';
    const timer = setTimeout(() => (child.kill(), reject(new Error(`logs -f did not end: ${text.length} bytes`))), 60_000);
    child.stdout.on('data', (b: Buffer) => (text += b.toString()));
    child.on('close', () => (clearTimeout(timer), resolve(text)));
  });
  const lines = out.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.pop(), 'done');
  assert.equal(assertRun(lines, 14999), 0);
  assert.ok(logFiles(await inspect('follow', '{{.LogPath}}')).length > 1, 'the log should have rotated');
  await docker(['rm', 'follow']);
});

test('compress=true: rotated files are gzip, and logs reads them back in order', async () => {
  const r = await docker(['run', '-d', '--name', 'gz', '--log-opt', 'max-size=10k', '--log-opt', 'max-file=3', '--log-opt', 'compress=true', IMG, 'seq', '1', '3000']);
  assert.equal(r.code, 0, r.stderr);
  await docker(['wait', 'gz']);
  const logPath = await inspect('gz', '{{.LogPath}}');
  const base = path.basename(logPath);
  assert.deepEqual(logFiles(logPath).map((f) => f.name).sort(), [base, `${base}.1.gz`, `${base}.2.gz`]);
  const unzipped = gunzipSync(fs.readFileSync(`${logPath}.1.gz`)).toString().trim().split('\n');
  assert.ok(unzipped.every((l) => typeof JSON.parse(l).log === 'string'));
  const lines = (await docker(['logs', 'gz'])).stdout.trim().split('\n');
  const first = assertRun(lines, 3000);
  assert.ok(first > 1, 'the oldest lines are rotated away');
  await docker(['rm', 'gz']);
});

test('the first output of a start is never older than State.StartedAt: logs --since=<StartedAt> has it, also after restarts', async () => {
  // testcontainers waits for a log line with since=StartedAt after a restart; runc run starts the program before
  // berthd hears back, so a StartedAt stamped then would be later than the line.
  const r = await docker(['run', '-d', '--name', 'early', IMG, 'sh', '-c', 'echo first-line; exec sleep 60']);
  assert.equal(r.code, 0, r.stderr);
  for (let round = 0; round < 3; round++) {
    if (round > 0) assert.equal((await docker(['restart', '-t', '0', 'early'])).code, 0);
    const startedAt = await inspect('early', '{{.State.StartedAt}}');
    const since = (Date.parse(startedAt) / 1000).toFixed(3);
    let lines = '';
    for (let i = 0; i < 50 && !lines.includes('first-line'); i++) {
      lines = (await docker(['logs', '--since', since, 'early'])).stdout;
      if (!lines.includes('first-line')) await sleep(100);
    }
    assert.equal(lines, 'first-line\n', `round ${round}: since ${since} (StartedAt ${startedAt})`);
  }
  await docker(['rm', '-f', 'early']);
});

test('--log-driver none: nothing is written and docker logs answers as dockerd', async () => {
  const r = await docker(['run', '-d', '--name', 'nolog', '--log-driver', 'none', IMG, 'echo', 'hi']);
  assert.equal(r.code, 0, r.stderr);
  await docker(['wait', 'nolog']);
  assert.equal(await inspect('nolog', '{{.HostConfig.LogConfig.Type}}'), 'none');
  assert.equal(await inspect('nolog', '{{.LogPath}}'), '', 'dockerd shows no LogPath without a json-file log');
  const dir = path.join(live.dataRoot, 'containers', await inspect('nolog', '{{.Id}}'));
  assert.deepEqual(fs.readdirSync(dir).filter((n) => /\.log/.test(n)), []);
  const logs = await docker(['logs', 'nolog']);
  assert.equal(logs.code, 1);
  assert.equal(logs.stderr.trim(), 'Error response from daemon: configured logging driver does not support reading');
  await docker(['rm', 'nolog']);
});

test('bad log options are refused at create, with dockerd wording, and leave no container', async () => {
  const before = (await docker(['ps', '-aq'])).stdout;
  for (const [opt, msg] of [
    ['max-size=abc', "invalid size: 'abc'"],
    ['max-size=0', 'max-size must be a positive number'],
    ['max-file=0', 'max-file cannot be less than 1'],
  ]) {
    const r = await docker(['run', '--rm', '--log-opt', opt, IMG, 'true']);
    assert.equal(r.code, 125, opt);
    assert.match(r.stderr, new RegExp(msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), opt);
  }
  assert.equal((await docker(['ps', '-aq'])).stdout, before);
});

test('kill -9 of berthd while a container logs: rotation goes on, nothing is lost', async () => {
  const script = 'i=0; while [ $i -lt 6000 ]; do echo $i; i=$((i+1)); [ $((i % 1000)) = 0 ] && sleep 0.3; done';
  const r = await docker(['run', '-d', '--name', 'crashlog', '--log-opt', 'max-size=20k', '--log-opt', 'max-file=50', IMG, 'sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  await sleep(300);
  live = await d.restart('SIGKILL', 1000);
  assert.equal((await docker(['wait', 'crashlog'], { timeoutMs: 30_000 })).stdout.trim(), '0');
  const lines = (await docker(['logs', 'crashlog'])).stdout.trim().split('\n');
  assert.equal(assertRun(lines, 5999), 0);
  assert.ok(logFiles(await inspect('crashlog', '{{.LogPath}}')).length > 5);
  await docker(['rm', 'crashlog']);
});

test('daemon defaults: --log-driver/--log-opt apply to containers that name none; their own options win', async () => {
  const dd = await startDaemon({ args: ['--log-driver', 'json-file', '--log-opt', 'max-size=10k', '--log-opt', 'max-file=2'] });
  try {
    await importBusybox(dd, IMG);
    assert.match((await dd.docker(['info', '--format', '{{.LoggingDriver}}'])).stdout, /^json-file/);
    const r = await dd.docker(['run', '--name', 'dflt', IMG, 'seq', '1', '2000']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await dd.docker(['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'dflt'])).stdout.trim(), '{"Type":"json-file","Config":{"max-file":"2","max-size":"10k"}}');
    const logPath = (await dd.docker(['inspect', '-f', '{{.LogPath}}', 'dflt'])).stdout.trim();
    assert.equal(logFiles(logPath).length, 2);
    const own = await dd.docker(['run', '--name', 'own', '--log-opt', 'max-size=1m', IMG, 'true']);
    assert.equal(own.code, 0, own.stderr);
    assert.equal((await dd.docker(['inspect', '-f', '{{json .HostConfig.LogConfig.Config}}', 'own'])).stdout.trim(), '{"max-file":"2","max-size":"1m"}');
    const none = await dd.docker(['run', '--name', 'nolog2', '--log-driver', 'none', IMG, 'true']);
    assert.equal(none.code, 0, none.stderr);
    assert.equal((await dd.docker(['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'nolog2'])).stdout.trim(), '{"Type":"none","Config":{}}');
  } finally {
    await dd.teardown();
  }
  // a bad default is refused before the daemon touches anything (temp paths all the same)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-logopt-'));
  try {
    const bad = await run(process.execPath, [berthdBin, '--data-root', path.join(tmp, 'd'), '--exec-root', path.join(tmp, 'e'), '-H', `unix://${tmp}/s.sock`, '--pidfile', path.join(tmp, 'pid'), '--log-opt', 'max-size=abc'], { timeoutMs: 10_000 });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /failed to set log opts: invalid size: 'abc'/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('labels/env log options: attrs in every json-file record (dockerd key order), docker logs --details', async () => {
  const r = await docker(['run', '--name', 'attrs', '--label', 'app=web', '--label', 'skip=1', '-e', 'REGION=eu', '--log-opt', 'labels=app', '--log-opt', 'env=REGION', IMG, 'echo', 'hi']);
  assert.equal(r.code, 0, r.stderr);
  const raw = fs.readFileSync(await inspect('attrs', '{{.LogPath}}'), 'utf8').trim();
  assert.match(raw, /^\{"log":"hi\\n","stream":"stdout","attrs":\{"REGION":"eu","app":"web"\},"time":"[^"]+"\}$/);
  assert.equal((await docker(['logs', '--details', 'attrs'])).stdout, 'REGION=eu,app=web hi\n');
  assert.equal((await docker(['logs', 'attrs'])).stdout, 'hi\n');
  await docker(['rm', 'attrs']);
});
