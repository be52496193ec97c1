/**
 * `docker compose` (the real docker 28 CLI running berth's CLI plugin) and `berth compose` against a berthd:
 * a web + db + cache app where web waits for db to be healthy and for a one-shot migration to complete, a build
 * with args, scaling behind one alias, profiles, a named volume across down / down -v, reconciliation (up twice
 * recreates nothing, one edited service is the only one recreated), normalised config, clear errors for bad files,
 * and docker-compose 1.29 seeing the same containers through the labels.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { spawn } from 'node:child_process';
import { berthBin, dockerBin, importBusybox, repoRoot, run, sleep, startDaemon } from '../harness.js';
import { haveRegistry, TestRegistries } from '../registry.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let dir: string;
const P = 'shop';
const COMPOSE_V1 = '/usr/bin/docker-compose';

const app = (cacheCmd = 'sleep 3600') => `
name: ${P}
services:
  db:
    image: busybox
    command: ["sh", "-c", "test -f /data/seed || date > /data/seed; touch /tmp/ready; exec sleep 3600"]
    volumes: ["dbdata:/data"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 500ms
      retries: 20
  migrate:
    image: busybox
    command: ["sh", "-c", "echo migrating; cat /data/seed; echo migrated"]
    volumes: ["dbdata:/data:ro"]
    depends_on:
      db: { condition: service_healthy }
  cache:
    image: busybox
    command: ${JSON.stringify(cacheCmd)}
    stop_signal: SIGKILL
  web:
    build:
      context: ./web
      args: { GREETING: "\${GREETING:-hello} from build" }
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    stop_signal: SIGKILL
    ports: ["127.0.0.1::80"]
    depends_on:
      db: { condition: service_healthy }
      migrate: { condition: service_completed_successfully }
      cache: { condition: service_started }
  debug:
    image: busybox
    profiles: [debug]
    command: ["sleep", "3600"]
    stop_signal: SIGKILL
volumes:
  dbdata: {}
`;

const docker = (args: string[]) => d.docker(['compose', ...args], { timeoutMs: 120_000, env: { GREETING: 'hi' } });
const berth = (args: string[]) => d.berth(['compose', '--project-directory', dir, ...args], { timeoutMs: 120_000, env: { GREETING: 'hi' } });

async function ids(): Promise<Record<string, string>> {
  const r = await d.docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${P}`, '--format', '{{.Names}} {{.ID}}']);
  return Object.fromEntries(r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ')));
}

before(async () => {
  d = await startDaemon();
  await importBusybox(d, 'busybox:latest');
  // The docker CLI finds the plugin in $DOCKER_CONFIG/cli-plugins (the harness points DOCKER_CONFIG at its root).
  const plugins = path.join(d.root, 'docker-config', 'cli-plugins');
  fs.mkdirSync(plugins, { recursive: true });
  fs.symlinkSync(path.join(repoRoot, 'bin', 'docker-compose'), path.join(plugins, 'docker-compose'));
  dir = path.join(d.root, 'app');
  fs.mkdirSync(path.join(dir, 'web'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'compose.yaml'), app());
  fs.writeFileSync(path.join(dir, 'web', 'Dockerfile'), 'FROM busybox\nARG GREETING=none\nRUN mkdir /www && echo "$GREETING" > /www/index.html\n');
  process.chdir(dir);
});

after(async () => {
  process.chdir(repoRoot);
  await d?.teardown();
});

test('docker compose is the plugin: metadata, version, help', async () => {
  const meta = await run(path.join(repoRoot, 'bin', 'docker-compose'), ['docker-cli-plugin-metadata']);
  const { PLUGIN_METADATA } = await import('../../src/cli/commands/compose/plugin.js');
  assert.deepEqual(JSON.parse(meta.stdout), PLUGIN_METADATA);
  const v = await docker(['version']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^Docker Compose version v2\.\d+\.\d+/);
  const help = await d.docker(['--help']);
  assert.match(help.stdout, /compose\*?\s+Docker Compose/);
});

test('up -d: build with args, web waits for a healthy db and a completed migration; 1.29 sees the containers', async () => {
  const up = await docker(['up', '-d']);
  assert.equal(up.code, 0, up.stderr);
  const lines = up.stderr.split('\n');
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  assert.ok(at(/Container shop-db-1 {2}Healthy/) >= 0, up.stderr);
  assert.ok(at(/Container shop-migrate-1 {2}Exited/) > at(/Container shop-db-1 {2}Healthy/), up.stderr);
  assert.ok(at(/Container shop-web-1 {2}Creating/) > at(/Container shop-migrate-1 {2}Exited/), up.stderr);
  assert.ok(!/debug/.test(up.stderr), 'a service in a profile that is not enabled stays down');

  const ps = await docker(['ps', '--format', '{{.Service}} {{.State}}']);
  assert.deepEqual(ps.stdout.trim().split('\n').sort(), ['cache running', 'db running', 'web running']);
  const psa = await docker(['ps', '-a', '--format', 'json']);
  const migrate = psa.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((x) => x.Service === 'migrate');
  assert.equal(migrate.ExitCode, 0);
  assert.equal(migrate.Project, P);

  const port = await docker(['port', 'web', '80']);
  assert.match(port.stdout, /^127\.0\.0\.1:\d+\n$/);
  const body = await run('curl', ['-s', '-m', '5', `http://${port.stdout.trim()}/`]);
  assert.equal(body.stdout, 'hi from build\n');

  const logs = await docker(['logs', '--no-color', 'migrate']);
  assert.match(logs.stdout, /^migrate-1 {2}\| migrating\nmigrate-1 {2}\| .+\nmigrate-1 {2}\| migrated\n$/);

  const ex = await docker(['exec', '-T', 'cache', 'sh', '-c', 'wget -qO- http://web/ && exit 3']);
  assert.equal(ex.code, 3);
  assert.equal(ex.stdout, 'hi from build\n');

  const ls = await docker(['ls', '--format', 'json']);
  assert.deepEqual(JSON.parse(ls.stdout).map((p: { Name: string; Status: string }) => [p.Name, p.Status]), [[P, 'exited(1), running(3)']]);

  if (fs.existsSync(COMPOSE_V1)) {
    fs.writeFileSync(path.join(dir, 'v1.yml'), 'version: "2.4"\nservices:\n  db: { image: busybox }\n  cache: { image: busybox }\n  web: { image: busybox }\n  migrate: { image: busybox }\n');
    const v1 = await run(COMPOSE_V1, ['-p', P, '-f', path.join(dir, 'v1.yml'), 'ps'], { env: { DOCKER_HOST: d.host } });
    assert.equal(v1.code, 0, v1.stderr);
    for (const n of ['shop-db-1', 'shop-cache-1', 'shop-web-1', 'shop-migrate-1']) assert.match(v1.stdout, new RegExp(`^${n}\\s`, 'm'));
  }
});

test('up again recreates nothing; editing one service recreates only it', async () => {
  const before = await ids();
  const again = await berth(['up', '-d']);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /Recreate|Creating/);
  assert.match(again.stderr, /Container shop-web-1 {2}Running/);
  assert.deepEqual(await ids(), before);

  fs.writeFileSync(path.join(dir, 'compose.yaml'), app('sleep 3601'));
  const edited = await docker(['up', '-d']);
  assert.equal(edited.code, 0, edited.stderr);
  assert.deepEqual(edited.stderr.match(/^ Container \S+ {2}Recreate$/gm), [' Container shop-cache-1  Recreate']);
  const afterIds = await ids();
  assert.notEqual(afterIds['shop-cache-1'], before['shop-cache-1']);
  for (const n of ['shop-db-1', 'shop-web-1', 'shop-migrate-1']) assert.equal(afterIds[n], before[n], n);
});

test('--scale web=3: three replicas behind the one alias "web"', async () => {
  const up = await docker(['up', '-d', '--scale', 'web=3', '--no-deps', 'web']);
  assert.equal(up.code, 0, up.stderr);
  const ps = await docker(['ps', '--format', '{{.Name}}', 'web']);
  assert.deepEqual(ps.stdout.trim().split('\n'), ['shop-web-1', 'shop-web-2', 'shop-web-3']);
  for (const n of ['shop-web-1', 'shop-web-2', 'shop-web-3']) {
    const i = await d.docker(['inspect', '--format', '{{json .NetworkSettings.Networks}}', n]);
    assert.ok(JSON.parse(i.stdout)[`${P}_default`].Aliases.includes('web'), i.stdout);
  }
  const ex = await docker(['exec', '-T', 'cache', 'wget', '-qO-', 'http://web/']);
  assert.equal(ex.stdout, 'hi from build\n', ex.stderr);
  const down = await docker(['up', '-d', '--scale', 'web=1', '--no-deps', 'web']);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual((await docker(['ps', '--format', '{{.Name}}', 'web'])).stdout.trim().split('\n'), ['shop-web-1']);
});

test('profiles: config and up enable a profile only when asked', async () => {
  assert.deepEqual((await docker(['config', '--services'])).stdout.trim().split('\n'), ['cache', 'db', 'migrate', 'web']);
  assert.match((await docker(['--profile', 'debug', 'config', '--services'])).stdout, /^debug$/m);
  const up = await docker(['--profile', 'debug', 'up', '-d', 'debug']);
  assert.equal(up.code, 0, up.stderr);
  assert.match((await docker(['ps', '--services'])).stdout, /^debug$/m);
  const stop = await berth(['--profile', 'debug', 'rm', '-s', '-f', 'debug']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.doesNotMatch((await docker(['ps', '-a', '--services'])).stdout, /debug/);
});

test('run --rm: a one-off container with its exit code, not listed by ps', async () => {
  const r = await docker(['run', '--rm', '-T', 'cache', 'sh', '-c', 'echo one-off; exit 7']);
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stdout, 'one-off\n');
  const left = await d.docker(['ps', '-a', '--filter', 'label=com.docker.compose.oneoff=True', '-q']);
  assert.equal(left.stdout.trim(), '');
});

test('config prints the normalised model', async () => {
  const c = await docker(['config']);
  assert.equal(c.code, 0, c.stderr);
  const m = YAML.parse(c.stdout);
  assert.equal(m.name, P);
  assert.deepEqual(m.services.web.ports, [{ mode: 'ingress', target: 80, protocol: 'tcp', host_ip: '127.0.0.1' }]);
  assert.deepEqual(m.services.web.build, { context: path.join(dir, 'web'), args: { GREETING: 'hi from build' } });
  assert.deepEqual(m.services.migrate.volumes, [{ type: 'volume', source: 'dbdata', target: '/data', read_only: true, volume: {} }]);
  assert.deepEqual(m.services.web.depends_on.db, { condition: 'service_healthy', restart: false, required: true });
  assert.deepEqual(m.services.db.networks, { default: null });
  assert.deepEqual(m.networks, { default: { name: `${P}_default` } });
  assert.deepEqual(m.volumes, { dbdata: { name: `${P}_dbdata` } });
  const j = await berth(['config', '--format', 'json']);
  assert.deepEqual(JSON.parse(j.stdout), m);
});

test('bad files give errors naming the file and the field', async () => {
  const bad = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return docker(['-f', path.join(dir, name), 'config']);
  };
  let r = await bad('unknown.yml', 'services:\n  web:\n    image: busybox\n    imagee: typo\n');
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `validating ${path.join(dir, 'unknown.yml')}: services.web additional properties 'imagee' not allowed`);
  r = await bad('syntax.yml', 'services:\n  web:\n  image: [busybox\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${path.join(dir, 'syntax.yml')}: yaml: line \\d+: `));
  r = await bad('dep.yml', 'services:\n  web:\n    image: busybox\n    depends_on: [nope]\n');
  assert.equal(r.stderr.trim(), 'service "web" depends on undefined service "nope": invalid compose project');
  r = await bad('var.yml', 'services:\n  web:\n    image: "busybox:${TAG:?TAG must be set}"\n');
  assert.equal(r.stderr.trim(), `${path.join(dir, 'var.yml')}: services.web.image: required variable TAG is missing a value: TAG must be set`);
  r = await docker(['-f', path.join(dir, 'missing.yml'), 'ps']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no such file or directory/);
  // The daemon is untouched by all of that.
  assert.equal((await d.docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${P}`])).stdout.trim().split('\n').length, 3);
});

test('a named volume survives down and is removed by down -v', async () => {
  const seed = (await docker(['exec', '-T', 'db', 'cat', '/data/seed'])).stdout;
  assert.ok(seed.trim());
  const down = await docker(['down']);
  assert.equal(down.code, 0, down.stderr);
  assert.equal((await ids())['shop-db-1'], undefined);
  assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout.trim(), `${P}_dbdata`);
  assert.equal((await d.docker(['network', 'ls', '-q', '--filter', `name=${P}_default`])).stdout.trim(), '');
  const up = await berth(['up', '-d', 'db']);
  assert.equal(up.code, 0, up.stderr);
  assert.equal((await docker(['exec', '-T', 'db', 'cat', '/data/seed'])).stdout, seed);
  const downV = await berth(['down', '-v']);
  assert.equal(downV.code, 0, downV.stderr);
  assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout.trim(), '');
  assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');
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
