/**
 * The pod model orchestrators build on (issue 19 items 4 and 11): namespace sharing through the docker CLI's flags
 * (`--ipc shareable|private|host|none|container:`, `--pid host|container:`, `--uts host`, `--cgroupns`), and the
 * call sequences of cri-dockerd (Kubernetes) and Nomad's docker driver replayed through the Engine API with
 * dockerode — including the CNI step those drivers leave to plugins: entering the sandbox's network namespace
 * through `NetworkSettings.SandboxKey` with `ip`/`nsenter`. Messages and shapes are dockerd 20.10's, checked side
 * by side.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import { importBusybox, sleep, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let docker: Docker;
const IMG = 'pods/busybox:1';
const u = crypto.randomBytes(3).toString('hex');
/** Network namespaces this file made for the far ends of its veths (deleted in `after`, by name). */
const peerNetns: string[] = [];

before(async () => {
  d = await startDaemon();
  await importBusybox(d, IMG);
  docker = new Docker({ socketPath: d.socket });
});

after(async () => {
  for (const n of peerNetns) {
    try {
      execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' }); // its veth end goes with it
    } catch {
      /* gone already */
    }
  }
  const ps = await d?.docker(['ps', '-aq']);
  for (const id of ps?.stdout.split('\n').filter(Boolean) ?? []) await d.docker(['rm', '-f', id]);
  await d?.teardown();
});

async function ok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

