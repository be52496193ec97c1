/**
 * berth-monitor against real runc containers (root only). Each test uses its own temp dir and runc --root, and
 * cleans up containers (runc delete -f in that root), monitors (by pid) and files.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { MonitorConnection, MonitorSignalError, MonitorStartError, readExitFile, readMonitorPid, startMonitor, type StartMonitorOptions } from './monitor.js';
import { Runc } from './runc.js';
import { alive, buildMonitor, RUNC, skipReason, TestEnv, waitFor } from './test-bundle.js';

const execFileP = promisify(execFile);
const skip = skipReason();

function collect(conn: MonitorConnection): { out: () => string; err: () => string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  conn.on('stdout', (b) => out.push(b));
  conn.on('stderr', (b) => err.push(b));
  return { out: () => Buffer.concat(out).toString(), err: () => Buffer.concat(err).toString() };
}

describe('berth-monitor', { skip, concurrency: false }, () => {
  let env: TestEnv;
  let monitorPath: string;

  before(() => {
    monitorPath = buildMonitor();
    env = new TestEnv();
  });
  after(async () => {
    await env?.cleanup();
  });

  async function create(name: string, args: string[], extra: Partial<StartMonitorOptions> = {}, consoleSize?: { height: number; width: number }) {
    const c = env.container(name);
    const bundle = env.bundle(c.dir, { args, terminal: extra.tty ?? false, ...(consoleSize ? { consoleSize } : {}) });
    const opts: StartMonitorOptions = {
      id: c.id,
      mode: 'run', // berthd's (runtime.ts); create mode is tested where named
      bundle,
      ...(c.log ? { log: { driver: 'json-file' as const, path: c.log } } : {}),
      exitFile: c.exitFile,
      socketPath: c.socket,
      pidFile: c.pidFile,
      runcRoot: env.runcRoot,
      runcPath: RUNC,
      monitorPath,
      ...extra,
    };
    const t0 = process.hrtime.bigint();
    const res = await startMonitor(opts);
    env.track(res.monitorPid);
    return { ...c, ...res, bundle, t0 };
  }

  for (const mode of ['run', 'create'] as const) {
    it(`streams output to an attached client and writes a json-file log (${mode} mode)`, async () => {
      const script = `echo hello; echo oops >&2; printf '<a&b>\\t"q"\\\\\\n'; printf 'no newline'`;
      const c = await create(`out-${mode}`, ['sh', '-c', script], { mode });
      assert.ok(c.pid > 0);
      assert.equal((statSync(c.socket).mode & 0o777).toString(8), '600');
      assert.equal(await readMonitorPid(c.socket), c.monitorPid);
      const conn = await MonitorConnection.connect(c.socket);
      const got = collect(conn);
      const pid = await conn.start();
      assert.equal(pid, c.pid);
      assert.equal(await conn.exited, 0);
      assert.equal(got.out(), 'hello\n<a&b>\t"q"\\\nno newline');
      assert.equal(got.err(), 'oops\n');

      const lines = readFileSync(c.log, 'utf8').split('\n');
      assert.equal(lines.pop(), '');
      const recs = lines.map((l) => JSON.parse(l) as { log: string; stream: string; time: string });
      const out = recs.filter((r) => r.stream === 'stdout').map((r) => r.log);
      assert.deepEqual(out, ['hello\n', '<a&b>\t"q"\\\n', 'no newline']);
      assert.deepEqual(
        recs.filter((r) => r.stream === 'stderr').map((r) => r.log),
        ['oops\n'],
      );
      // byte-exact Docker shape: key order, HTML escapes, \u0009 for tab, RFC3339Nano UTC
      const escaped = lines.find((l) => l.includes('003ca'))!;
      assert.match(escaped, /^\{"log":"\\u003ca\\u0026b\\u003e\\u0009\\"q\\"\\\\\\n","stream":"stdout","time":"[^"]+"\}$/);
      for (const r of recs) assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);

      const ef = await waitFor(() => readExitFile(c.exitFile), 5000, 'exit file');
      assert.equal(ef.exitCode, 0);
      assert.equal(ef.oomKilled, false);
      assert.equal(ef.signal, undefined);
      await waitFor(() => !existsSync(c.socket) && !existsSync(`${c.socket}.pid`), 5000, 'socket removal');
    });
  }

  it('run mode: the output is logged at once but reaches clients, with the exit, only after the start frame', async () => {
    const c = await create('held', ['sh', '-c', 'echo early; echo err >&2; exit 6']);
    // the container ran (and exited) before anyone connected: its output is in the log already
    await waitFor(() => existsSync(c.log) && readFileSync(c.log, 'utf8').includes('early'), 5000, 'log');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await readExitFile(c.exitFile), undefined, 'the exit waits for the start frame');
    assert.ok(existsSync(c.socket));
    const control = await MonitorConnection.connect(c.socket, { subscribe: { stdout: false, stderr: false } });
    const conn = await MonitorConnection.connect(c.socket);
    const got = collect(conn);
    const order: string[] = [];
    conn.on('started', () => order.push('started'));
    conn.on('stdout', () => order.push('stdout'));
    assert.equal(await control.start(), c.pid);
    assert.equal(await conn.exited, 6);
    assert.equal(await control.exited, 6);
    assert.equal(got.out(), 'early\n');
    assert.equal(got.err(), 'err\n');
    assert.equal(order[0], 'started');
    assert.equal((await waitFor(() => readExitFile(c.exitFile), 5000, 'exit file')).exitCode, 6);
  });

  it('run mode: without a start frame (berthd died before sending it) the exit is still recorded, 10 s after it', async () => {
    const c = await create('unreleased', ['sh', '-c', 'echo lost; exit 2']);
    const t0 = Date.now();
    const ef = await waitFor(() => readExitFile(c.exitFile), 20000, 'exit file');
    assert.ok(Date.now() - t0 >= 9000, `recorded after ${Date.now() - t0} ms`);
    assert.equal(ef.exitCode, 2);
    assert.ok(readFileSync(c.log, 'utf8').includes('lost'));
    await waitFor(() => !alive(c.monitorPid), 5000, 'monitor exit');
  });

  it('splits lines over 16 KiB and replaces invalid UTF-8 like Docker', async () => {
    // a 20001-byte line (19999 spaces, "x", newline); then bytes ff and a lone continuation byte
    const c = await create('long', ['sh', '-c', 'printf "%20000s\\n" x; printf "x\\377\\200y\\n"']);
    const conn = await MonitorConnection.connect(c.socket);
    await conn.start();
    assert.equal(await conn.exited, 0);
    const lines = readFileSync(c.log, 'utf8').trimEnd().split('\n');
    const recs = lines.map((l) => JSON.parse(l) as { log: string });
    assert.ok(recs.length >= 3, `records: ${recs.length}`);
    assert.equal(recs[0]!.log.length, 16384);
    assert.ok(!recs[0]!.log.endsWith('\n'));
    assert.equal(recs.slice(0, -1).map((r) => r.log).join('').length, 20001);
    assert.ok(recs.at(-2)!.log.endsWith('\n'));
    assert.ok(lines.at(-1)!.startsWith('{"log":"x\\ufffd\\ufffdy\\n"'), lines.at(-1));
  });

  it('passes stdin through (cat) and closes it on request', async () => {
    const c = await create('stdin', ['cat'], { stdin: true });
    const conn = await MonitorConnection.connect(c.socket);
    const got = collect(conn);
    await conn.start();
    conn.writeStdin(Buffer.from('ping\n'));
    await waitFor(() => got.out() === 'ping\n', 5000, 'echo');
    conn.writeStdin(Buffer.from('pong'));
    conn.closeStdin();
    assert.equal(await conn.exited, 0);
    assert.equal(got.out(), 'ping\npong');
  });

  // create mode: a resize before the start frame gives the first size; run mode: the program runs before any frame
  // can arrive, so the first size is the spec's consoleSize (berthd's, from HostConfig.ConsoleSize)
  for (const mode of ['run', 'create'] as const) {
    it(`gives a tty, applies the first size and a resize after start (${mode} mode)`, async () => {
      const script = ['sh', '-c', 'tty; stty size; read x; stty size; exit 3'];
      const c = await create(`tty-${mode}`, script, { tty: true, stdin: true, mode }, mode === 'run' ? { height: 30, width: 100 } : undefined);
      const conn = await MonitorConnection.connect(c.socket);
      const got = collect(conn);
      if (mode === 'create') conn.resize(30, 100);
      await conn.start();
      await waitFor(() => got.out().includes('30 100'), 5000, 'first stty size');
      conn.resize(40, 120);
      conn.writeStdin(Buffer.from('\n'));
      assert.equal(await conn.exited, 3);
      const out = got.out();
      assert.match(out, /^\/dev\/pts\/\d+\r\n30 100\r\n/);
      assert.match(out, /40 120\r\n$/);
      assert.equal(got.err(), '');
      const recs = readFileSync(c.log, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { log: string; stream: string });
      assert.ok(recs.every((r) => r.stream === 'stdout'));
      assert.equal(recs[1]!.log, '30 100\r\n');
    });
  }

  it('reports exit codes: exit 7, and 137 for SIGKILL', async (t: TestContext) => {
    const a = await create('exit7', ['sh', '-c', 'exit 7']);
    const ca = await MonitorConnection.connect(a.socket);
    await ca.start();
    assert.equal(await ca.exited, 7);
    assert.equal((await waitFor(() => readExitFile(a.exitFile)))!.exitCode, 7);

    const b = await create('kill9', ['sleep', '100']);
    const cb = await MonitorConnection.connect(b.socket);
    await cb.start();
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${b.monitorPid}/status`, 'utf8'))![1]);
    t.diagnostic(`monitor RSS while a container runs: ${rss} kB`);
    await new Runc({ root: env.runcRoot }).kill(b.id, 'KILL');
    assert.equal(await cb.exited, 137);
    const ef = await waitFor(() => readExitFile(b.exitFile));
    assert.equal(ef.exitCode, 137);
    assert.equal(ef.signal, 9);
    assert.equal(ef.pid, b.pid);
  });

  it('signals the init on a signal frame and answers each one, in order', async () => {
    const c = await create('sig', ['sh', '-c', 'trap "echo usr1" USR1; trap "exit 21" TERM; while :; do sleep 0.05; done']);
    assert.deepEqual(c.features, ['signal']);
    const conn = await MonitorConnection.connect(c.socket, { subscribe: { stdout: false, stderr: false } });
    const out = await MonitorConnection.connect(c.socket);
    const got = collect(out);
    await conn.start();
    await Promise.all([conn.signal(10), conn.signal(28)]); // USR1 (trapped), WINCH (ignored): both answered
    await waitFor(() => got.out().includes('usr1\n'), 5000, 'the trap');
    assert.ok(alive(c.pid));
    await conn.signal(15);
    assert.equal(await conn.exited, 21);
    assert.equal((await waitFor(() => readExitFile(c.exitFile), 5000, 'exit file')).exitCode, 21);
    // the monitor closes the connection after the exit frame: nothing is sent, runc is the caller's next step
    await assert.rejects(conn.signal(15), (e: MonitorSignalError) => e.unanswered && !e.notRunning);
  });

  it('answers "container not running" when there is no process (an exec before start) and refuses bad numbers', async () => {
    const ctr = await create('sigbox', ['sleep', '100']);
    const cc = await MonitorConnection.connect(ctr.socket, { subscribe: { stdout: false, stderr: false } });
    await cc.start();
    const e = env.container('sigexec');
    const r = await startMonitor({
      id: ctr.id,
      mode: 'exec',
      processFile: env.processFile(e.dir, ['true'], false),
      exitFile: e.exitFile,
      socketPath: e.socket,
      pidFile: e.pidFile,
      runcRoot: env.runcRoot,
      monitorPath,
    });
    env.track(r.monitorPid);
    assert.deepEqual(r.features, ['signal']);
    const exec = await MonitorConnection.connect(e.socket, { subscribe: { stdout: false, stderr: false } });
    await assert.rejects(exec.signal(15), (err: MonitorSignalError) => err.notRunning && err.message === 'container not running');
    exec.close();
    // a number out of range (past the client's own check, as raw bytes): refused, the init lives on
    const raw = await new Promise<import('node:net').Socket>((resolve, reject) => {
      const s = createConnection(ctr.socket, () => resolve(s)).on('error', reject);
    });
    const answer = new Promise<Buffer>((resolve) => raw.once('data', resolve));
    raw.write(Buffer.from([4, 0, 0, 0, 1, 0, 5, 0, 0, 0, 2, 0x39, 0x39])); // subscribe(control), signal "99"
    assert.equal((await answer).toString('latin1'), '\x06\x00\x00\x00\x0einvalid signal');
    raw.destroy();
    assert.ok(alive(ctr.pid));
    await cc.signal(9);
    assert.equal(await cc.exited, 137);
  });

  it('sends the exit frame to a client connecting after the exit, and falls back to the exit file', async () => {
    // 900 kB of output to a paused client (more than the socket buffers hold, less than the 1 MiB that pauses the
    // container) keeps the monitor lingering after the exit
    const c = await create('late', ['sh', '-c', 'yes 0123456789012345678901234567890123456789 | head -c 900000; exit 4']);
    const slow = await MonitorConnection.connect(c.socket);
    const slowGot = collect(slow);
    slow.once('started', () => slow.pause());
    await slow.start();
    await waitFor(() => readExitFile(c.exitFile), 5000, 'exit file');
    assert.ok(existsSync(c.socket), 'monitor should linger while a client has unsent output');
    const late = await MonitorConnection.connect(c.socket);
    const lateGot = collect(late);
    assert.equal(await late.exited, 4);
    assert.equal(lateGot.out(), '');
    slow.resume();
    assert.equal(await slow.exited, 4);
    assert.equal(slowGot.out().length, 900000);
    await waitFor(() => !existsSync(c.socket), 5000, 'socket removal');
    const gone = await MonitorConnection.connect(c.socket, { exitFile: c.exitFile });
    assert.equal(await gone.exited, 4);
    await assert.rejects(MonitorConnection.connect(c.socket), { code: 'ENOENT' });
  });

  it('applies back-pressure: a paused reader pauses the container, and nothing is lost', async () => {
    const size = 8_000_000;
    const c = await create('bp', ['sh', '-c', `yes 0123456789012345678901234567890123456789 | head -c ${size}; echo end >&2`]);
    const slow = await MonitorConnection.connect(c.socket);
    const got = collect(slow);
    slow.once('started', () => slow.pause());
    await slow.start();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await readExitFile(c.exitFile), undefined, 'the container must wait for its reader');
    const logged = statSync(c.log).size;
    assert.ok(logged < size, `log holds ${logged} bytes: output was read past the back-pressure limit`);
    slow.resume();
    assert.equal(await slow.exited, 0);
    assert.equal(got.out().length, size);
    assert.equal(got.err(), 'end\n');
    // the log has every byte too
    const text = readFileSync(c.log, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { log: string; stream: string }));
    assert.equal(text.filter((r) => r.stream === 'stdout').map((r) => r.log).join('').length, size);
  });

  it('never waits for a reader that went away, nor for a control connection', async () => {
    const size = 20_000_000;
    const c = await create('gone', ['sh', '-c', `head -c ${size} /dev/zero | tr '\\0' x; exit 3`]);
    const control = await MonitorConnection.connect(c.socket, { subscribe: { stdout: false, stderr: false } });
    const controlGot = collect(control);
    const reader = await MonitorConnection.connect(c.socket);
    reader.once('started', () => {
      reader.pause(); // a client that stops reading, then leaves
      setTimeout(() => reader.close(), 300);
    });
    await control.start();
    assert.equal(await control.exited, 3);
    assert.equal(controlGot.out(), '', 'a control connection gets no output');
    const logged = readFileSync(c.log, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { log: string }).log.length);
    assert.equal(logged.reduce((a, b) => a + b, 0), size);
  });

  it('survives the death of its parent and keeps logging', async () => {
    const c = env.container('orphan');
    const bundle = env.bundle(c.dir, { args: ['sh', '-c', 'for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.2; done; exit 5'] });
    const modUrl = pathToFileURL(fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './monitor.ts' : './monitor.js', import.meta.url))).href;
    const script = join(c.dir, 'parent.mjs');
    writeFileSync(
      script,
      `import { startMonitor, MonitorConnection } from ${JSON.stringify(modUrl)};
const opts = JSON.parse(process.argv[2]);
const r = await startMonitor(opts);
const conn = await MonitorConnection.connect(opts.socketPath);
await conn.start();
process.stdout.write(JSON.stringify(r) + '\\n');
setInterval(() => {}, 1000);
`,
    );
    const opts: StartMonitorOptions = {
      id: c.id,
      mode: 'create',
      bundle,
      ...(c.log ? { log: { driver: 'json-file' as const, path: c.log } } : {}),
      exitFile: c.exitFile,
      socketPath: c.socket,
      pidFile: c.pidFile,
      runcRoot: env.runcRoot,
      monitorPath,
    };
    const parent = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] });
    env.track(parent.pid!);
    let line = '';
    parent.stdout.on('data', (d: Buffer) => (line += d.toString()));
    const r = JSON.parse(await waitFor(() => (line.includes('\n') ? line : ''), 15000, 'parent report')) as { pid: number; monitorPid: number };
    env.track(r.monitorPid);
    process.kill(parent.pid!, 'SIGKILL');
    await new Promise((res) => parent.once('exit', res));

    assert.ok(alive(r.monitorPid), 'monitor died with its parent');
    const ppid = Number(readFileSync(`/proc/${r.monitorPid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    assert.notEqual(ppid, parent.pid);
    const st = await new Runc({ root: env.runcRoot }).state(c.id);
    assert.equal(st.status, 'running');
    const ef = await waitFor(() => readExitFile(c.exitFile), 10000, 'exit file');
    assert.equal(ef.exitCode, 5);
    const ticks = readFileSync(c.log, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { log: string }).log);
    assert.deepEqual(ticks, [1, 2, 3, 4, 5, 6].map((i) => `tick ${i}\n`));
    await waitFor(() => !alive(r.monitorPid), 5000, 'monitor exit');
  });

  it('reports runc create errors as {"error": …} with runc\'s message', async () => {
    const c = env.container('missing');
    const bundle = env.bundle(c.dir, { args: ['/nonexistent'] });
    const err = await startMonitor({
      id: c.id,
      mode: 'create',
      bundle,
      exitFile: c.exitFile,
      socketPath: c.socket,
      pidFile: c.pidFile,
      runcRoot: env.runcRoot,
      monitorPath,
    }).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MonitorStartError);
    assert.match(err.message, /exec: "\/nonexistent": stat \/nonexistent: no such file or directory/);
    assert.ok(!/level=|time=/.test(err.message), err.message);
    assert.ok(!existsSync(c.socket));
    assert.ok(!existsSync(`${c.socket}.pid`));
  });

  it('runs exec processes on start, with output, exit code and start errors', async () => {
    const ctr = await create('execbox', ['sleep', '100']);
    const cc = await MonitorConnection.connect(ctr.socket);
    await cc.start();

    const e = env.container('exec1');
    const startExec = async (args: string[], tty = false, stdin = false) => {
      const r = await startMonitor({
        id: ctr.id,
        mode: 'exec',
        processFile: env.processFile(e.dir, args, tty),
        tty,
        stdin,
        exitFile: e.exitFile,
        socketPath: e.socket,
        pidFile: e.pidFile,
        runcRoot: env.runcRoot,
        monitorPath,
      });
      env.track(r.monitorPid);
      assert.equal(r.pid, 0);
      return MonitorConnection.connect(e.socket);
    };
    const conn = await startExec(['sh', '-c', 'echo in-exec; echo e >&2; exit 5']);
    const got = collect(conn);
    const pid = await conn.start();
    assert.ok(pid > 0 && pid !== ctr.pid);
    assert.equal(await conn.exited, 5);
    assert.equal(got.out(), 'in-exec\n');
    assert.equal(got.err(), 'e\n');
    assert.equal((await waitFor(() => readExitFile(e.exitFile)))!.exitCode, 5);
    await waitFor(() => !existsSync(e.socket), 5000, 'exec monitor exit');

    // A client may send stdin, and end it, before the exec starts (dockerode writes right after the 101): the
    // process must still read all of it and then end-of-file.
    const early = await startExec(['sh', '-c', 'cat; echo done'], false, true);
    const earlyGot = collect(early);
    early.writeStdin(Buffer.from('ping\n'));
    early.closeStdin();
    await new Promise((r) => setTimeout(r, 100)); // the frames reach the monitor before start
    await early.start();
    assert.equal(await early.exited, 0);
    assert.equal(earlyGot.out(), 'ping\ndone\n');
    await waitFor(() => !existsSync(e.socket), 5000, 'exec monitor exit');

    const tconn = await startExec(['tty'], true);
    const tgot = collect(tconn);
    await tconn.start();
    assert.equal(await tconn.exited, 0);
    assert.match(tgot.out(), /^\/dev\/pts\/\d+\r\n$/);
    await waitFor(() => !existsSync(e.socket), 5000, 'exec monitor exit');

    const bad = await startExec(['/nope']);
    await assert.rejects(bad.start(), /no such file or directory/);
    const ef = await waitFor(() => readExitFile(e.exitFile));
    assert.equal(ef.exitCode, -1);
    assert.match(ef.startError ?? '', /no such file or directory/);
    // the container itself is untouched
    assert.equal((await new Runc({ root: env.runcRoot }).state(ctr.id)).status, 'running');
  });

  it('measures start latency against plain runc run (diagnostic only)', async (t: TestContext) => {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await create(`lat${i}`, ['true']);
      const conn = await MonitorConnection.connect(c.socket);
      await conn.start();
      samples.push(Number(process.hrtime.bigint() - c.t0) / 1e6);
      await conn.exited;
    }
    const plain: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c = env.container(`plain${i}`);
      const bundle = env.bundle(c.dir, { args: ['true'] });
      const t0 = process.hrtime.bigint();
      await execFileP(RUNC, ['--root', env.runcRoot, 'run', '--bundle', bundle, c.id], { cwd: c.dir });
      plain.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await execFileP(RUNC, ['--root', env.runcRoot, 'delete', '-f', c.id]).catch(() => {});
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!.toFixed(1);
    t.diagnostic(`startMonitor→started for true: median ${med(samples)} ms (${samples.map((s) => s.toFixed(0)).join(', ')})`);
    t.diagnostic(`runc run true (create+start+wait): median ${med(plain)} ms (${plain.map((s) => s.toFixed(0)).join(', ')})`);
    assert.equal(samples.length, 5);
  });
});
