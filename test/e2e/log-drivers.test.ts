/**
 * Log drivers other than json-file, end to end through the real docker CLI (issue 12): `local` (Docker's file
 * format byte for byte, its defaults, docker logs with --tail/--since/-f, read back also from a file dockerd wrote),
 * `syslog` written by the monitor (unix, unixgram, udp, tcp listeners this test runs on 127.0.0.1 and in its temp
 * dir; every syslog-format; facility; tag templates; it goes on while berthd is killed; docker logs reads dockerd's
 * dual-logging cache), and mode=non-blocking against blocking with a listener that stops reading.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { jsonFormat, localFormat, readLogs, type LogRecord } from '../../src/daemon/services/containers/logs.js';
import { startComparisonDockerd } from '../dockerd.js';
import { importBusybox, sleep, startDaemon, TestDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let live: TestDaemon;
const IMG = 'e2e/busybox:1';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-logdrv-'));

before(async () => {
  d = await startDaemon();
  live = d;
  await importBusybox(d, IMG);
});

after(async () => {
  await d?.teardown();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const docker = (args: string[], opts?: { timeoutMs?: number }) => live.docker(args, opts);
const inspect = async (name: string, fmt: string) => (await docker(['inspect', '-f', fmt, name])).stdout.trim();
const containerDir = async (name: string) => path.join(live.dataRoot, 'containers', await inspect(name, '{{.Id}}'));

/** Equal strings, reported by length and head (the strings here are large). */
function same(actual: string, expected: string, what: string): void {
  if (actual !== expected) assert.fail(`${what}: ${actual.length} chars ${JSON.stringify(actual.slice(0, 60))}… ≠ ${expected.length} chars ${JSON.stringify(expected.slice(0, 60))}…`);
}

async function readAll(file: string, format = localFormat): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const r of readLogs(file, { format, stdout: true, stderr: true, follow: false, signal: new AbortController().signal, stopped: Promise.resolve() }))
    out.push(r);
  return out;
}

/** Collects what a syslog listener receives, as text lines (stream) or datagrams. */
interface Listener {
  address: string;
  messages: string[];
  close(): Promise<void>;
}

async function udpListener(): Promise<Listener> {
  const sock = dgram.createSocket('udp4');
  const messages: string[] = [];
  sock.on('message', (m) => messages.push(m.toString('utf8')));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { address: `udp://127.0.0.1:${sock.address().port}`, messages, close: () => new Promise((r) => sock.close(() => r())) };
}

async function streamListener(kind: 'tcp' | 'unix'): Promise<Listener & { conns: net.Socket[] }> {
  const messages: string[] = [];
  const conns: net.Socket[] = [];
  const server = net.createServer((c) => {
    conns.push(c);
    let pend = '';
    c.on('data', (b) => {
      pend += b.toString('utf8');
      const parts = pend.split('\n');
      pend = parts.pop()!;
      messages.push(...parts.map((p) => `${p}\n`));
    });
    c.on('error', () => {});
  });
  const sockPath = path.join(tmp, `syslog-${Math.random().toString(16).slice(2)}.sock`);
  await new Promise<void>((r) => (kind === 'tcp' ? server.listen(0, '127.0.0.1', r) : server.listen(sockPath, r)));
  const address = kind === 'tcp' ? `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}` : `unix://${sockPath}`;
  return {
    address,
    messages,
    conns,
    close: () =>
      new Promise((r) => {
        for (const c of conns) c.destroy();
        server.close(() => r());
      }),
  };
}

