/**
 * `berth version` with no daemon on the default socket starts berthd in the background and prints both versions.
 * This touches the default locations (/run/berth, /var/lib/berth), so it only runs when nothing is there yet, and it
 * removes exactly what it created: the daemon it started (by the PID in /run/berth.pid) and the directories.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { berthBin, run, sleep, unmountUnder } from '../harness.js';

const SOCK = '/run/berth/berth.sock';
const PIDFILE = '/run/berth.pid';
const DATA = '/var/lib/berth';
const EXEC = '/run/berth';

const busy = fs.existsSync(SOCK) || fs.existsSync(DATA) || fs.existsSync(EXEC) || process.getuid?.() !== 0;

test('berth version starts berthd when none runs and prints client and server', { skip: busy ? 'default berth locations in use (or not root)' : false }, async () => {
  const env = { DOCKER_HOST: '', BERTH_HOST: '' };
  try {
    const r = await run(process.execPath, [berthBin, 'version'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Client:\n Version:\s+\d+\.\d+\.\d+/);
    assert.match(r.stdout, /\nServer: berth\n Engine:\n  Version:\s+\d+\.\d+\.\d+/);
    assert.ok(fs.existsSync(SOCK));
    assert.ok(fs.existsSync(`${DATA}/berthd.log`));
  } finally {
    if (fs.existsSync(PIDFILE)) {
      const pid = Number(fs.readFileSync(PIDFILE, 'utf8'));
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      for (let i = 0; i < 100 && fs.existsSync(PIDFILE); i++) await sleep(50);
    }
    unmountUnder(EXEC);
    unmountUnder(DATA);
    fs.rmSync(EXEC, { recursive: true, force: true });
    fs.rmSync(DATA, { recursive: true, force: true });
  }
});
