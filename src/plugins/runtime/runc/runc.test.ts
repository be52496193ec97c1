import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MonitorConnection, readExitFile, startMonitor } from './monitor.js';
import { Runc, RuncError } from './runc.js';
import { buildMonitor, RUNC, skipReason, TestEnv, waitFor } from './test-bundle.js';

describe('Runc wrapper', { skip: skipReason() }, () => {
  let env: TestEnv;
  let monitorPath: string;

  before(() => {
    monitorPath = buildMonitor();
    env = new TestEnv();
  });
  after(async () => {
    await env?.cleanup();
  });

  it('state, ps, pause/resume, update, kill, delete on a running container', async () => {
    const c = env.container('rt');
    const bundle = env.bundle(c.dir, { args: ['sh', '-c', 'sleep 100 & wait'] });
    const runc = new Runc({ root: env.runcRoot, path: RUNC });
    const r = await startMonitor({
      id: c.id,
      mode: 'create',
      bundle,
      exitFile: c.exitFile,
      socketPath: c.socket,
      pidFile: c.pidFile,
      runcRoot: env.runcRoot,
      monitorPath,
    });
    env.track(r.monitorPid);
    assert.equal((await runc.state(c.id)).status, 'created');
    const conn = await MonitorConnection.connect(c.socket);
    await conn.start();

    const st = await runc.state(c.id);
    assert.equal(st.status, 'running');
    assert.equal(st.pid, r.pid);
    assert.equal(st.bundle, bundle);
    assert.ok((await runc.list()).some((x) => x.id === c.id));

    const pids = await waitFor(async () => {
      const p = await runc.ps(c.id);
      return p.length >= 2 ? p : undefined;
    }, 5000, 'two processes');
    assert.ok(pids.includes(r.pid));

    await runc.pause(c.id);
    assert.equal((await runc.state(c.id)).status, 'paused');
    await runc.resume(c.id);
    assert.equal((await runc.state(c.id)).status, 'running');

    await runc.update(c.id, { pids: { limit: 50 } });

    // SIGKILL: a pid-namespace init ignores signals it has no handler for
    await runc.kill(c.id, 'SIGKILL', { all: true });
    assert.equal(await conn.exited, 137);
    assert.equal((await waitFor(() => readExitFile(c.exitFile)))!.exitCode, 137);
    assert.equal((await runc.state(c.id)).status, 'stopped');

    await runc.delete(c.id);
    const err = await runc.state(c.id).then(
      () => assert.fail('state after delete should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RuncError);
    assert.ok(err.notFound, err.message);
    assert.ok(!/level=/.test(err.message), err.message);
  });

  it('surfaces runc errors as RuncError with runc\'s message', async () => {
    const runc = new Runc({ root: env.runcRoot });
    await assert.rejects(runc.kill('berth-test-no-such-container', 'KILL'), (e: unknown) => {
      assert.ok(e instanceof RuncError);
      assert.ok(e.notFound, e.message);
      assert.equal(e.exitCode, 1);
      return true;
    });
    await assert.rejects(runc.pause('berth-test-no-such-container'), RuncError);
  });
});
