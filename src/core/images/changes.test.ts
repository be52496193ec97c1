import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyChanges } from './changes.js';

test('--change lines: exec and shell forms, ENV/LABEL with quotes and expansion, EXPOSE, VOLUME, WORKDIR, USER', () => {
  const cfg = applyChanges({ Env: ['BASE=/opt'] }, [
    'CMD ["sh", "-c", "echo hi"]',
    'ENTRYPOINT /bin/run --flag',
    'ENV A=1 B="two words" C=$BASE/bin',
    'ENV LEGACY value with spaces',
    'LABEL "com.example.name"="my app" version=1.0',
    'EXPOSE 80 53/udp',
    'VOLUME ["/data", "/logs"]',
    'WORKDIR $BASE',
    'WORKDIR sub',
    'USER nobody:nogroup',
    'STOPSIGNAL SIGINT',
  ]);
  assert.deepEqual(cfg.Cmd, ['sh', '-c', 'echo hi']);
  assert.deepEqual(cfg.Entrypoint, ['/bin/sh', '-c', '/bin/run --flag']);
  assert.deepEqual(cfg.Env, ['BASE=/opt', 'A=1', 'B=two words', 'C=/opt/bin', 'LEGACY=value with spaces']);
  assert.deepEqual(cfg.Labels, { 'com.example.name': 'my app', version: '1.0' });
  assert.deepEqual(cfg.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.deepEqual(cfg.Volumes, { '/data': {}, '/logs': {} });
  assert.equal(cfg.WorkingDir, '/opt/sub');
  assert.equal(cfg.User, 'nobody:nogroup');
  assert.equal(cfg.StopSignal, 'SIGINT');
});

test('--change refuses instructions Docker does not allow there', () => {
  assert.throws(() => applyChanges({}, ['RUN echo no']), /run is not a valid change command/);
  assert.throws(() => applyChanges({}, ['ENV']), /ENV requires at least one argument/);
  assert.throws(() => applyChanges({}, ['EXPOSE eighty']), /invalid containerPort: eighty/);
});
