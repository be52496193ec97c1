/**
 * dockerode (the Node SDK testcontainers builds on) against berthd: hijacked attach/exec streams carry only what the
 * client writes after the upgrade (never its JSON options body), a half-closed request still gets its answer,
 * `HostPort: "0"`/`""` publish ephemeral ports, `-P` covers the EXPOSEd ports of an image berth built, and the
 * swarm endpoints answer as a dockerd outside a swarm. Bad input gets dockerd's status and wording.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import { eventually, importBusybox, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let docker: Docker;
const IMG = 'dockerode/busybox:1';
const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

before(async () => {
  d = await startDaemon();
  await importBusybox(d, IMG);
  docker = new Docker({ socketPath: d.socket });
});

after(async () => {
  await d?.teardown();
});

/** Collects a hijacked multiplexed stream's stdout until it ends. */
function collectStdout(stream: NodeJS.ReadWriteStream): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (b: Buffer) => chunks.push(b));
  docker.modem.demuxStream(stream, out, new PassThrough());
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
    stream.on('close', () => resolve(Buffer.concat(chunks).toString()));
    stream.on('error', reject);
  });
}

/** What a dockerode call failed with: its status and dockerd's message. */
async function failure(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { statusCode?: number; json?: { message?: string } | null; message: string };
    return { status: err.statusCode ?? 0, message: err.json?.message ?? err.message };
  }
  throw new Error('expected the call to fail');
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (b) => (body += b));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

test("attach with hijack: the container's stdin gets what the client streams, not dockerode's JSON options body", async () => {
  const c = await docker.createContainer({ Image: IMG, Cmd: ['sh', '-c', 'cat; echo done'], OpenStdin: true, StdinOnce: true });
  const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
  const output = collectStdout(stream);
  await c.start();
  stream.end('hello\n');
  assert.equal((await c.wait()).StatusCode, 0);
  assert.equal(await output, 'hello\ndone\n');
  await c.remove();
});