/** Node has no unix datagram sockets: a python3 listener prints each datagram as a JSON string line. */
async function unixgramListener(): Promise<Listener> {
  const sockPath = path.join(tmp, `syslog-${Math.random().toString(16).slice(2)}.dgram`);
  const py = 'import socket,sys,json\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("ready",flush=True)\nwhile True:\n print(json.dumps(s.recv(65536).decode()),flush=True)\n';
  const proc: ChildProcess = spawn('python3', ['-c', py, sockPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  let pend = '';
  await new Promise<void>((resolve) =>
    proc.stdout!.on('data', (b: Buffer) => {
      pend += b.toString();
      const parts = pend.split('\n');
      pend = parts.pop()!;
      for (const p of parts) {
        if (p === 'ready') resolve();
        else messages.push(JSON.parse(p) as string);
      }
    }),
  );
  return {
    address: `unixgram://${sockPath}`,
    messages,
    close: async () => {
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await sleep(50);
}

test('local driver: Docker defaults, Docker byte format, logs --tail/--since/-f, rotation with gzip', async () => {
  const long = 'x'.repeat(40_000); // longer than a 16 KiB message: partial records that read back as one line
  const r = await docker(['run', '--name', 'loc', '--log-driver', 'local', IMG, 'sh', '-c', `echo two >&2; sleep 0.2; echo one; echo ${long}; printf tail`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await inspect('loc', '{{json .HostConfig.LogConfig}}'), '{"Type":"local","Config":{}}');
  assert.equal(await inspect('loc', '{{.LogPath}}'), '', 'dockerd shows no LogPath for the local driver');
  const file = path.join(await containerDir('loc'), 'local-logs', 'container.log');
  const raw = fs.readFileSync(file);
  // the first record by hand: [len][LogEntry{1:"stderr" 2:time_nano 3:"two"}][len]
  const n = raw.readUInt32BE(0);
  assert.equal(raw.readUInt32BE(4 + n), n, 'footer repeats the length');
  const entry = raw.subarray(4, 4 + n);
  assert.deepEqual([...entry.subarray(0, 8)], [0x0a, 6, ...Buffer.from('stderr')]);
  assert.equal(entry[8], 0x10);
  assert.ok(entry.includes(Buffer.from([0x1a, 3, ...Buffer.from('two')])), 'the line is stored without its newline');

  const logs = await docker(['logs', 'loc']);
  // dockerd's local reader gives the newline back to whole lines only: a split line's last piece comes back without
  // it (checked against dockerd's own file in the next test)
  same(logs.stdout, `one\n${long}tail`, 'docker logs');
  assert.equal(logs.stderr, 'two\n');
  // --tail counts records, as dockerd does: the long line is three
  same((await docker(['logs', '--tail', '4', 'loc'])).stdout, `${long}tail`, '--tail 4');
  assert.equal((await docker(['logs', '--tail', '1', 'loc'])).stdout, 'tail');
  assert.equal((await docker(['logs', '--tail', '0', 'loc'])).stdout, '');
  assert.equal((await docker(['logs', '--since', '2000-01-01T00:00:00Z', '--until', '2000-01-02T00:00:00Z', 'loc'])).stdout, '');
  const ts = (await docker(['logs', '-t', 'loc'])).stdout.split('\n')[0]!;
  assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (one|two)$/);

  // rotation: max-size/max-file with the default compression; -f follows across rotations without loss
  // paced so a follower keeps up (an unpaced writer rotates files away before anyone reads them, with dockerd too)
  const paced = 'sleep 0.5; i=0; while [ $i -lt 40 ]; do seq $((i*200+1)) $((i*200+200)); i=$((i+1)); sleep 0.05; done; seq 8001 200000';
  const c = await docker(['run', '-d', '--name', 'locrot', '--log-driver', 'local', '--log-opt', 'max-size=50k', '--log-opt', 'max-file=3', IMG, 'sh', '-c', paced]);
  assert.equal(c.code, 0, c.stderr);
  const follow = await docker(['logs', '-f', 'locrot'], { timeoutMs: 120_000 });
  const lines = follow.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 8000), Array.from({ length: 8000 }, (_, i) => String(i + 1)), 'logs -f saw every paced line across rotations');
  assert.equal(lines[lines.length - 1], '200000');
  const dir = path.join(await containerDir('locrot'), 'local-logs');
  const names = fs.readdirSync(dir).sort();
  assert.deepEqual(names, ['container.log', 'container.log.1.gz', 'container.log.2.gz']);
  const rotated = gunzipSync(fs.readFileSync(path.join(dir, 'container.log.1.gz')));
  assert.equal(rotated.readUInt32BE(4 + rotated.readUInt32BE(0)), rotated.readUInt32BE(0), 'rotated files keep the framing');
  const kept = (await docker(['logs', 'locrot'])).stdout.trim().split('\n');
  assert.equal(kept[kept.length - 1], '200000');
  assert.ok(kept.length < 200000 && kept.length > 1000, `only the kept files are read (${kept.length})`);
  assert.equal((await docker(['logs', '--tail', '3', 'locrot'])).stdout, '199998\n199999\n200000\n');
  await docker(['rm', 'loc', 'locrot']);
});

test("local driver: a file dockerd's local driver wrote reads back the same through berth's reader", async (t) => {
  const dk = await startComparisonDockerd({ prefix: 'berth-logdrv-dockerd-' });
  if (!dk) return t.skip('dockerd is not installed');
  try {
    const tarDir = fs.mkdtempSync(path.join(tmp, 'bb-'));
    const { busyboxRootfsTar } = await import('../harness.js');
    assert.equal((await dk.docker(['import', '-c', 'CMD ["sh"]', busyboxRootfsTar(tarDir), IMG])).code, 0);
    const script = `echo one; echo two >&2; echo ${'y'.repeat(20_000)}; printf end`;
    assert.equal((await dk.docker(['run', '--name', 'dl', '--log-driver', 'local', IMG, 'sh', '-c', script])).code, 0);
    const id = (await dk.docker(['inspect', '-f', '{{.Id}}', 'dl'])).stdout.trim();
    const theirs = await readAll(path.join(dk.root, 'data', 'containers', id, 'local-logs', 'container.log'));
    assert.equal((await docker(['run', '--name', 'bl', '--log-driver', 'local', IMG, 'sh', '-c', script])).code, 0);
    const ours = await readAll(path.join(await containerDir('bl'), 'local-logs', 'container.log'));
    const shape = (rs: LogRecord[]) => rs.map((r) => `${r.stream}:${r.log.length}:${r.log.slice(0, 8)}`).sort();
    assert.deepEqual(shape(ours), shape(theirs));
    same((await docker(['logs', 'bl'])).stdout, (await dk.docker(['logs', 'dl'])).stdout, 'docker logs of the same output');
    await docker(['rm', 'bl']);
  } finally {
    await dk.stop();
  }
});

test('syslog: every transport and format, facility, tag templates, stderr priority; docker logs reads the cache', async () => {
  const udp = await udpListener();
  const tcp = await streamListener('tcp');
  const unix = await streamListener('unix');
  const ugram = await unixgramListener();
  try {
    const cases: Array<[Listener, string, RegExp]> = [
      [udp, '', /^<30>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (\S+)\[\d+\]: out\n$/],
      [tcp, 'rfc3164', /^<30>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ (\S+)\[\d+\]: out\n$/],
      [unix, 'rfc5424', /^<30>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d) \S+ (\S+) \d+ \1 - out\n$/],
      [ugram, 'rfc5424micro', /^<30>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d) \S+ (\S+) \d+ \1 - out\n$/],
    ];
    for (const [l, format, shape] of cases) {
      const name = `sl${format || 'unix'}`;
      const args = ['run', '--name', name, '--log-driver', 'syslog', '--log-opt', `syslog-address=${l.address}`];
      if (format) args.push('--log-opt', `syslog-format=${format}`);
      const r = await docker([...args, IMG, 'sh', '-c', 'echo out; echo; echo err >&2']);
      assert.equal(r.code, 0, r.stderr);
      await until(() => l.messages.length >= 2);
      const out = l.messages.find((m) => /out\n$/.test(m));
      const err = l.messages.find((m) => /err\n$/.test(m));
      assert.ok(out && err, `${format}: ${JSON.stringify(l.messages)}`);
      const m = shape.exec(out);
      assert.ok(m, `${format || 'default'} shape: ${out}`);
      assert.equal(m[1], (await inspect(name, '{{.Id}}')).slice(0, 12), 'the default tag is the short id');
      assert.match(err, /^<27>/, 'stderr is daemon.err');
      assert.equal(l.messages.length, 2, 'the empty line is not sent');
      // dockerd's dual logging: docker logs reads the local-format cache
      assert.equal((await docker(['logs', name])).stdout, 'out\n\n');
      assert.equal((await docker(['logs', name])).stderr, 'err\n');
      l.messages.length = 0;
      await docker(['rm', name]);
    }

    // facility and Docker's tag template fields
    const r = await docker(['run', '--name', 'sltag', '--log-driver', 'syslog', '--log-opt', `syslog-address=${udp.address}`, '--log-opt', 'syslog-facility=local3',
      '--log-opt', 'tag={{.Name}}/{{.ID}}/{{.FullID}}/{{.ImageName}}/{{.ImageID}}/{{.DaemonName}}', IMG, 'echo', 'hi']);
    assert.equal(r.code, 0, r.stderr);
    await until(() => udp.messages.length >= 1);
    const id = await inspect('sltag', '{{.Id}}');
    const image = await inspect('sltag', '{{.Image}}');
    assert.equal(udp.messages[0]!.replace(/^(<\d+>)\S+ +\d+ \S+ /, '$1'), `<${19 * 8 + 6}>sltag/${id.slice(0, 12)}/${id}/${IMG}/${image.slice(0, 12)}/docker[${udp.messages[0]!.match(/\[(\d+)\]/)![1]}]: hi\n`);
    udp.messages.length = 0;

    // cache-disabled: nothing to read back, in dockerd's words
    assert.equal((await docker(['run', '--name', 'slnc', '--log-driver', 'syslog', '--log-opt', `syslog-address=${udp.address}`, '--log-opt', 'cache-disabled=true', IMG, 'echo', 'x'])).code, 0);
    const nc = await docker(['logs', 'slnc']);
    assert.equal(nc.code, 1);
    assert.match(nc.stderr, /configured logging driver does not support reading/);
    await docker(['rm', 'sltag', 'slnc']);
  } finally {
    await Promise.all([udp.close(), tcp.close(), unix.close(), ugram.close()]);
  }
});

