/**
 * Compose v2 features for development and day-two work, with the real docker CLI running berth's plugin and with
 * `berth compose`: `watch` and `up --watch` (sync, ignore, removal, rebuild), anonymous volumes kept across a
 * recreate, `depends_on.restart`, inline secrets/configs with uid/gid/mode, and the smaller commands (events, top,
 * cp, images, wait, push). Its own daemon, so compose-v2.test.ts stays within the per-file timeout.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { berthBin, dockerBin, importBusybox, repoRoot, sleep, startDaemon } from '../harness.js';
import { haveRegistry, TestRegistries } from '../registry.js';

let d: Awaited<ReturnType<typeof startDaemon>>;

before(async () => {
  d = await startDaemon();
  await importBusybox(d, 'busybox:latest');
  const plugins = path.join(d.root, 'docker-config', 'cli-plugins');
  fs.mkdirSync(plugins, { recursive: true });
  fs.symlinkSync(path.join(repoRoot, 'bin', 'docker-compose'), path.join(plugins, 'docker-compose'));
});

after(async () => {
  await d?.teardown();
});

/** A compose command left running in the background (watch, up --watch), its output collected as it comes. */
function background(bin: string, args: string[], cwd: string, env: Record<string, string>) {
  const child = spawn(bin, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (b: Buffer) => (out.stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out.stderr += b.toString()));
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  // Bounded: a child that ignores the interrupt is killed (and the test fails on its exit code).
  const exited = Promise.race([exit, sleep(90_000).then(() => (child.kill('SIGKILL'), exit))]);
  return { child, out, exited };
}

/** Polls `check` until it returns true, for at most `ms`. */
async function until(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(delay);
  }
}

test('watch: edited files are synced into the running container, a Dockerfile change rebuilds it; up --watch too', async () => {
  const wdir = path.join(d.root, 'watched');
  fs.mkdirSync(path.join(wdir, 'src'), { recursive: true });
  fs.writeFileSync(
    path.join(wdir, 'compose.yaml'),
    `name: watched
services:
  app:
    build: .
    command: ["sleep", "3600"]
    stop_signal: SIGKILL
    develop:
      watch:
        - { action: sync, path: ./src, target: /app, ignore: ["*.tmp"] }
        - { action: rebuild, path: Dockerfile }
`,
  );
  const dockerfile = (v: string) => fs.writeFileSync(path.join(wdir, 'Dockerfile'), `FROM busybox\nCOPY src /app\nRUN echo ${v} > /version\n`);
  dockerfile('v1');
  fs.writeFileSync(path.join(wdir, 'src', 'index.html'), 'one');
  const inApp = async (cmd: string) => (await d.docker(['compose', '-f', path.join(wdir, 'compose.yaml'), 'exec', '-T', 'app', 'sh', '-c', cmd])).stdout;
  const appId = async () => (await d.docker(['ps', '-q', '--filter', 'label=com.docker.compose.project=watched'])).stdout.trim();

  const w = background(dockerBin, ['compose', 'watch'], wdir, { DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.root, 'docker-config') });
  try {
    await until('"Watch enabled"', 90_000, () => / ⦿ Watch enabled\n/.test(w.out.stdout) || w.child.exitCode !== null);
    assert.match(w.out.stdout, / ⦿ Watch enabled/, w.out.stderr);
    assert.equal(await inApp('cat /app/index.html /version'), 'onev1\n');

    fs.writeFileSync(path.join(wdir, 'src', 'index.html'), 'two');
    fs.mkdirSync(path.join(wdir, 'src', 'new', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(wdir, 'src', 'new', 'deep', 'file.txt'), 'deep');
    fs.writeFileSync(path.join(wdir, 'src', 'scratch.tmp'), 'ignored');
    await until('the sync', 30_000, async () => (await inApp('cat /app/index.html /app/new/deep/file.txt 2>&1')) === 'twodeep');
    assert.match(w.out.stdout, / ⦿ Syncing service "app" after \d+ changes were detected\n/);
    assert.equal(await inApp('test -e /app/scratch.tmp && echo synced || echo ignored'), 'ignored\n');
    fs.rmSync(path.join(wdir, 'src', 'new'), { recursive: true });
    await until('the removal', 30_000, async () => (await inApp('test -e /app/new && echo there || echo gone')) === 'gone\n');

    const before = await appId();
    dockerfile('v2');
    await until('the rebuild', 90_000, async () => (await inApp('cat /version 2>/dev/null')) === 'v2\n');
    assert.notEqual(await appId(), before);
    assert.match(w.out.stdout, / ⦿ Rebuilding service\(s\) \["app"\] after changes were detected\.\.\.\n/);
    assert.match(w.out.stdout, / ⦿ service\(s\) \["app"\] successfully built\n/);
  } finally {
    w.child.kill('SIGINT');
  }
  assert.equal(await w.exited, 0, w.out.stdout + w.out.stderr);
  assert.ok(await appId(), 'the watched containers keep running after the watch ends');

  // berth compose up --watch: attached output, and the watch alongside it until Ctrl-C stops the project.
  const u = background(process.execPath, [berthBin, '-H', d.host, 'compose', 'up', '--watch'], wdir, {});
  try {
    await until('"Watch enabled" from up --watch', 60_000, () => / ⦿ Watch enabled\n/.test(u.out.stdout) || u.child.exitCode !== null);
    assert.match(u.out.stdout, /Attaching to app-1/, u.out.stderr);
    fs.writeFileSync(path.join(wdir, 'src', 'index.html'), 'three');
    await until('the sync from up --watch', 30_000, async () => (await inApp('cat /app/index.html')) === 'three');
  } finally {
    u.child.kill('SIGINT');
  }
  await u.exited;
  assert.equal(await appId(), '', 'Ctrl-C on up --watch stops the project');
  assert.equal((await d.docker(['compose', '-f', path.join(wdir, 'compose.yaml'), 'down', '--rmi', 'all'])).code, 0);
});

