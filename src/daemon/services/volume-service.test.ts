import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { ContainerRecord } from '../../core/containers/container.js';
import { Filters, parseFilters } from '../../pkg/filters/filters.js';
import { LocalVolumeDriver, mountPoints } from '../../plugins/volume/local/index.js';
import { Logger } from '../logger.js';
import { EventBus } from './events.js';
import { copyUp, resolveInRoot, VolumeService } from './volume-service.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) {
    assert.deepEqual(mountPoints().filter((m) => m.startsWith(r + '/')), []);
    fs.rmSync(r, { recursive: true, force: true });
  }
});

function setup() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-vs-'));
  roots.push(root);
  const recs = new Map<string, ContainerRecord>();
  const svc = new VolumeService({
    dataRoot: root,
    events: new EventBus(),
    logger: new Logger('fatal'),
    containers: () => ({ all: () => [...recs.values()], find: (r) => recs.get(r) ?? [...recs.values()].find((c) => c.Name === `/${r}`) }),
    driver: new LocalVolumeDriver(path.join(root, 'volumes'), () => {}),
  });
  let n = 0;
  const rec = (hc: Record<string, unknown> = {}, volumes: Record<string, object> | null = null): ContainerRecord =>
    ({
      Id: `c${++n}`.padEnd(64, '0'),
      Name: `/c${n}`,
      HostConfig: { Binds: null, VolumesFrom: null, ...hc },
      Config: { Volumes: volumes },
      Mounts: [],
      State: { Running: false },
      Berth: { snapshotKey: '', monitorPid: 0, manuallyStopped: false },
    }) as unknown as ContainerRecord;
  return { root, svc, recs, rec };
}

const noFilters = () => new Filters();

test('create/inspect/list with filters; create is idempotent; errors use docker wording', async () => {
  const { svc } = setup();
  await svc.start();
  const v = await svc.createVolume({ Name: 'alpha', Labels: { k: 'v' } });
  assert.equal(v.Name, 'alpha');
  assert.equal(v.Driver, 'local');
  assert.equal(v.Scope, 'local');
  assert.equal(v.Options, null);
  assert.ok(v.Mountpoint.endsWith('/volumes/alpha/_data'));
  await svc.createVolume({ Name: 'beta', DriverOpts: {}, Labels: {} });
  const anon = await svc.createVolume({});
  assert.match(anon.Name, /^[0-9a-f]{64}$/);
  assert.deepEqual(anon.Labels, { 'com.docker.volume.anonymous': '' });
  assert.deepEqual((await svc.inspect('alpha')).Labels, { k: 'v' });
  await assert.rejects(svc.inspect('nope'), { message: 'get nope: no such volume', kind: 'NotFound' });
  await assert.rejects(svc.createVolume({ Name: 'x/y' }), { message: /^create x\/y: "x\/y" includes invalid characters/, kind: 'InvalidArgument' });
  await assert.rejects(svc.createVolume({ Name: 'zz', Driver: 'nfsplug' }), { kind: 'NotFound' });
  const names = async (f: string) => (await svc.list(parseFilters(f))).Volumes.map((x) => x.Name);
  assert.deepEqual(await names(JSON.stringify({ name: { alp: true } })), ['alpha']);
  assert.deepEqual(await names(JSON.stringify({ label: { 'k=v': true } })), ['alpha']);
  assert.deepEqual(await names(JSON.stringify({ label: { k: true } })), ['alpha']);
  assert.equal((await names(JSON.stringify({ driver: { local: true } }))).length, 3);
  assert.deepEqual(await names(JSON.stringify({ driver: { other: true } })), []);
  assert.equal((await names(JSON.stringify({ dangling: { true: true } }))).length, 3);
  assert.equal((await svc.list(noFilters())).Warnings, null);
  await assert.rejects(svc.list(parseFilters(JSON.stringify({ bogus: { x: true } }))), { message: "invalid filter 'bogus'" });
  await assert.rejects(svc.list(parseFilters(JSON.stringify({ dangling: { maybe: true } }))), { message: "invalid filter 'dangling=maybe'" });
});

