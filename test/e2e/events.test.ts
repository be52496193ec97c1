/**
 * `docker events` through the real docker CLI (issue 19 item 3): Docker's attributes on container (labels, image,
 * name, exitCode/execDuration, execID, signal), volume, network and image events, the filters dockerd has, and
 * --since/--until given as Go durations and as timestamps. The attribute key sets are compared with a real dockerd
 * running the same commands when it is installed (dockerd 20.10 here: its die has no execDuration, newer ones do).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startComparisonDockerd } from '../dockerd.js';
import { busyboxRootfsTar, importBusybox, startDaemon } from '../harness.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
const IMG = 'e2e/busybox:1';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-events-'));

before(async () => {
  d = await startDaemon();
  await importBusybox(d, IMG);
});

after(async () => {
  await d?.teardown();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Ev {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

type Docker = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** The same command sequence on either engine; returns the time (s) before it and after it. */
async function scenario(docker: Docker): Promise<{ t0: number; t1: number }> {
  const t0 = Math.floor(Date.now() / 1000) - 1;
  const ok = async (args: string[]) => {
    const r = await docker(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  await ok(['volume', 'create', 'evv']);
  await docker(['run', '--name', 'ev', '-l', 'app=web', '-v', 'evv:/data', IMG, 'sh', '-c', 'sleep 1; exit 3']);
  await ok(['run', '-d', '--name', 'ev2', '-l', 'app=web', IMG, 'sleep', '30']);
  await ok(['exec', 'ev2', 'true']);
  await ok(['kill', '-s', 'USR1', 'ev2']);
  await ok(['pause', 'ev2']);
  await ok(['unpause', 'ev2']);
  await ok(['rm', '-f', 'ev2', 'ev']);
  await ok(['tag', IMG, 'evtag:1']);
  await docker(['save', '-o', path.join(tmp, `save-${Math.random()}.tar`), 'evtag:1']);
  await ok(['rmi', 'evtag:1']);
  await ok(['import', busyboxRootfsTar(fs.mkdtempSync(path.join(tmp, 'imp-'))), 'evimp:1']);
  await ok(['rmi', 'evimp:1']); // its only name: untag and delete
  await ok(['volume', 'rm', 'evv']);
  await ok(['network', 'create', 'evnet']);
  await ok(['network', 'rm', 'evnet']);
  await new Promise((r) => setTimeout(r, 1100)); // --until is whole seconds here
  return { t0, t1: Math.floor(Date.now() / 1000) };
}

async function events(docker: Docker, args: string[]): Promise<Ev[]> {
  const r = await docker(['events', '--format', '{{json .}}', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);
}

/** type, action (without an exec command) and the sorted attribute keys of each event. */
const shape = (es: Ev[]) => es.map((e) => `${e.Type} ${e.Action.replace(/:.*/, '')} ${Object.keys(e.Actor.Attributes).sort().join(',')}`);

test('events carry dockerd attributes; filters and since/until as dockerd; same shapes as a real dockerd', async () => {
  const docker: Docker = (a) => d.docker(a);
  const { t0, t1 } = await scenario(docker);
  const all = await events(docker, ['--since', String(t0), '--until', String(t1)]);
  const find = (type: string, action: string) => all.filter((e) => e.Type === type && e.Action.startsWith(action));
  const id = find('container', 'create')[0]!.Actor.ID;

  // container events: image, name and every label
  for (const a of ['create', 'start', 'die', 'destroy', 'attach']) {
    const e = find('container', a).find((x) => x.Actor.ID === id);
    assert.ok(e, `container ${a}`);
    assert.equal(e.Actor.Attributes.app, 'web', `${a} carries the label`);
    assert.equal(e.Actor.Attributes.image, IMG);
    assert.equal(e.Actor.Attributes.name, 'ev');
  }
  const die = find('container', 'die').find((x) => x.Actor.ID === id)!;
  assert.equal(die.Actor.Attributes.exitCode, '3');
  assert.ok(Number(die.Actor.Attributes.execDuration) >= 1, `execDuration ${die.Actor.Attributes.execDuration}`);
  const execCreate = find('container', 'exec_create')[0]!;
  assert.equal(execCreate.Action, 'exec_create: true ');
  assert.ok(execCreate.Actor.Attributes.execID);
  assert.equal(find('container', 'exec_die')[0]!.Actor.Attributes.execID, execCreate.Actor.Attributes.execID);
  assert.ok(find('container', 'kill').some((e) => e.Actor.Attributes.signal === '10'), 'kill with the signal number');
  // volumes, networks, images
  assert.deepEqual(find('volume', 'mount')[0]!.Actor.Attributes.container, id);
  assert.equal(find('volume', 'unmount')[0]!.Actor.Attributes.container, id, 'unmount when the container stops');
  for (const a of ['create', 'destroy']) assert.ok(find('volume', a).some((e) => e.Actor.ID === 'evv'), `volume ${a}`);
  for (const a of ['create', 'destroy']) assert.ok(find('network', a).some((e) => e.Actor.Attributes.name === 'evnet'), `network ${a}`);
  for (const a of ['connect', 'disconnect']) assert.ok(find('network', a).some((e) => e.Actor.Attributes.container === id), `network ${a}`);
  for (const a of ['tag', 'save', 'untag', 'delete', 'import']) assert.ok(find('image', a).length > 0, `image ${a}`);
  assert.equal(find('image', 'tag')[0]!.Actor.Attributes.name, 'evtag:1');

  // filters
  const f = (...fs: string[]) => events(docker, ['--since', String(t0), '--until', String(t1), ...fs.flatMap((x) => ['--filter', x])]);
  assert.ok((await f('label=app=web')).every((e) => e.Actor.Attributes.app === 'web'));
  assert.deepEqual([...new Set((await f('event=die')).map((e) => e.Action))], ['die']);
  assert.deepEqual([...new Set((await f('event=exec_start')).map((e) => e.Action))], ['exec_start: true ']);
  // dockerd's match is by prefix of the ID or the name: ev also names ev2
  const byName = await f('container=ev');
  assert.ok(byName.every((e) => e.Type === 'container' && ['ev', 'ev2'].includes(e.Actor.Attributes.name!)));
  assert.ok(byName.some((e) => e.Actor.ID === id));
  assert.ok((await f('container=ev2')).every((e) => e.Actor.Attributes.name === 'ev2'));
  assert.ok((await f(`container=${id.slice(0, 12)}`)).length >= 5, 'an ID prefix names the container');
  assert.ok((await f('image=e2e/busybox')).some((e) => e.Type === 'container'), 'an image filter without the tag');
  assert.deepEqual([...new Set((await f('type=volume')).map((e) => e.Type))], ['volume']);
  assert.ok((await f('volume=evv')).every((e) => e.Type === 'volume' && e.Actor.ID === 'evv'));
  assert.ok((await f('network=evnet')).every((e) => e.Type === 'network' && e.Actor.Attributes.name === 'evnet'));
  assert.equal((await f('type=container', 'event=pause')).length, 1, 'keys combine');
  assert.deepEqual(await f('daemon=nope'), []);
  // since/until as Go durations (the CLI turns them into timestamps from now)
  const recent = await events(docker, ['--since', '5m', '--until', '0s']);
  assert.ok(recent.length >= all.length, `--since 5m: ${recent.length} of ${all.length}`);
  // --since 1s must leave out the scenario's network create: let it be ≥ 3 s old first (the CLI's since may be rounded
  // down to whole seconds, and on a quick machine the queries above take well under a second)
  await new Promise((r) => setTimeout(r, Math.max(0, (t1 + 3) * 1000 - Date.now())));
  assert.deepEqual(await events(docker, ['--since', '1s', '--until', '0s', '--filter', 'event=create', '--filter', 'type=network']), []);
  const bad = await docker(['events', '--filter', 'nope=1', '--until', '0s']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid filter 'nope'/);

  // a real dockerd, same commands: the same events with the same attribute keys
  const dk = await startComparisonDockerd({ prefix: 'berth-events-dockerd-' });
  if (!dk) return;
  try {
    const tarDir = fs.mkdtempSync(path.join(tmp, 'bb-'));
    assert.equal((await dk.docker(['import', '-c', 'CMD ["sh"]', busyboxRootfsTar(tarDir), IMG])).code, 0);
    const ddocker: Docker = (a) => dk.docker(a);
    const w = await scenario(ddocker);
    const theirs = await events(ddocker, ['--since', String(w.t0), '--until', String(w.t1)]);
    // dockerd 20.10's die has no execDuration (moby 23 added it), and its volume create repeats for `run -v`
    const norm = (es: Ev[]) => [...new Set(shape(es).map((s) => s.replace(/\bexecDuration,?/, '').replace(/,$/, '')))].sort();
    const ours = norm(all.filter((e) => e.Type !== 'image' || ['tag', 'untag', 'delete', 'save', 'import'].includes(e.Action)));
    const want = norm(theirs.filter((e) => e.Type !== 'image' || ['tag', 'untag', 'delete', 'save', 'import'].includes(e.Action)));
    assert.deepEqual(ours.filter((s) => !want.includes(s)), [], 'events berth sends that dockerd does not (or with other keys)');
    assert.deepEqual(want.filter((s) => !ours.includes(s)), [], 'events dockerd sends that berth does not (or with other keys)');
  } finally {
    await dk.stop();
  }
});
