/**
 * bin/berth and bin/docker-compose start Node without NODE_EXTRA_CA_CERTS (loading a CA bundle is ~90 ms of every
 * command's start-up) and put it back for the programs they run. Node warns on stderr when it loads a file named
 * there that does not exist, so a missing file shows whether Node read the variable; a credential helper the test
 * provides records the environment berth hands on. bin/berthd sets MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_ before Node starts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { berthBin, repoRoot, run } from '../harness.js';

const MISSING_BUNDLE = '/nonexistent/berth-test-extra-ca.pem';
let work: string;

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-launcher-'));
  fs.mkdirSync(path.join(work, 'bin'));
  // Answers `erase` and writes down the two variables it was given.
  fs.writeFileSync(
    path.join(work, 'bin', 'docker-credential-berthenv'),
    `#!/bin/sh\ncat >/dev/null\nprintf '%s|%s' "\${NODE_EXTRA_CA_CERTS-unset}" "\${BERTH_NODE_EXTRA_CA_CERTS-unset}" > "${work}/seen"\n`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(work, 'config.json'), JSON.stringify({ credsStore: 'berthenv', auths: { 'registry.invalid': {} } }));
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

const env = () => ({ NODE_EXTRA_CA_CERTS: MISSING_BUNDLE, DOCKER_CONFIG: work, PATH: `${work}/bin:${process.env.PATH}` });

test('berth does not load NODE_EXTRA_CA_CERTS and hands it on unchanged to a credential helper', async () => {
  const r = await run(berthBin, ['logout', 'registry.invalid'], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /extra certs/, 'Node read NODE_EXTRA_CA_CERTS at start-up');
  assert.match(r.stdout, /Removing login credentials for registry\.invalid/);
  assert.equal(fs.readFileSync(path.join(work, 'seen'), 'utf8'), `${MISSING_BUNDLE}|unset`);
});

test('the compose plugin does not load NODE_EXTRA_CA_CERTS either', async () => {
  const r = await run(path.join(repoRoot, 'bin/docker-compose'), ['compose', 'version'], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Docker Compose version v2\./);
  assert.doesNotMatch(r.stderr, /extra certs/);
});

test('run by node directly, bin/berth still works (Node reads the sh line as a string and a comment)', async () => {
  const r = await run(process.execPath, [berthBin, '--version'], { env: { NODE_EXTRA_CA_CERTS: '' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^berth version /);
});

test('berthd started as bin/berthd runs with two malloc arenas and a fixed mmap threshold; values set by the user are kept', async () => {
  const { startDaemon } = await import('../harness.js');
  const environOf = (pid: number) => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  const d = await startDaemon();
  try {
    assert.ok(environOf(d.pid).includes('MALLOC_ARENA_MAX=2'), 'the launcher did not set MALLOC_ARENA_MAX');
    assert.ok(environOf(d.pid).includes('MALLOC_MMAP_THRESHOLD_=131072'), 'the launcher did not set MALLOC_MMAP_THRESHOLD_');
    assert.match(fs.readFileSync(`/proc/${d.pid}/cmdline`, 'utf8'), /bin\/berthd\0/, 'the pid is not the node process running bin/berthd');
  } finally {
    await d.teardown();
  }
  const d2 = await startDaemon({ env: { MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '65536' } });
  try {
    assert.ok(environOf(d2.pid).includes('MALLOC_ARENA_MAX=4'));
    assert.ok(environOf(d2.pid).includes('MALLOC_MMAP_THRESHOLD_=65536'));
  } finally {
    await d2.teardown();
  }
});

// bin/berth compiles its bundle with V8's code cache, kept in $XDG_CACHE_HOME/berth (see bin/berth). Whatever is
// wrong with that cache costs only the compile it would have saved: the command runs, and the cache is written anew.
test('bin/berth keeps a code cache of its bundle and uses it; a broken, stale or foreign cache is replaced, never fatal', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-cache-'));
  try {
    const dir = path.join(home, 'berth');
    const berth = async () => {
      const r = await run(berthBin, ['--version'], { env: { XDG_CACHE_HOME: home } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^berth version /);
    };
    const cacheFile = () => {
      const files = fs.readdirSync(dir).filter((f) => /^cli-[0-9a-f]+-v[\d.]+\.v8$/.test(f));
      assert.equal(files.length, 1, `cache files: ${fs.readdirSync(dir).join(', ')}`);
      return path.join(dir, files[0]);
    };
    // a write replaces the file (rename), so a new inode says the run did not use what was there
    const ino = (f: string) => fs.statSync(f).ino;

    await berth();
    const file = cacheFile();
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const good = fs.readFileSync(file);
    const nl = good.indexOf(10);
    const stamp = good.subarray(0, nl + 1).toString();
    assert.match(stamp, new RegExp(`^berth-cli ${process.version} ${process.arch} \\d+ [\\d.]+\\n$`));
    assert.ok(good.length > nl + 1 + 10_000, 'no V8 data after the stamp');

    const before = ino(file);
    await berth();
    assert.equal(ino(file), before, 'a good cache was written again: V8 rejected it or the stamp did not match');

    const replacedBy = async (data: Buffer, what: string, mode = 0o600) => {
      fs.writeFileSync(file, data, { mode });
      fs.chmodSync(file, mode);
      const i = ino(file);
      await berth();
      assert.notEqual(ino(file), i, `${what}: not written anew`);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600, what);
      assert.equal(fs.readFileSync(file).subarray(0, nl + 1).toString(), stamp, what);
    };
    // V8 rejects these (its own checks), the stamp being right
    await replacedBy(Buffer.concat([Buffer.from(stamp), Buffer.alloc(good.length - nl - 1, 0x5a)]), 'garbage after the stamp');
    await replacedBy(good.subarray(0, nl + 1 + Math.floor((good.length - nl) / 2)), 'truncated data');
    // never given to V8 (whose checks would pass: the stamps have the right length): another Node's, an older
    // bundle's (a rebuild changes its mtime)
    const sameLength = (s: string) => s.replace(/\d/g, (d) => (d === '9' ? '8' : '9'));
    await replacedBy(Buffer.concat([Buffer.from(stamp.replace(process.version, sameLength(process.version))), good.subarray(nl + 1)]), 'another Node version');
    await replacedBy(Buffer.concat([Buffer.from(stamp.replace(/\d\n$/, (d) => sameLength(d))), good.subarray(nl + 1)]), 'an older bundle');
    await replacedBy(Buffer.alloc(0), 'an empty file');
    // a good cache others may write is not read (it holds code berth runs)
    await replacedBy(good, 'writable by others', 0o666);

    // --enable-source-maps: Node's loader runs the bundle (for stack traces through its source map)
    const sm = await run(berthBin, ['--version'], { env: { XDG_CACHE_HOME: home, NODE_OPTIONS: '--enable-source-maps' } });
    assert.equal(sm.code, 0, sm.stderr);
    assert.match(sm.stdout, /^berth version /);

    // a cache that cannot be written: the command still runs
    const r = await run(berthBin, ['--version'], { env: { XDG_CACHE_HOME: '/dev/null' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^berth version /);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
