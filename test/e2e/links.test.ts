/**
 * Legacy links (issue 19 item 5), as a real dockerd answers them side by side (dockerd 28, captured with
 * test/dockerd.ts): `--link name:alias` on the default bridge adds a hosts line and Docker's link environment,
 * `HostConfig.Links` is `/<target>:/<me>/<alias>` from the targets as they are now, `DELETE
 * /containers/<me>/<alias>?link=true` drops one (dockerode's `remove({ link: true })` path and the docker CLI's
 * `rm --link`), and on a user-defined network a link is an alias only the linking container resolves
 * (`EndpointSettings.Links`).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import { importBusybox, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let docker: Docker;
const IMG = 'links/busybox:1';

before(async () => {
  d = await startDaemon();
  await importBusybox(d, IMG);
  docker = new Docker({ socketPath: d.socket });
});

after(async () => {
  const ps = await d?.docker(['ps', '-aq']);
  for (const id of ps?.stdout.split('\n').filter(Boolean) ?? []) await d.docker(['rm', '-f', id]);
  await d?.docker(['network', 'rm', 'lnk-net']);
  await d?.teardown();
});

async function ok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method, path: p, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode!, json: b ? (JSON.parse(b) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

test('--link on the default bridge: hosts line, link environment, HostConfig.Links as dockerd shows them', async () => {
  const tgt = await ok(['run', '-d', '--name', 'lnk-tgt', '-e', 'FOO=bar', '-e', 'HOME=/x', '--expose', '8000-8002', '--expose', '80', '--expose', '8005/udp', IMG, 'sleep', '300']);
  const ip = await ok(['inspect', '--format', '{{.NetworkSettings.Networks.bridge.IPAddress}}', tgt]);
  assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  const out = await ok(['run', '--rm', '--name', 'lnk-me', '--link', 'lnk-tgt:my-al', IMG, 'sh', '-c', 'env | sort; cat /etc/hosts']);
  const env = out.split('\n').filter((l) => l.startsWith('MY_AL_'));
  // exactly dockerd's list for the same target (ports sorted by number; the 8000-8002 run also as _START/_END)
  assert.deepEqual(env, [
    'MY_AL_ENV_FOO=bar',
    'MY_AL_NAME=/lnk-me/my-al',
    `MY_AL_PORT=tcp://${ip}:80`,
    `MY_AL_PORT_8000_TCP=tcp://${ip}:8000`,
    `MY_AL_PORT_8000_TCP_ADDR=${ip}`,
    `MY_AL_PORT_8000_TCP_END=tcp://${ip}:8002`,
    'MY_AL_PORT_8000_TCP_PORT=8000',
    'MY_AL_PORT_8000_TCP_PORT_END=8002',
    'MY_AL_PORT_8000_TCP_PORT_START=8000',
    'MY_AL_PORT_8000_TCP_PROTO=tcp',
    `MY_AL_PORT_8000_TCP_START=tcp://${ip}:8000`,
    `MY_AL_PORT_8001_TCP=tcp://${ip}:8001`,
    `MY_AL_PORT_8001_TCP_ADDR=${ip}`,
    'MY_AL_PORT_8001_TCP_PORT=8001',
    'MY_AL_PORT_8001_TCP_PROTO=tcp',
    `MY_AL_PORT_8002_TCP=tcp://${ip}:8002`,
    `MY_AL_PORT_8002_TCP_ADDR=${ip}`,
    'MY_AL_PORT_8002_TCP_PORT=8002',
    'MY_AL_PORT_8002_TCP_PROTO=tcp',
    `MY_AL_PORT_8005_UDP=udp://${ip}:8005`,
    `MY_AL_PORT_8005_UDP_ADDR=${ip}`,
    'MY_AL_PORT_8005_UDP_PORT=8005',
    'MY_AL_PORT_8005_UDP_PROTO=udp',
    `MY_AL_PORT_80_TCP=tcp://${ip}:80`,
    `MY_AL_PORT_80_TCP_ADDR=${ip}`,
    'MY_AL_PORT_80_TCP_PORT=80',
    'MY_AL_PORT_80_TCP_PROTO=tcp',
  ]);
  assert.ok(out.split('\n').includes(`${ip}\tmy-al ${tgt.slice(0, 12)} lnk-tgt`), out);
  // a link without an alias: the name is the alias (listed once)
  const plain = await ok(['run', '--rm', '--link', 'lnk-tgt', IMG, 'sh', '-c', 'env | grep ^LNK_TGT_NAME=; cat /etc/hosts']);
  assert.match(plain, /^LNK_TGT_NAME=\/[a-z_]+\/lnk-tgt$/m);
  assert.ok(plain.split('\n').includes(`${ip}\tlnk-tgt ${tgt.slice(0, 12)}`), plain);

  // HostConfig.Links in inspect, before and after the start; a rename of the target shows; EndpointSettings.Links null
  await ok(['create', '--name', 'lnk-me2', '--link', 'lnk-tgt:al', '--link', 'lnk-tgt:b2', IMG, 'sleep', '300']);
  assert.equal(await ok(['inspect', '--format', '{{json .HostConfig.Links}} {{json .NetworkSettings.Networks.bridge.Links}}', 'lnk-me2']), '["/lnk-tgt:/lnk-me2/al","/lnk-tgt:/lnk-me2/b2"] null');
  await ok(['start', 'lnk-me2']);
  assert.equal(await ok(['inspect', '--format', '{{json .HostConfig.Links}}', 'lnk-me2']), '["/lnk-tgt:/lnk-me2/al","/lnk-tgt:/lnk-me2/b2"]');
  await ok(['rename', 'lnk-tgt', 'lnk-tgt2']);
  assert.equal(await ok(['inspect', '--format', '{{json .HostConfig.Links}}', 'lnk-me2']), '["/lnk-tgt2:/lnk-me2/al","/lnk-tgt2:/lnk-me2/b2"]');
  await ok(['rename', 'lnk-tgt2', 'lnk-tgt']);

  // docker rm --link and the API's DELETE ?link=true, with dockerd's answers for the wrong names
  assert.equal(await ok(['rm', '--link', '/lnk-me2/al']), '/lnk-me2/al');
  assert.equal(await ok(['inspect', '--format', '{{json .HostConfig.Links}}', 'lnk-me2']), '["/lnk-tgt:/lnk-me2/b2"]');
  const nosuch = await api('DELETE', '/containers/lnk-me2/nosuch?link=true');
  assert.deepEqual([nosuch.status, nosuch.json.message], [404, 'No such container: lnk-me2/nosuch']);
  const noparent = await api('DELETE', '/containers/nosuch-parent/al?link=true');
  assert.deepEqual([noparent.status, noparent.json.message], [404, 'No such container: nosuch-parent/al']);
  const own = await api('DELETE', '/containers/lnk-me2?link=true');
  assert.deepEqual([own.status, own.json.message], [500, 'Conflict, cannot remove the default link name of the container']);
  const cli = await d.docker(['rm', '--link', 'lnk-me2']);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /Error response from daemon: Conflict, cannot remove the default link name of the container/);
  // dockerode: container.remove({ link: true }) on the link's name
  await docker.getContainer('lnk-me2/b2').remove({ link: true });
  assert.equal(await ok(['inspect', '--format', '{{json .HostConfig.Links}}', 'lnk-me2']), 'null');
  assert.equal(await ok(['inspect', '--format', '{{.State.Running}}', 'lnk-tgt']), 'true'); // the target is untouched

  // a removed target: the link is gone from inspect and the linking container still starts
  await ok(['create', '--name', 'lnk-me3', '--link', 'lnk-tgt:al', IMG, 'true']);
  await ok(['stop', '-t', '0', 'lnk-tgt']);
  const st = await api('POST', '/containers/lnk-me3/start');
  assert.deepEqual([st.status, st.json.message], [500, 'Cannot link to a non running container: /lnk-tgt AS /lnk-me3/al']);
  assert.equal(await ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}', 'lnk-me3']), 'created 128 Cannot link to a non running container: /lnk-tgt AS /lnk-me3/al');
  await ok(['rm', '-f', 'lnk-tgt']);
  assert.equal(await ok(['inspect', '--format', '{{json .HostConfig.Links}}', 'lnk-me3']), 'null');
  await ok(['start', 'lnk-me3']);
  await ok(['rm', '-f', 'lnk-me2', 'lnk-me3']);
});

test('links refused as dockerd refuses them: a missing target (400 at create), bad format (500)', async () => {
  const missing = await api('POST', '/containers/create', { Image: IMG, HostConfig: { Links: ['lnk-missing:al'] } });
  assert.deepEqual([missing.status, missing.json.message], [400, 'could not get container for lnk-missing: No such container: lnk-missing']);
  const bad = await api('POST', '/containers/create', { Image: IMG, HostConfig: { Links: ['a:b:c'] } });
  assert.deepEqual([bad.status, bad.json.message], [500, 'bad format for links: a:b:c']);
  const run = await d.docker(['run', '--rm', '--link', 'lnk-missing:al', IMG, 'true']);
  assert.equal(run.code, 125);
  assert.match(run.stderr, /docker: Error response from daemon: could not get container for lnk-missing: No such container: lnk-missing/);
  assert.equal(await ok(['ps', '-aq', '--filter', 'name=lnk-']), '');
});

test('links on a user-defined network are aliases (EndpointSettings.Links) the linking container resolves', async () => {
  await ok(['network', 'create', 'lnk-net']);
  const t2 = await ok(['run', '-d', '--name', 'lnk-t2', '--network', 'lnk-net', IMG, 'sleep', '300']);
  const ip = await ok(['inspect', '--format', '{{(index .NetworkSettings.Networks "lnk-net").IPAddress}}', t2]);
  await ok(['create', '--name', 'lnk-m5', '--network', 'lnk-net', '--link', 'lnk-t2:al2', IMG, 'sleep', '300']);
  assert.equal(await ok(['inspect', '--format', '{{json .HostConfig.Links}} {{json (index .NetworkSettings.Networks "lnk-net").Links}}', 'lnk-m5']), 'null ["lnk-t2:al2"]');
  await ok(['start', 'lnk-m5']);
  assert.equal(await ok(['inspect', '--format', '{{json .HostConfig.Links}} {{json (index .NetworkSettings.Networks "lnk-net").Links}}', 'lnk-m5']), 'null ["lnk-t2:al2"]');
  const r = await ok(['exec', 'lnk-m5', 'busybox', 'nslookup', 'al2', '127.0.0.11']);
  assert.match(r, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
  // the alias is the linking container's alone
  const other = await d.docker(['run', '--rm', '--network', 'lnk-net', IMG, 'busybox', 'nslookup', 'al2', '127.0.0.11']);
  assert.match(other.stdout + other.stderr, /can't find al2|NXDOMAIN/);
  // no link environment there, as dockerd
  assert.equal((await ok(['exec', 'lnk-m5', 'env'])).includes('AL2_'), false);
  // a container on the default bridge cannot link to one on a user network (the start refuses)
  const c = await d.docker(['run', '--rm', '--link', 'lnk-t2:al', IMG, 'true']);
  assert.equal(c.code, 125);
  assert.match(c.stderr, /Cannot link to \/lnk-t2, as it does not belong to the default network/);
  await ok(['rm', '-f', 'lnk-m5', 'lnk-t2']);
});
