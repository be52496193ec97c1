/**
 * Volumes end to end through the real docker CLI: volume create/ls/inspect/rm/prune output and errors; data persists
 * across containers; `ro` is enforced; binds (and Docker's -v vs --mount rules for missing sources); tmpfs mounts and
 * tmpfs-backed volumes; copy-up of an image's content (VOLUME and named volumes, nocopy); in-use volumes are
 * protected (also across a daemon restart); prune removes exactly what Docker's would; `rm -v` and `--rm` remove
 * anonymous volumes only.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { busyboxRootfsTar, mountsUnder, startDaemon, TestDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let live: TestDaemon;
let work: string;
const IMG = 'bbvol:1';
const SEED = 'bbseed:1';

async function docker(args: string[], input?: string) {
  return live.docker(args, { input, timeoutMs: 60_000 });
}
async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
const volumesDir = () => path.join(live.dataRoot, 'volumes');

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-volumes-it-'));
  const tar = busyboxRootfsTar(work);
  d = await startDaemon();
  live = d;
  await ok(['import', tar, IMG]);
  // An image with content under /seed (owned by uid 1, mode 0750) and `VOLUME /seed`.
  const rootfs = path.join(work, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'seed', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'seed', 'hello'), 'from the image\n');
  fs.writeFileSync(path.join(rootfs, 'seed', 'sub', 'deep'), 'deep\n');
  fs.chmodSync(path.join(rootfs, 'seed'), 0o750);
  fs.chownSync(path.join(rootfs, 'seed'), 1, 1);
  const seedTar = path.join(work, 'seed.tar');
  execFileSync('tar', ['-C', rootfs, '-cf', seedTar, '.']);
  await ok(['import', '--change', 'VOLUME /seed', '--change', 'CMD ["sh"]', seedTar, SEED]);
});

after(async () => {
  if (live) {
    // Everything this file made goes through the API first, so the daemon's own unmounts are what is checked.
    const ids = (await live.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await live.docker(['rm', '-fv', ...ids]);
    await live.docker(['volume', 'prune', '-af']);
    const vols = (await live.docker(['volume', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    if (vols.length) await live.docker(['volume', 'rm', '-f', ...vols]);
    assert.deepEqual(mountsUnder(volumesDir()), [], 'volume mounts left behind');
  }
  await d?.teardown();
  fs.rmSync(work, { recursive: true, force: true });
});

test('volume create / ls / inspect / rm: docker output and errors', async () => {
  assert.equal(await ok(['volume', 'create', '--label', 'team=a', 'v-one']), 'v-one\n');
  assert.equal(await ok(['volume', 'create', 'v-two']), 'v-two\n');
  assert.equal(await ok(['volume', 'create', 'v-two']), 'v-two\n', 'create is idempotent');
  const ls = await ok(['volume', 'ls']);
  assert.match(ls, /^DRIVER {4}VOLUME NAME\nlocal {5}v-one\nlocal {5}v-two\n$/);
  assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'label=team=a']), 'v-one\n');
  assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'name=two']), 'v-two\n');
  assert.equal(await ok(['volume', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}}', '-f', 'name=v-one']), 'v-one local local team=a\n');
  const [v] = JSON.parse(await ok(['volume', 'inspect', 'v-one']));
  assert.equal(v.Name, 'v-one');
  assert.equal(v.Driver, 'local');
  assert.equal(v.Scope, 'local');
  assert.equal(v.Mountpoint, path.join(live.dataRoot, 'volumes/v-one/_data'));
  assert.deepEqual(v.Labels, { team: 'a' });
  assert.equal(v.Options, null, 'the docker CLI sends no DriverOpts when none are given');
  assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  assert.equal(await ok(['volume', 'inspect', '--format', '{{.Mountpoint}}', 'v-two']), path.join(live.dataRoot, 'volumes/v-two/_data') + '\n');

  const missing = await docker(['volume', 'inspect', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /get nope: no such volume/);
  const bad = await docker(['volume', 'create', 'bad/name']);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /Error response from daemon: create bad\/name: "bad\/name" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed. If you intended to pass a host directory, use absolute path/,
  );
  const badOpt = await docker(['volume', 'create', '-o', 'foo=bar', 'optvol']);
  assert.equal(badOpt.code, 1);
  assert.match(badOpt.stderr, /invalid option: "foo"/);

  assert.equal(await ok(['volume', 'rm', 'v-one', 'v-two']), 'v-one\nv-two\n');
  const gone = await docker(['volume', 'rm', 'v-one']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no such volume/);
  assert.equal((await docker(['volume', 'rm', '-f', 'v-one'])).code, 0);
  assert.equal(fs.existsSync(path.join(volumesDir(), 'v-one')), false);
});

test('data persists across containers; -v and --mount volumes; ro is enforced', async () => {
  await ok(['run', '--rm', '-v', 'persist:/data', IMG, 'sh', '-c', 'echo kept > /data/f']);
  assert.equal(await ok(['run', '--rm', '--mount', 'type=volume,src=persist,dst=/d', IMG, 'cat', '/d/f']), 'kept\n');
  assert.equal(fs.readFileSync(path.join(volumesDir(), 'persist/_data/f'), 'utf8'), 'kept\n');

  const ro = await docker(['run', '--rm', '-v', 'persist:/data:ro', IMG, 'sh', '-c', 'echo x > /data/g']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
  const ro2 = await docker(['run', '--rm', '--mount', 'type=volume,src=persist,dst=/data,readonly', IMG, 'touch', '/data/g']);
  assert.notEqual(ro2.code, 0);
  assert.equal(fs.existsSync(path.join(volumesDir(), 'persist/_data/g')), false);
  // Reading through a read-only mount works.
  assert.equal(await ok(['run', '--rm', '-v', 'persist:/data:ro', IMG, 'cat', '/data/f']), 'kept\n');
});

test('bind mounts: -v creates a missing source, --mount refuses it; ro binds; .Mounts in docker shape', async () => {
  const host = path.join(work, 'bind-src');
  fs.mkdirSync(host);
  fs.writeFileSync(path.join(host, 'in'), 'host file\n');
  await ok(['run', '--rm', '-v', `${host}:/h`, IMG, 'sh', '-c', 'cat /h/in && echo out > /h/out']);
  assert.equal(fs.readFileSync(path.join(host, 'out'), 'utf8'), 'out\n');
  const robind = await docker(['run', '--rm', '--mount', `type=bind,src=${host},dst=/h,readonly`, IMG, 'touch', '/h/nope']);
  assert.notEqual(robind.code, 0);
  assert.match(robind.stderr, /Read-only file system/);

  const created = path.join(work, 'made-by-v', 'sub');
  await ok(['run', '--rm', '-v', `${created}:/x`, IMG, 'true']);
  assert.ok(fs.statSync(created).isDirectory());
  const missing = path.join(work, 'not-there');
  const r = await docker(['run', '--rm', '--mount', `type=bind,src=${missing},dst=/x`, IMG, 'true']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${missing}`));
  assert.equal(fs.existsSync(missing), false);
  const spec = await docker(['run', '--rm', '-v', '/p:ro', IMG, 'true']);
  assert.equal(spec.code, 125);
  assert.match(spec.stderr, /invalid volume specification: '\/p:ro'/);

  const id = (await ok(['create', '-v', 'shape:/data', '-v', `${host}:/h:ro`, '--mount', 'type=tmpfs,dst=/t', IMG, 'true'])).trim();
  const mounts = JSON.parse(await ok(['inspect', '--format', '{{json .Mounts}}', id])) as Array<Record<string, unknown>>;
  const by = Object.fromEntries(mounts.map((m) => [m.Destination, m]));
  assert.deepEqual(by['/data'], {
    Type: 'volume', Name: 'shape', Source: path.join(volumesDir(), 'shape/_data'), Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '',
  });
  assert.deepEqual(by['/h'], { Type: 'bind', Source: host, Destination: '/h', Mode: 'ro', RW: false, Propagation: 'rprivate' });
  assert.deepEqual(by['/t'], { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' });
  await ok(['rm', id]);
});

test('tmpfs: --mount type=tmpfs with size/mode, --tmpfs, and a tmpfs-backed volume', async () => {
  const out = await ok(['run', '--rm', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770', '--tmpfs', '/t2:size=2m', IMG, 'sh', '-c', 'grep -E " /t2? " /proc/mounts; stat -c %a /t']);
  assert.match(out, /^tmpfs \/t tmpfs [^ ]*size=1024k/m);
  assert.match(out, /^tmpfs \/t2 tmpfs [^ ]*size=2048k/m);
  assert.match(out, /^1770$/m);

  await ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=10m', 'tmpvol']);
  const [v] = JSON.parse(await ok(['volume', 'inspect', 'tmpvol']));
  assert.deepEqual(v.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=10m' });
  const inside = await ok(['run', '--rm', '-v', 'tmpvol:/v', IMG, 'sh', '-c', 'echo t > /v/f && grep " /v " /proc/mounts']);
  assert.match(inside, /tmpfs \/v tmpfs [^ ]*size=10240k/);
  // Kept mounted while the volume exists (data survives the container), unmounted when it is removed.
  assert.deepEqual(mountsUnder(path.join(volumesDir(), 'tmpvol')), [path.join(volumesDir(), 'tmpvol/_data')]);
  assert.equal(await ok(['run', '--rm', '-v', 'tmpvol:/v', IMG, 'cat', '/v/f']), 't\n');
  await ok(['volume', 'rm', 'tmpvol']);
  assert.deepEqual(mountsUnder(path.join(volumesDir(), 'tmpvol')), []);
});

test('copy-up: VOLUME in the image and new named volumes get the image content; nocopy and non-empty volumes do not', async () => {
  const id = (await ok(['run', '-d', SEED, 'sh', '-c', 'cat /seed/hello /seed/sub/deep; stat -c "%a %u" /seed'])).trim();
  await ok(['wait', id]);
  assert.equal(await ok(['logs', id]), 'from the image\ndeep\n750 1\n');
  const mounts = JSON.parse(await ok(['inspect', '--format', '{{json .Mounts}}', id])) as Array<Record<string, unknown>>;
  assert.equal(mounts.length, 1);
  assert.equal(mounts[0]!.Type, 'volume');
  assert.equal(mounts[0]!.Destination, '/seed');
  assert.equal(mounts[0]!.Mode, '');
  assert.match(String(mounts[0]!.Name), /^[0-9a-f]{64}$/);
  const [anon] = JSON.parse(await ok(['volume', 'inspect', String(mounts[0]!.Name)]));
  assert.deepEqual(anon.Labels, { 'com.docker.volume.anonymous': '' });
  assert.equal(fs.readFileSync(path.join(anon.Mountpoint, 'hello'), 'utf8'), 'from the image\n');
  await ok(['rm', '-v', id]);
  await assert.rejects(fs.promises.stat(anon.Mountpoint));

  assert.equal(await ok(['run', '--rm', '-v', 'seeded:/seed', SEED, 'cat', '/seed/hello']), 'from the image\n');
  // The volume is not empty any more: a second container sees the volume's content, not the image's.
  await ok(['run', '--rm', '-v', 'seeded:/seed', SEED, 'sh', '-c', 'echo changed > /seed/hello']);
  assert.equal(await ok(['run', '--rm', '-v', 'seeded:/seed', SEED, 'cat', '/seed/hello']), 'changed\n');
  assert.equal(await ok(['run', '--rm', '-v', 'unseeded:/seed:nocopy', SEED, 'ls', '-A', '/seed']), '');
  assert.equal(await ok(['run', '--rm', '--mount', 'type=volume,src=unseeded2,dst=/seed,volume-nocopy', SEED, 'ls', '-A', '/seed']), '');
  for (const v of ['seeded', 'unseeded', 'unseeded2']) await ok(['volume', 'rm', v]);
});

test('in-use volumes are protected (also after a daemon restart); rm -v and --rm remove anonymous volumes only', async () => {
  const id = (await ok(['create', '--name', 'holder', '-v', 'held:/d', '-v', '/anon', IMG, 'true'])).trim();
  const anonName = (await ok(['inspect', '--format', '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}', id])).trim();
  assert.match(anonName, /^[0-9a-f]{64}$/);
  const r = await docker(['volume', 'rm', 'held']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `Error response from daemon: remove held: volume is in use - [${id}]`);
  assert.equal((await docker(['volume', 'rm', '-f', 'held'])).code, 1, 'force does not override in-use');
  assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'dangling=false']), [anonName, 'held'].sort().join('\n') + '\n');

  // References come from the container records on disk: a killed and restarted daemon still protects them.
  live = await d.restart('SIGKILL');
  const r2 = await docker(['volume', 'rm', 'held']);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /volume is in use/);
  await ok(['volume', 'prune', '-af']);
  await ok(['volume', 'inspect', 'held', anonName]);

  await ok(['rm', '-v', 'holder']);
  await ok(['volume', 'inspect', 'held']);
  assert.equal((await docker(['volume', 'inspect', anonName])).code, 1, 'rm -v removed the anonymous volume');

  // --rm (AutoRemove) removes the anonymous volume, keeps the named one.
  await ok(['run', '--rm', '-v', 'held:/d', '-v', '/anon2', IMG, 'true']);
  await ok(['volume', 'inspect', 'held']);
  assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'label=com.docker.volume.anonymous']), '');
  await ok(['volume', 'rm', 'held']);
});

test('prune removes exactly what Docker would: unused anonymous volumes by default, all unused with --all', async () => {
  const anonUnused = (await ok(['volume', 'create'])).trim();
  await ok(['volume', 'create', 'named-unused']);
  await ok(['volume', 'create', '--label', 'keep=yes', 'named-kept']);
  await ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'opts-unused']);
  const c = (await ok(['create', '-v', 'named-used:/a', '-v', '/b', IMG, 'true'])).trim();
  const anonUsed = (await ok(['inspect', '--format', '{{range .Mounts}}{{if eq .Destination "/b"}}{{.Name}}{{end}}{{end}}', c])).trim();
  const before = new Set((await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean));

  const cancelled = await docker(['volume', 'prune'], 'n\n');
  assert.match(cancelled.stdout, /WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue\? \[y\/N\] /);
  assert.deepEqual(new Set((await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean)), before);

  fs.writeFileSync(path.join(volumesDir(), anonUnused, '_data', 'blob'), Buffer.alloc(2000));
  assert.equal(await ok(['volume', 'prune', '-f']), `Deleted Volumes:\n${anonUnused}\n\nTotal reclaimed space: 2kB\n`);
  assert.equal(await ok(['volume', 'prune', '-f']), 'Total reclaimed space: 0B\n');
  assert.equal(await ok(['volume', 'prune', '-af', '--filter', 'label!=keep']), 'Deleted Volumes:\nnamed-unused\n\nTotal reclaimed space: 0B\n');
  assert.equal(await ok(['volume', 'prune', '--all', '--force']), 'Deleted Volumes:\nnamed-kept\n\nTotal reclaimed space: 0B\n');
  // Left: the volumes the container uses and the one with driver options (moby never prunes those).
  assert.deepEqual((await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean).sort(), [anonUsed, 'named-used', 'opts-unused'].sort());
  await ok(['rm', '-v', c]);
  await ok(['volume', 'rm', 'named-used', 'opts-unused']);
  assert.equal(await ok(['volume', 'ls', '-q']), '');
});

test('system df counts volumes and their references', async () => {
  await ok(['volume', 'create', 'dfvol']);
  fs.writeFileSync(path.join(volumesDir(), 'dfvol/_data/f'), Buffer.alloc(1500));
  const c = (await ok(['create', '-v', 'dfvol:/x', IMG, 'true'])).trim();
  const rows = (await ok(['system', 'df', '--format', '{{json .}}'])).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
  const row = rows.find((r) => r.Type === 'Local Volumes');
  assert.ok(row, JSON.stringify(rows));
  assert.equal(row!.TotalCount, '1');
  assert.equal(row!.Active, '1');
  assert.equal(row!.Size, '1.5kB');
  await ok(['rm', c]);
  await ok(['volume', 'rm', 'dfvol']);
});
