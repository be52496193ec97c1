/**
 * Credential helpers end to end: `credsStore` and `credHelpers` in config.json drive a `docker-credential-<name>`
 * program the test provides (Docker's protocol: get/store/erase over stdin/stdout, identity tokens under the
 * username `<token>`), for `berth login`, `push`, `pull` and `logout` against a real Distribution registry — with
 * htpasswd (a password kept by the helper) and with token auth (an identity token kept by the helper). The secrets
 * never reach config.json.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, startDaemon } from '../harness.js';
import { bcryptLine, haveRegistry, TestRegistries } from '../registry.js';
import { TokenServer } from '../token-server.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let work: string;
let bin: string;
let store: string;
let registries: TestRegistries;
let tokens: TokenServer;
let basicReg: string | undefined;
let tokenReg: string;

const skip = !haveRegistry ? 'docker-registry (Debian package) is not installed' : !fs.existsSync('/usr/bin/openssl') ? 'openssl is not installed' : false;

/** The helper: a node script keeping credentials in $BERTH_TEST_CRED_FILE and logging its calls beside it. */
const HELPER = `#!${process.execPath}
const fs = require('fs');
const file = process.env.BERTH_TEST_CRED_FILE;
const action = process.argv[2];
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const all = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  fs.appendFileSync(file + '.log', action + ' ' + (action === 'store' ? JSON.parse(input).ServerURL : input.trim()) + '\\n');
  if (action === 'store') { const c = JSON.parse(input); all[c.ServerURL] = c; fs.writeFileSync(file, JSON.stringify(all)); return; }
  if (action === 'get') {
    const c = all[input.trim()];
    if (!c) { process.stdout.write('credentials not found in native keychain'); process.exit(1); }
    process.stdout.write(JSON.stringify(c)); return;
  }
  if (action === 'erase') { delete all[input.trim()]; fs.writeFileSync(file, JSON.stringify(all)); return; }
  if (action === 'list') { process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.Username])))); return; }
  process.exit(2);
});
`;

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-credhelper-'));
  bin = path.join(work, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'docker-credential-berthtest'), HELPER, { mode: 0o755 });
  store = path.join(work, 'creds.json');
  registries = new TestRegistries(work);
  const line = bcryptLine('berth', 's3cret');
  if (line) basicReg = await registries.start('basic', line);
  tokens = new TokenServer(path.join(work, 'tokens'), { alice: 'alicepw' });
  await tokens.start();
  tokenReg = await registries.start('token', undefined, { auth: tokens.registryAuthConfig() });
  d = await startDaemon();
  await importBusybox(d, 'busybox:cred');
});

after(async () => {
  await d?.teardown();
  await registries?.stopAll();
  await tokens?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function configDir(name: string, config: object): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

function berth(dir: string, args: string[], input?: string) {
  return d.berth(args, { input, env: { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}`, BERTH_TEST_CRED_FILE: store }, timeoutMs: 60_000 });
}

async function ok(dir: string, args: string[], input?: string) {
  const r = await berth(dir, args, input);
  assert.equal(r.code, 0, `berth ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}\n--- berthd log ---\n${d.log().slice(-2000)}`);
  return r;
}

const creds = () => JSON.parse(fs.readFileSync(store, 'utf8')) as Record<string, { Username: string; Secret: string }>;
const calls = () => fs.readFileSync(`${store}.log`, 'utf8').trim().split('\n');

test('credsStore: berth login stores the password in the helper; push and pull get it back; logout erases it', { skip }, async (t) => {
  if (!basicReg) return t.skip('no bcrypt (python3 crypt) to write an htpasswd file');
  const dir = configDir('store', { credsStore: 'berthtest' });
  const login = await ok(dir, ['login', basicReg, '-u', 'berth', '--password-stdin'], 's3cret\n');
  assert.match(login.stdout, /Login Succeeded/);
  assert.doesNotMatch(login.stderr, /stored unencrypted/);
  assert.deepEqual(creds()[basicReg], { ServerURL: basicReg, Username: 'berth', Secret: 's3cret' });
  const file = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
  assert.doesNotMatch(file, /s3cret|YmVydGg6czNjcmV0/, 'no secret in config.json');
  assert.equal(JSON.parse(file).credsStore, 'berthtest');
  await ok(dir, ['tag', 'busybox:cred', `${basicReg}/private/bb:1`]);
  const before = calls().length;
  await ok(dir, ['push', `${basicReg}/private/bb:1`]);
  await ok(dir, ['rmi', `${basicReg}/private/bb:1`]);
  await ok(dir, ['pull', `${basicReg}/private/bb:1`]);
  assert.ok(calls().slice(before).filter((c) => c === `get ${basicReg}`).length >= 2, calls().join('\n'));
  await ok(dir, ['logout', basicReg]);
  assert.ok(calls().includes(`erase ${basicReg}`));
  assert.equal(creds()[basicReg], undefined);
  const anon = await berth(dir, ['pull', `${basicReg}/private/bb:1`]);
  assert.notEqual(anon.code, 0);
  assert.match(anon.stderr, /pull access denied/);
});

test('credHelpers: the registry\'s own helper keeps an identity token (username <token>) from a token-auth login', { skip }, async () => {
  const dir = configDir('helpers', { credHelpers: { [tokenReg]: 'berthtest' } });
  await ok(dir, ['login', tokenReg, '-u', 'alice', '--password-stdin'], 'alicepw\n');
  const c = creds()[tokenReg]!;
  assert.equal(c.Username, '<token>');
  assert.match(c.Secret, /^[0-9a-f]{32}$/);
  const n = tokens.log.length;
  await ok(dir, ['tag', 'busybox:cred', `${tokenReg}/alice/cred:1`]);
  const pushed = await ok(dir, ['push', `${tokenReg}/alice/cred:1`]);
  assert.match(pushed.stdout, /1: digest: sha256:/);
  assert.ok(tokens.log.slice(n).some((g) => g.grant === 'refresh_token' && g.granted.includes('alice/cred:push')), 'the push used the identity token');
  await ok(dir, ['logout', tokenReg]);
  assert.equal(creds()[tokenReg], undefined);
});

test('a helper that is not installed: Docker\'s error, nothing stored', { skip }, async () => {
  const dir = configDir('missing', { credsStore: 'absent' });
  const r = await berth(dir, ['login', tokenReg, '-u', 'alice', '--password-stdin'], 'alicepw\n');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /exec: "docker-credential-absent": executable file not found in \$PATH/);
});
