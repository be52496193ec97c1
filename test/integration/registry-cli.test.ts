/**
 * berth's own registry commands against a real Distribution registry (Debian's docker-registry) on 127.0.0.1:
 * `berth tag/push/rmi/pull/run`, pull errors, and `berth login`/`logout` against an htpasswd-protected registry,
 * with credentials in a temp DOCKER_CONFIG.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, sleep, startDaemon } from '../harness.js';
import { bcryptLine, haveRegistry, TestRegistries } from '../registry.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let work: string;
let dockerConfig: string;
let registries: TestRegistries;
let open: string; // host:port of the open registry
let secured: string | undefined; // host:port of the htpasswd registry

before(async () => {
  if (!haveRegistry) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-registry-cli-it-'));
  registries = new TestRegistries(work);
  dockerConfig = path.join(work, 'docker-config');
  open = await registries.start('open');
  const line = bcryptLine('berth', 's3cret');
  if (line) secured = await registries.start('secured', line);
  d = await startDaemon();
  await importBusybox(d, 'busybox:reg');
});

after(async () => {
  await d?.teardown();
  await registries?.stopAll();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const skip = haveRegistry ? false : 'docker-registry (Debian package) is not installed';

/** Runs berth with DOCKER_CONFIG in the temp dir. */
function berth(args: string[], opts: { input?: string } = {}) {
  return d.berth(args, { ...opts, env: { DOCKER_CONFIG: dockerConfig }, timeoutMs: 30_000 });
}

async function ok(args: string[], opts: { input?: string } = {}) {
  const r = await berth(args, opts);
  assert.equal(r.code, 0, `berth ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}\n--- berthd log ---\n${d.log().slice(-3000)}`);
  return r;
}

let pushedDigest = '';

test('berth push: progress and the final digest line', { skip }, async () => {
  await ok(['tag', 'busybox:reg', `${open}/cli/bb:1`]);
  const r = await ok(['push', `${open}/cli/bb:1`]);
  assert.match(r.stdout, new RegExp(`The push refers to repository \\[${open}/cli/bb\\]`));
  assert.match(r.stdout, /: Pushed/);
  const m = /^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  pushedDigest = m[1]!;
  const res = await fetch(`http://${open}/v2/cli/bb/manifests/1`, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('docker-content-digest'), pushedDigest);
});

test('berth rmi, pull (non-TTY progress, full reference last), run; image pull; pull -q', { skip }, async () => {
  await ok(['rmi', `${open}/cli/bb:1`, 'busybox:reg']);
  const r = await ok(['pull', `${open}/cli/bb:1`]);
  assert.match(r.stdout, /^1: Pulling from cli\/bb$/m);
  assert.match(r.stdout, /^[0-9a-f]{12}: Pulling fs layer$/m);
  assert.match(r.stdout, /^[0-9a-f]{12}: Pull complete$/m);
  assert.match(r.stdout, new RegExp(`^Digest: ${pushedDigest}$`, 'm'));
  assert.match(r.stdout, new RegExp(`^Status: Downloaded newer image for ${open}/cli/bb:1$`, 'm'));
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[lines.length - 1], `${open}/cli/bb:1`);
  const run = await ok(['run', '--rm', `${open}/cli/bb:1`, 'echo', 'pulled-ok']);
  assert.equal(run.stdout.trim(), 'pulled-ok');
  const again = await ok(['image', 'pull', `${open}/cli/bb:1`]);
  assert.match(again.stdout, new RegExp(`Status: Image is up to date for ${open}/cli/bb:1`));
  const q = await ok(['pull', '-q', `${open}/cli/bb:1`]);
  assert.equal(q.stdout, `${open}/cli/bb:1\n`);
});

test('berth pull of a missing tag: daemon error, exit 1', { skip }, async () => {
  const r = await berth(['pull', `${open}/cli/bb:nope`]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /^Error response from daemon: .*(not found|unknown)/m);
  const bad = await berth(['pull', 'cli/Bad:1']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid reference format: repository name must be lowercase/);
});

test('berth login (htpasswd registry) → push works; logout → push fails', { skip }, async (t) => {
  if (!secured) return t.skip('no bcrypt (python3 crypt) to write an htpasswd file');
  const reg = secured;
  await ok(['tag', `${open}/cli/bb:1`, `${reg}/private/bb:1`]);
  const denied = await berth(['push', `${reg}/private/bb:1`]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /Error response from daemon: .*unauthorized/);

  const bad = await berth(['login', '-u', 'berth', '--password-stdin', reg], { input: 'wrong\n' });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error response from daemon: .*(401|unauthorized)/im);
  assert.ok(!fs.existsSync(path.join(dockerConfig, 'config.json')) || !JSON.parse(fs.readFileSync(path.join(dockerConfig, 'config.json'), 'utf8')).auths?.[reg]);

  const noTty = await berth(['login', reg], { input: '' });
  assert.equal(noTty.code, 1);
  assert.match(noTty.stderr, /Cannot perform an interactive login from a non TTY device/);

  const good = await ok(['login', '-u', 'berth', '-p', 's3cret', reg]);
  assert.match(good.stdout, /^Login Succeeded$/m);
  assert.match(good.stderr, /WARNING! Using --password via the CLI is insecure\. Use --password-stdin\./);
  const cfgFile = path.join(dockerConfig, 'config.json');
  assert.equal(fs.statSync(cfgFile).mode & 0o777, 0o600);
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  assert.deepEqual(cfg.auths[reg], { auth: Buffer.from('berth:s3cret').toString('base64') });

  const viaStdin = await ok(['login', '-u', 'berth', '--password-stdin', `http://${reg}/`], { input: 's3cret\n' });
  assert.match(viaStdin.stdout, /Login Succeeded/);
  assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(cfgFile, 'utf8')).auths), [reg]);

  const pushed = await ok(['push', `${reg}/private/bb:1`]);
  assert.match(pushed.stdout, /^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
  await ok(['rmi', `${reg}/private/bb:1`]);
  const pulled = await ok(['pull', `${reg}/private/bb:1`]);
  assert.match(pulled.stdout, /Status: (Downloaded newer image|Image is up to date)/);

  const out = await ok(['logout', reg]);
  assert.equal(out.stdout, `Removing login credentials for ${reg}\n`);
  assert.deepEqual(JSON.parse(fs.readFileSync(cfgFile, 'utf8')).auths, {});
  const gone = await berth(['push', `${reg}/private/bb:1`]);
  assert.equal(gone.code, 1, gone.stdout + gone.stderr);
  assert.match(gone.stderr, /Error response from daemon: .*unauthorized/);
});