test('container hook: binds, mounts, image volumes → .Mounts in docker shape; in-use protection; rm -v', async () => {
  const { svc, recs, rec, root } = setup();
  await svc.start();
  const hostDir = path.join(root, 'host');
  fs.mkdirSync(hostDir);
  const c = rec(
    {
      Binds: ['named:/data', `${hostDir}:/h:ro`, 'ro-vol:/r:ro'],
      Mounts: [
        { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1 << 20 } },
        { Type: 'volume', Target: '/m', VolumeOptions: { NoCopy: true } },
      ],
    },
    { '/cfgvol': {} },
  );
  await svc.create(c, { '/imgvol': {}, '/data': {} });
  recs.set(c.Id, c);
  const byDest = Object.fromEntries(c.Mounts.map((m) => [m.Destination, m]));
  assert.deepEqual(byDest['/data'], {
    Type: 'volume', Name: 'named', Source: path.join(root, 'volumes/named/_data'), Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '',
  });
  assert.deepEqual(byDest['/h'], { Type: 'bind', Source: hostDir, Destination: '/h', Mode: 'ro', RW: false, Propagation: 'rprivate' });
  assert.equal(byDest['/r']!.Mode, 'ro');
  assert.deepEqual(byDest['/t'], { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' });
  assert.equal(byDest['/m']!.Mode, 'z');
  assert.equal(byDest['/imgvol']!.Mode, '');
  assert.equal(byDest['/cfgvol']!.Type, 'volume');
  assert.equal(c.Mounts.length, 7);
  const anonNames = ['/m', '/imgvol', '/cfgvol'].map((d) => byDest[d]!.Name!);
  for (const n of anonNames) assert.deepEqual((await svc.inspect(n)).Labels, { 'com.docker.volume.anonymous': '' });
  assert.equal((await svc.inspect('named')).Labels, null);

  // In use: rm refuses with docker's message, prune skips it, dangling=false lists it.
  await assert.rejects(svc.removeVolume('named', true), { message: `remove named: volume is in use - [${c.Id}]`, kind: 'Conflict' });
  const used = (await svc.list(parseFilters(JSON.stringify({ dangling: { false: true } })))).Volumes.map((v) => v.Name).sort();
  assert.deepEqual(used, ['named', 'ro-vol', ...anonNames].sort());
  const pr = await svc.prune(new Filters(), '1.47');
  assert.deepEqual(pr.VolumesDeleted, []);

  // OCI mounts at start: binds rbind+ro, volumes, tmpfs with the size; copy-up of image content into /imgvol only.
  const rootfs = path.join(root, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'imgvol'), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'imgvol', 'from-image'), 'img');
  fs.mkdirSync(path.join(rootfs, 'm'), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'm', 'skipped'), 'nocopy');
  const oci = await svc.mounts(c, rootfs);
  const o = Object.fromEntries(oci.map((m) => [m.destination, m]));
  assert.deepEqual(o['/h'], { destination: '/h', type: 'bind', source: hostDir, options: ['rbind', 'ro', 'rprivate'] });
  assert.deepEqual(o['/data']!.options, ['rbind', 'rprivate']);
  assert.deepEqual(o['/r']!.options, ['rbind', 'ro', 'rprivate']);
  assert.equal(o['/t']!.type, 'tmpfs');
  assert.ok(o['/t']!.options.includes('size=1m'));
  assert.equal(fs.readFileSync(path.join(byDest['/imgvol']!.Source, 'from-image'), 'utf8'), 'img');
  assert.deepEqual(fs.readdirSync(byDest['/m']!.Source), []);

  // volumes-from: same volumes, read-only when asked; a second reference.
  const c2 = rec({ VolumesFrom: [`${c.Name.slice(1)}:ro`] });
  await svc.create(c2, null);
  recs.set(c2.Id, c2);
  assert.equal(c2.Mounts.length, 7);
  assert.ok(c2.Mounts.every((m) => !m.RW));
  await assert.rejects(svc.create(rec({ VolumesFrom: ['ghost'] }), null), { message: 'No such container: ghost' });

  // rm -v of the first container: its anonymous volumes are still used by c2, so they stay.
  recs.delete(c.Id);
  await svc.remove(c, true);
  for (const n of anonNames) await svc.inspect(n);
  // rm -v of c2 (volumes-from brings the anonymous ones along, as Docker's Spec copy does): now they go; named stay.
  recs.delete(c2.Id);
  await svc.remove(c2, true);
  for (const n of anonNames) await assert.rejects(svc.inspect(n), { kind: 'NotFound' });
  await svc.inspect('named');
  await svc.inspect('ro-vol');
});

