/**
 * testcontainers-node (11.x, on dockerode) against berthd, as its users write tests: a GenericContainer with an
 * exposed port (berth gets `HostPort: "0"`), the listening-ports wait strategy (a TCP connect from the host plus
 * port probes exec'd inside the container), a network alias on a user network that another container reaches, exec,
 * and files copied in and out. Ryuk (the reaper container) is disabled: the test removes what it made, and the
 * harness removes the daemon's root.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { readTar } from '../../src/pkg/tar/index.js';
import { importBusybox, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let tc: typeof import('testcontainers');
const IMG = 'busybox:latest';
const PORT = 8080;

before(async () => {
  d = await startDaemon();
  await importBusybox(d, IMG);
  // testcontainers reads its settings from the environment once, when its client is first made.
  process.env.DOCKER_HOST = d.host;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.DOCKER_CONFIG = path.join(d.root, 'docker-config');
  process.env.HOME = d.root; // no ~/.testcontainers.properties of the host's
  process.env.TMPDIR = d.root; // its lock file goes with the test's root
  tc = await import('testcontainers');
});

after(async () => {
  await d?.teardown();
});

async function readFileFromTar(stream: NodeJS.ReadableStream, name: string): Promise<string> {
  for await (const entry of readTar(stream as Readable)) {
    const chunks: Buffer[] = [];
    for await (const c of entry.body) chunks.push(c as Buffer);
    if (entry.header.name.replace(/^\.?\//, '') === name) return Buffer.concat(chunks).toString();
  }
  throw new Error(`${name} not in the archive`);
}

test('GenericContainer: exposed port, listening-ports wait, network alias, exec, copy in and out', async () => {
  const { GenericContainer, Network, Wait } = tc;
  const network = await new Network().start();
  const web = await new GenericContainer(IMG)
    .withCommand(['sh', '-c', `mkdir -p /www && cp /data/index.html /www/ && exec httpd -f -p ${PORT} -h /www`])
    .withCopyContentToContainer([{ content: 'hello from testcontainers\n', target: '/data/index.html' }])
    .withExposedPorts(PORT)
    .withNetwork(network)
    .withNetworkAliases('web')
    .withWaitStrategy(Wait.forListeningPorts())
    .withStartupTimeout(30_000)
    .start();
  try {
    // Inside a container (/.dockerenv) testcontainers reaches published ports through the bridge network's gateway,
    // which it reads from `GET /networks/bridge`: the test daemon's own bridge. Elsewhere it uses localhost.
    const bridge = (await d.client.json('GET', '/networks/bridge')) as { IPAM: { Config: Array<{ Gateway?: string }> } };
    assert.equal(web.getHost(), fs.existsSync('/.dockerenv') ? bridge.IPAM.Config[0]?.Gateway : 'localhost');
    // The mapped port is a real ephemeral port on the host, reachable on 127.0.0.1.
    const mapped = web.getMappedPort(PORT);
    assert.ok(mapped > 0 && mapped !== PORT, String(mapped));
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: mapped }, () => s.write('GET /index.html HTTP/1.0\r\n\r\n'));
      let text = '';
      s.on('data', (b) => (text += b));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.[01] 200/);
    assert.match(reply, /hello from testcontainers\n$/);

    // Another container on the same network reaches it by its alias.
    const client = await new GenericContainer(IMG).withCommand(['sleep', '60']).withNetwork(network).start();
    try {
      const got = await client.exec(['wget', '-qO-', `http://web:${PORT}/index.html`]);
      assert.equal(got.exitCode, 0, got.output);
      assert.equal(got.stdout, 'hello from testcontainers\n');
    } finally {
      await client.stop();
    }

    // exec: output, exit codes, and separate streams.
    const ex = await web.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(ex.exitCode, 3);
    assert.equal(ex.stdout, 'out\n');
    assert.equal(ex.stderr, 'err\n');

    // copy in (after start) and out.
    await web.copyContentToContainer([{ content: 'copied later\n', target: '/tmp/later.txt' }]);
    assert.equal((await web.exec(['cat', '/tmp/later.txt'])).stdout, 'copied later\n');
    const src = path.join(d.root, 'upload.txt');
    fs.writeFileSync(src, 'from a host file\n');
    await web.copyFilesToContainer([{ source: src, target: '/tmp/upload.txt' }]);
    assert.equal(await readFileFromTar(await web.copyArchiveFromContainer('/tmp/upload.txt'), 'upload.txt'), 'from a host file\n');
  } finally {
    await web.stop();
    await network.stop();
  }
  // stop() removes the container (and its volumes); nothing of ours is left on the daemon.
  const left = await d.docker(['ps', '-aq']);
  assert.equal(left.stdout.trim(), '');
  const nets = await d.docker(['network', 'ls', '--format', '{{.Name}}']);
  assert.deepEqual(nets.stdout.trim().split('\n').sort(), ['bridge', 'host', 'none']);
});

test('GenericContainer.fromDockerfile builds through POST /build; log-message and health-check waits; restart; logs', async () => {
  const { GenericContainer, Wait } = tc;
  const ctx = fs.mkdtempSync(path.join(d.root, 'ctx-'));
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${IMG}\nARG GREETING=hi\nRUN echo "$GREETING" > /greeting\nCMD ["sh", "-c", "echo started; cat /greeting; exec sleep 60"]\n`);
  const image = await GenericContainer.fromDockerfile(ctx).withBuildArgs({ GREETING: 'built by berth' }).build('tc/built:1', { deleteOnExit: false });
  const c = await image
    .withHealthCheck({ test: ['CMD-SHELL', 'test -f /greeting'], interval: 200, timeout: 1000, retries: 5, startPeriod: 0 })
    .withWaitStrategy(Wait.forAll([Wait.forLogMessage('built by berth'), Wait.forHealthCheck()]))
    .withStartupTimeout(30_000)
    .start();
  try {
    await c.restart();
    const logs = await c.logs();
    const text = await new Promise<string>((resolve) => {
      let seen = '';
      logs.on('data', (line: Buffer | string) => {
        seen += String(line);
        if ((seen.match(/started/g) ?? []).length >= 2) resolve(seen);
      });
    });
    assert.match(text, /started\nbuilt by berth\n/);
  } finally {
    await c.stop();
  }
});
