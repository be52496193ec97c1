import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAuthHeader, endpointHost, isInsecure, parseChallenge } from './auth.js';
import { pickPlatform } from './client.js';

test('parseChallenge: bearer with quoted params, basic', () => {
  const c = parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
  assert.deepEqual(c, { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } });
  assert.deepEqual(parseChallenge('Basic realm="x"'), { scheme: 'basic', params: { realm: 'x' } });
  assert.equal(parseChallenge(null), undefined);
});

test('decodeAuthHeader: base64url JSON, empty, auth field', () => {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  assert.deepEqual(decodeAuthHeader(enc({ username: 'u', password: 'p?>', serveraddress: 'r' })), { username: 'u', password: 'p?>', serveraddress: 'r' });
  assert.equal(decodeAuthHeader(enc({})), undefined);
  assert.equal(decodeAuthHeader(undefined), undefined);
  assert.equal(decodeAuthHeader(enc({ auth: Buffer.from('a:b:c').toString('base64') }))?.password, 'b:c');
  assert.throws(() => decodeAuthHeader('!!!notjson'));
});

test('endpoints: docker.io and insecure hosts', () => {
  assert.equal(endpointHost('docker.io'), 'registry-1.docker.io');
  assert.equal(endpointHost('127.0.0.1:5000'), '127.0.0.1:5000');
  assert.equal(isInsecure('127.0.0.1:5000'), true);
  assert.equal(isInsecure('127.9.1.1'), true);
  assert.equal(isInsecure('localhost:5000'), true);
  assert.equal(isInsecure('registry-1.docker.io'), false);
  assert.equal(isInsecure('reg.lan:5000', ['reg.lan:5000']), true);
  assert.equal(isInsecure('10.1.2.3:5000', ['10.0.0.0/8']), true);
  assert.equal(isInsecure('11.1.2.3:5000', ['10.0.0.0/8']), false);
});

test('pickPlatform', () => {
  const d = (n: string) => `sha256:${n.repeat(64)}`;
  const index = {
    schemaVersion: 2,
    manifests: [
      { digest: d('a'), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { digest: d('b'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { digest: d('c'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
    ],
  };
  assert.equal(pickPlatform(index, 'linux', 'amd64').digest, d('b'));
  assert.equal(pickPlatform(index, 'linux', 'arm64', 'v8').digest, d('a'));
  assert.throws(() => pickPlatform(index, 'linux', 's390x'), /no matching manifest for linux\/s390x/);
});
