/**
 * CPU real-time scheduling on cgroup v1 through the real docker CLI: the daemon's --cpu-rt-runtime goes into the
 * container's parent cgroups, the container's --cpu-rt-runtime into its own, `docker update` changes it live, and
 * bad values are dockerd's 400s. Every cgroup touched is below this daemon's own --cgroup-parent (named after its
 * temp root); the host's root cgroup is only read.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { busyboxRootfsTar, startDaemon } from '../harness.js';

const CPU = '/sys/fs/cgroup/cpu';
const supported = fs.existsSync(path.join(CPU, 'cpu.rt_runtime_us'));
const skip = supported ? false : 'needs cgroup v1 with CPU real-time group scheduling';
const DAEMON_RT = 20000; // 2% of the default 1 s period: small, so it fits beside any sibling's budget

let d: Awaited<ReturnType<typeof startDaemon>>;
let root: string;
let top: string; // this daemon's top cgroup, /berthrt-<temp root name>
let parent: string; // its --cgroup-parent, one level deeper: both levels must get the daemon's budget
const IMG = 'rt/busybox:1';

before(async () => {
  if (skip) return;
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rt-'));
  top = `/berthrt-${path.basename(root)}`;
  parent = `${top}/ctrs`;
  d = await startDaemon({ root, args: ['--cgroup-parent', parent, '--cpu-rt-runtime', String(DAEMON_RT)] });
  const tar = busyboxRootfsTar(path.join(root, 'img'));
  const r = await d.docker(['import', '-c', 'CMD ["sh"]', tar, IMG]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  if (skip) return;
  const ps = await d?.docker(['ps', '-aq']);
  for (const id of ps?.stdout.split('\n').filter(Boolean) ?? []) await d.docker(['rm', '-f', id]);
  await d?.teardown();
  // runc removed the containers' cgroups; the parents it and berth made are this daemon's own: remove them
  // (rmdir only, deepest first — a cgroup with processes would refuse, and nothing is forced).
  for (const h of fs.readdirSync('/sys/fs/cgroup')) {
    for (const tree of [top, `${top}-own`]) removeCgroupTree(path.join('/sys/fs/cgroup', h, tree));
  }
});

function removeCgroupTree(dir: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch {
    /* still in use: left for the reader of the failure */
  }
}

const read = (rel: string, file: string) => Number(fs.readFileSync(path.join(CPU, rel, file), 'utf8').trim());

async function ok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A raw Engine API call, for the status code the CLI does not print. */
function api(method: string, p: string, body: unknown): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method, path: p, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: (JSON.parse(text || '{}') as { message?: string }).message ?? '' }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('run --cpu-rt-runtime: the container cgroup has it, every parent has the daemon budget; update changes it live', { skip }, async () => {
  const hostRoot = read('/', 'cpu.rt_runtime_us');
  const id = await ok(['run', '-d', '--cpu-rt-runtime', '10000', IMG, 'sleep', '300']);
  assert.equal(read(`${parent}/${id}`, 'cpu.rt_runtime_us'), 10000);
  assert.equal(read(top, 'cpu.rt_runtime_us'), DAEMON_RT);
  assert.equal(read(parent, 'cpu.rt_runtime_us'), DAEMON_RT);
  assert.equal(read('/', 'cpu.rt_runtime_us'), hostRoot, 'the host root cgroup is never written');
  const hc = JSON.parse(await ok(['inspect', '-f', '{{json .HostConfig}}', id])) as Record<string, unknown>;
  assert.equal(hc.CpuRealtimeRuntime, 10000);
  assert.equal(hc.CpuRealtimePeriod, 0);

  await ok(['update', '--cpu-rt-runtime', '15000', id]);
  assert.equal(read(`${parent}/${id}`, 'cpu.rt_runtime_us'), 15000);
  assert.equal(await ok(['inspect', '-f', '{{.HostConfig.CpuRealtimeRuntime}}', id]), '15000');
  // more than the parent has: the kernel refuses, the value stays
  const r = await d.docker(['update', '--cpu-rt-runtime', String(DAEMON_RT * 2), id]);
  assert.notEqual(r.code, 0);
  assert.equal(read(`${parent}/${id}`, 'cpu.rt_runtime_us'), 15000);
  await ok(['rm', '-f', id]);
});

test('a container cgroup-parent of its own gets the daemon budget too', { skip }, async () => {
  // a sibling tree of the daemon's: the kernel counts siblings' budgets against their parent's
  const own = `${top}-own/sub`;
  const id = await ok(['run', '-d', '--cgroup-parent', own, '--cpu-rt-runtime', '5000', IMG, 'sh', '-c', 'sleep 300 & exec sleep 301']);
  try {
    assert.equal(read(`${own}/${id}`, 'cpu.rt_runtime_us'), 5000);
    assert.equal(read(own, 'cpu.rt_runtime_us'), DAEMON_RT);
    assert.equal(read(path.dirname(own), 'cpu.rt_runtime_us'), DAEMON_RT);
    assert.equal(await ok(['inspect', '-f', '{{.HostConfig.CgroupParent}}', id]), own);
    // top and stats find the task's pids and counters in that cgroup, not under the daemon's parent
    // (two processes: top falls back to the init's pid alone when the cgroup reads empty)
    const top2 = await ok(['top', id]);
    assert.match(top2, /sleep 300/);
    assert.match(top2, /sleep 301/);
    assert.ok(fs.readFileSync(path.join('/sys/fs/cgroup/pids', own, id, 'cgroup.procs'), 'utf8').trim());
  } finally {
    await ok(['rm', '-f', id]);
  }
});

test('runtime above the period: 400 in dockerd words at create and at update; the daemon stays up', { skip }, async () => {
  const cli = await d.docker(['run', '--rm', '--cpu-rt-period', '10000', '--cpu-rt-runtime', '20000', IMG, 'true']);
  assert.equal(cli.code, 125);
  assert.match(cli.stderr, /cpu real-time runtime cannot be higher than cpu real-time period/);
  const create = await api('POST', '/v1.47/containers/create', { Image: IMG, Cmd: ['true'], HostConfig: { CpuRealtimePeriod: 10000, CpuRealtimeRuntime: 20000 } });
  assert.deepEqual(create, { status: 400, message: 'cpu real-time runtime cannot be higher than cpu real-time period' });
  const id = await ok(['create', '--cpu-rt-period', '100000', IMG, 'true']);
  const upd = await api('POST', `/v1.47/containers/${id}/update`, { CpuRealtimeRuntime: 200000 });
  assert.equal(upd.status, 400);
  assert.equal(upd.message, `Cannot update container ${id}: cpu real-time runtime cannot be higher than cpu real-time period`);
  await ok(['rm', id]);
  assert.equal(await ok(['version', '-f', '{{.Server.APIVersion}}']), '1.47');
});
