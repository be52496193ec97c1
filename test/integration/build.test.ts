/**
 * `docker build` through the real docker CLI with the classic builder (DOCKER_BUILDKIT=0 → `POST /build`).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let work: string;
const env = { DOCKER_BUILDKIT: '0' };

before(async () => {
  d = await startDaemon();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-build-'));
  await importBusybox(d, 'busybox:latest');
});

after(async () => {
  const ps = await d?.docker(['ps', '-aq']);
  for (const id of ps?.stdout.split('\n').filter(Boolean) ?? []) await d.docker(['rm', '-f', id]);
  await d?.teardown();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A context directory with the given files. */
function context(name: string, files: Record<string, string>): string {
  const dir = path.join(work, name);
  for (const [f, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), body);
  }
  return dir;
}

const build = (args: string[]) => d.docker(['build', ...args], { env, timeoutMs: 120_000 });

test('FROM + RUN + COPY + ENV + WORKDIR + CMD, then docker run shows the result', async () => {
  const dir = context('basic', {
    Dockerfile: [
      'FROM busybox',
      'ENV GREETING=hello \\',
      '    WHO=world',
      'WORKDIR /app',
      'COPY msg.txt ./',
      'COPY sub/ /app/sub/',
      'RUN echo "built by RUN" > /app/run.txt && echo visible-output',
      'CMD ["sh", "-c", "echo $GREETING $WHO; pwd; cat msg.txt run.txt sub/inner.txt"]',
      '',
    ].join('\n'),
    'msg.txt': 'from the context\n',
    'sub/inner.txt': 'inner file\n',
  });
  const r = await build(['-t', 'basic:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Step 1\/7 : FROM busybox/);
  assert.match(r.stdout, /Step 6\/7 : RUN echo/);
  assert.match(r.stdout, / ---> Running in [0-9a-f]{12}/);
  assert.match(r.stdout, /visible-output/);
  assert.match(r.stdout, /Removing intermediate container [0-9a-f]{12}/);
  assert.match(r.stdout, /Successfully built [0-9a-f]{12}/);
  assert.match(r.stdout, /Successfully tagged basic:1/);
  const run = await d.docker(['run', '--rm', 'basic:1']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'hello world\n/app\nfrom the context\nbuilt by RUN\ninner file\n');
  // intermediate containers are gone
  const ps = await d.docker(['ps', '-aq']);
  assert.equal(ps.stdout.trim(), '');

  const hist = await d.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'basic:1']);
  assert.equal(hist.code, 0, hist.stderr);
  const lines = hist.stdout.trim().split('\n');
  assert.match(lines[0]!, /^\/bin\/sh -c #\(nop\)  CMD \["sh" "-c" "echo \$GREETING/);
  assert.match(lines[1]!, /^\/bin\/sh -c echo "built by RUN"/);
  assert.match(lines[2]!, /^\/bin\/sh -c #\(nop\) COPY dir:[0-9a-f]{64} in \/app\/sub\/ /);
  assert.match(lines[3]!, /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/app\/ /);
  assert.match(lines[4]!, /^\/bin\/sh -c #\(nop\) WORKDIR \/app/);
  assert.match(lines[5]!, /^\/bin\/sh -c #\(nop\)  ENV GREETING=hello WHO=world/);

  // a second build reuses every step
  const again = await build(['-t', 'basic:2', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.match(/Using cache/g)?.length, 6, again.stdout);
  assert.doesNotMatch(again.stdout, /Running in/);
  const id1 = (await d.docker(['inspect', '-f', '{{.Id}}', 'basic:1'])).stdout;
  const id2 = (await d.docker(['inspect', '-f', '{{.Id}}', 'basic:2'])).stdout;
  assert.equal(id1, id2);

  // a changed COPY source misses from that step on; --no-cache misses everywhere
  fs.writeFileSync(path.join(dir, 'msg.txt'), 'changed\n');
  const changed = await build(['-t', 'basic:3', dir]);
  assert.equal(changed.code, 0, changed.stderr);
  assert.equal(changed.stdout.match(/Using cache/g)?.length, 2, changed.stdout);
  assert.equal((await d.docker(['run', '--rm', 'basic:3'])).stdout.split('\n')[2], 'changed');
  const nocache = await build(['--no-cache', '-t', 'basic:4', dir]);
  assert.equal(nocache.code, 0, nocache.stderr);
  assert.doesNotMatch(nocache.stdout, /Using cache/);
});

test('multi-stage with COPY --from and --target', async () => {
  const dir = context('multi', {
    Dockerfile: [
      'FROM busybox AS builder',
      'RUN mkdir -p /out && echo artifact > /out/a.txt',
      'FROM busybox AS unused',
      'RUN echo unused > /u',
      'FROM scratch',
      'COPY --from=builder /out/a.txt /a.txt',
      'COPY --from=0 /bin/busybox /bin/sh',
      'CMD ["/bin/sh", "-c", "read l < /a.txt; echo got $l"]',
      '',
    ].join('\n'),
  });
  const r = await build(['-t', 'multi:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const run = await d.docker(['run', '--rm', 'multi:1']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'got artifact\n');

  const t = await build(['--target', 'builder', '-t', 'multi:builder', dir]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /Step 2\/2 : RUN/);
  const cat = await d.docker(['run', '--rm', 'multi:builder', 'cat', '/out/a.txt']);
  assert.equal(cat.stdout, 'artifact\n');
});

test('a failing RUN exits non-zero with Docker message', async () => {
  const dir = context('fail', { Dockerfile: 'FROM busybox\nRUN echo before && exit 3\nRUN echo never\n' });
  const r = await build(['-t', 'fail:1', dir]);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /The command '\/bin\/sh -c echo before && exit 3' returned a non-zero code: 3/);
  assert.match(r.stdout, /before/);
  const bad = await build([context('bad', { Dockerfile: 'FROM busybox\nFOO bar\n' })]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /dockerfile parse error on line 2: unknown instruction: FOO/);
  const missing = await build([context('missing', { Dockerfile: 'FROM busybox\nCOPY nothere /x\n' })]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /nothere/);
});

test('--build-arg, ARG before FROM and variable substitution', async () => {
  const dir = context('args', {
    Dockerfile: [
      'ARG BASE=busybox',
      'FROM ${BASE}',
      'ARG WHO=nobody',
      'ARG UNSET',
      'ENV DIR=/data',
      'WORKDIR ${DIR}/sub',
      'RUN echo "who=$WHO unset=${UNSET:-dflt}" > out.txt',
      'LABEL who=${WHO}',
      'CMD cat out.txt',
      '',
    ].join('\n'),
  });
  const r = await build(['--build-arg', 'WHO=alice', '--build-arg', 'EXTRA=1', '-t', 'args:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /One or more build-args \[EXTRA\] were not consumed/);
  const run = await d.docker(['run', '--rm', 'args:1']);
  assert.equal(run.stdout, 'who=alice unset=dflt\n');
  const label = await d.docker(['inspect', '-f', '{{index .Config.Labels "who"}} {{.Config.WorkingDir}}', 'args:1']);
  assert.equal(label.stdout.trim(), 'alice /data/sub');
  // build args are not kept in the image's environment
  const envOut = await d.docker(['run', '--rm', 'args:1', 'env']);
  assert.doesNotMatch(envOut.stdout, /WHO=/);
  const hist = await d.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'args:1']);
  assert.match(hist.stdout, /\|1 WHO=alice \/bin\/sh -c echo/);
});

test('.dockerignore is respected', async () => {
  const dir = context('ignore', {
    Dockerfile: 'FROM busybox\nCOPY . /ctx/\nCMD ["ls", "-a", "/ctx"]\n',
    '.dockerignore': 'secret*\nlogs/\n',
    'keep.txt': 'k',
    'secret.txt': 's',
    'logs/a.log': 'l',
  });
  const r = await build(['-t', 'ignore:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const ls = await d.docker(['run', '--rm', 'ignore:1']);
  const names = ls.stdout.split('\n').filter((n) => n && n !== '.' && n !== '..').sort();
  assert.deepEqual(names, ['.dockerignore', 'Dockerfile', 'keep.txt']);
});

test('metadata instructions and ADD of a local tar', async () => {
  const dir = context('meta', {
    Dockerfile: [
      'FROM busybox',
      'ADD files.tar /opt/',
      'COPY --chown=1:1 keep.txt /owned.txt',
      'USER daemon',
      'EXPOSE 8080 53/udp',
      'VOLUME /vol',
      'STOPSIGNAL SIGTERM',
      'HEALTHCHECK --interval=30s CMD true',
      'ONBUILD RUN echo later',
      'ENTRYPOINT ["/bin/sh", "-c"]',
      '',
    ].join('\n'),
    'keep.txt': 'k\n',
  });
  const src = path.join(work, 'tarsrc');
  fs.mkdirSync(path.join(src, 'pkg'), { recursive: true });
  fs.writeFileSync(path.join(src, 'pkg/inside.txt'), 'from tar\n');
  const { execFileSync } = await import('node:child_process');
  execFileSync('tar', ['-C', src, '-cf', path.join(dir, 'files.tar'), 'pkg']);
  const r = await build(['-t', 'meta:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const fmt = '{{.Config.User}}|{{json .Config.ExposedPorts}}|{{json .Config.Volumes}}|{{.Config.StopSignal}}|{{json .Config.Healthcheck.Test}}|{{json .Config.OnBuild}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}';
  const ins = await d.docker(['inspect', '-f', fmt, 'meta:1']);
  assert.equal(
    ins.stdout.trim(),
    '1|{"53/udp":{},"8080/tcp":{}}|{"/vol":{}}|SIGTERM|["CMD-SHELL","true"]|["RUN echo later"]|["/bin/sh","-c"]|null'.replace(/^1/, 'daemon'),
  );
  const out = await d.docker(['run', '--rm', '--user', 'root', 'meta:1', 'cat /opt/pkg/inside.txt; stat -c %u:%g /owned.txt']);
  assert.equal(out.stdout, 'from tar\n1:1\n', out.stderr);
});

test('POST /build/prune empties the cache', async () => {
  const r = await d.docker(['builder', 'prune', '-f'], { env });
  assert.equal(r.code, 0, r.stderr);
  const dir = path.join(work, 'basic');
  const again = await build(['-t', 'basic:5', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /Using cache/);
});

test('ONBUILD triggers run in the child build and are not inherited', async () => {
  const parent = context('onbuild-parent', { Dockerfile: 'FROM busybox\nONBUILD RUN echo triggered > /trigger.txt\n' });
  const r1 = await build(['-t', 'onbuild:parent', parent]);
  assert.equal(r1.code, 0, r1.stderr + r1.stdout);
  const child = context('onbuild-child', { Dockerfile: 'FROM onbuild:parent\nCMD ["cat", "/trigger.txt"]\n' });
  const r2 = await build(['-t', 'onbuild:child', child]);
  assert.equal(r2.code, 0, r2.stderr + r2.stdout);
  assert.match(r2.stdout, /# Executing 1 build trigger/);
  assert.equal((await d.docker(['run', '--rm', 'onbuild:child'])).stdout, 'triggered\n');
  assert.equal((await d.docker(['inspect', '-f', '{{json .Config.OnBuild}}', 'onbuild:child'])).stdout.trim(), 'null');
});

/** POST /build with a raw body (no CLI filtering), returning the JSON messages. */
async function rawBuild(query: string, body: Buffer): Promise<{ status: number; messages: Array<Record<string, unknown>>; text: string }> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method: 'POST', path: `/v1.47/build?${query}`, headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const messages = res.statusCode === 200 ? text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
        resolve({ status: res.statusCode ?? 0, messages, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('API: gzip context, server-side .dockerignore, quiet output, labels', async () => {
  const { execFileSync } = await import('node:child_process');
  const dir = context('raw', {
    Dockerfile: 'FROM busybox\nCOPY . /ctx/\nCMD ["ls", "/ctx"]\n',
    '.dockerignore': '*.secret\n',
    'a.txt': 'a',
    'b.secret': 'b',
  });
  const tgz = execFileSync('tar', ['-C', dir, '-czf', '-', '.']);
  const r = await rawBuild(`t=raw:1&q=1&labels=${encodeURIComponent(JSON.stringify({ team: 'berth' }))}`, tgz);
  assert.equal(r.status, 200, r.text);
  const streams = r.messages.filter((m) => m.stream).map((m) => m.stream as string);
  assert.equal(streams.length, 1, r.text);
  assert.match(streams[0]!, /^sha256:[0-9a-f]{64}\n$/);
  assert.ok(r.messages.some((m) => (m.aux as { ID?: string } | undefined)?.ID === streams[0]!.trim()));
  const ls = await d.docker(['run', '--rm', 'raw:1']);
  assert.deepEqual(ls.stdout.split('\n').filter(Boolean).sort(), ['Dockerfile', 'a.txt']);
  assert.equal((await d.docker(['inspect', '-f', '{{index .Config.Labels "team"}}', 'raw:1'])).stdout.trim(), 'berth');

  // errors before the first step are plain HTTP errors
  const bad = await rawBuild('dockerfile=nope', tgz);
  assert.equal(bad.status, 400);
  assert.match(bad.text, /Cannot locate specified Dockerfile: nope/);
  const badTag = await rawBuild('t=UPPER', tgz);
  assert.equal(badTag.status, 400);
});

test('context from memory and spill: a large file, a hard link, a symlink and modes arrive intact; a truncated or escaping tar is refused', async () => {
  const { execFileSync } = await import('node:child_process');
  const dir = context('spill', {
    Dockerfile: 'FROM busybox\nCOPY . /ctx/\nCMD ["sh", "-c", "cd /ctx && md5sum big.bin && stat -c \'%n %a %h\' run.sh twin.sh && readlink ln"]\n',
    'run.sh': '#!/bin/sh\necho hi\n',
  });
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  fs.writeFileSync(path.join(dir, 'big.bin'), big);
  fs.chmodSync(path.join(dir, 'run.sh'), 0o750);
  fs.linkSync(path.join(dir, 'run.sh'), path.join(dir, 'twin.sh'));
  fs.symlinkSync('run.sh', path.join(dir, 'ln'));
  const r = await build(['-t', 'spill:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const out = await d.docker(['run', '--rm', 'spill:1']);
  const md5 = (await import('node:crypto')).createHash('md5').update(big).digest('hex');
  assert.deepEqual(out.stdout.split('\n').filter(Boolean), [`${md5}  big.bin`, 'run.sh 750 2', 'twin.sh 750 2', 'run.sh']);
  // a --no-cache rebuild of the same files into a directory the image has makes the same layer (its tree is not
  // written again: the chain exists) and runs the same
  fs.writeFileSync(path.join(dir, 'Dockerfile.same'), 'FROM busybox\nCOPY big.bin run.sh /bin/\nCMD ["sh", "-c", "md5sum /bin/big.bin; /bin/run.sh"]\n');
  const layers = async () => (await d.docker(['inspect', '-f', '{{json .RootFS.Layers}}', 'same:1'])).stdout.trim();
  const runSame = async () => (await d.docker(['run', '--rm', 'same:1'])).stdout;
  assert.equal((await build(['--no-cache', '-f', path.join(dir, 'Dockerfile.same'), '-t', 'same:1', dir])).code, 0);
  const [before, ran] = [await layers(), await runSame()];
  assert.equal(ran, `${md5}  /bin/big.bin\nhi\n`);
  await new Promise((r) => setTimeout(r, 1100)); // a second later: a new directory's mtime would differ, these do not
  assert.equal((await build(['--no-cache', '-f', path.join(dir, 'Dockerfile.same'), '-t', 'same:1', dir])).code, 0);
  assert.equal(await layers(), before);
  assert.equal(await runSame(), ran);

  // cut inside big.bin's body: Dockerfile (header + 1 block), big.bin's header, then 1000 of its bytes
  const tarball = execFileSync('tar', ['-C', dir, '-cf', '-', './Dockerfile', './big.bin']);
  const cut = await rawBuild('t=cut:1', tarball.subarray(0, 3 * 512 + 1000));
  assert.equal(cut.status, 400, cut.text);
  assert.match(cut.text, /Error processing tar file: unexpected EOF/);
  // a name climbing out of the context lands inside it, as with dockerd
  const out2 = execFileSync('tar', ['-C', dir, '-cf', '-', '--transform', 's|^\\./run\\.sh$|../../escaped.sh|', '-P', './Dockerfile', './run.sh']);
  const esc = await rawBuild('t=esc:1', out2);
  assert.equal(esc.status, 200, esc.text);
  assert.ok(!fs.existsSync(path.join(work, 'escaped.sh')) && !fs.existsSync(path.join(d.root, 'escaped.sh')));
  assert.deepEqual((await d.docker(['run', '--rm', 'esc:1', 'ls', '/ctx'])).stdout.split('\n').filter(Boolean), ['Dockerfile', 'escaped.sh']);
});

test('COPY with wildcards into a directory', async () => {
  const dir = context('wild', {
    Dockerfile: 'FROM busybox\nCOPY *.txt conf/*.conf /dst/\nCMD ["ls", "/dst"]\n',
    'one.txt': '1',
    'two.txt': '2',
    'three.md': '3',
    'conf/x.conf': 'x',
  });
  const r = await build(['-t', 'wild:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const ls = await d.docker(['run', '--rm', 'wild:1']);
  assert.deepEqual(ls.stdout.split('\n').filter(Boolean).sort(), ['one.txt', 'two.txt', 'x.conf']);
});

test('SHELL changes the shell form; exec-form RUN; an unsupported RUN --mount type is refused', async () => {
  const dir = context('shell', {
    Dockerfile: 'FROM busybox\nSHELL ["/bin/sh", "-ec"]\nRUN echo shell-form > /s.txt\nRUN ["/bin/sh", "-c", "echo exec-form > /e.txt"]\nCMD cat /s.txt /e.txt\n',
  });
  const r = await build(['-t', 'shell:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal((await d.docker(['run', '--rm', 'shell:1'])).stdout, 'shell-form\nexec-form\n');
  const hist = await d.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'shell:1']);
  const lines = hist.stdout.trim().split('\n');
  assert.match(lines[0]!, /CMD \["\/bin\/sh" "-ec" "cat \/s.txt \/e.txt"\]/);
  assert.equal(lines[1], '/bin/sh -c echo exec-form > /e.txt');
  assert.equal(lines[2], '/bin/sh -ec echo shell-form > /s.txt');
  const mount = await build([context('mount', { Dockerfile: 'FROM busybox\nRUN --mount=type=ssh true\n' })]);
  assert.notEqual(mount.code, 0);
  assert.match(mount.stderr + mount.stdout, /type=ssh is not supported by berth/);
});

test('COPY writes its layer from the sources: existing parent dirs keep their metadata, symlinked parents are followed, the saved layer matches', async () => {
  const dir = context('copylayer', {
    Dockerfile: [
      'FROM busybox',
      'RUN mkdir -p /real /opt && ln -s /real /link && chown 1000:1001 /opt && chmod 0750 /opt',
      'COPY a.txt /opt/sub/a.txt',
      'COPY b.txt /link/b.txt',
      'COPY --chown=7:8 --chmod=600 a.txt /c/',
      'COPY tree/ /tree/',
      'COPY a.txt b.txt /both/',
      '',
    ].join('\n'),
    'a.txt': 'a\n',
    'b.txt': 'b\n',
    'tree/x/y.txt': 'y\n',
  });
  fs.symlinkSync('x/y.txt', path.join(dir, 'tree/ln'));
  fs.chmodSync(path.join(dir, 'tree/x/y.txt'), 0o751);
  const r = await build(['-t', 'copylayer:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const script = [
    'stat -c "%n %a %u:%g" /opt /opt/sub /opt/sub/a.txt /c /c/a.txt /tree/x/y.txt',
    'readlink /link; readlink /tree/ln',
    'cat /real/b.txt /both/a.txt /both/b.txt',
  ].join('; ');
  const out = await d.docker(['run', '--rm', 'copylayer:1', 'sh', '-c', script]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(
    out.stdout,
    ['/opt 750 1000:1001', '/opt/sub 755 0:0', '/opt/sub/a.txt 644 0:0', '/c 755 7:8', '/c/a.txt 600 7:8', '/tree/x/y.txt 751 0:0', '/real', 'x/y.txt', 'b', 'a', 'b', ''].join('\n'),
  );
  // the blob the image keeps (docker save) holds what the snapshot holds: loaded under a new name, the same files
  const tar = path.join(work, 'copylayer.tar');
  assert.equal((await d.docker(['save', '-o', tar, 'copylayer:1'])).code, 0);
  assert.equal((await d.docker(['rmi', 'copylayer:1'])).code, 0);
  assert.equal((await d.docker(['load', '-i', tar])).code, 0);
  const again = await d.docker(['run', '--rm', 'copylayer:1', 'sh', '-c', script]);
  assert.equal(again.stdout, out.stdout, again.stderr);
});