test('recreate keeps the anonymous volumes (the service\'s and the image\'s VOLUME); -V renews them', async () => {
  const vdir = path.join(d.root, 'anon');
  fs.mkdirSync(vdir, { recursive: true });
  const file = path.join(vdir, 'compose.yaml');
  const write = (cmd: string) => fs.writeFileSync(file, `name: anon\nservices:\n  app:\n    build: .\n    command: ["sleep", "${cmd}"]\n    stop_signal: SIGKILL\n    volumes: ["/cache"]\n`);
  fs.writeFileSync(path.join(vdir, 'Dockerfile'), 'FROM busybox\nVOLUME /imgvol\n');
  write('3600');
  const c = (args: string[]) => d.berth(['compose', '-f', file, ...args], { timeoutMs: 120_000 });
  assert.equal((await c(['up', '-d'])).code, 0);
  assert.equal((await c(['exec', '-T', 'app', 'sh', '-c', 'echo kept > /cache/f; echo kept > /imgvol/f'])).code, 0);
  write('3601');
  const up = await c(['up', '-d']);
  assert.match(up.stderr, /Container anon-app-1 {2}Recreate/);
  assert.equal((await c(['exec', '-T', 'app', 'cat', '/cache/f', '/imgvol/f'])).stdout, 'kept\nkept\n');
  const renewed = await c(['up', '-d', '--force-recreate', '-V']);
  assert.equal(renewed.code, 0, renewed.stderr);
  assert.equal((await c(['exec', '-T', 'app', 'sh', '-c', 'ls /cache /imgvol'])).stdout, '/cache:\n\n/imgvol:\n');
  assert.equal((await c(['down', '-v', '--rmi', 'all'])).code, 0);
});

test('depends_on.restart: dependents are restarted when their dependency is recreated or restarted; inline secrets with uid/gid/mode', async () => {
  const rdir = path.join(d.root, 'restarts');
  fs.mkdirSync(rdir, { recursive: true });
  const file = path.join(rdir, 'compose.yaml');
  const write = (dbCmd: string) =>
    fs.writeFileSync(
      file,
      `name: restarts
services:
  db: { image: busybox, command: ["sleep", "${dbCmd}"], stop_signal: SIGKILL }
  app:
    image: busybox
    command: ["sleep", "3600"]
    stop_signal: SIGKILL
    depends_on: { db: { condition: service_started, restart: true } }
  other:
    image: busybox
    command: ["sleep", "3600"]
    stop_signal: SIGKILL
    depends_on: [db]
    secrets: [{ source: token, uid: "1000", gid: "1001", mode: 0440 }]
    configs: [{ source: plain, target: /etc/plain }]
secrets:
  token: { environment: RESTARTS_TOKEN }
configs:
  plain: { content: "inline" }
`,
    );
  write('3600');
  const c = (args: string[]) => d.docker(['compose', '-f', file, ...args], { timeoutMs: 120_000 });
  const started = async () => {
    const r = await d.docker(['ps', '--filter', 'label=com.docker.compose.project=restarts', '--format', '{{.Names}}']);
    const names = r.stdout.trim().split('\n').sort();
    const i = await d.docker(['inspect', '--format', '{{.Name}} {{.Id}} {{.State.StartedAt}}', ...names]);
    return Object.fromEntries(i.stdout.trim().split('\n').map((l) => { const [n, id, at] = l.split(' '); return [n.slice(1), `${id} ${at}`]; }));
  };
  const first = await d.docker(['compose', '-f', file, 'up', '-d'], { env: { RESTARTS_TOKEN: 's3cret' } });
  assert.equal(first.code, 0, first.stderr);
  // Secrets from `environment`/`content` are written with the reference's uid, gid and mode (default 0:0 0444).
  const sec = await c(['exec', '-T', 'other', 'sh', '-c', 'stat -c "%u %g %a" /run/secrets/token /etc/plain; cat /run/secrets/token /etc/plain']);
  assert.equal(sec.stdout, '1000 1001 440\n0 0 444\ns3cretinline', sec.stderr);
  const t0 = await started();
  write('3601');
  const up = await c(['up', '-d']);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stderr, /Container restarts-app-1 {2}Stopped[\s\S]*Container restarts-db-1 {2}Recreated[\s\S]*Container restarts-app-1 {2}Started/);
  const t1 = await started();
  assert.notEqual(t1['restarts-db-1'].split(' ')[0], t0['restarts-db-1'].split(' ')[0], 'db recreated');
  assert.equal(t1['restarts-app-1'].split(' ')[0], t0['restarts-app-1'].split(' ')[0], 'app kept');
  assert.notEqual(t1['restarts-app-1'], t0['restarts-app-1'], 'app restarted');
  assert.equal(t1['restarts-other-1'], t0['restarts-other-1'], 'other (restart: false) untouched');
  const rs = await c(['restart', 'db']);
  assert.equal(rs.code, 0, rs.stderr);
  assert.match(rs.stderr, /Container restarts-app-1 {2}Started/);
  assert.doesNotMatch(rs.stderr, /other/);
  const t2 = await started();
  assert.notEqual(t2['restarts-app-1'], t1['restarts-app-1']);
  assert.equal(t2['restarts-other-1'], t1['restarts-other-1']);
  assert.equal((await c(['down'])).code, 0);
});

