import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadProject } from './load.js';

function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-model-'));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

test('default file + override, .env interpolation, anchors and merge keys, directory project name', () => {
  const dir = project({
    'My App/compose.yaml': `
x-common: &common
  restart: always
  labels: { tier: "\${TIER:-back}" }
services:
  web:
    <<: *common
    image: "busybox:\${TAG}"
    ports: ["8080:80"]
    command: ["echo", "base"]
    environment: [A=1]
    volumes: ["data:/data"]
volumes:
  data: {}
`,
    'My App/compose.override.yaml': `
services:
  web:
    ports: ["127.0.0.1:9090:80"]
    command: echo override
    environment: { B: "2" }
    volumes: ["./src:/data"]
`,
    'My App/.env': 'TAG=1.36\nTIER=front\n',
  });
  const p = loadProject({ cwd: path.join(dir, 'My App'), env: {} });
  assert.equal(p.name, 'myapp');
  assert.equal(p.configFiles.length, 2);
  const web = p.services.web;
  assert.equal(web.image, 'busybox:1.36');
  assert.equal(web.restart, 'always');
  assert.deepEqual(web.labels, { tier: 'front' });
  assert.deepEqual(web.command, ['echo', 'override']);
  assert.deepEqual(web.environment, { A: '1', B: '2' });
  assert.equal(web.ports!.length, 2);
  // volumes are unique by target: the override's bind replaces the named volume
  assert.deepEqual(web.volumes, [{ type: 'bind', source: path.join(dir, 'My App/src'), target: '/data', bind: { create_host_path: true } }]);
  assert.deepEqual(p.networks.default, { name: 'myapp_default' });
  assert.equal(p.volumes.data.name, 'myapp_data');
  fs.rmSync(dir, { recursive: true });
});

test('project name precedence: -p, COMPOSE_PROJECT_NAME, name:, and the rule', () => {
  const dir = project({ 'compose.yaml': 'name: fromfile\nservices: { a: { image: busybox } }\n' });
  assert.equal(loadProject({ cwd: dir, env: {} }).name, 'fromfile');
  assert.equal(loadProject({ cwd: dir, env: { COMPOSE_PROJECT_NAME: 'fromenv' } }).name, 'fromenv');
  assert.equal(loadProject({ cwd: dir, env: { COMPOSE_PROJECT_NAME: 'fromenv' }, projectName: 'flag' }).name, 'flag');
  assert.throws(() => loadProject({ cwd: dir, env: {}, projectName: 'Bad!' }), /invalid project name "Bad!": must consist only of lowercase/);
  // --project-directory is where the default file is looked for
  assert.equal(loadProject({ cwd: '/', projectDirectory: dir, env: {} }).name, 'fromfile');
  fs.rmSync(dir, { recursive: true });
});

test('several -f files, --env-file, env_file and ${VAR:?}', () => {
  const dir = project({
    'a.yml': 'services:\n  s:\n    image: busybox\n    env_file: [vars.env]\n    environment: { FROM_ENV: "${X:?X is needed}" }\n    dns: [1.1.1.1]\n',
    'b.yml': 'services:\n  s:\n    dns: [8.8.8.8]\n    environment: { OVER: "yes" }\n',
    'vars.env': 'IN_FILE=1\nOVER=no\n',
    'custom.env': 'X=from-custom\n',
  });
  const p = loadProject({ cwd: dir, files: ['a.yml', 'b.yml'], envFiles: ['custom.env'], env: {} });
  assert.deepEqual(p.services.s.dns, ['1.1.1.1', '8.8.8.8']);
  assert.deepEqual(p.services.s.environment, { IN_FILE: '1', OVER: 'yes', FROM_ENV: 'from-custom' });
  assert.throws(() => loadProject({ cwd: dir, files: ['a.yml'], env: {} }), (e: Error) => /a\.yml: services\.s\.environment\.FROM_ENV: required variable X is missing a value: X is needed/.test(e.message));
  fs.rmSync(dir, { recursive: true });
});