async function fails(args: string[], message: RegExp | string): Promise<void> {
  const r = await d.docker(args);
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail`);
  if (typeof message === 'string') assert.ok(r.stderr.includes(message), `docker ${args.join(' ')}: ${r.stderr}`);
  else assert.match(r.stderr, message);
}

/** A raw API call (for what dockerode hides: versioned paths, exact bodies). */
function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({ socketPath: d.socket, method, path: p, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** A running container's namespace of a kind, read on the host from its init. */
const nsOf = async (name: string, kind: string) => fs.readlinkSync(`/proc/${JSON.parse(await ok(['inspect', name]))[0].State.Pid}/ns/${kind}`);
/** What `ls -l` shows a symlink pointing at. */
const linkTarget = (ls: string) => ls.trim().split(' -> ')[1];

test('namespace modes through the docker CLI: ipc shareable/container/none/host, pid container/host, uts host, cgroupns', async () => {
  const donor = `${u}-donor`;
  const donorId = await ok(['run', '-d', '--name', donor, '--ipc', 'shareable', IMG, 'sleep', '300']);
  const priv = `${u}-private`;
  await ok(['run', '-d', '--name', priv, IMG, 'sleep', '300']);
  // joining needs a shareable donor, an existing one, a running one (dockerd's words)
  await fails(['run', '--rm', '--ipc', `container:${priv}`, IMG, 'true'], 'non-shareable IPC (hint: use IpcMode:shareable for the donor container)');
  await fails(['create', '--ipc', `container:nope-${u}`, IMG], `No such container: nope-${u}`);
  await fails(['create', '--pid', `container:nope-${u}`, IMG], `No such container: nope-${u}`);

  const ipcNet = `${u}-ipcnet`;
  const pidJoin = `${u}-pid`;
  await ok(['run', '-d', '--name', ipcNet, '--ipc', `container:${donor}`, '--network', `container:${donor}`, IMG, 'sleep', '300']);
  await ok(['run', '-d', '--name', pidJoin, '--pid', `container:${donor}`, IMG, 'sleep', '300']);
  assert.equal(await nsOf(ipcNet, 'ipc'), await nsOf(donor, 'ipc'));
  assert.equal(await nsOf(ipcNet, 'net'), await nsOf(donor, 'net'));
  assert.notEqual(await nsOf(priv, 'ipc'), await nsOf(donor, 'ipc'));
  await ok(['exec', donor, 'sh', '-c', 'echo shared > /dev/shm/x']);
  assert.equal(await ok(['exec', ipcNet, 'cat', '/dev/shm/x']), 'shared');
  const ps = await ok(['exec', pidJoin, 'ps', '-o', 'pid,args']);
  assert.match(ps, /^\s*1 sleep 300$/m, ps); // the donor's init is pid 1 of the joiner's namespace
  // inspect shows the modes with the donor's full ID, as dockerd
  const hc = JSON.parse(await ok(['inspect', ipcNet]))[0].HostConfig;
  assert.equal(hc.IpcMode, `container:${donorId}`);
  assert.equal(hc.NetworkMode, `container:${donorId}`);
  assert.equal(JSON.parse(await ok(['inspect', pidJoin]))[0].HostConfig.PidMode, `container:${donorId}`);
  assert.equal(JSON.parse(await ok(['inspect', donor]))[0].HostConfig.IpcMode, 'shareable');

  // the donor restarts: the ipc/net joiner keeps running with what it joined (its /dev/shm too); the pid joiner's
  // namespace ended with the donor's init, so it was killed — both as with dockerd
  await ok(['restart', '-t', '0', donor]);
  await sleep(300);
  assert.equal(JSON.parse(await ok(['inspect', ipcNet]))[0].State.Status, 'running');
  assert.equal(await ok(['exec', ipcNet, 'cat', '/dev/shm/x']), 'shared');
  assert.equal(await ok(['exec', donor, 'ls', '/dev/shm']), '', 'the restarted donor has a new /dev/shm');
  const pj = JSON.parse(await ok(['inspect', pidJoin]))[0].State;
  assert.equal(pj.Status, 'exited');
  assert.equal(pj.ExitCode, 137);
  await ok(['stop', '-t', '0', donor]);
  await fails(['run', '--rm', '--ipc', `container:${donor}`, IMG, 'true'], `can't join IPC of container ${donorId}: container ${donorId} is not running`);
  await fails(['run', '--rm', '--pid', `container:${donor}`, IMG, 'true'], `container ${donorId} is not running`);

  // none / host
  await fails(['run', '--rm', '--ipc', 'none', IMG, 'ls', '/dev/shm'], 'No such file or directory');
  assert.equal(linkTarget(await ok(['run', '--rm', '--ipc', 'host', IMG, 'ls', '-l', '/proc/self/ns/ipc'])), fs.readlinkSync('/proc/self/ns/ipc'));
  assert.equal(linkTarget(await ok(['run', '--rm', '--pid', 'host', IMG, 'ls', '-l', '/proc/self/ns/pid'])), fs.readlinkSync('/proc/self/ns/pid'));
  assert.equal(await ok(['run', '--rm', '--uts', 'host', IMG, 'hostname']), os.hostname());
  await fails(['run', '--rm', '--uts', 'host', '--hostname', 'x', IMG, 'true'], 'conflicting options: hostname and the UTS mode');
  // cgroup namespaces: private shows the container's cgroup as its root, host shows berth's path
  const privCg = await ok(['run', '--rm', '--cgroupns', 'private', IMG, 'cat', '/proc/self/cgroup']);
  assert.ok(privCg.split('\n').every((l) => l.endsWith(':/')), privCg);
  const hostCgName = `${u}-cghost`;
  const hostCg = await ok(['run', '--name', hostCgName, '--cgroupns', 'host', IMG, 'cat', '/proc/self/cgroup']);
  assert.match(hostCg, /\/berth\/[0-9a-f]{64}$/m);
  const cgHc = JSON.parse(await ok(['inspect', hostCgName]))[0].HostConfig;
  assert.equal(cgHc.CgroupnsMode, 'host');
  assert.equal(cgHc.UTSMode, '');
  assert.equal(cgHc.PidMode, '');
  assert.equal(cgHc.IpcMode, 'private');
});

