import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applyChanges } from '../../../core/images/changes.js';
import { readTar } from '../../../pkg/tar/reader.js';
import { commitLayer, mergeCommitConfig } from './commit.js';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-commit-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('mergeCommitConfig follows moby: user values win, container fills the rest', () => {
  const base = {
    User: 'app',
    Env: ['PATH=/bin', 'A=1'],
    Cmd: ['sh'],
    Entrypoint: null,
    Labels: { a: '1', b: '2' },
    WorkingDir: '/w',
    ExposedPorts: { '80/tcp': {} },
    Hostname: 'abc',
  };
  const user = applyChanges({}, ['CMD ["x"]', 'ENV A=b', 'LABEL b=3']);
  const m = mergeCommitConfig(user as never, base as never);
  assert.deepEqual(m.Cmd, ['x']);
  assert.deepEqual(m.Env, ['A=b', 'PATH=/bin']);
  assert.deepEqual(m.Labels, { a: '1', b: '3' });
  assert.equal(m.User, 'app');
  assert.equal(m.WorkingDir, '/w');
  assert.deepEqual(m.ExposedPorts, { '80/tcp': {} });
  assert.equal(m.Hostname, undefined, 'hostname is not carried into the image');
  const noCmd = mergeCommitConfig({}, base as never);
  assert.deepEqual(noCmd.Cmd, ['sh']);
  // an ENTRYPOINT change drops the container's CMD (moby: Cmd only merged when Entrypoint is empty)
  const ep = mergeCommitConfig(applyChanges({}, ['ENTRYPOINT ["/bin/x"]']) as never, base as never);
  assert.deepEqual(ep.Entrypoint, ['/bin/x']);
  assert.equal(ep.Cmd, undefined);
});

test('commitLayer drops runc mount-point placeholders but keeps real content', async () => {
  const up = path.join(tmp, 'upper');
  for (const d of ['dev', 'proc', 'sys', 'etc', 'root']) fs.mkdirSync(path.join(up, d), { recursive: true });
  fs.writeFileSync(path.join(up, 'etc/hosts'), '');
  fs.writeFileSync(path.join(up, 'etc/hostname'), '');
  fs.writeFileSync(path.join(up, 'etc/motd'), 'hi');
  fs.writeFileSync(path.join(up, 'root/file'), 'data');
  const names: string[] = [];
  for await (const { header, body } of readTar(commitLayer(up))) {
    names.push(header.name);
    body.resume();
  }
  assert.deepEqual(names, ['etc/', 'etc/motd', 'root/', 'root/file']);
});
