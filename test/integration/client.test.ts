/**
 * The typed Engine API client (src/client) against a real berthd: every facet the CLI and compose use — images
 * (import, list, inspect, tag, history, save, remove), containers (create, start, attach, wait, logs, exec, stats,
 * top, changes, archive, rename, pause, kill, remove, prune), networks, volumes, system (ping, version, info, df,
 * events) — and errors carrying the daemon's status, kind and wording.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { demux } from '../../src/api/stdcopy.js';
import { Client, ProgressError, readAll } from '../../src/client/index.js';
import { busyboxRootfsTar, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let client: Client;
let work: string;
const IMG = `clientbb:${process.pid}`;

async function output(stream: AsyncIterable<Buffer>): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  for await (const f of demux(stream)) {
    if (f.stream === 1) stdout += f.data.toString();
    else if (f.stream === 2) stderr += f.data.toString();
  }
  return { stdout, stderr };
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-client-it-'));
  d = await startDaemon();
  client = new Client(d.host);
  const tar = fs.readFileSync(busyboxRootfsTar(work));
  const msgs = await (await client.images.import(tar, { repo: IMG.split(':')[0], tag: IMG.split(':')[1], changes: ['CMD ["sh"]'] })).done();
  assert.ok(msgs.some((m) => m.status?.startsWith('sha256:')), JSON.stringify(msgs));
});

after(async () => {
  client?.close();
  await d?.teardown();
  fs.rmSync(work, { recursive: true, force: true });
});

test('system: ping, version with docker field names, info, df', async () => {
  assert.equal(await client.system.ping(), true);
  const v = await client.system.version();
  assert.match(v.ApiVersion, /^1\.\d+$/);
  assert.equal(v.Os, 'linux');
  const info = await client.system.info();
  assert.equal(typeof info.NCPU, 'number');
  assert.equal(info.Swarm.LocalNodeState, 'inactive');
  const df = await client.system.diskUsage();
  assert.ok(Array.isArray(df.Images));
});

test('images: list, inspect, tag, history, save, remove; errors keep the daemon wording', async () => {
  const list = await client.images.list({ filters: { reference: [IMG] } });
  assert.equal(list.length, 1);
  const img = await client.images.inspect(IMG);
  assert.deepEqual(img.Config?.Cmd, ['sh']);
  assert.match(await client.images.inspectRaw(IMG), /"Id":"sha256:/);
  await client.images.tag(IMG, 'clientbb-tagged', 'x');
  assert.equal((await client.images.inspect('clientbb-tagged:x')).Id, img.Id);
  assert.ok((await client.images.history(IMG)).length >= 1);
  const saved = await readAll(await client.images.save(['clientbb-tagged:x']));
  assert.ok(saved.length > 100_000);
  const removed = await client.images.remove('clientbb-tagged:x');
  assert.deepEqual(removed, [{ Untagged: 'clientbb-tagged:x' }]);
  await assert.rejects(client.images.inspect('clientbb-missing:1'), (e: Error & { status?: number; kind?: string }) => {
    assert.equal(e.status, 404);
    assert.equal(e.kind, 'NotFound');
    assert.equal(e.message, 'No such image: clientbb-missing:1');
    return true;
  });
  // A progress stream's in-band error: loading something that is not an archive.
  const bad = client.images.load(Buffer.from('not a tar'));
  await assert.rejects(bad.then((s) => s.done()), (e: Error & { status?: number }) => (e instanceof ProgressError || e.status !== undefined) && /tar/.test(e.message));
});

test('containers: create, wait registered before start, attach output, logs, inspect, remove', async () => {
  const name = `client-run-${process.pid}`;
  const created = await client.containers.create(
    { Image: IMG, Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], AttachStdout: true, AttachStderr: true, Labels: { 'berth.test': 'client' } },
    { name },
  );
  assert.match(created.Id, /^[0-9a-f]{64}$/);
  const stream = await client.containers.attach(created.Id, { stdout: true, stderr: true });
  const waiter = await client.containers.wait(created.Id, 'next-exit');
  await client.containers.start(created.Id);
  const out = await output(stream);
  assert.equal(out.stdout, 'out\n');
  assert.equal(out.stderr, 'err\n');
  assert.deepEqual(await waiter.result, { StatusCode: 3, Error: null });
  const logs = await output(await client.containers.logs(name, { stdout: true, stderr: true }));
  assert.equal(logs.stdout + logs.stderr, 'out\nerr\n');
  const c = await client.containers.inspect(name);
  assert.equal(c.State.ExitCode, 3);
  assert.equal(c.Config.Labels?.['berth.test'], 'client');
  const listed = await client.containers.list({ all: true, filters: { label: ['berth.test=client'] } });
  assert.deepEqual(listed.map((x) => x.Id), [created.Id]);
  await client.containers.remove(name);
  await assert.rejects(client.containers.inspect(name), { status: 404, message: `No such container: ${name}` });
});

test('containers: exec, top, stats, changes, archive both ways, rename, pause, kill, prune', async () => {
  const { Id: id } = await client.containers.create({ Image: IMG, Cmd: ['sleep', '300'] });
  await client.containers.start(id);
  const exec = await client.containers.exec(id, { Cmd: ['sh', '-c', 'echo hi; exit 4'], AttachStdout: true, AttachStderr: true });
  const out = await output(await client.exec.start(exec.Id));
  assert.equal(out.stdout, 'hi\n');
  const ei = await client.exec.inspect(exec.Id);
  assert.equal(ei.ExitCode, 4);
  const top = await client.containers.top(id);
  assert.ok(top.Processes?.some((p) => p.join(' ').includes('sleep 300')));
  const stats = await client.containers.stats(id);
  assert.ok(stats.memory_stats);
  let samples = 0;
  const abort = new AbortController();
  for await (const s of client.containers.statsStream(id, abort.signal)) {
    assert.ok(s.read);
    if (++samples === 2) break;
  }
  // archive: put a tar with one file, stat it, read it back, see it in changes
  const tarDir = path.join(work, 'put');
  fs.mkdirSync(tarDir, { recursive: true });
  fs.writeFileSync(path.join(tarDir, 'hello.txt'), 'hello\n');
  const { execFileSync } = await import('node:child_process');
  const tar = execFileSync('tar', ['-C', tarDir, '-cf', '-', 'hello.txt']);
  await client.containers.putArchive(id, '/tmp', Readable.from([tar]));
  const st = await client.containers.statPath(id, '/tmp/hello.txt');
  assert.equal(st.name, 'hello.txt');
  assert.equal(st.size, 6);
  const got = await client.containers.getArchive(id, '/tmp/hello.txt');
  assert.equal(got.stat?.size, 6);
  assert.ok((await readAll(got.tar)).includes(Buffer.from('hello\n')));
  assert.ok((await client.containers.changes(id)).some((ch) => ch.Path === '/tmp/hello.txt'));
  const newName = `client-renamed-${process.pid}`;
  await client.containers.rename(id, newName);
  assert.equal((await client.containers.inspect(id)).Name, `/${newName}`);
  await client.containers.pause(id);
  assert.equal((await client.containers.inspect(id)).State.Status, 'paused');
  await client.containers.unpause(id);
  await client.containers.kill(id, 'KILL');
  assert.equal((await (await client.containers.wait(id)).result).StatusCode, 137);
  assert.equal((await client.containers.inspect(id)).State.Running, false);
  // `until` takes Go durations as dockerd's prune does: nothing here is an hour old.
  assert.deepEqual((await client.containers.prune({ until: ['1h'] })).ContainersDeleted ?? [], []);
  await assert.rejects(client.containers.prune({ bogus: ['1'] }), { status: 400, message: "invalid filter 'bogus'" });
  const report = await client.containers.prune({ until: ['0s'] });
  assert.ok(report.ContainersDeleted?.includes(id));
  await assert.rejects(client.containers.kill('no-such-container-xyz'), { status: 404 });
});

test('networks and volumes: create, inspect, list, connect, remove, prune', async () => {
  const net = `clientnet${process.pid}`;
  const created = await client.networks.create({ Name: net, Labels: { 'berth.test': 'client' } });
  assert.match(created.Id, /^[0-9a-f]{64}$/);
  assert.equal((await client.networks.inspect(net)).Labels?.['berth.test'], 'client');
  assert.ok((await client.networks.list({ filters: { name: [net] } })).some((n) => n.Name === net));
  const { Id: cid } = await client.containers.create({ Image: IMG, Cmd: ['true'] });
  await client.networks.connect(net, cid);
  assert.ok(Object.keys((await client.containers.inspect(cid)).NetworkSettings.Networks).includes(net));
  await client.networks.disconnect(net, cid);
  await client.containers.remove(cid);
  await client.networks.remove(net);
  await assert.rejects(client.networks.inspect(net), { status: 404 });

  const vol = await client.volumes.create({ Name: `clientvol${process.pid}`, Labels: { keep: 'no' } });
  assert.equal((await client.volumes.inspect(vol.Name)).Labels?.keep, 'no');
  assert.ok((await client.volumes.list()).Volumes?.some((v) => v.Name === vol.Name));
  const pruned = await client.volumes.prune({ all: ['true'] });
  assert.ok(pruned.VolumesDeleted?.includes(vol.Name));
  await assert.rejects(client.volumes.remove(vol.Name), { status: 404 });
});

test('events: a filtered stream of what happens, ended by until', async () => {
  const since = String(Date.now() / 1000);
  const { Id } = await client.containers.create({ Image: IMG, Cmd: ['true'], Labels: { evt: 'client' } });
  await client.containers.remove(Id);
  const until = String(Date.now() / 1000 + 1);
  const seen: string[] = [];
  for await (const e of client.system.events({ since, until, filters: { type: ['container'], container: [Id] } })) seen.push(e.Action);
  assert.deepEqual(seen, ['create', 'destroy']);
});