test('syslog: bad options and an absent listener are refused with dockerd wording; nothing is left behind', async () => {
  const before = (await docker(['ps', '-aq'])).stdout;
  const cases: Array<[string[], RegExp]> = [
    [['syslog-address=foo://x'], /syslog-address should be in form proto:\/\/address, got foo:\/\/x/],
    [['syslog-address=udp://127.0.0.1:1', 'syslog-facility=bogus'], /invalid syslog facility/],
    [['syslog-address=udp://127.0.0.1:1', 'syslog-format=bogus'], /Invalid syslog format/],
    [['syslog-address=udp://127.0.0.1:1', 'foo=bar'], /unknown log opt 'foo' for syslog log driver/],
    [['syslog-address=udp://127.0.0.1:1', 'tag={{.Bad'], /failed to initialize logging driver: template: log-tag:1: unclosed action/],
    [['syslog-address=udp://127.0.0.1:1', 'cache-disabled=x'], /invalid value for option cache-disabled: x/],
  ];
  for (const [opts, msg] of cases) {
    const r = await docker(['run', '--rm', '--log-driver', 'syslog', ...opts.flatMap((o) => ['--log-opt', o]), IMG, 'true']);
    assert.equal(r.code, 125, opts.join(' '));
    assert.match(r.stderr, msg, opts.join(' '));
  }
  // the monitor dials at start: a listener that is not there fails the start as dockerd does
  const tcpRefused = await docker(['run', '--rm', '--log-driver', 'syslog', '--log-opt', 'syslog-address=tcp://127.0.0.1:1', IMG, 'true']);
  assert.notEqual(tcpRefused.code, 0);
  assert.match(tcpRefused.stderr, /failed to initialize logging driver: dial tcp 127.0.0.1:1: connect: connection refused/);
  const noSock = await docker(['run', '--rm', '--log-driver', 'syslog', '--log-opt', `syslog-address=unix://${tmp}/nonexist`, IMG, 'true']);
  assert.match(noSock.stderr, new RegExp(`stat ${tmp}/nonexist: no such file or directory`));
  for (const [opts, msg] of [
    [['foo=bar'], /unknown log opt 'foo' for log driver local/],
    [['max-size=abc'], /failed to initialize logging driver: invalid value for max-size: abc: invalid size: 'abc'/],
    [['max-file=1'], /failed to initialize logging driver: compression cannot be enabled when max file count is 1/],
    [['mode=bogus'], /logger: logging mode not supported: bogus/],
    [['max-buffer-size=1m'], /logger: max-buffer-size option is only supported with 'mode=non-blocking'/],
    [['mode=non-blocking', 'max-buffer-size=abc'], /error parsing option max-buffer-size: invalid size: 'abc'/],
  ] as Array<[string[], RegExp]>) {
    const r = await docker(['run', '--rm', '--log-driver', 'local', ...opts.flatMap((o) => ['--log-opt', o]), IMG, 'true']);
    assert.equal(r.code, 125, opts.join(' '));
    assert.match(r.stderr, msg, opts.join(' '));
  }
  assert.equal((await docker(['ps', '-aq'])).stdout, before);
});