test('create-time answers as dockerd: cgroupns, isolation, runtime, IpcMode for API < 1.40, inspect defaults', async () => {
  const bad = await api('POST', '/containers/create', { Image: IMG, HostConfig: { CgroupnsMode: 'bogus' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.message, 'invalid cgroup namespace mode: bogus');
  const iso = await api('POST', '/containers/create', { Image: IMG, HostConfig: { Isolation: 'foobar' } });
  assert.equal(iso.status, 400); // dockerd 20.10 says 500 with the same words
  assert.equal(iso.json.message, `Invalid isolation: "foobar" - linux only supports 'default'`);
  const rt = await api('POST', '/containers/create', { Image: IMG, HostConfig: { Runtime: 'foobar' } });
  assert.equal(rt.status, 400);
  assert.equal(rt.json.message, 'Unknown runtime specified foobar');
  await fails(['create', '--isolation', 'foobar', IMG], `Invalid isolation: "foobar" - linux only supports 'default'`);
  await fails(['create', '--runtime', 'foobar', IMG], 'Unknown runtime specified foobar');
  const good = await api('POST', '/containers/create', { Image: IMG, HostConfig: { Isolation: 'default', Runtime: 'runc' } });
  assert.equal(good.status, 201, JSON.stringify(good.json));
  assert.equal((await api('POST', `/containers/create?name=${u}-defaults`, { Image: IMG, HostConfig: {} })).status, 201);
  assert.equal((await api('POST', '/containers/create', { Image: IMG, HostConfig: { IpcMode: `container:nope-${u}` } })).status, 400);

  // clients below API 1.40 get `shareable` as the default IPC mode when they send a HostConfig, as from dockerd
  const old = await api('POST', `/v1.39/containers/create?name=${u}-old`, { Image: IMG, HostConfig: {} });
  assert.equal(old.status, 201);
  assert.equal((await api('GET', `/containers/${u}-old/json`)).json.HostConfig && ((await api('GET', `/containers/${u}-old/json`)).json.HostConfig as Record<string, unknown>).IpcMode, 'shareable');
  await api('POST', `/v1.39/containers/create?name=${u}-old2`, { Image: IMG });
  assert.equal(((await api('GET', `/containers/${u}-old2/json`)).json.HostConfig as Record<string, unknown>).IpcMode, 'private');

  // inspect defaults of a raw API create: Dns lists null, UsernsMode "", Isolation "", no Healthcheck field
  const ins = (await api('GET', `/containers/${u}-defaults/json`)).json;
  const h = ins.HostConfig as Record<string, unknown>;
  assert.equal(h.Dns, null);
  assert.equal(h.DnsOptions, null);
  assert.equal(h.DnsSearch, null);
  assert.equal(h.UsernsMode, '');
  assert.equal(h.Isolation, '');
  assert.equal(h.Runtime, 'runc');
  assert.ok(!('Healthcheck' in (ins.Config as object)), JSON.stringify(ins.Config));
  // a healthcheck keeps only the fields that were set (dockerd's omitempty)
  const hcName = `${u}-health`;
  await api('POST', `/containers/create?name=${hcName}`, { Image: IMG, Healthcheck: { Test: ['CMD', 'true'], Interval: 0, Timeout: 0, Retries: 0 } });
  assert.deepEqual(((await api('GET', `/containers/${hcName}/json`)).json.Config as Record<string, unknown>).Healthcheck, { Test: ['CMD', 'true'] });
});

test('--network container:<missing> as dockerd: the create succeeds, the start is 404 "No such container: <ref>" (CLI exit 1; run exits 125), the container stays Created', async () => {
  const name = `${u}-netmissing`;
  const missing = `missing-${u}`;
  const id = await ok(['create', '--name', name, '--network', `container:${missing}`, IMG, 'true']);
  assert.match(id, /^[0-9a-f]{64}$/);
  const st = await api('POST', `/containers/${name}/start`);
  assert.equal(st.status, 404);
  assert.equal(st.json.message, `No such container: ${missing}`);
  const cli = await d.docker(['start', name]);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, new RegExp(`Error response from daemon: No such container: ${missing}\n`));
  const run = await d.docker(['run', '--rm', '--network', `container:${missing}`, IMG, 'true']);
  assert.equal(run.code, 125);
  assert.match(run.stderr, new RegExp(`docker: Error response from daemon: No such container: ${missing}`));
  assert.doesNotMatch(run.stderr, /Unable to find image/); // a 404 at create would make the CLI try to pull
  assert.equal(await ok(['inspect', '--format', '{{.State.Status}} {{.HostConfig.NetworkMode}}', name]), `created container:${missing}`);
  // once the donor exists, the same container starts in its namespace
  const donor = await ok(['run', '-d', '--name', missing, IMG, 'sleep', '300']);
  await ok(['start', name]);
  assert.equal((await ok(['inspect', '--format', '{{.HostConfig.NetworkMode}}', name])).startsWith('container:'), true);
  await ok(['rm', '-f', name, donor]);
});

/** Collects a hijacked multiplexed stream's stdout until it ends. */
function collect(stream: NodeJS.ReadableStream): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (b: Buffer) => chunks.push(b));
  docker.modem.demuxStream(stream, out, new PassThrough());
  return new Promise((resolve) => {
    stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
    stream.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

test("cri-dockerd's pod lifecycle: sandbox (none + shareable IPC) entered by a CNI-like step through SandboxKey, app containers joining it, json-file LogPath, one-shot stats, exec, stop/remove", async () => {
  const info = await docker.info();
  assert.ok(['cgroupfs', 'systemd'].includes(info.CgroupDriver), info.CgroupDriver);
  assert.equal(info.DockerRootDir, d.dataRoot);
  assert.ok(info.Runtimes?.runc, JSON.stringify(info.Runtimes));
  assert.equal(info.DefaultRuntime, 'runc');

  const pod = { name: `web-${u}`, ns: 'default', uid: crypto.randomUUID() };
  // RunPodSandbox: the "pause" container, with the labels and host config cri-dockerd sends
  const sandbox = await docker.createContainer({
    name: `k8s_POD_${pod.name}_${pod.ns}_${pod.uid}_0`,
    Image: IMG,
    Cmd: ['sleep', '3600'],
    Hostname: pod.name,
    Labels: {
      'io.kubernetes.docker.type': 'podsandbox',
      'io.kubernetes.pod.name': pod.name,
      'io.kubernetes.pod.namespace': pod.ns,
      'io.kubernetes.pod.uid': pod.uid,
      'io.kubernetes.container.name': 'POD',
    },
    HostConfig: { NetworkMode: 'none', IpcMode: 'shareable', RestartPolicy: { Name: '', MaximumRetryCount: 0 }, SecurityOpt: ['no-new-privileges'], CgroupParent: '' },
  });
  await sandbox.start();
  const sb = await sandbox.inspect();
  assert.equal(sb.HostConfig.IpcMode, 'shareable');
  const key = sb.NetworkSettings.SandboxKey;
  assert.ok(key.startsWith(`${d.execRoot}/`), key);
  // a real network namespace bind mount whose namespace is the sandbox init's (State.Pid)
  assert.ok(fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === key), 'SandboxKey is not a mount');
  assert.equal(fs.statSync(key).ino, fs.statSync(`/proc/${sb.State.Pid}/ns/net`).ino);

  // the CNI plugin's part: a veth into the sandbox through its SandboxKey (ip + nsenter), addressed on TEST-NET-1.
  // Its far end lives in a namespace of the test's own (standing in for the node's pod network), never the host's.
  const far = `berth-pods-${u}`;
  execFileSync('ip', ['netns', 'add', far]);
  peerNetns.push(far);
  const peer = `brp${u}c`;
  execFileSync('ip', ['-n', far, 'link', 'add', 'gw0', 'type', 'veth', 'peer', 'name', peer]);
  execFileSync('ip', ['-n', far, 'link', 'set', peer, 'netns', key]);
  execFileSync('nsenter', [`--net=${key}`, 'ip', 'link', 'set', peer, 'name', 'eth0']);
  execFileSync('nsenter', [`--net=${key}`, 'ip', 'addr', 'add', '192.0.2.2/30', 'dev', 'eth0']);
  execFileSync('nsenter', [`--net=${key}`, 'ip', 'link', 'set', 'eth0', 'up']);
  execFileSync('ip', ['-n', far, 'addr', 'add', '192.0.2.1/30', 'dev', 'gw0']);
  execFileSync('ip', ['-n', far, 'link', 'set', 'gw0', 'up']);

  // CreateContainer/StartContainer: the app joins the sandbox's network, IPC and PID namespaces
  const app = await docker.createContainer({
    name: `k8s_app_${pod.name}_${pod.ns}_${pod.uid}_0`,
    Image: IMG,
    Cmd: ['sh', '-c', 'echo app started; ip -o -4 addr show eth0; echo log > /dev/shm/app; exec sleep 3600'],
    Labels: {
      'io.kubernetes.docker.type': 'container',
      'io.kubernetes.sandbox.id': sb.Id,
      'io.kubernetes.pod.name': pod.name,
      'io.kubernetes.pod.namespace': pod.ns,
      'io.kubernetes.pod.uid': pod.uid,
      'io.kubernetes.container.name': 'app',
    },
    HostConfig: {
      NetworkMode: `container:${sb.Id}`,
      IpcMode: `container:${sb.Id}`,
      PidMode: `container:${sb.Id}`,
      LogConfig: { Type: 'json-file', Config: {} },
      RestartPolicy: { Name: '', MaximumRetryCount: 0 },
    },
  });
  await app.start();
  const ai = await app.inspect();
  assert.equal(ai.HostConfig.NetworkMode, `container:${sb.Id}`);
  assert.equal(fs.readlinkSync(`/proc/${ai.State.Pid}/ns/net`), fs.readlinkSync(`/proc/${sb.State.Pid}/ns/net`));
  assert.equal(fs.readlinkSync(`/proc/${ai.State.Pid}/ns/ipc`), fs.readlinkSync(`/proc/${sb.State.Pid}/ns/ipc`));
  assert.equal(fs.readlinkSync(`/proc/${ai.State.Pid}/ns/pid`), fs.readlinkSync(`/proc/${sb.State.Pid}/ns/pid`));

  // logs: cri-dockerd links the kubelet's log file to LogPath and reads it as json-file
  let lines: Array<{ log: string; stream: string; time: string }> = [];
  for (let i = 0; i < 50 && lines.length < 2; i++) {
    await sleep(100);
    lines = fs.existsSync(ai.LogPath) ? fs.readFileSync(ai.LogPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  }
  assert.equal(lines[0]?.log, 'app started\n');
  assert.equal(lines[0]?.stream, 'stdout');
  assert.ok(!Number.isNaN(Date.parse(lines[0]!.time)));
  assert.match(lines[1]?.log ?? '', /eth0\s+inet 192\.0\.2\.2\/30/);

  // ContainerStats: one-shot
  const stats = (await app.stats({ stream: false, 'one-shot': true } as { stream: false })) as unknown as { memory_stats: { usage?: number }; pids_stats: { current?: number } };
  assert.ok((stats.memory_stats.usage ?? 0) > 0, JSON.stringify(stats.memory_stats));
  assert.ok((stats.pids_stats.current ?? 0) >= 1);

  // ExecSync: the app reaches the far end of the CNI veth and sees the sandbox's /dev/shm
  const exec = await app.exec({ Cmd: ['sh', '-c', 'ping -c 1 -W 2 192.0.2.1 >/dev/null && echo reachable; cat /dev/shm/app'], AttachStdout: true, AttachStderr: true });
  const out = await collect((await exec.start({ hijack: true, stdin: false })) as unknown as NodeJS.ReadableStream);
  assert.equal(out, 'reachable\nlog\n');
  assert.equal((await exec.inspect()).ExitCode, 0);

  // ListContainers by label, as the kubelet's relist does
  const listed = await docker.listContainers({ all: true, filters: { label: [`io.kubernetes.pod.uid=${pod.uid}`] } });
  assert.deepEqual(listed.map((c) => c.Labels['io.kubernetes.docker.type']).sort(), ['container', 'podsandbox']);

  // StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox
  await app.stop({ t: 1 });
  await app.remove();
  await sandbox.stop({ t: 1 });
  assert.equal(fs.existsSync(key), false, 'the namespace path goes with the stopped sandbox');
  await sandbox.remove();
});

test("Nomad's docker driver: a nomad_init pause container (none, unless-stopped), tasks joining it with container:, logs, stats, stop/remove", async () => {
  const alloc = crypto.randomUUID();
  const init = await docker.createContainer({
    name: `nomad_init_${alloc}`,
    Image: IMG,
    Cmd: ['sleep', '3600'],
    Labels: { 'com.hashicorp.nomad.alloc_id': alloc },
    HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 } },
  });
  await init.start();
  const ii = await init.inspect();
  assert.equal(ii.HostConfig.RestartPolicy?.Name, 'unless-stopped');
  assert.equal(fs.statSync(ii.NetworkSettings.SandboxKey).ino, fs.statSync(`/proc/${ii.State.Pid}/ns/net`).ino);
  const task = await docker.createContainer({
    name: `web-${alloc}`,
    Image: IMG,
    Cmd: ['sh', '-c', 'echo task up; exec sleep 3600'],
    Labels: { 'com.hashicorp.nomad.alloc_id': alloc, 'com.hashicorp.nomad.task_name': 'web' },
    HostConfig: { NetworkMode: `container:${ii.Id}`, LogConfig: { Type: 'json-file', Config: { 'max-file': '2', 'max-size': '2m' } }, Memory: 64 * 1024 * 1024 },
  });
  await task.start();
  const ti = await task.inspect();
  assert.equal(fs.readlinkSync(`/proc/${ti.State.Pid}/ns/net`), fs.readlinkSync(`/proc/${ii.State.Pid}/ns/net`));
  // the driver streams logs and stats
  let logs = '';
  for (let i = 0; i < 50 && !logs.includes('task up'); i++) {
    await sleep(100);
    logs = (await task.logs({ stdout: true, stderr: true, follow: false })).toString();
  }
  assert.match(logs, /task up/);
  const stream = (await task.stats({ stream: true })) as unknown as NodeJS.ReadableStream;
  const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = '';
    stream.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    stream.on('error', reject);
  });
  (stream as unknown as { destroy(): void }).destroy();
  assert.equal((first.memory_stats as { limit: number }).limit, 64 * 1024 * 1024);
  // the init's restart policy brings the pause container back after a crash; the task keeps running
  process.kill(ii.State.Pid, 'SIGKILL');
  let back = await init.inspect();
  for (let i = 0; i < 50 && !(back.State.Running && back.State.Pid !== ii.State.Pid); i++) {
    await sleep(100);
    back = await init.inspect();
  }
  assert.ok(back.State.Running && back.State.Pid !== ii.State.Pid, JSON.stringify(back.State));
  assert.equal((await task.inspect()).State.Running, true);
  // shutdown: stop with the kill timeout, remove with force, then the init
  await task.stop({ t: 1 });
  assert.equal((await task.wait()).StatusCode, 137);
  await task.remove({ force: true });
  await init.remove({ force: true });
  assert.equal(fs.existsSync(ii.NetworkSettings.SandboxKey), false);
});
