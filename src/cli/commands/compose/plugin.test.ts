import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { resolveDockerHost } from './plugin.js';

test('the daemon the docker CLI would use: -H, DOCKER_HOST, a context, the default socket', () => {
  const cfg = fs.mkdtempSync(path.join(os.tmpdir(), 'plugin-cfg-'));
  assert.equal(resolveDockerHost({ host: ['unix:///a.sock', 'unix:///b.sock'] }, { DOCKER_HOST: 'unix:///env.sock' }), 'unix:///b.sock');
  assert.equal(resolveDockerHost({ config: cfg }, { DOCKER_HOST: 'unix:///env.sock' }), 'unix:///env.sock');
  assert.equal(resolveDockerHost({ config: cfg, context: 'default' }, { DOCKER_HOST: 'unix:///env.sock' }), 'unix:///env.sock');
  assert.equal(resolveDockerHost({ config: cfg }, {}), 'unix:///var/run/docker.sock');
  const id = crypto.createHash('sha256').update('berth').digest('hex');
  fs.mkdirSync(path.join(cfg, 'contexts', 'meta', id), { recursive: true });
  fs.writeFileSync(path.join(cfg, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: 'berth', Endpoints: { docker: { Host: 'unix:///run/berth/berth.sock' } } }));
  fs.writeFileSync(path.join(cfg, 'config.json'), JSON.stringify({ currentContext: 'berth' }));
  assert.equal(resolveDockerHost({ config: cfg }, {}), 'unix:///run/berth/berth.sock');
  assert.equal(resolveDockerHost({ config: cfg, context: 'berth' }, { DOCKER_HOST: 'unix:///env.sock' }), 'unix:///run/berth/berth.sock');
  assert.throws(() => resolveDockerHost({ config: cfg, context: 'nope' }, {}), /context "nope" does not exist/);
  fs.rmSync(cfg, { recursive: true });
});
