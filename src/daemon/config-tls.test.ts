import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDaemonConfig } from './config.js';

const withFile = (obj: unknown) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cfg-'));
  fs.writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify(obj));
  return ['--config-file', path.join(dir, 'daemon.json')];
};
const cfg = (argv: string[]) => loadDaemonConfig(argv).config;

test('TLS flags with dockerd meaning: --tlsverify implies TLS, --tlsverify=false still serves TLS, --tls=false opts out', () => {
  const def = cfg([]);
  assert.equal(def.tls.enabled, false);
  assert.equal(def.tls.explicitlyOff, false);
  assert.match(def.tls.caFile, /ca\.pem$/);
  assert.deepEqual(
    { ...cfg(['--tlsverify', '--tlscacert', '/c', '--tlscert', '/s', '--tlskey', '/k']).tls },
    { enabled: true, verify: true, caFile: '/c', certFile: '/s', keyFile: '/k', explicitlyOff: false },
  );
  const tlsOnly = cfg(['--tls']).tls;
  assert.equal(tlsOnly.enabled && !tlsOnly.verify, true);
  const verifyFalse = cfg(['--tlsverify=false']).tls;
  assert.equal(verifyFalse.enabled, true);
  assert.equal(verifyFalse.verify, false);
  assert.equal(cfg(['--tls=false']).tls.explicitlyOff, true);
});

test('daemon.json keys tls, tlsverify, tlscacert, tlscert, tlskey, group, dashboard', () => {
  const c = cfg(withFile({ tlsverify: true, tlscacert: '/ca', tlscert: '/c', tlskey: '/k', group: 'staff', dashboard: '127.0.0.1:9999' }));
  assert.equal(c.tls.verify, true);
  assert.equal(c.tls.caFile, '/ca');
  assert.equal(c.socketGroup, 'staff');
  assert.equal(c.socketGroupIsDefault, false);
  assert.deepEqual(c.dashboard, { address: '127.0.0.1:9999', tlsCert: undefined, tlsKey: undefined });
  assert.throws(() => cfg([...withFile({ tlsverify: true }), '--tlsverify']), /specified both as a flag and in the configuration file: tlsverify/);
});

test('-G and the default socket group; the dashboard is off by default', () => {
  assert.equal(cfg([]).socketGroup, 'berth');
  assert.equal(cfg([]).socketGroupIsDefault, true);
  assert.equal(cfg(['-G', 'docker']).socketGroup, 'docker');
  assert.equal(cfg(['-G', '']).socketGroup, '');
  assert.equal(cfg([]).dashboard, undefined);
  assert.throws(() => cfg(['--dashboard', '127.0.0.1:1', '--dashboard-tls-cert', '/x']), /must be given together/);
});