test('extends (same file and another file), include, profiles', () => {
  const dir = project({
    'compose.yaml': `
include:
  - sub/compose.yaml
services:
  base: { image: busybox, environment: { A: "1" } }
  web:
    extends: base
    environment: { B: "2" }
  other:
    extends: { file: common.yml, service: tmpl }
  debug: { image: busybox, profiles: [debug] }
`,
    'common.yml': 'services:\n  tmpl:\n    image: busybox\n    volumes: ["./c:/c"]\n',
    'sub/compose.yaml': 'services:\n  inc:\n    image: busybox:${SUBTAG}\n    volumes: ["./here:/h"]\n',
    'sub/.env': 'SUBTAG=sub\n',
  });
  const p = loadProject({ cwd: dir, env: {} });
  assert.deepEqual(Object.keys(p.services).sort(), ['base', 'inc', 'other', 'web']);
  assert.deepEqual(p.services.web.environment, { A: '1', B: '2' });
  assert.equal(p.services.other.volumes![0].source, path.join(dir, 'c'));
  assert.equal(p.services.inc.image, 'busybox:sub');
  assert.equal(p.services.inc.volumes![0].source, path.join(dir, 'sub/here'));
  assert.ok(p.disabled.debug);
  const withDebug = loadProject({ cwd: dir, env: {}, profiles: ['debug'] });
  assert.ok(withDebug.services.debug);
  assert.ok(loadProject({ cwd: dir, env: { COMPOSE_PROFILES: 'debug' } }).services.debug);
  assert.ok(loadProject({ cwd: dir, env: {}, services: ['debug'] }).services.debug);
  fs.rmSync(dir, { recursive: true });
});

test('bad files: errors name the file and the field', () => {
  const dir = project({
    'unknown.yml': 'services:\n  web:\n    image: busybox\n    imagee: typo\n',
    'type.yml': 'services:\n  web:\n    image: busybox\n    ports: { a: 1 }\n',
    'syntax.yml': 'services:\n  web:\n    image: [busybox\n',
    'dep.yml': 'services:\n  web:\n    image: busybox\n    depends_on: [db]\n',
    'vol.yml': 'services:\n  web:\n    image: busybox\n    volumes: ["nope:/x"]\n',
    'cycle.yml': 'services:\n  a: { image: busybox, depends_on: [b] }\n  b: { image: busybox, depends_on: [a] }\n',
    'noimage.yml': 'services:\n  a: { command: "true" }\n',
  });
  const err = (f: string) => {
    try {
      loadProject({ cwd: dir, files: [f], env: {} });
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  assert.equal(err('unknown.yml'), `validating ${path.join(dir, 'unknown.yml')}: services.web additional properties 'imagee' not allowed`);
  assert.equal(err('type.yml'), `validating ${path.join(dir, 'type.yml')}: services.web.ports must be a array`);
  assert.match(err('syntax.yml'), new RegExp(`^${path.join(dir, 'syntax.yml')}: yaml: line \\d+: `));
  assert.equal(err('dep.yml'), 'service "web" depends on undefined service "db": invalid compose project');
  assert.equal(err('vol.yml'), 'service "web" refers to undefined volume nope: invalid compose project');
  assert.match(err('cycle.yml'), /dependency cycle detected: a -> b -> a/);
  assert.match(err('noimage.yml'), /service "a" has neither an image nor a build context specified/);
  assert.equal(err('missing.yml'), `open ${path.join(dir, 'missing.yml')}: no such file or directory`);
  fs.rmSync(dir, { recursive: true });
});

test('!reset and !override: a later file (or an extending service, or a merge key) clears or replaces a value whole', () => {
  const dir = project({
    'compose.yaml': `
x-base: &base
  image: busybox
  ports: ["80:80"]
  environment: { KEEP: "1", DROP: "2" }
services:
  web:
    <<: *base
    ports: !reset []
  api:
    image: busybox
    ports: ["81:81", "82:82"]
    environment: { A: "1" }
    dns: [1.1.1.1]
    labels: { a: "1" }
  child:
    extends: api
    dns: !reset []
    labels: !override { b: "2" }
`,
    'compose.override.yaml': `
services:
  api:
    ports: !override ["8443:443"]
    environment:
      A: !reset
      B: "\${B_VALUE:-b}"
    dns: !reset null
`,
  });
  const p = loadProject({ cwd: dir, env: {} });
  assert.equal(p.services.web.ports, undefined, 'a merge key does not bring back what !reset cleared');
  assert.deepEqual(p.services.web.environment, { KEEP: '1', DROP: '2' });
  assert.deepEqual(p.services.api.ports?.map((x) => `${x.published}:${x.target}`), ['8443:443']);
  assert.deepEqual(p.services.api.environment, { B: 'b' });
  assert.equal(p.services.api.dns, undefined);
  assert.equal(p.services.child.dns, undefined);
  assert.deepEqual(p.services.child.labels, { b: '2' });
  assert.deepEqual(p.services.child.ports?.length, 2);
});