test('create-time validation: duplicates, missing --mount bind source, -v bind source created at start', async () => {
  const { svc, rec, root } = setup();
  await svc.start();
  await assert.rejects(svc.create(rec({ Binds: ['a1:/x', 'b1:/x'] }), null), { message: 'Duplicate mount point: /x' });
  await assert.rejects(svc.create(rec({ Mounts: [{ Type: 'bind', Source: '/nonexistent-berth', Target: '/x' }] }), null), {
    message: 'invalid mount config for type "bind": bind source path does not exist: /nonexistent-berth',
  });
  await assert.rejects(svc.create(rec({ Binds: ['/p:ro'] }), null), { message: "invalid volume specification: '/p:ro'" });
  // A failed create leaves no anonymous volume behind.
  await assert.rejects(svc.create(rec({ Binds: ['/anon1', 'qq:/x', 'rr:/x'] }), null), /Duplicate/);
  const left = (await svc.list(new Filters())).Volumes.filter((v) => v.Labels && 'com.docker.volume.anonymous' in v.Labels);
  assert.deepEqual(left, []);
  const src = path.join(root, 'made', 'by', 'v');
  const c = rec({ Binds: [`${src}:/v`] });
  await svc.create(c, null);
  assert.equal(fs.existsSync(src), false);
  fs.mkdirSync(path.join(root, 'rootfs2'));
  await svc.mounts(c, path.join(root, 'rootfs2'));
  assert.ok(fs.statSync(src).isDirectory());
});

test('prune: anonymous only by default, all=true for named, API < 1.42 prunes all; label filters', async () => {
  const { svc } = setup();
  await svc.start();
  const anon = (await svc.createVolume({})).Name;
  await svc.createVolume({ Name: 'named1' });
  await svc.createVolume({ Name: 'named2', Labels: { keep: '1' } });
  await svc.createVolume({ Name: 'withopts', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
  const r1 = await svc.prune(new Filters(), '1.47');
  assert.deepEqual(r1.VolumesDeleted, [anon]);
  const r2 = await svc.prune(parseFilters(JSON.stringify({ all: { true: true }, 'label!': { keep: true } })), '1.47');
  assert.deepEqual(r2.VolumesDeleted, ['named1']);
  const r3 = await svc.prune(new Filters(), '1.41');
  assert.deepEqual(r3.VolumesDeleted, ['named2']);
  // Volumes with driver options are never pruned (as in moby).
  await svc.inspect('withopts');
  await assert.rejects(svc.prune(parseFilters(JSON.stringify({ all: { maybe: true } })), '1.47'), /invalid filter 'all'/);
  await assert.rejects(svc.prune(parseFilters(JSON.stringify({ dangling: { true: true } })), '1.47'), { message: "invalid filter 'dangling'" });
  const df = await svc.df();
  assert.deepEqual(df.map((v) => v.Name), []);
  await svc.removeVolume('withopts', false);
  await svc.removeVolume('withopts', true);
  await assert.rejects(svc.removeVolume('withopts', false), { message: 'get withopts: no such volume' });
});

test('copy-up resolves symlinks inside the rootfs and only fills empty volumes', async () => {
  const { root } = setup();
  const rootfs = path.join(root, 'rfs');
  fs.mkdirSync(path.join(rootfs, 'real', 'dir'), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'real', 'dir', 'f'), 'x');
  fs.symlinkSync('/real', path.join(rootfs, 'link'));
  fs.symlinkSync('/etc', path.join(rootfs, 'escape'));
  assert.equal(resolveInRoot(rootfs, '/link/dir'), path.join(rootfs, 'real', 'dir'));
  assert.equal(resolveInRoot(rootfs, '/escape'), undefined);
  assert.equal(resolveInRoot(rootfs, '/../../real'), path.join(rootfs, 'real'));
  const vol = path.join(root, 'vol');
  fs.mkdirSync(vol);
  await copyUp(rootfs, '/link/dir', vol);
  assert.equal(fs.readFileSync(path.join(vol, 'f'), 'utf8'), 'x');
  fs.writeFileSync(path.join(rootfs, 'real', 'dir', 'g'), 'y');
  await copyUp(rootfs, '/link/dir', vol);
  assert.equal(fs.existsSync(path.join(vol, 'g')), false);
  const vol2 = path.join(root, 'vol2');
  fs.mkdirSync(vol2);
  await copyUp(rootfs, '/escape', vol2);
  assert.deepEqual(fs.readdirSync(vol2), []);
});
