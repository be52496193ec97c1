/**
 * Streams under load, end to end through the real docker CLI (issue 9): big output through attached `docker run`
 * and `docker exec` to fast and throttled readers, big stdin, a burst at the start of a detached container followed
 * by `wait`, parallel execs, kill -9 of berthd mid-stream, and no handle or listener left behind by 1,000 sessions.
 *
 * `npm test` runs each case a few times; `npm run soak` (BERTH_SOAK=1) runs the full counts: 20 repetitions
 * of every case, 200 MB to a 2 MB/s reader and 1,000 exec sessions.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { dockerBin, importBusybox, sleep, startDaemon, TestDaemon } from '../harness.js';

const SOAK = process.env.BERTH_SOAK === '1';
const REPS = SOAK ? 20 : 2;
const BIG = 200_000_000;
const SLOW_BYTES = SOAK ? 200_000_000 : 16_000_000;
const SLOW_RATE = SOAK ? 2_000_000 : 4_000_000; // bytes per second
const EXEC_SESSIONS = SOAK ? 1000 : 60;
const IMG = 'e2e/busybox:1';

let d: Awaited<ReturnType<typeof startDaemon>>;
let live: TestDaemon;

before(async () => {
  d = await startDaemon();
  live = d;
  await importBusybox(d, IMG);
  const r = await live.docker(['run', '-d', '--name', 'srv', IMG, 'sleep', '3600']);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await d?.teardown();
});

const docker = (args: string[], opts?: { input?: string; timeoutMs?: number }) => live.docker(args, opts);

/** `yes 0123456789 | head -c N`, as the container prints it. */
const YES = (n: number) => `yes 0123456789 | head -c ${n}`;

/** sha256 of the first n bytes of "0123456789\n" repeated. */
function yesDigest(n: number): string {
  const block = Buffer.from('0123456789\n'.repeat(100_000)); // 1.1 MB, whole lines
  const h = createHash('sha256');
  let left = n;
  while (left > 0) {
    const take = Math.min(left, block.length);
    h.update(take === block.length ? block : block.subarray(0, take));
    left -= take;
  }
  return h.digest('hex');
}

interface Streamed {
  code: number;
  bytes: number;
  sha256: string;
  stderr: string;
}

/**
 * Runs the docker CLI and hashes its stdout as it arrives; `rate` throttles the reader to that many bytes per
 * second (the slow reader `pv -L` would be), `input` is fed to its stdin.
 */
function streamDocker(args: string[], opts: { rate?: number; input?: Buffer; timeoutMs?: number } = {}): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    const child = spawn(dockerBin, args, { env: { ...process.env, DOCKER_HOST: live.host, DOCKER_CONFIG: path.join(live.root, 'docker-config') } });
    const hash = createHash('sha256');
    let bytes = 0;
    let stderr = '';
    const t0 = Date.now();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`docker ${args.join(' ')} stalled: ${bytes} bytes after ${opts.timeoutMs ?? 120_000} ms`));
    }, opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (b: Buffer) => {
      hash.update(b);
      bytes += b.length;
      if (opts.rate) {
        const ahead = bytes / opts.rate - (Date.now() - t0) / 1000;
        if (ahead > 0.05) {
          child.stdout.pause();
          setTimeout(() => child.stdout.resume(), ahead * 1000);
        }
      }
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, bytes, sha256: hash.digest('hex'), stderr });
    });
    if (opts.input) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

