/**
 * Interactive sessions end to end: the real docker CLI runs inside a real pseudo-terminal (a small Python driver
 * built on pty.fork), so `-t` is honoured on the CLI side — raw mode, SIGWINCH → resize calls, detach keys typed as
 * keystrokes. The test writes keystrokes to the driver's stdin and reads what the terminal shows.
 *
 * Never hangs: every wait has a deadline, and every session is killed by PID (the driver and the docker CLI it
 * forked) in a finally / after hook.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { dockerBin, importBusybox, sleep, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
const IMG = 'e2e/busybox:1';
/** busybox ash's prompt as root. */
const PROMPT = /\/ # /;

/**
 * The pty driver: argv = rows cols cmd args...; forks cmd on a new pty whose size is set (in the child, before exec,
 * so the CLI reads it at start-up), then pumps stdin → master and master → stdout. Lines "rows cols" on fd 3 resize
 * the pty (the kernel then sends SIGWINCH to the CLI). Prints "PID <n>" on stderr first; exits with the child's code.
 */
const DRIVER = String.raw`
import os, sys, pty, fcntl, termios, struct, select
rows, cols = int(sys.argv[1]), int(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(sys.argv[3], sys.argv[3:])
sys.stderr.write('PID %d\n' % pid); sys.stderr.flush()
ins = [fd, 0, 3]
ctl = b''
while True:
    try:
        r, _, _ = select.select(ins, [], [])
    except InterruptedError:
        continue
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
    if 0 in r:
        data = os.read(0, 65536)
        if data:
            os.write(fd, data)
        else:
            ins.remove(0)
    if 3 in r:
        data = os.read(3, 4096)
        if not data:
            ins.remove(3)
        ctl += data
        while b'\n' in ctl:
            line, ctl = ctl.split(b'\n', 1)
            h, w = map(int, line.split())
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', h, w, 0, 0))
_, status = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;

const live = new Set<PtySession>();

class PtySession {
  readonly proc: ChildProcess;
  private out = '';
  /** Where the next waitFor starts looking (so a marker seen before is not matched again). */
  private mark = 0;
  childPid = 0;
  private readonly exit: Promise<number>;
  private stderr = '';

  constructor(args: string[], size: { rows: number; cols: number } = { rows: 24, cols: 80 }) {
    this.proc = spawn('python3', ['-c', DRIVER, String(size.rows), String(size.cols), dockerBin, ...args], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.root, 'docker-config'), TERM: 'xterm' },
    });
    live.add(this);
    this.proc.stdout!.on('data', (b: Buffer) => (this.out += b.toString('latin1')));
    this.proc.stderr!.on('data', (b: Buffer) => {
      this.stderr += b.toString();
      const m = /^PID (\d+)$/m.exec(this.stderr);
      if (m) this.childPid = Number(m[1]);
    });
    this.exit = new Promise((resolve) => this.proc.once('exit', (code, sig) => resolve(code ?? 128 + (sig ? 9 : 0))));
  }

  get output(): string {
    return this.out;
  }

  type(s: string | Buffer): void {
    this.proc.stdin!.write(s);
  }

  resize(rows: number, cols: number): void {
    (this.proc.stdio[3] as NodeJS.WritableStream).write(`${rows} ${cols}\n`);
  }

  /** Waits for `re` in output produced since the last successful wait; returns the match. */
  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tail = this.out.slice(this.mark);
      const m = re.exec(tail);
      if (m) {
        this.mark += m.index + m[0].length;
        return m;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in pty output:\n${JSON.stringify(this.out)}\nstderr: ${this.stderr}`);
      if (this.proc.exitCode !== null) {
        await sleep(50); // let the last output drain
        const again = re.exec(this.out.slice(this.mark));
        if (again) {
          this.mark += again.index + again[0].length;
          return again;
        }
        throw new Error(`session exited (${this.proc.exitCode}) before ${re} appeared:\n${JSON.stringify(this.out)}\nstderr: ${this.stderr}`);
      }
      await sleep(20);
    }
  }

  /** Waits for the CLI to exit; returns its exit code. */
  async exited(timeoutMs = 15_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.exit, new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), timeoutMs)))]);
    clearTimeout(timer);
    if (r === 'timeout') throw new Error(`docker did not exit within ${timeoutMs} ms; output:\n${JSON.stringify(this.out)}\nstderr: ${this.stderr}`);
    return r;
  }

  /** Kills the docker CLI and the driver by PID (no-op when both are gone). */
  kill(): void {
    for (const pid of [this.childPid, this.proc.pid]) {
      if (!pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    live.delete(this);
  }
}

/** Runs `fn` with a session, always killing it afterwards. */
async function withPty<T>(args: string[], fn: (s: PtySession) => Promise<T>, size?: { rows: number; cols: number }): Promise<T> {
  const s = new PtySession(args, size);
  try {
    return await fn(s);
  } finally {
    s.kill();
  }
}

/** A prompt-independent round trip: run `cmd` in the shell and wait for a unique marker after it. */
async function shell(s: PtySession, cmd: string, timeoutMs = 10_000): Promise<string> {
  const tag = Math.random().toString(36).slice(2, 8);
  // The marker is printed as two words joined by the shell, so the echoed command line never matches it.
  s.type(`${cmd}; echo "@@${tag}""@@"\r`);
  const m = await s.waitFor(new RegExp(`([^]*?)@@${tag}@@`), timeoutMs);
  return m[1];
}

async function inspect(ref: string, fmt: string): Promise<string> {
  const r = await d.docker(['inspect', '-f', fmt, ref]);
  return r.code === 0 ? r.stdout.trim() : `ERR ${r.stderr.trim()}`;
}

async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

before(async () => {
  d = await startDaemon();
  await importBusybox(d, IMG);
});

after(async () => {
  for (const s of [...live]) s.kill();
  await d?.teardown();
});

test('run -it --rm sh: commands, /dev/pts/0, terminal size, resize, exit code, container removed', async () => {
  await withPty(['run', '-it', '--rm', '--name', 'tty-run', IMG, 'sh'], async (s) => {
    await s.waitFor(PROMPT);
    s.type('echo hi-$((1+1))\r');
    await s.waitFor(/hi-2\r\n/);
    assert.match(await shell(s, 'tty'), /\/dev\/pts\/0\r\n/);
    assert.match(await shell(s, 'stty size'), /(^|\n)40 100\r\n/);
    // The shell sees the container's own TERM and a real controlling terminal.
    assert.match(await shell(s, 'echo "term=$TERM"; [ -t 0 ] && echo in-is-tty'), /term=xterm\r\n[^]*in-is-tty\r\n/);
    // Resizing the outer terminal reaches the container (SIGWINCH → docker CLI → /containers/{id}/resize).
    s.resize(30, 120);
    await waitUntil('stty size shows 30 120', async () => /(^|\n)30 120\r\n/.test(await shell(s, 'stty size')), 10_000);
    s.type('exit 3\r');
    assert.equal(await s.exited(), 3, s.output);
  }, { rows: 40, cols: 100 });
  await waitUntil('tty-run is removed', async () => (await d.docker(['ps', '-aq', '--filter', 'name=tty-run'])).stdout.trim() === '');
});

test('detach with ctrl-p ctrl-q leaves the container running; attach, use it, exit', async () => {
  try {
    await withPty(['run', '-it', '--name', 'tty-d', IMG, 'sh'], async (s) => {
      await s.waitFor(PROMPT);
      assert.match(await shell(s, 'echo ready'), /ready\r\n/);
      s.type(Buffer.from([0x10, 0x11]));
      assert.equal(await s.exited(), 0, s.output);
    });
    assert.equal(await inspect('tty-d', '{{.State.Running}}'), 'true');

    await withPty(['attach', 'tty-d'], async (s) => {
      // The shell waits for input; a round trip shows the attach carries both ways.
      s.type('echo back\r');
      await s.waitFor(/back\r\n/);
      // The same shell as before: state survives the detach.
      assert.match(await shell(s, 'echo $$'), /(^|\n)1\r\n/);
      // attach sizes the container's terminal to the attaching one.
      await waitUntil('attach stty size shows 50 132', async () => /(^|\n)50 132\r\n/.test(await shell(s, 'stty size')), 10_000);
      s.type('exit\r');
      assert.equal(await s.exited(), 0, s.output);
    }, { rows: 50, cols: 132 });
    await waitUntil('tty-d stops', async () => (await inspect('tty-d', '{{.State.Running}}')) === 'false');
    assert.equal(await inspect('tty-d', '{{.State.ExitCode}}'), '0');
  } finally {
    await d.docker(['rm', '-f', 'tty-d']);
  }
});

test('--detach-keys ctrl-x,x: custom keys detach (run and attach); the default keys then pass through', async () => {
  try {
    await withPty(['run', '-it', '--detach-keys', 'ctrl-x,x', '--name', 'tty-dk', IMG, 'sh'], async (s) => {
      await s.waitFor(PROMPT);
      assert.match(await shell(s, 'echo ready'), /ready\r\n/);
      s.type(Buffer.from([0x18, 0x78]));
      assert.equal(await s.exited(), 0, s.output);
    });
    assert.equal(await inspect('tty-dk', '{{.State.Running}}'), 'true');

    await withPty(['attach', '--detach-keys', 'ctrl-x,x', 'tty-dk'], async (s) => {
      assert.match(await shell(s, 'echo again'), /again\r\n/);
      // ctrl-p ctrl-q are not the detach keys here: they reach the shell and the session goes on.
      s.type(Buffer.from([0x10, 0x11]));
      await sleep(300);
      assert.equal(s.proc.exitCode, null, 'ctrl-p ctrl-q must not detach when other keys are set');
      s.type('\x15'); // ctrl-u: drop whatever the line editor made of them
      assert.match(await shell(s, 'echo still-here'), /still-here\r\n/);
      // A partial match (ctrl-x then something else) is passed through, not swallowed.
      s.type(Buffer.from([0x18]));
      s.type('\x15');
      assert.match(await shell(s, 'echo after-partial'), /after-partial\r\n/);
      s.type(Buffer.from([0x18, 0x78]));
      // As with dockerd: `docker attach` reports the detach as an error (run -it returns 0).
      assert.equal(await s.exited(), 1, s.output);
      assert.match(s.output, /read escape sequence/);
    });
    assert.equal(await inspect('tty-dk', '{{.State.Running}}'), 'true');
  } finally {
    await d.docker(['rm', '-f', 'tty-dk']);
  }
});

test('exec -it into a running container: own pid, tty, size, resize, exit code', async () => {
  try {
    const r = await d.docker(['run', '-d', '--name', 'tty-x', IMG, 'sleep', '3600']);
    assert.equal(r.code, 0, r.stderr);
    await withPty(['exec', '-it', 'tty-x', 'sh'], async (s) => {
      await s.waitFor(PROMPT);
      const pid = (await shell(s, 'echo pid=$$')).match(/pid=(\d+)\r\n/);
      assert.ok(pid, s.output);
      assert.notEqual(pid[1], '1');
      assert.match(await shell(s, 'tty'), /\/dev\/pts\/\d+\r\n/);
      assert.match(await shell(s, 'stty size'), /(^|\n)33 91\r\n/);
      s.resize(20, 70);
      await waitUntil('exec stty size shows 20 70', async () => /(^|\n)20 70\r\n/.test(await shell(s, 'stty size')), 10_000);
      s.type('exit 4\r');
      assert.equal(await s.exited(), 4, s.output);
      // Nothing but the typed keys reached the shell (the exec start request body once leaked into stdin).
      assert.doesNotMatch(s.output, /not found|ConsoleSize|Detach/);
    }, { rows: 33, cols: 91 });
    // Piped (non-TTY) exec stdin gets exactly the piped bytes, detach-key bytes included.
    const piped = await d.docker(['exec', '-i', 'tty-x', 'cat'], { input: 'one\x10\x11two\n' });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'one\x10\x11two\n');
    // The container is untouched by the exec ending.
    assert.equal(await inspect('tty-x', '{{.State.Running}}'), 'true');
  } finally {
    await d.docker(['rm', '-f', 'tty-x']);
  }
});