test('syslog goes on while berthd is killed: the monitor writes it', async () => {
  const tcp = await streamListener('tcp');
  try {
    const script = 'i=0; while [ $i -lt 3000 ]; do echo $i; i=$((i+1)); [ $((i % 500)) = 0 ] && sleep 0.3; done';
    assert.equal((await docker(['run', '-d', '--name', 'slkill', '--log-driver', 'syslog', '--log-opt', `syslog-address=${tcp.address}`, '--log-opt', 'syslog-format=rfc5424', IMG, 'sh', '-c', script])).code, 0);
    await sleep(200);
    live = await d.restart('SIGKILL', 1500);
    assert.equal((await docker(['wait', 'slkill'], { timeoutMs: 30_000 })).stdout.trim(), '0');
    await until(() => tcp.messages.length >= 3000);
    const nums = tcp.messages.map((m) => Number(/ - (\d+)\n$/.exec(m)?.[1]));
    assert.deepEqual(nums, Array.from({ length: 3000 }, (_, i) => i), 'every line arrived once, in order');
    assert.equal((await docker(['logs', '--tail', '1', 'slkill'])).stdout, '2999\n');
    await docker(['rm', 'slkill']);
  } finally {
    await tcp.close();
  }
});

test('mode=non-blocking never blocks the container on a stalled listener; blocking mode loses nothing', async () => {
  const tcp = await streamListener('tcp');
  try {
    const lines = 400_000; // ~ 30 MB of syslog messages: far more than socket buffers plus the 1 MiB queue
    const script = `seq 1 ${lines}`;
    const opts = ['--log-driver', 'syslog', '--log-opt', `syslog-address=${tcp.address}`, '--log-opt', 'cache-disabled=true'];
    // blocking: the listener stops reading, so the container waits for it; resumed, every line arrives
    assert.equal((await docker(['run', '-d', '--name', 'blk', ...opts, IMG, 'sh', '-c', script])).code, 0);
    await until(() => tcp.conns.length === 1);
    tcp.conns[0]!.pause();
    await sleep(1500);
    assert.equal(await inspect('blk', '{{.State.Running}}'), 'true', 'blocking mode: the container waits for the listener');
    tcp.conns[0]!.resume();
    assert.equal((await docker(['wait', 'blk'], { timeoutMs: 120_000 })).stdout.trim(), '0');
    await until(() => tcp.messages.length >= lines, 30_000);
    assert.equal(tcp.messages.length, lines, 'blocking mode loses nothing');
    tcp.messages.length = 0;

    // non-blocking: the same stall, and the container runs to its end at once; what did not fit was dropped
    assert.equal((await docker(['run', '-d', '--name', 'nblk', ...opts, '--log-opt', 'mode=non-blocking', '--log-opt', 'max-buffer-size=1m', IMG, 'sh', '-c', script])).code, 0);
    await until(() => tcp.conns.length === 2);
    tcp.conns[1]!.pause();
    const w = await docker(['wait', 'nblk'], { timeoutMs: 60_000 });
    assert.equal(w.stdout.trim(), '0', 'non-blocking mode: the container finished while the listener was stalled');
    assert.equal(await inspect('nblk', '{{.State.Running}}'), 'false');
    tcp.conns[1]!.resume();
    await sleep(1000);
    assert.ok(tcp.messages.length < lines, `records beyond the buffer were dropped (${tcp.messages.length} of ${lines})`);
    assert.equal(tcp.messages[0]!.replace(/^.*: /, ''), '1\n', 'the first records were delivered');
    await docker(['rm', 'blk', 'nblk']);
  } finally {
    await tcp.close();
  }
});

void jsonFormat;