test(`${BIG / 1e6} MB through an attached docker run arrive whole (${REPS}×)`, async () => {
  const want = yesDigest(BIG);
  for (let i = 0; i < REPS; i++) {
    const r = await streamDocker(['run', '--rm', IMG, 'sh', '-c', YES(BIG)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.bytes, BIG, `run ${i}`);
    assert.equal(r.sha256, want, `run ${i}`);
  }
});

test(`${BIG / 1e6} MB through docker exec to a fast reader (${REPS}×)`, async () => {
  const want = yesDigest(BIG);
  for (let i = 0; i < REPS; i++) {
    const r = await streamDocker(['exec', 'srv', 'sh', '-c', YES(BIG)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.bytes, BIG, `exec ${i}`);
    assert.equal(r.sha256, want, `exec ${i}`);
  }
});

test(`${SLOW_BYTES / 1e6} MB through docker exec to a ${SLOW_RATE / 1e6} MB/s reader`, async () => {
  const want = yesDigest(SLOW_BYTES);
  for (let i = 0; i < (SOAK ? REPS : 1); i++) {
    const r = await streamDocker(['exec', 'srv', 'sh', '-c', YES(SLOW_BYTES)], { rate: SLOW_RATE, timeoutMs: (SLOW_BYTES / SLOW_RATE) * 1000 + 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.bytes, SLOW_BYTES);
    assert.equal(r.sha256, want);
  }
});

test(`50 MB of stdin into docker run -i … sha256sum (${REPS}×)`, async () => {
  const input = randomBytes(50_000_000);
  const want = createHash('sha256').update(input).digest('hex');
  for (let i = 0; i < REPS; i++) {
    const out: Buffer[] = [];
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(dockerBin, ['run', '-i', '--rm', IMG, 'sha256sum'], { env: { ...process.env, DOCKER_HOST: live.host } });
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr }));
      child.stdin.end(input);
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${want}  -`, `run ${i}`);
  }
});

test(`a 20 MB burst at the start of a detached container: wait returns within 1 s of the exit (${REPS}×)`, async () => {
  for (let i = 0; i < REPS; i++) {
    const name = `burst${i}`;
    const r = await docker(['run', '-d', '--name', name, IMG, 'sh', '-c', 'head -c 20000000 /dev/zero | base64; echo end']);
    assert.equal(r.code, 0, r.stderr);
    const w = await docker(['wait', name], { timeoutMs: 30_000 });
    const returned = Date.now();
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.stdout.trim(), '0');
    const finished = Date.parse((await docker(['inspect', '-f', '{{.State.FinishedAt}}', name])).stdout.trim());
    assert.ok(returned - finished < 1000, `wait returned ${returned - finished} ms after the process ended`);
    const tail = await docker(['logs', '--tail', '1', name]);
    assert.equal(tail.stdout, 'end\n');
    const rm = await docker(['rm', name]);
    assert.equal(rm.code, 0, rm.stderr);
  }
});

test(`ten parallel execs each print 20 MB, all whole (${SOAK ? REPS : 1}×)`, async () => {
  const want = yesDigest(20_000_000);
  for (let i = 0; i < (SOAK ? REPS : 1); i++) {
    const results = await Promise.all(Array.from({ length: 10 }, () => streamDocker(['exec', 'srv', 'sh', '-c', YES(20_000_000)])));
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.bytes, 20_000_000);
      assert.equal(r.sha256, want);
    }
  }
});

// ---------------------------------------------------------------- sessions leave nothing behind

function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Opens a hijacked session (101 answer), optionally reads it to the end, then closes it. */
function hijack(socketPath: string, reqPath: string, body: string, readToEnd: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let head = '';
    let upgraded = false;
    s.on('connect', () => {
      s.write(
        `POST ${reqPath} HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    s.on('data', (b: Buffer) => {
      if (upgraded) return;
      head += b.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${head.slice(0, 200)}`));
      upgraded = true;
      if (!readToEnd) s.destroy();
    });
    s.on('error', reject);
    s.on('close', () => (upgraded ? resolve() : reject(new Error(`closed before the upgrade: ${head.slice(0, 200)}`))));
  });
}

function api(method: string, reqPath: string, body?: unknown, agent?: http.Agent): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { socketPath: agent ? undefined : live.socket, agent, method, path: reqPath, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {} },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

test(`1,000 attach and ${EXEC_SESSIONS} exec sessions leave no handle or listener behind`, async () => {
  const id = (await docker(['inspect', '-f', '{{.Id}}', 'srv'])).stdout.trim();
  const monitorPid = Number(fs.readFileSync(path.join(live.execRoot, 's', `${id.slice(0, 32)}.pid`), 'utf8'));
  const settle = async () => {
    // closed sessions are released asynchronously on both sides
    await sleep(300);
  };
  await hijack(live.socket, `/containers/${id}/attach?stream=1&stdout=1&stderr=1`, '', false);
  await settle();
  const base = { daemon: fdCount(live.pid), monitor: fdCount(monitorPid) };

  for (let i = 0; i < 1000; i++) await hijack(live.socket, `/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`, '{"a":1}', false);
  for (let i = 0; i < EXEC_SESSIONS; i++) {
    const ex = await api('POST', `/containers/${id}/exec`, { Cmd: ['echo', 'x'], AttachStdout: true, AttachStderr: true });
    assert.equal(ex.status, 201);
    await hijack(live.socket, `/exec/${(ex.json as { Id: string }).Id}/start`, '{"Detach":false,"Tty":false}', true);
  }
  // many requests on one keep-alive connection (where a per-request listener would pile up)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, socketPath: live.socket } as http.AgentOptions);
  for (let i = 0; i < 50; i++) assert.equal((await api('GET', '/containers/json', undefined, agent)).status, 200);
  agent.destroy();

  const deadline = Date.now() + 10_000;
  let now = { daemon: 0, monitor: 0 };
  do {
    await settle();
    now = { daemon: fdCount(live.pid), monitor: fdCount(monitorPid) };
  } while ((now.daemon > base.daemon + 2 || now.monitor > base.monitor) && Date.now() < deadline);
  assert.ok(now.daemon <= base.daemon + 2, `berthd holds ${now.daemon} fds, ${base.daemon} before the sessions`);
  assert.ok(now.monitor <= base.monitor, `the monitor holds ${now.monitor} fds, ${base.monitor} before the sessions`);
  assert.doesNotMatch(live.log(), /MaxListenersExceeded|memory leak/);
  assert.equal((await docker(['inspect', '-f', '{{.State.Running}}', 'srv'])).stdout.trim(), 'true');
});

test(`kill -9 of berthd during a big attached stream: the container runs on and its log is complete (${SOAK ? REPS : 1}×)`, async () => {
  for (let i = 0; i < (SOAK ? REPS : 1); i++) await killDuringStream();
});

async function killDuringStream(): Promise<void> {
  const lines = 2_500_000;
  const script = `seq 1 2000000; sleep 1; seq 2000001 ${lines}`;
  const child = spawn(dockerBin, ['run', '--name', 'cut', IMG, 'sh', '-c', script], { env: { ...process.env, DOCKER_HOST: live.host } });
  let got = 0;
  const gotEnough = new Promise<void>((resolve) =>
    child.stdout.on('data', (b: Buffer) => {
      got += b.length;
      if (got > 1_000_000) resolve();
    }),
  );
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await gotEnough;
  live = await d.restart('SIGKILL');
  await closed; // the CLI loses its connection with the daemon
  const w = await docker(['wait', 'cut'], { timeoutMs: 60_000 });
  assert.equal(w.stdout.trim(), '0', w.stderr);
  const logs = await docker(['logs', 'cut'], { timeoutMs: 60_000 });
  const all = logs.stdout.split('\n');
  assert.equal(all.pop(), '');
  assert.equal(all.length, lines);
  assert.equal(all[0], '1');
  assert.equal(all[lines - 1], String(lines));
  assert.equal(all[1_999_999], '2000000');
  assert.equal(all[2_000_000], '2000001');
  await docker(['rm', 'cut']);
}

test('kill -9 of a container monitor: the container is ended (137, State.Error says why) and starts again', async () => {
  const r = await docker(['run', '-d', '--name', 'orphan', IMG, 'sleep', '300']);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  const pidFile = path.join(live.execRoot, 's', `${id.slice(0, 32)}.pid`);
  process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
  const w = await docker(['wait', 'orphan'], { timeoutMs: 15_000 });
  assert.equal(w.stdout.trim(), '137', w.stderr);
  assert.equal((await docker(['inspect', '-f', '{{.State.Status}} {{.State.Error}}', 'orphan'])).stdout.trim(), 'exited container monitor exited unexpectedly');
  const s = await docker(['start', 'orphan']);
  assert.equal(s.code, 0, s.stderr);
  assert.equal((await docker(['inspect', '-f', '{{.State.Running}} {{.State.Error}}', 'orphan'])).stdout.trim(), 'true');
  await docker(['rm', '-f', 'orphan']);
});

test('docker kill (SIGKILL) answers once the exit is recorded, as dockerd does', async () => {
  for (let i = 0; i < REPS; i++) {
    const r = await docker(['run', '-d', '--name', `k${i}`, IMG, 'sleep', '300']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await docker(['kill', `k${i}`])).code, 0);
    assert.equal((await docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', `k${i}`])).stdout.trim(), 'exited 137');
    assert.equal((await docker(['rm', `k${i}`])).code, 0, 'removable at once, without -f');
  }
});
