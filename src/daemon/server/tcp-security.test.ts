import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTcpListener, isLoopbackIp } from './tcp-security.js';
import type { TlsConfig } from '../config.js';

const plain: TlsConfig = { enabled: false, verify: false, caFile: '', certFile: '', keyFile: '', explicitlyOff: false };

test('loopback addresses', () => {
  for (const ip of ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopbackIp(ip), ip);
  for (const ip of ['0.0.0.0', '10.0.0.1', '::', '192.168.1.1', 'fe80::1']) assert.ok(!isLoopbackIp(ip), ip);
});

test('plain TCP: loopback warns, non-loopback is refused unless --tls=false', async () => {
  assert.equal((await checkTcpListener('127.0.0.1', 2375, plain)).warnings.length, 2);
  assert.equal((await checkTcpListener('localhost', 2375, plain)).warnings.length, 2);
  await assert.rejects(checkTcpListener('0.0.0.0', 2375, plain), (e: Error & { kind?: string }) => e.kind === 'InvalidArgument' && /refusing to listen on tcp:\/\/0\.0\.0\.0:2375 without TLS/.test(e.message));
  await assert.rejects(checkTcpListener('::', 2375, plain), /tcp:\/\/\[::\]:2375/);
  const optedOut = await checkTcpListener('10.1.2.3', 2375, { ...plain, explicitlyOff: true });
  assert.match(optedOut.warnings[0], /insecure and gives root access/);
});

test('TLS: server-only warns that clients are not authenticated; mutual TLS is quiet anywhere', async () => {
  const server = await checkTcpListener('0.0.0.0', 2376, { ...plain, enabled: true });
  assert.match(server.warnings[0], /clients are not authenticated/);
  assert.deepEqual((await checkTcpListener('0.0.0.0', 2376, { ...plain, enabled: true, verify: true })).warnings, []);
});
