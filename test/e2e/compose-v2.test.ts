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
import { importBusybox, repoRoot, run, startDaemon } from '../harness.js';

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

