import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import { DashboardAuth, loadOrCreateToken, parseCookies } from './auth.js';
import { changesState, isDashboardEngineCall } from './engine-allowlist.js';
import { splitHostPort } from './controller.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

test('the token file: created 0600 in a 0700 directory, kept across loads, replaced when malformed', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-dash-auth-'));
  try {
    const t = loadOrCreateToken(root);
    assert.match(t, /^[0-9a-f]{64}$/);
    assert.equal(fs.statSync(path.join(root, 'dashboard/token')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(root, 'dashboard')).mode & 0o777, 0o700);
    assert.equal(loadOrCreateToken(root), t);
    fs.writeFileSync(path.join(root, 'dashboard/token'), 'short\n');
    assert.notEqual(loadOrCreateToken(root), t);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('authentication: the session cookie or a bearer token; nothing else', () => {
  const token = 'a'.repeat(64);
  const auth = new DashboardAuth(token, 'http://127.0.0.1:8080', new Set(['127.0.0.1:8080']), false);
  const cookie = auth.sessionCookie().split(';')[0];
  assert.match(auth.sessionCookie(), /HttpOnly; SameSite=Strict$/);
  assert.equal(auth.authenticate(req({ cookie })), 'cookie');
  assert.equal(auth.authenticate(req({ cookie: `${auth.cookieName}=${token}` })), 'none'); // the token is not the cookie
  assert.equal(auth.authenticate(req({ authorization: `Bearer ${token}` })), 'token');
  assert.equal(auth.authenticate(req({ authorization: `Bearer ${'b'.repeat(64)}` })), 'none');
  assert.equal(auth.authenticate(req({})), 'none');
  assert.ok(new DashboardAuth(token, 'https://127.0.0.1:8443', new Set(), true).sessionCookie().includes('; Secure'));
  assert.deepEqual(parseCookies('a=1; b = 2;c'), { a: '1', b: '2' });
});

test('state changes need our Origin, same-origin fetch metadata and the CSRF token; Host must be ours', () => {
  const auth = new DashboardAuth('c'.repeat(64), 'http://127.0.0.1:8080', new Set(['127.0.0.1:8080', 'localhost:8080']), false);
  const ok = { origin: 'http://127.0.0.1:8080', 'x-berth-csrf': auth.csrf };
  assert.equal(auth.checkStateChange(req(ok)), undefined);
  assert.equal(auth.checkStateChange(req({ ...ok, 'sec-fetch-site': 'same-origin' })), undefined);
  assert.match(auth.checkStateChange(req({ ...ok, origin: 'http://127.0.0.1:9090' }))!, /cross-origin/);
  assert.match(auth.checkStateChange(req({ 'x-berth-csrf': auth.csrf }))!, /Origin: none/);
  assert.match(auth.checkStateChange(req({ ...ok, 'sec-fetch-site': 'same-site' }))!, /cross-site/);
  assert.match(auth.checkStateChange(req({ origin: ok.origin }))!, /CSRF/);
  assert.equal(auth.checkStateChange(req({ origin: ok.origin }), auth.csrf), undefined); // WebSocket: from the query
  assert.ok(auth.knownHost(req({ host: 'LOCALHOST:8080' })));
  assert.ok(!auth.knownHost(req({ host: 'evil.example:8080' })));
});

test('the Engine API allowlist: the views and the actions, nothing else', () => {
  for (const [m, p] of [
    ['GET', '/containers/json'], ['GET', '/v1.47/containers/abc/logs'], ['GET', '/containers/abc/stats'], ['GET', '/events'],
    ['POST', '/containers/abc/stop'], ['POST', '/containers/abc/unpause'], ['DELETE', '/containers/abc'], ['POST', '/images/create'],
    ['POST', '/volumes/prune'], ['DELETE', '/images/sha256:x'], ['HEAD', '/_ping'],
  ]) assert.ok(isDashboardEngineCall(m, p), `${m} ${p}`);
  for (const [m, p] of [
    ['POST', '/containers/create'], ['POST', '/containers/abc/exec'], ['POST', '/exec/x/start'], ['POST', '/build'],
    ['PUT', '/containers/abc/archive'], ['GET', '/containers/abc/export'], ['POST', '/containers/abc/stop/x'], ['GET', '/containers/a/b/json'],
    ['POST', '/berth/dashboard'], ['GET', '/containers/abc/stop'],
  ]) assert.ok(!isDashboardEngineCall(m, p), `${m} ${p}`);
  assert.ok(changesState('POST') && changesState('DELETE') && !changesState('GET') && !changesState('HEAD'));
});

test('dashboard addresses', () => {
  assert.deepEqual(splitHostPort('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(splitHostPort('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(splitHostPort(':9000'), { host: '127.0.0.1', port: 9000 });
  assert.throws(() => splitHostPort('8080'), /invalid dashboard address/);
  assert.throws(() => splitHostPort('a:99999'), /port out of range/);
});