test('exec start with hijack: stdin is only the streamed bytes', async () => {
  const c = await docker.createContainer({ Image: IMG, Cmd: ['sleep', '60'] });
  await c.start();
  const exec = await c.exec({ Cmd: ['sh', '-c', 'cat; echo done'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: true });
  const output = collectStdout(stream);
  stream.end('ping\n');
  assert.equal(await output, 'ping\ndone\n');
  assert.equal((await exec.inspect()).ExitCode, 0);
  await c.remove({ force: true });
});

test('a client that half-closes after a complete request still gets the answer', async () => {
  const body = JSON.stringify({ Image: IMG, Cmd: ['true'] });
  const answer = await new Promise<string>((resolve, reject) => {
    const s = net.connect(d.socket, () =>
      s.end(`POST /v1.47/containers/create?name=half-closed HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
    );
    let text = '';
    s.on('data', (b) => (text += b));
    s.on('close', () => resolve(text));
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error(`no answer after half-close: ${JSON.stringify(text)}`)));
  });
  assert.match(answer, /^HTTP\/1\.1 201 Created\r\n/);
  const { Id } = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { Id: string };
  assert.equal((await docker.getContainer('half-closed').inspect()).Id, Id);
  await docker.getContainer(Id).remove();
});

test('HostPort "0" and "" publish ephemeral ports: HostConfig keeps them, NetworkSettings shows the real ones', async () => {
  const c = await docker.createContainer({
    Image: IMG,
    Cmd: ['sh', '-c', 'mkdir /www && echo served > /www/index.html && httpd -f -p 80 -h /www'],
    ExposedPorts: { '80/tcp': {}, '81/tcp': {} },
    HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '0' }], '81/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  await c.start();
  const info = await c.inspect();
  // As dockerd 20.10 answers side by side: the request's values, with the omitted HostIp as "".
  assert.deepEqual(info.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '0' }], '81/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
  const ports = info.NetworkSettings.Ports;
  const p80 = Number(ports['80/tcp']?.[0]?.HostPort);
  const p81 = Number(ports['81/tcp']?.[0]?.HostPort);
  assert.ok(p80 > 0 && p81 > 0 && p80 !== p81, JSON.stringify(ports));
  assert.equal(ports['81/tcp']?.[0]?.HostIp, '127.0.0.1');
  assert.equal(await eventually(() => httpGet(p80)), 'served\n');
  const listed = (await docker.listContainers({ filters: { id: [info.Id] } }))[0]!;
  assert.ok(listed.Ports.some((p) => p.PrivatePort === 80 && p.PublicPort === p80), JSON.stringify(listed.Ports));
  await c.remove({ force: true });
});

test('bad host ports are 400s with dockerd\'s wording', async () => {
  for (const hp of ['-1', '65536', 'http', '90-80']) {
    const f = await failure(docker.createContainer({ Image: IMG, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: hp }] } } }));
    assert.deepEqual(f, { status: 400, message: `invalid port specification: "${hp}"` });
  }
});

test('PublishAllPorts publishes the EXPOSEd ports of an image berth built', async () => {
  const ctx = fs.mkdtempSync(path.join(d.root, 'ctx-'));
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${IMG}\nEXPOSE 8080 9090/udp\nCMD ["sleep", "60"]\n`);
  const progress = await docker.buildImage({ context: ctx, src: ['Dockerfile'] }, { t: 'dockerode/exposer:1' });
  const events = await new Promise<Array<{ error?: string }>>((resolve, reject) => docker.modem.followProgress(progress, (err, res) => (err ? reject(err) : resolve(res))));
  assert.ok(!events.some((e) => e.error), JSON.stringify(events));
  const c = await docker.createContainer({ Image: 'dockerode/exposer:1', HostConfig: { PublishAllPorts: true } });
  await c.start();
  const info = await c.inspect();
  assert.deepEqual(Object.keys(info.Config.ExposedPorts ?? {}).sort(), ['8080/tcp', '9090/udp']);
  for (const key of ['8080/tcp', '9090/udp']) assert.ok(Number(info.NetworkSettings.Ports[key]?.[0]?.HostPort) > 0, JSON.stringify(info.NetworkSettings.Ports));
  await c.remove({ force: true });
});

test('swarm endpoints answer as a dockerd that is not in a swarm', async () => {
  assert.equal((await docker.info()).Swarm.LocalNodeState, 'inactive');
  assert.deepEqual(await failure(docker.swarmInspect()), { status: 503, message: NOT_A_MANAGER });
  assert.deepEqual(await failure(docker.swarmLeave({ force: true })), { status: 503, message: 'This node is not part of a swarm' });
  const calls: Array<() => Promise<unknown>> = [
    () => docker.listNodes(), () => docker.listServices(), () => docker.listTasks(), () => docker.listSecrets(), () => docker.listConfigs(),
    () => docker.getService('x').inspect(), () => docker.getSecret('x').remove() as unknown as Promise<unknown>,
    () => docker.createSecret({ Name: 's', Data: '' }),
  ];
  for (const call of calls) assert.deepEqual(await failure(call()), { status: 503, message: NOT_A_MANAGER });
  const badFilter = await failure(docker.listServices({ filters: '{bad' } as unknown as Docker.ServiceListOptions));
  assert.equal(badFilter.status, 400);
  assert.equal((await failure(docker.swarmInit({ ListenAddr: '127.0.0.1:2377' }))).status, 501);
  // Routes that decode a body refuse an empty one first (dockerd 20.10 side by side: the same 400 and wording).
  for (const p of ['/services/create', '/swarm/unlock', '/secrets/create'])
    await assert.rejects(d.client.request('POST', p), { kind: 'InvalidArgument', message: 'got EOF while reading request body' });
});

test('the docker CLI reports the swarm errors as with dockerd', async () => {
  const nodes = await d.docker(['node', 'ls']);
  assert.equal(nodes.code, 1);
  assert.equal(nodes.stderr.trim(), `Error response from daemon: ${NOT_A_MANAGER}`);
  const leave = await d.docker(['swarm', 'leave']);
  assert.equal(leave.code, 1);
  assert.equal(leave.stderr.trim(), 'Error response from daemon: This node is not part of a swarm');
  const info = await d.docker(['info', '--format', '{{.Swarm.LocalNodeState}}']);
  assert.equal(info.stdout.trim(), 'inactive');
});
