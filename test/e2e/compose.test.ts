/**
 * docker-compose 1.29 (a real Engine API client, docker-py underneath) runs a two-service app against berthd:
 * network with service-name resolution, a shared named volume, a published port, a healthcheck, exec, logs, down -v.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, run, sleep, startDaemon } from '../harness.js';

const COMPOSE = '/usr/bin/docker-compose';
let d: Awaited<ReturnType<typeof startDaemon>>;
let dir: string;
const PORT = 18000 + Math.floor(Math.random() * 900);

const compose = (args: string[]) =>
  run(COMPOSE, ['--project-name', 'berthapp', '--project-directory', dir, '-f', path.join(dir, 'docker-compose.yml'), ...args], {
    env: { DOCKER_HOST: d.host },
    timeoutMs: 120_000,
  });

before(async () => {
  if (!fs.existsSync(COMPOSE)) return;
  d = await startDaemon();
  await importBusybox(d, 'busybox:latest');
  dir = path.join(d.root, 'app');
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'docker-compose.yml'),
    `version: "3.8"
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    volumes: ["www:/www"]
    ports: ["127.0.0.1:${PORT}:80"]
    healthcheck: { test: ["CMD", "true"], interval: 1s }
  client:
    image: busybox
    command: ["sh", "-c", "echo hello-compose > /www/index.html; while true; do sleep 1; done"]
    volumes: ["www:/www"]
    depends_on: [web]
    environment: { FOO: bar }
volumes:
  www: {}
`,
  );
});

after(async () => {
  await d?.teardown();
});

test('docker-compose up, ps, exec, logs, down -v', { skip: fs.existsSync(COMPOSE) ? false : 'docker-compose not installed' }, async () => {
  const up = await compose(['up', '-d']);
  assert.equal(up.code, 0, up.stderr);
  const ps = await compose(['ps']);
  assert.match(ps.stdout, /berthapp_web_1\s+httpd -f -p 80 -h \/www\s+Up/);
  assert.match(ps.stdout, new RegExp(`127\\.0\\.0\\.1:${PORT}->80/tcp`));
  let body = '';
  for (let i = 0; i < 50 && !body.includes('hello-compose'); i++) {
    body = (await run('curl', ['-s', '-m', '2', `http://127.0.0.1:${PORT}/`])).stdout;
    if (!body.includes('hello-compose')) await sleep(100);
  }
  assert.equal(body, 'hello-compose\n');
  const ex = await compose(['exec', '-T', 'client', 'sh', '-c', 'echo $FOO; nc -w 2 web 80 </dev/null >/dev/null && echo reached-web']);
  assert.equal(ex.stdout, 'bar\nreached-web\n', ex.stderr);
  const logs = await compose(['logs', '--no-color', 'web']);
  assert.equal(logs.code, 0, logs.stderr);
  const down = await compose(['down', '-v']);
  assert.equal(down.code, 0, down.stderr);
  assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');
  assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout.trim(), '');
  assert.deepEqual((await d.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout.trim().split('\n'), ['bridge', 'host', 'none']);
});
