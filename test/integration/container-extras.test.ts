/**
 * Container extras through the real docker CLI: cp both ways (running and stopped, symlink escape attempts),
 * export, diff, commit, top, stats, update.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { busyboxRootfsTar, mountsUnder, sleep, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let work: string;
const IMG = 'extras/busybox:1';
const uniq = `x${process.pid}`;

before(async () => {
  d = await startDaemon();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-extras-'));
  const tar = busyboxRootfsTar(path.join(work, 'img'));
  // USER root is the default anyway; set explicitly so the test does not depend on how an absent User is merged.
  const r = await d.docker(['import', '-c', 'CMD ["sh"]', '-c', 'USER root', tar, IMG]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  const ps = await d?.docker(['ps', '-aq']);
  for (const id of ps?.stdout.split('\n').filter(Boolean) ?? []) await d.docker(['rm', '-f', id]);
  await d?.teardown();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const docker = (args: string[], opts?: { input?: string | Buffer }) => d.docker(args, opts);

async function ok(args: string[], opts?: { input?: string | Buffer }): Promise<string> {
  const r = await docker(args, opts);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function tempMountsLeft(): string[] {
  return mountsUnder(path.join(d.execRoot, 'mnt'));
}

test('cp out of and into a running container; files, dirs, symlink escapes stay inside', async () => {
  const name = `${uniq}-cp`;
  await ok(['run', '-d', '--name', name, IMG, 'sh', '-c', 'mkdir -p /srv/d && echo inner > /srv/d/f && ln -s / /srv/esc && ln -s ../../../../.. /srv/up && sleep 300']);
  for (let i = 0; i < 50; i++) {
    if ((await docker(['exec', name, 'test', '-L', '/srv/up'])).code === 0) break;
    await sleep(100);
  }
  // file out to stdout (a tar)
  const out = await docker(['cp', `${name}:/etc/passwd`, '-']);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /root:x:0:0/);
  // dir out to the host
  const dest = path.join(work, 'out');
  await ok(['cp', `${name}:/srv/d`, dest]);
  assert.equal(fs.readFileSync(path.join(dest, 'f'), 'utf8'), 'inner\n');
  // escape attempts resolve inside the container
  const esc = path.join(work, 'esc-passwd');
  await ok(['cp', `${name}:/srv/up/etc/passwd`, esc]);
  assert.equal(fs.readFileSync(esc, 'utf8'), fs.readFileSync(path.join(work, 'img/rootfs/etc/passwd'), 'utf8'));
  // into the container: a file and a dir, also through the escaping symlink
  const src = path.join(work, 'src');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'sub/a.txt'), 'A');
  fs.writeFileSync(path.join(work, 'single.txt'), 'S');
  await ok(['cp', src, `${name}:/tmp/`]);
  await ok(['cp', path.join(work, 'single.txt'), `${name}:/srv/esc/tmp/single.txt`]);
  assert.equal(await ok(['exec', name, 'cat', '/tmp/src/sub/a.txt', '/tmp/single.txt']), 'AS');
  assert.equal(fs.existsSync('/tmp/single.txt') && fs.readFileSync('/tmp/single.txt', 'utf8') === 'S', false, 'nothing written on the host');
  // the /etc/hosts the container sees (a bind mount) is what cp returns
  const hosts = await ok(['cp', `${name}:/etc/hosts`, '-']);
  assert.match(hosts, /localhost/);
  // errors
  const missing = await docker(['cp', `${name}:/nope`, path.join(work, 'nope')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /Could not find the file \/nope in container/);
  await ok(['rm', '-f', name]);
});

test('cp works on a stopped container and leaves no mount behind', async () => {
  const name = `${uniq}-stopped`;
  await ok(['run', '--name', name, IMG, 'sh', '-c', 'echo saved > /root.txt']);
  const out = await docker(['cp', `${name}:/root.txt`, '-']);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /saved/);
  fs.writeFileSync(path.join(work, 'in.txt'), 'into-stopped');
  await ok(['cp', path.join(work, 'in.txt'), `${name}:/in.txt`]);
  await ok(['start', '-a', name]).catch(() => {});
  const back = await docker(['cp', `${name}:/in.txt`, '-']);
  assert.match(back.stdout, /into-stopped/);
  assert.deepEqual(tempMountsLeft(), []);
  await ok(['rm', '-f', name]);
});

test("a container's rootfs has one mount, shared by its task and by cp/export/diff (issue 10 item 3)", async () => {
  const name = `${uniq}-onemount`;
  const id = (await ok(['create', '--name', name, IMG, 'sleep', '300'])).trim();
  const rootfs = path.join(d.execRoot, 'containers', id, 'rootfs');
  const ofContainer = () => mountsUnder(d.execRoot).filter((m) => m.includes(id));
  // stopped: cp/export/diff in parallel mount it once and release it
  fs.writeFileSync(path.join(work, 'one.txt'), 'one');
  await Promise.all([
    ok(['cp', path.join(work, 'one.txt'), `${name}:/one.txt`]),
    docker(['export', name]),
    ok(['diff', name]),
  ]);
  assert.deepEqual(ofContainer(), []);
  // a start while a `cp` out of the stopped container is still streaming waits for it (the per-container lock)
  // and then uses the same mount: never two mounts of one upper dir
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ socketPath: d.socket, path: `/containers/${id}/archive?path=/` }, resolve).on('error', reject);
  });
  assert.equal(res.statusCode, 200);
  res.pause();
  const started = ok(['start', name]);
  await sleep(500);
  assert.deepEqual(ofContainer(), [rootfs]);
  res.resume();
  res.on('data', () => {});
  await new Promise((r) => res.on('end', r));
  await started;
  // running: the task's mount is the one cp and export use (no second mount of the same upper dir)
  assert.deepEqual(ofContainer(), [rootfs]);
  const [exported, copied] = await Promise.all([docker(['export', name]), docker(['cp', `${name}:/one.txt`, '-'])]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(copied.stdout, /one/);
  assert.deepEqual(ofContainer(), [rootfs]);
  await ok(['rm', '-f', name]);
  assert.deepEqual(ofContainer(), []);
  assert.equal(fs.existsSync(path.join(d.execRoot, 'containers', id)), false);
});

test('export | tar -t lists the rootfs; diff shows A/C/D', async () => {
  const name = `${uniq}-diff`;
  await ok(['run', '--name', name, IMG, 'sh', '-c', 'echo new > /added.txt; echo x >> /etc/group; rm /bin/wc']);
  const tarFile = path.join(work, 'export.tar');
  await ok(['export', '-o', tarFile, name]);
  const list = execFileSync('tar', ['-tf', tarFile]).toString();
  assert.match(list, /^bin\/busybox$/m);
  assert.match(list, /^added\.txt$/m);
  assert.doesNotMatch(list, /^bin\/wc$/m);
  const diff = (await ok(['diff', name])).trim().split('\n');
  assert.ok(diff.includes('A /added.txt'), diff.join('\n'));
  assert.ok(diff.includes('C /etc/group'), diff.join('\n'));
  assert.ok(diff.includes('D /bin/wc'), diff.join('\n'));
  assert.ok(!diff.some((l) => /\/(proc|sys|dev)$|\/etc\/(hosts|hostname|resolv\.conf)$/.test(l)), diff.join('\n'));
  assert.deepEqual(tempMountsLeft(), []);
  await ok(['rm', '-f', name]);
});

test('commit: new image has the file and the new CMD; parent and history recorded', async () => {
  const name = `${uniq}-commit`;
  await ok(['run', '-d', '--name', name, IMG, 'sh', '-c', 'echo committed > /c.txt; sleep 300']);
  for (let i = 0; i < 50; i++) {
    if ((await docker(['exec', name, 'test', '-f', '/c.txt'])).code === 0) break;
    await sleep(100);
  }
  const id = (await ok(['commit', '-c', 'CMD ["cat", "/c.txt"]', '-c', 'ENV A=b', '-m', 'msg', '-a', 'me', name, 'extras/committed:1'])).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal((await ok(['inspect', '-f', '{{.State.Running}} {{.State.Paused}}', name])).trim(), 'true false');
  assert.equal(await ok(['run', '--rm', 'extras/committed:1']), 'committed\n');
  assert.match(await ok(['run', '--rm', 'extras/committed:1', 'env']), /^A=b$/m);
  const cfg = JSON.parse(await ok(['image', 'inspect', 'extras/committed:1']))[0];
  assert.deepEqual(cfg.Config.Cmd, ['cat', '/c.txt']);
  assert.equal(cfg.Author, 'me');
  assert.equal(cfg.Comment, 'msg');
  assert.equal(cfg.RootFS.Layers.length, 2);
  await ok(['rm', '-f', name]);
});

test('top shows the container process', async () => {
  const name = `${uniq}-top`;
  await ok(['run', '-d', '--name', name, IMG, 'sleep', '4242']);
  const out = await ok(['top', name]);
  assert.match(out.split('\n')[0]!, /PID/);
  assert.match(out, /sleep 4242/);
  const custom = await ok(['top', name, '-o', 'pid,comm']);
  assert.match(custom, /sleep/);
  await ok(['rm', '-f', name]);
  const stopped = await docker(['top', name]);
  assert.notEqual(stopped.code, 0);
});

test('stats --no-stream shows the memory limit; update -m changes the cgroup', async () => {
  const name = `${uniq}-stats`;
  const id = (await ok(['run', '-d', '--name', name, '-m', '64m', IMG, 'sleep', '300'])).trim();
  const stats = await ok(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', name]);
  assert.match(stats, new RegExp(`^${name} .+ / 64MiB 1$`, 'm'));
  const raw = JSON.parse(execFileSync('curl', ['-s', '--unix-socket', d.socket, `http://x/containers/${id}/stats?stream=false&one-shot=true`]).toString());
  assert.equal(raw.memory_stats.limit, 64 * 1024 * 1024);
  assert.ok(raw.cpu_stats.system_cpu_usage > 0);
  assert.equal(raw.id, id);
  await ok(['update', '-m', '96m', name]);
  const v1 = `/sys/fs/cgroup/memory/berth/${id}/memory.limit_in_bytes`;
  const v2 = `/sys/fs/cgroup/berth/${id}/memory.max`;
  const limit = fs.existsSync(v1) ? fs.readFileSync(v1, 'utf8') : fs.readFileSync(v2, 'utf8');
  assert.equal(limit.trim(), String(96 * 1024 * 1024));
  assert.equal((await ok(['inspect', '-f', '{{.HostConfig.Memory}}', name])).trim(), String(96 * 1024 * 1024));
  const bad = await docker(['update', '-m', '1k', name]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Minimum memory limit allowed is 6MB/);
  await ok(['update', '--restart', 'on-failure:2', name]);
  assert.equal((await ok(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}', name])).trim(), 'on-failure');
  await ok(['rm', '-f', name]);
});
