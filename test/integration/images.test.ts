/**
 * Images end to end: import/list/inspect/tag/history/save/load through the real docker CLI; interoperability with a
 * real dockerd both ways; crash safety of load (kill -9 mid-load); crafted hostile layers loaded through the real
 * `docker load` never write outside the data root.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { DOCKERD, hostInterfaces, startComparisonDockerd } from '../dockerd.js';
import { busyboxRootfsTar, sleep, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let work: string;
let rootfsTar: string;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-images-it-'));
  rootfsTar = busyboxRootfsTar(work);
  d = await startDaemon();
});
after(async () => {
  await d?.teardown();
  fs.rmSync(work, { recursive: true, force: true });
});

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Builds a docker-save archive from layer tars (as buffers) with Python-free tar: uses GNU tar on a staging dir. */
function buildSaveArchive(dir: string, layers: Buffer[], tag: string, cfgExtra: Record<string, unknown> = {}): string {
  const stage = path.join(dir, `stage-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(path.join(stage, 'blobs', 'sha256'), { recursive: true });
  const diffIDs = layers.map((l) => `sha256:${sha(l)}`);
  for (const l of layers) fs.writeFileSync(path.join(stage, 'blobs', 'sha256', sha(l)), l);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIDs }, history: layers.map(() => ({ created: '2024-01-01T00:00:00Z' })), ...cfgExtra }));
  fs.writeFileSync(path.join(stage, 'blobs', 'sha256', sha(config)), config);
  fs.writeFileSync(path.join(stage, 'manifest.json'), JSON.stringify([{ Config: `blobs/sha256/${sha(config)}`, RepoTags: [tag], Layers: layers.map((l) => `blobs/sha256/${sha(l)}`) }]));
  const out = path.join(dir, `${tag.replace(/[/:]/g, '_')}.tar`);
  execFileSync('tar', ['-C', stage, '-cf', out, '.']);
  fs.rmSync(stage, { recursive: true, force: true });
  return out;
}

/** A layer tar built with Python's tarfile from (name, type, data/linkname) triples: names are taken verbatim. */
function craftedLayer(entries: Array<{ name: string; type?: 'file' | 'symlink' | 'dir'; data?: string; link?: string }>): Buffer {
  const script = `
import tarfile, io, sys, json
entries = json.loads(sys.argv[1])
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as t:
    for e in entries:
        ti = tarfile.TarInfo(e['name'])
        ti.mtime = 0
        kind = e.get('type', 'file')
        if kind == 'symlink':
            ti.type = tarfile.SYMTYPE; ti.linkname = e['link']; t.addfile(ti)
        elif kind == 'dir':
            ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
        else:
            data = e.get('data', '').encode(); ti.size = len(data); ti.mode = 0o644; t.addfile(ti, io.BytesIO(data))
sys.stdout.buffer.write(buf.getvalue())
`;
  return execFileSync('python3', ['-c', script, JSON.stringify(entries)]);
}

test('import, list, inspect, tag, history, save → load round trip (docker CLI)', async () => {
  const imp = await d.docker(['import', '-c', 'CMD ["sh"]', '-c', 'ENV A=b', '-m', 'hello', rootfsTar, 'it/base:1']);
  assert.equal(imp.code, 0, imp.stderr);
  const id = imp.stdout.trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  const ls = await d.docker(['images']);
  assert.match(ls.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
  assert.match(ls.stdout, new RegExp(`it/base\\s+1\\s+${id.slice(7, 19)}\\s+.+ago\\s+[0-9.]+MB`));
  const ins = JSON.parse((await d.docker(['image', 'inspect', 'it/base:1'])).stdout)[0];
  assert.equal(ins.Id, id);
  assert.deepEqual(ins.Config.Cmd, ['sh']);
  assert.deepEqual(ins.Config.Env, ['A=b']);
  assert.equal(ins.Comment, 'hello');
  assert.equal((await d.docker(['tag', 'it/base:1', 'localhost:5000/it/other:t'])).code, 0);
  assert.match((await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, /localhost:5000\/it\/other:t/);
  const hist = await d.docker(['history', 'it/base:1']);
  assert.match(hist.stdout, /IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT/);
  assert.match(hist.stdout, /hello/);
  const saved = path.join(work, 'rt.tar');
  assert.equal((await d.docker(['save', '-o', saved, 'it/base:1'])).code, 0);
  const rmi = await d.docker(['rmi', 'it/base:1', 'localhost:5000/it/other:t']);
  assert.equal(rmi.code, 0, rmi.stderr);
  assert.match(rmi.stdout, new RegExp(`Deleted: ${id}`));
  const load = await d.docker(['load', '-i', saved]);
  assert.equal(load.code, 0, load.stderr);
  assert.match(load.stdout, /Loaded image: it\/base:1/);
  assert.equal(JSON.parse((await d.docker(['image', 'inspect', 'it/base:1'])).stdout)[0].Id, id);
  const bad = await d.docker(['image', 'inspect', 'nope:1']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /No such image: nope:1/);
  const badRef = await d.docker(['tag', 'it/base:1', 'Bad/Name']);
  assert.match(badRef.stderr, /invalid reference format/);
});

test('a dockerd-saved image loads into berth and berth’s save loads back into dockerd', { timeout: 120_000 }, async (t) => {
  if (!fs.existsSync(DOCKERD)) return t.skip('dockerd not installed');
  const interfaces = hostInterfaces();
  // A bridge of the test's own (test/dockerd.ts): never --bridge=none, which deletes the host's docker0.
  const dockerd = await startComparisonDockerd();
  if (!dockerd) return t.skip('dockerd did not start');
  const droot = dockerd.root;
  const dk = (args: string[]) => dockerd.docker(args);
  try {
    // two layers in dockerd: an import, then a second image built on it by loading a crafted archive
    const imp = await dk(['import', '-c', 'CMD ["sh"]', rootfsTar, 'from/dockerd:1']);
    assert.equal(imp.code, 0, imp.stderr);
    const dockerId = imp.stdout.trim();
    const fromDockerd = path.join(droot, 'from-dockerd.tar');
    assert.equal((await dk(['save', '-o', fromDockerd, 'from/dockerd:1'])).code, 0);
    const l1 = await d.docker(['load', '-i', fromDockerd]);
    assert.equal(l1.code, 0, l1.stderr);
    assert.match(l1.stdout, /Loaded image: from\/dockerd:1/);
    assert.equal(JSON.parse((await d.docker(['inspect', 'from/dockerd:1'])).stdout)[0].Id, dockerId);

    // berth → dockerd, with a two-layer image made in berth
    const layer2 = craftedLayer([{ name: 'etc/berth-marker', data: 'from berth' }]);
    const baseLayer = fs.readFileSync(rootfsTar);
    const arch = buildSaveArchive(work, [baseLayer, layer2], 'from/berth:2');
    assert.equal((await d.docker(['load', '-i', arch])).code, 0);
    const berthId = JSON.parse((await d.docker(['inspect', 'from/berth:2'])).stdout)[0].Id;
    const fromBerth = path.join(droot, 'from-berth.tar');
    assert.equal((await d.docker(['save', '-o', fromBerth, 'from/berth:2', 'from/dockerd:1'])).code, 0);
    await dk(['rmi', '-f', 'from/dockerd:1']);
    const l2 = await dk(['load', '-i', fromBerth]);
    assert.equal(l2.code, 0, l2.stderr + l2.stdout);
    assert.match(l2.stdout, /Loaded image: from\/berth:2/);
    assert.equal(JSON.parse((await dk(['inspect', 'from/berth:2'])).stdout)[0].Id, berthId);
    assert.equal(JSON.parse((await dk(['inspect', 'from/dockerd:1'])).stdout)[0].Id, dockerId);
  } finally {
    await dockerd.stop();
  }
  // Every interface the host had is still there (moby deletes docker0 under --bridge=none), and ours is gone. Other
  // tests' veths may come and go meanwhile, so only these two facts are checked.
  const now = hostInterfaces();
  assert.deepEqual(interfaces.filter((i) => !now.includes(i) && !/^veth|^br-|^berth/.test(i)), [], 'host interfaces deleted');
  assert.ok(!now.includes(dockerd.bridge), `${dockerd.bridge} left behind`);
  if (!interfaces.includes('docker0')) assert.ok(!now.includes('docker0'), 'docker0 created');
});

test('kill -9 in the middle of a load leaves no corrupt image; after restart the same load succeeds', { timeout: 180_000 }, async () => {
  const big = path.join(work, 'big');
  fs.mkdirSync(big);
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(big, `blob${i}`), randomBytes(32 << 20));
  const layerPath = path.join(work, 'big-layer.tar');
  execFileSync('tar', ['-C', big, '-cf', layerPath, '.']);
  fs.rmSync(big, { recursive: true, force: true });
  const arch = buildSaveArchive(work, [fs.readFileSync(rootfsTar), fs.readFileSync(layerPath)], 'crash/test:1');
  fs.rmSync(layerPath);
  const data = fs.readFileSync(arch);
  // Stream the archive slowly; kill the daemon once it has most of it.
  await new Promise<void>((resolve) => {
    const req = http.request({ socketPath: d.socket, method: 'POST', path: '/images/load', headers: { 'Content-Type': 'application/x-tar' } });
    req.on('error', () => resolve());
    req.on('response', (r) => {
      r.resume();
      r.on('close', () => resolve());
    });
    void (async () => {
      const chunk = 1 << 20;
      for (let off = 0; off < data.length; off += chunk) {
        if (!req.write(data.subarray(off, off + chunk))) await new Promise((r) => req.once('drain', r));
        if (off > data.length * 0.6) {
          process.kill(d.pid, 'SIGKILL');
          break;
        }
        await sleep(5);
      }
      req.destroy();
      resolve();
    })();
  });
  const d2 = await d.restart('SIGKILL');
  const imgs = await d2.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.doesNotMatch(imgs.stdout, /crash\/test/);
  const dataRoot = d2.dataRoot;
  assert.deepEqual(fs.readdirSync(path.join(dataRoot, 'content', 'ingest')), []);
  assert.deepEqual(fs.readdirSync(path.join(dataRoot, 'leases')), []);
  const meta = JSON.parse(fs.readFileSync(path.join(dataRoot, 'snapshots', 'overlay', 'metadata.json'), 'utf8'));
  assert.ok(!Object.keys(meta.snapshots).some((k) => k.startsWith('extract-')), 'no abandoned extraction snapshots');
  const again = await d2.docker(['load', '-i', arch]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Loaded image: crash\/test:1/);
  const ins = JSON.parse((await d2.docker(['image', 'inspect', 'crash/test:1'])).stdout)[0];
  assert.equal(ins.RootFS.Layers.length, 2);
  assert.ok(ins.Size > 128 << 20);
  await d2.docker(['rmi', 'crash/test:1']);
  fs.rmSync(arch);
});

test('crafted layers (.., absolute paths, symlink escapes) loaded with docker load write nothing outside the data root', async () => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-outside-'));
  try {
    const rel = path.relative('/', outside);
    const cases: Array<[string, Buffer]> = [
      ['evil/dotdot:1', craftedLayer([{ name: `../../../../../../../../${rel}/dotdot`, data: 'pwned' }])],
      ['evil/abs:1', craftedLayer([{ name: `/${rel}/abs`, data: 'pwned' }])],
      ['evil/symlink:1', craftedLayer([{ name: 'link', type: 'symlink', link: outside }, { name: 'link/viasymlink', data: 'pwned' }])],
      ['evil/symlink-rel:1', craftedLayer([{ name: 'up', type: 'symlink', link: '../../../../../../../../../' }, { name: `up/${rel}/viarel`, data: 'pwned' }])],
    ];
    for (const [tag, layer] of cases) {
      const arch = buildSaveArchive(work, [layer], tag);
      const r = await d.docker(['load', '-i', arch]);
      // Either refused with a clear error or confined inside the layer: never outside.
      if (r.code !== 0) assert.match(r.stderr, /escapes|invalid|outside/i, `${tag}: ${r.stderr}`);
      assert.deepEqual(fs.readdirSync(outside), [], `${tag} wrote outside the data root`);
    }
    // a layer whose symlink was planted by an earlier layer
    const l1 = craftedLayer([{ name: 'planted', type: 'symlink', link: outside }]);
    const l2 = craftedLayer([{ name: 'planted/late', data: 'pwned' }]);
    const arch = buildSaveArchive(work, [l1, l2], 'evil/two:1');
    const r = await d.docker(['load', '-i', arch]);
    if (r.code !== 0) assert.match(r.stderr, /escapes|invalid|outside/i, r.stderr);
    assert.deepEqual(fs.readdirSync(outside), []);
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

/**
 * A pre-1.10 `docker save` archive, made by hand: `repositories` ({repo: {tag: top id}}), and per step `<id>/VERSION`,
 * `<id>/json` (the v1 image JSON, `parent` pointing down) and `<id>/layer.tar`; no manifest.json.
 */
function buildLegacyArchive(dir: string, steps: Array<{ layer: Buffer; json: Record<string, unknown> }>, repo: string, tag: string): { tar: string; ids: string[] } {
  const stage = path.join(dir, `legacy-${randomBytes(4).toString('hex')}`);
  const ids = steps.map(() => randomBytes(32).toString('hex'));
  steps.forEach((s, i) => {
    fs.mkdirSync(path.join(stage, ids[i]!), { recursive: true });
    fs.writeFileSync(path.join(stage, ids[i]!, 'VERSION'), '1.0');
    fs.writeFileSync(path.join(stage, ids[i]!, 'json'), JSON.stringify({ id: ids[i], ...(i ? { parent: ids[i - 1] } : {}), created: '2015-11-02T10:00:00Z', docker_version: '1.9.1', architecture: 'amd64', os: 'linux', Size: s.layer.length, ...s.json }));
    fs.writeFileSync(path.join(stage, ids[i]!, 'layer.tar'), s.layer);
  });
  fs.writeFileSync(path.join(stage, 'repositories'), JSON.stringify({ [repo]: { [tag]: ids[ids.length - 1] } }));
  const out = path.join(dir, `${path.basename(stage)}.tar`);
  execFileSync('tar', ['-C', stage, '-cf', out, 'repositories', ...ids]);
  fs.rmSync(stage, { recursive: true, force: true });
  return { tar: out, ids };
}

test('docker load of a pre-1.10 save (repositories + <id>/json + <id>/layer.tar) as dockerd; bad archives are 400s that say what is wrong', async () => {
  const base = fs.readFileSync(rootfsTar);
  const hello = craftedLayer([{ name: 'hello.txt', data: 'hello from v1\n' }]);
  const { tar } = buildLegacyArchive(work, [
    { layer: base, json: { container_config: { Cmd: ['/bin/sh', '-c', '#(nop) ADD file:rootfs in /'] }, config: { Env: ['PATH=/bin'] } } },
    { layer: hello, json: { author: 'someone', container_config: { Cmd: ['/bin/sh', '-c', '#(nop) ADD hello.txt /'] }, config: { Env: ['PATH=/bin', 'V1=yes'], Cmd: ['cat', '/hello.txt'], Labels: { era: 'v1' } } } },
  ], 'legacy/img', 'v1');
  const load = await d.docker(['load', '-i', tar]);
  assert.equal(load.code, 0, load.stderr);
  assert.equal(load.stdout.trim(), ''); // dockerd's legacy load reports nothing either
  const run = await d.docker(['run', '--rm', 'legacy/img:v1']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'hello from v1\n');
  // what dockerd shows for the same archive: the top's config, both layers, the v1 fields kept, one history step each
  const ins = JSON.parse((await d.docker(['image', 'inspect', 'legacy/img:v1'])).stdout)[0];
  assert.deepEqual(ins.Config.Env, ['PATH=/bin', 'V1=yes']);
  assert.deepEqual(ins.Config.Cmd, ['cat', '/hello.txt']);
  assert.deepEqual(ins.Config.Labels, { era: 'v1' });
  assert.deepEqual(ins.RootFS, { Type: 'layers', Layers: [`sha256:${sha(base)}`, `sha256:${sha(hello)}`] });
  assert.equal(ins.Created, '2015-11-02T10:00:00Z');
  assert.equal(ins.DockerVersion, '1.9.1');
  assert.equal(ins.Author, 'someone');
  const hist = (await d.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Size}}', 'legacy/img:v1'])).stdout.trim().split('\n');
  assert.deepEqual(hist.map((l) => l.split('|')[0]), ['/bin/sh -c #(nop) ADD hello.txt /', '/bin/sh -c #(nop) ADD file:rootfs in /']);
  assert.equal((await d.docker(['rmi', 'legacy/img:v1'])).code, 0);

  // bad archives: a 400 naming the problem, never a 500, and nothing stored
  const before = (await d.docker(['images', '-aq'])).stdout;
  const full = fs.readFileSync(tar);
  const write = (name: string, data: Buffer | string) => {
    const p = path.join(work, name);
    fs.writeFileSync(p, data);
    return p;
  };
  const { tar: orphan } = buildLegacyArchive(work, [{ layer: hello, json: { parent: 'f'.repeat(64) } }], 'legacy/orphan', 'v1');
  const cases: Array<[string, RegExp]> = [
    [write('trunc.tar', full.subarray(0, 5000)), /^invalid archive: unexpected end of tar archive$/],
    [write('garbage.tar', 'this is not a tar archive at all\n'.repeat(40)), /^invalid archive: /],
    [write('empty.tar', ''), /^invalid archive: no manifest.json or index.json found$/],
    [orphan, new RegExp(`^invalid archive: ${'f'.repeat(64)}/json is missing$`)],
  ];
  for (const [file, message] of cases) {
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ socketPath: d.socket, method: 'POST', path: '/images/load', headers: { 'content-type': 'application/x-tar' } }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
      });
      req.on('error', reject);
      req.end(fs.readFileSync(file));
    });
    assert.equal(r.status, 400, `${path.basename(file)}: ${r.status} ${r.body}`);
    assert.match(JSON.parse(r.body).message, message, path.basename(file));
    const cli = await d.docker(['load', '-i', file]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /Error response from daemon: invalid archive: /);
  }
  assert.equal((await d.docker(['images', '-aq'])).stdout, before);
});