test('events, top, cp, images, wait and push on a small project', async () => {
  const tdir = path.join(d.root, 'tools');
  fs.mkdirSync(tdir, { recursive: true });
  const regs = haveRegistry ? new TestRegistries(path.join(d.root, 'registries')) : undefined;
  const reg = regs ? await regs.start('tools') : undefined;
  const file = path.join(tdir, 'compose.yaml');
  fs.writeFileSync(
    file,
    `name: tools
services:
  box: { image: busybox, command: ["sleep", "3600"], stop_signal: SIGKILL }
  job: { image: busybox, command: ["sh", "-c", "sleep 1; exit 5"] }
${reg ? `  pushed: { image: "${reg}/tools/box:1", profiles: [push] }\n` : ''}`,
  );
  const c = (args: string[]) => d.docker(['compose', '-f', file, ...args], { timeoutMs: 120_000 });
  try {
    const ev = background(dockerBin, ['compose', '-f', file, 'events', '--json'], tdir, { DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.root, 'docker-config') });
    try {
      await sleep(1000); // the events stream is open before anything happens (no output to wait for)
      assert.equal((await c(['up', '-d', 'box'])).code, 0);
      await until('the start event', 20_000, () => ev.out.stdout.split('\n').some((l) => l && JSON.parse(l).action === 'start'));
      const start = ev.out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.action === 'start');
      assert.equal(start.service, 'box');
      assert.equal(start.type, 'container');
      assert.equal(start.attributes.name, 'tools-box-1');
    } finally {
      ev.child.kill('SIGINT');
      await ev.exited;
    }

    const top = await c(['top', 'box']);
    assert.match(top.stdout, /^tools-box-1\nUID +PID +PPID +C +STIME +TTY +TIME +CMD\nroot +\d+ +\d+ .* sleep 3600\n/, top.stdout);

    fs.writeFileSync(path.join(tdir, 'in.txt'), 'copied');
    assert.equal((await c(['cp', path.join(tdir, 'in.txt'), 'box:/tmp/x.txt'])).code, 0);
    const back = await c(['cp', 'box:/tmp/x.txt', path.join(tdir, 'out.txt')]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(fs.readFileSync(path.join(tdir, 'out.txt'), 'utf8'), 'copied');
    const missing = await c(['cp', 'nobox:/x', tdir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no container found for service "nobox"/);

    const images = await c(['images']);
    assert.match(images.stdout, /^CONTAINER +REPOSITORY +TAG +IMAGE ID +SIZE\ntools-box-1 +busybox +latest +[0-9a-f]{12} +\S+/, images.stdout);
    const ij = JSON.parse((await c(['images', '--format', 'json'])).stdout);
    assert.deepEqual(ij.map((x: { ContainerName: string; Repository: string }) => [x.ContainerName, x.Repository]), [['tools-box-1', 'busybox']]);

    assert.equal((await c(['up', '-d', 'job'])).code, 0);
    const w = await c(['wait', 'job']);
    assert.equal(w.stdout, '5\n');
    assert.equal(w.code, 5);

    if (reg) {
      assert.equal((await d.docker(['tag', 'busybox:latest', `${reg}/tools/box:1`])).code, 0);
      const push = await d.docker(['compose', '-f', file, '--profile', 'push', 'push', 'pushed'], { timeoutMs: 120_000 });
      assert.equal(push.code, 0, push.stderr);
      const tags = await fetch(`http://${reg}/v2/tools/box/tags/list`).then((r) => r.json());
      assert.deepEqual(tags.tags, ['1']);
    }
    assert.equal((await c(['down'])).code, 0);
  } finally {
    await regs?.stopAll();
  }
});
