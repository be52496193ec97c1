/**
 * BuildKit's Dockerfile syntax through the classic `POST /build`, driven by the real docker CLI (DOCKER_BUILDKIT=0)
 * and by `berth build`: heredocs, run mounts (cache, bind, tmpfs, secret), --network, COPY --chmod/--parents/
 * --exclude, ADD from a URL on 127.0.0.1 with --checksum, parallel and skipped stages, the cache across a daemon
 * restart, --cache-from, builder prune, -o type=local/tar, --iidfile, --metadata-file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, startDaemon, type TestDaemon } from '../harness.js';
import { haveRegistry, TestRegistries } from '../registry.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let live: TestDaemon;
let work: string;
const env = { DOCKER_BUILDKIT: '0' };

before(async () => {
  d = await startDaemon();
  live = d;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bk-'));
  await importBusybox(d, 'busybox:latest');
});

after(async () => {
  const ps = await live?.docker(['ps', '-aq']);
  for (const id of ps?.stdout.split('\n').filter(Boolean) ?? []) await live.docker(['rm', '-f', id]);
  await d?.teardown();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function context(name: string, files: Record<string, string>): string {
  const dir = path.join(work, name);
  for (const [f, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), body);
  }
  return dir;
}

const docker = (args: string[]) => live.docker(args, { env, timeoutMs: 120_000 });
const berth = (args: string[], input?: string) => live.berth(args, { timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
const runOut = async (image: string, cmd: string) => {
  const r = await live.docker(['run', '--rm', image, 'sh', '-c', cmd]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

test('heredocs: RUN <<EOF, several heredocs, <<- tab stripping, quoted delimiters, COPY <<EOF (docker CLI)', async () => {
  const dir = context('heredoc', {
    Dockerfile: [
      '# syntax=docker/dockerfile:1',
      'FROM busybox',
      'ARG NAME=world',
      'RUN <<EOF',
      'echo one > /one.txt',
      'echo two >> /one.txt',
      'EOF',
      'RUN <<-EOT cat > /tabs.txt',
      '\tindented',
      '\tEOT',
      'RUN cat <<A > /a.txt && cat <<"B" > /b.txt',
      'hello $NAME',
      'A',
      'literal $NAME',
      'B',
      'COPY <<CONF /etc/app.conf',
      'name=$NAME',
      'CONF',
      "COPY <<'RAW' <<X /files/",
      'raw $NAME',
      'RAW',
      'x file',
      'X',
      'RUN <<EOF',
      '#!/bin/sh',
      'echo "script $0" > /script.txt',
      'EOF',
      '',
    ].join('\n'),
  });
  const r = await docker(['build', '-t', 'heredoc:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /# syntax=docker\/dockerfile:1: noted/);
  const out = await runOut('heredoc:1', 'cat /one.txt /tabs.txt /a.txt /b.txt /etc/app.conf /files/RAW /files/X /script.txt; stat -c %a /etc/app.conf');
  assert.equal(out, 'one\ntwo\nindented\nhello world\nliteral $NAME\nname=world\nraw $NAME\nx file\nscript /dev/pipes/EOF\n644\n');
});

test('RUN --mount=type=cache persists across builds; bind from context and from a stage; tmpfs; --network=none', async () => {
  const df = [
    'FROM busybox AS data',
    'RUN mkdir /d && echo from-stage > /d/s.txt',
    'FROM busybox',
    'ARG RUNID',
    'RUN --mount=type=cache,target=/cache,id=bk-test echo "$RUNID" >> /cache/runs && cat /cache/runs > /runs.txt',
    'RUN --mount=type=bind,source=src,target=/src cat /src/in.txt > /bound.txt',
    'RUN --mount=type=bind,from=data,source=/d,target=/d cat /d/s.txt > /fromstage.txt',
    'RUN --mount=type=tmpfs,target=/scratch grep -q " /scratch tmpfs" /proc/mounts && echo tmpfs > /tmpfs.txt',
    'RUN --network=none sh -c "ip -o link | grep -v \' lo:\' | wc -l" > /links.txt',
    '',
  ].join('\n');
  const dir = context('mounts', { Dockerfile: df, 'src/in.txt': 'bound content\n' });
  const a = await docker(['build', '--build-arg', 'RUNID=first', '-t', 'mounts:1', dir]);
  assert.equal(a.code, 0, a.stderr + a.stdout);
  const b = await docker(['build', '--build-arg', 'RUNID=second', '-t', 'mounts:2', dir]);
  assert.equal(b.code, 0, b.stderr + b.stdout);
  assert.equal(await runOut('mounts:2', 'cat /runs.txt'), 'first\nsecond\n');
  assert.equal(await runOut('mounts:2', 'cat /bound.txt /fromstage.txt /tmpfs.txt /links.txt'), 'bound content\nfrom-stage\ntmpfs\n0\n');
  // the mount points leave nothing in the image
  assert.equal(await runOut('mounts:2', 'ls -d /cache /src /d /scratch 2>/dev/null | wc -l'), '0\n');
  // the cache mount shows in the build cache and builder prune removes it
  const df1 = await live.client.json<{ BuildCache: Array<{ Type: string; Description: string }> }>('GET', '/system/df');
  assert.ok(df1.BuildCache.some((c) => c.Type === 'exec.cachemount' && /bk-test/.test(c.Description)), JSON.stringify(df1.BuildCache));
  const sysdf = await live.docker(['system', 'df']);
  assert.match(sysdf.stdout, /Build Cache\s+[1-9]/);
});

test('RUN --mount=type=secret (berth build --secret): readable in the step, absent from every layer and the history', async () => {
  const secretFile = path.join(work, 'token.txt');
  fs.writeFileSync(secretFile, 'S3CRET-VALUE-42');
  const dir = context('secret', {
    Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=token sha256sum /run/secrets/token | cut -c1-64 > /hash.txt\nRUN --mount=type=secret,id=token,env=TOKEN printf %s "$TOKEN" | sha256sum | cut -c1-64 > /envhash.txt\n',
  });
  const r = await berth(['build', '--progress=plain', '--secret', `id=token,src=${secretFile}`, '-t', 'secret:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const want = createHash('sha256').update('S3CRET-VALUE-42').digest('hex');
  assert.equal(await runOut('secret:1', 'cat /hash.txt /envhash.txt'), `${want}\n${want}\n`);
  // every layer and the config, as `docker save` writes them
  const saved = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const p = spawn('docker', ['save', 'secret:1'], { env: { ...process.env, DOCKER_HOST: live.host } });
    p.stdout.on('data', (c: Buffer) => chunks.push(c));
    p.on('close', () => resolve(Buffer.concat(chunks)));
    p.on('error', reject);
  });
  assert.ok(saved.length > 1000);
  assert.equal(saved.indexOf('S3CRET-VALUE-42'), -1, 'secret found in the saved image');
  const hist = await live.docker(['history', '--no-trunc', 'secret:1']);
  assert.doesNotMatch(hist.stdout, /S3CRET/);
  assert.equal(await runOut('secret:1', 'ls /run/secrets 2>/dev/null | wc -l'), '0\n');
  // a required secret that was not sent fails the step
  const miss = await berth(['build', '--progress=plain', context('secret-miss', { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=nope,required=true true\n' })]);
  assert.notEqual(miss.code, 0);
  assert.match(miss.stderr, /secret nope: not found/);
});

test('COPY --chmod, --parents, --exclude, --link; ADD from a URL on 127.0.0.1 with --checksum', async () => {
  const body = 'served over http\n';
  const srv = http.createServer((req, res) => {
    if (req.url === '/file.txt') {
      res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
      res.end(body);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  try {
    const sum = createHash('sha256').update(body).digest('hex');
    const dir = context('copyflags', {
      Dockerfile: [
        'FROM busybox',
        'COPY --chmod=751 run.sh /bin/run.sh',
        'COPY --parents a/b/deep.txt a/c/other.txt /p/',
        'COPY --exclude=*.log --exclude=skip logs/ /logs/',
        'COPY --link run.sh /linked.sh',
        `ADD --checksum=sha256:${sum} http://127.0.0.1:${port}/file.txt /dl/`,
        `ADD http://127.0.0.1:${port}/file.txt /named.txt`,
        '',
      ].join('\n'),
      'run.sh': '#!/bin/sh\necho run\n',
      'a/b/deep.txt': 'deep\n',
      'a/c/other.txt': 'other\n',
      'logs/keep.txt': 'keep\n',
      'logs/drop.log': 'drop\n',
      'logs/skip/x.txt': 'skip\n',
    });
    const r = await docker(['build', '-t', 'copyflags:1', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = await runOut('copyflags:1', 'stat -c %a /bin/run.sh; cat /p/a/b/deep.txt /p/a/c/other.txt; ls /logs; cat /dl/file.txt /named.txt; stat -c "%a %Y" /named.txt; cat /linked.sh | wc -l');
    assert.equal(out, `751\ndeep\nother\nkeep.txt\n${body}${body}600 1445412480\n2\n`);
    const bad = await docker(['build', context('badsum', { Dockerfile: `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/file.txt /x\n` })]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr + bad.stdout, /digest mismatch/);
  } finally {
    srv.close();
  }
});

test('TARGETPLATFORM/TARGETARCH/BUILDPLATFORM are predefined; # escape= works', async () => {
  const dir = context('platform', {
    Dockerfile: '# escape=`\nFROM busybox\nARG TARGETPLATFORM\nARG TARGETARCH\nARG BUILDPLATFORM\nRUN echo "$TARGETPLATFORM $TARGETARCH $BUILDPLATFORM" > /p.txt && `\n    echo escaped >> /p.txt\n',
  });
  const r = await docker(['build', '-t', 'platform:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const out = (await runOut('platform:1', 'cat /p.txt')).split('\n');
  assert.match(out[0]!, /^linux\/[a-z0-9]+ [a-z0-9]+ linux\/[a-z0-9]+$/);
  assert.equal(out[1], 'escaped');
});

test('stages form a graph: two independent 2 s stages run at the same time; an unused stage is skipped', async () => {
  const dir = context('parallel', {
    Dockerfile: [
      'FROM busybox AS one',
      'RUN sleep 2 && echo one > /one',
      'FROM busybox AS two',
      'RUN sleep 2 && echo two > /two',
      'FROM busybox AS unused',
      'RUN echo unused-stage-ran && false',
      'FROM busybox',
      'COPY --from=one /one /one',
      'COPY --from=two /two /two',
      '',
    ].join('\n'),
  });
  const r = await berth(['build', '--progress=plain', '-t', 'parallel:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.doesNotMatch(r.stderr, /unused-stage-ran|\[unused/);
  // Both sleeps started before either finished: the plain log shows each step's start line and its DONE line.
  const lines = r.stderr.split('\n');
  const startOf = (stage: string) => lines.findIndex((l) => new RegExp(`^#(\\d+) \\[${stage} 2/2\\] RUN sleep 2`).test(l));
  const idOf = (i: number) => /^#(\d+)/.exec(lines[i]!)![1];
  const s1 = startOf('one');
  const s2 = startOf('two');
  assert.ok(s1 >= 0 && s2 >= 0, r.stderr);
  const done = (id: string) => lines.findIndex((l) => l.startsWith(`#${id} DONE`));
  const d1 = done(idOf(s1)!);
  const d2 = done(idOf(s2)!);
  assert.ok(Math.max(s1, s2) < Math.min(d1, d2), `steps did not overlap:\n${r.stderr}`);
  assert.equal(await runOut('parallel:1', 'cat /one /two'), 'one\ntwo\n');
  // the docker CLI (classic stream) gets the same build, with the unused stage's steps absent
  const c = await docker(['build', '--no-cache', dir]);
  assert.equal(c.code, 0, c.stderr + c.stdout);
  assert.doesNotMatch(c.stdout, /unused-stage-ran|AS unused/);
  assert.match(c.stdout, /Step 1\/7 : FROM busybox AS one/);
});

test('cache: hits after a daemon restart; --no-cache; --no-cache-filter; --cache-from; content, not mtimes', async () => {
  const dir = context('cache', {
    Dockerfile: 'FROM busybox AS base\nCOPY f.txt /f.txt\nRUN cat /f.txt > /g.txt\nFROM base\nRUN echo final > /final.txt\n',
    'f.txt': 'content\n',
  });
  const a = await docker(['build', '-t', 'cache:1', dir]);
  assert.equal(a.code, 0, a.stderr + a.stdout);
  live = await d.restart('SIGKILL');
  // touching the file changes its mtime, not its content: still a hit
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(dir, 'f.txt'), later, later);
  const b = await docker(['build', '-t', 'cache:2', dir]);
  assert.equal(b.code, 0, b.stderr + b.stdout);
  assert.equal((b.stdout.match(/Using cache/g) ?? []).length, 3, b.stdout);
  const idA = (await live.docker(['image', 'inspect', '-f', '{{.Id}}', 'cache:1'])).stdout;
  assert.equal((await live.docker(['image', 'inspect', '-f', '{{.Id}}', 'cache:2'])).stdout, idA);
  const nc = await docker(['build', '--no-cache', dir]);
  assert.doesNotMatch(nc.stdout, /Using cache/);
  const filt = await berth(['build', '--progress=plain', '--no-cache-filter', 'base', dir]);
  assert.equal(filt.code, 0, filt.stderr);
  assert.doesNotMatch(filt.stderr, /\[base \d\/\d\] .*\n#\d+ CACHED/);
  // --cache-from: a fresh daemon-side cache (prune -a), then the image itself supplies the steps
  await live.docker(['builder', 'prune', '-af']);
  const cf = await docker(['build', '--cache-from', 'cache:1', '-t', 'cache:3', dir]);
  assert.equal(cf.code, 0, cf.stderr + cf.stdout);
  assert.ok((cf.stdout.match(/Using cache/g) ?? []).length >= 3, cf.stdout);
  // ContainerConfig carries the last step's Cmd for old API clients
  const cc = await live.docker(['-H', live.host, 'image', 'inspect', '-f', '{{json .ContainerConfig.Cmd}}', 'cache:1'], { env: { DOCKER_API_VERSION: '1.43' } });
  assert.match(cc.stdout, /echo final/);
});

test('builder prune: --filter until=, --keep-storage, -a; build cache in system df', async () => {
  const dir = context('prune', { Dockerfile: 'FROM busybox\nRUN echo one > /one\nRUN dd if=/dev/zero of=/big bs=1024 count=512 2>/dev/null\n' });
  assert.equal((await docker(['build', '-t', 'prune:1', dir])).code, 0);
  const before = await live.client.json<{ BuildCache: unknown[] }>('GET', '/system/df');
  assert.ok(before.BuildCache.length >= 2);
  // until=1h keeps what was used in the last hour
  const keep = await berth(['builder', 'prune', '-af', '--filter', 'until=1h']);
  assert.equal(keep.code, 0, keep.stderr);
  assert.match(keep.stdout, /Total reclaimed space: 0B/);
  const big = await berth(['builder', 'prune', '-af', '--keep-storage', '100MB']);
  assert.match(big.stdout, /Total reclaimed space: 0B/);
  const all = await berth(['builder', 'prune', '-af']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /Deleted build cache objects:/);
  const after = await live.client.json<{ BuildCache: Array<{ Type: string }> }>('GET', '/system/df');
  assert.equal(after.BuildCache.filter((c) => c.Type === 'regular').length, 0);
  const bad = await live.docker(['builder', 'prune', '-f', '--filter', 'bogus=1']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid filter 'bogus'/);
});

test('berth build: -o type=local and type=tar, --iidfile, --metadata-file, -q, -f outside the context, stdin Dockerfile, .dockerignore client-side, failing step report', async () => {
  const dir = context('berthcli', {
    Dockerfile: 'FROM busybox\nCOPY . /ctx/\nRUN echo built > /built.txt\n',
    'keep.txt': 'keep\n',
    'secret.env': 'nope\n',
    'sub/x.txt': 'x\n',
    '.dockerignore': 'secret.env\nsub\n',
  });
  const out = path.join(work, 'out-local');
  const iid = path.join(work, 'iid.txt');
  const meta = path.join(work, 'meta.json');
  const r = await berth(['build', '--progress=plain', '-o', `type=local,dest=${out}`, '--iidfile', iid, '--metadata-file', meta, '-t', 'berthcli:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(fs.readFileSync(path.join(out, 'built.txt'), 'utf8'), 'built\n');
  assert.ok(fs.existsSync(path.join(out, 'ctx/keep.txt')));
  assert.ok(!fs.existsSync(path.join(out, 'ctx/secret.env')), 'ignored file was sent');
  assert.ok(!fs.existsSync(path.join(out, 'ctx/sub')), 'ignored dir was sent');
  assert.match(fs.readFileSync(iid, 'utf8'), /^sha256:[0-9a-f]{64}$/);
  assert.equal(JSON.parse(fs.readFileSync(meta, 'utf8'))['containerimage.config.digest'], fs.readFileSync(iid, 'utf8'));
  const tarOut = path.join(work, 'out.tar');
  const t = await berth(['build', '-q', '-o', `type=tar,dest=${tarOut}`, dir]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.ok(fs.statSync(tarOut).size > 10_000);
  // Dockerfile from stdin with `-`
  const s = await berth(['build', '-q', '-'], 'FROM busybox\nRUN echo stdin > /s.txt\n');
  assert.equal(s.code, 0, s.stderr);
  assert.equal(await runOut(s.stdout.trim(), 'cat /s.txt'), 'stdin\n');
  // -f outside the context dir
  const dfOut = path.join(work, 'Other.Dockerfile');
  fs.writeFileSync(dfOut, 'FROM busybox\nCOPY keep.txt /k\n');
  const f = await berth(['build', '-q', '-f', dfOut, dir]);
  assert.equal(f.code, 0, f.stderr);
  // a failing step: its command, exit code and last output lines
  const bad = await berth(['build', '--progress=plain', context('fail', { Dockerfile: 'FROM busybox\nRUN echo line-before-failure && exit 3\n' })]);
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /> \[stage-0 2\/2\] RUN echo line-before-failure && exit 3:\nline-before-failure\n/);
  assert.match(bad.stderr, /ERROR: failed to solve: process "\/bin\/sh -c echo line-before-failure && exit 3" did not complete successfully: exit code: 3/);
});

test('POST /build honours extrahosts, memory, shmsize and networkmode=container: (docker CLI flags)', async () => {
  const peer = await live.docker(['run', '-d', 'busybox', 'sleep', '120']);
  assert.equal(peer.code, 0, peer.stderr);
  const id = peer.stdout.trim();
  try {
    const peerIp = (await live.docker(['exec', id, 'sh', '-c', "ip -o -4 addr show eth0 | awk '{print $4}'"])).stdout.trim();
    const dir = context('hostcfg', {
      Dockerfile: [
        'FROM busybox',
        'RUN grep buildhost /etc/hosts > /hosts.txt',
        "RUN df -k /dev/shm | tail -1 | awk '{print $2}' > /shm.txt",
        'RUN (cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max) > /mem.txt',
        "RUN ip -o -4 addr show eth0 | awk '{print $4}' > /ip.txt",
        '',
      ].join('\n'),
    });
    const r = await docker(['build', '--add-host', 'buildhost:10.1.2.3', '--memory', '96m', '--shm-size', '32m', '--network', `container:${id}`, '-t', 'hostcfg:1', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(await runOut('hostcfg:1', 'cat /hosts.txt'), /10\.1\.2\.3\s+buildhost/);
    assert.equal((await runOut('hostcfg:1', 'cat /shm.txt')).trim(), String(32 * 1024));
    assert.equal((await runOut('hostcfg:1', 'cat /mem.txt')).trim(), String(96 * 1024 * 1024));
    assert.equal((await runOut('hostcfg:1', 'cat /ip.txt')).trim(), peerIp);
  } finally {
    await live.docker(['rm', '-f', id]);
  }
});

test('a missing base image is pulled; --pull pulls a newer one (registry on 127.0.0.1)', { skip: !haveRegistry && 'docker-registry not installed' }, async () => {
  const regs = new TestRegistries(work);
  try {
    const reg = await regs.start('bk');
    const base = `${reg}/bk/base:1`;
    assert.equal((await live.docker(['tag', 'busybox:latest', base])).code, 0);
    const push = await live.docker(['push', base]);
    assert.equal(push.code, 0, push.stderr + push.stdout);
    assert.equal((await live.docker(['rmi', base])).code, 0);
    const dir = context('pull', { Dockerfile: `FROM ${base}\nRUN echo pulled > /p.txt\n` });
    const r = await docker(['build', '-t', 'pull:1', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(await runOut('pull:1', 'cat /p.txt'), 'pulled\n');
    // a newer base in the registry: --pull takes it, the step cache then misses
    const newer = context('pull-newer', { Dockerfile: 'FROM busybox\nRUN echo v2 > /v\n' });
    assert.equal((await docker(['build', '-t', base, newer])).code, 0);
    assert.equal((await live.docker(['push', base])).code, 0);
    assert.equal((await live.docker(['rmi', base])).code, 0);
    assert.equal((await live.docker(['tag', 'busybox:latest', base])).code, 0);
    const p = await berth(['build', '--pull', '--progress=plain', '-t', 'pull:2', dir]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(await runOut('pull:2', 'cat /v /p.txt'), 'v2\npulled\n');
  } finally {
    await regs.stopAll();
  }
});
