/**
 * Registries over TLS, with Debian's docker-registry serving certificates the test makes with openssl
 * (test/tls-certs.ts) and a berthd whose certs directory is the test's own (`--registry-certs-dir`, never the host's
 * /etc/docker/certs.d):
 * - a loopback TLS registry without a certs directory is insecure as in dockerd: https without verification works;
 * - with `<host:port>/ca.crt` it is verified: the wrong CA fails in Go's words (x509: certificate signed by unknown
 *   authority), the right one works for push and pull;
 * - a registry that requires client certificates refuses a daemon without one (remote error: tls: certificate
 *   required / bad certificate) and serves one with `client.cert` + `client.key`; half a pair is dockerd's error;
 * - an `insecure-registries` entry skips verification even with a wrong CA in place (dockerd reads no certs there);
 * - a plain-http loopback registry is reached after the https attempt fails (dockerd's fallback), logged at debug.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importBusybox, startDaemon } from '../harness.js';
import { haveRegistry, TestRegistries } from '../registry.js';
import { makeCertificates } from '../tls-certs.js';

let d: Awaited<ReturnType<typeof startDaemon>>;
let work: string;
let certs: string;
let certsD: string;
let registries: TestRegistries;
let tlsReg: string; // 127.0.0.1:port, TLS
let mtlsReg: string; // 127.0.0.1:port, TLS + client certificates required
let plainReg: string;

const skip = haveRegistry ? false : 'docker-registry (Debian package) is not installed';

/** Sets `<certs.d>/<host>/` to exactly `files` (name → path of the file to copy); none removes the directory. */
function certsFor(host: string, files: Record<string, string> = {}): void {
  const dir = path.join(certsD, host);
  fs.rmSync(dir, { recursive: true, force: true });
  if (!Object.keys(files).length) return;
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, from] of Object.entries(files)) fs.copyFileSync(path.join(certs, from), path.join(dir, name));
}

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-reg-tls-'));
  certs = path.join(work, 'certs');
  fs.mkdirSync(certs);
  makeCertificates(certs);
  certsD = path.join(work, 'certs.d');
  fs.mkdirSync(certsD);
  registries = new TestRegistries(work);
  const server = { cert: path.join(certs, 'server-cert.pem'), key: path.join(certs, 'server-key.pem') };
  tlsReg = await registries.start('tls', undefined, { tls: server });
  mtlsReg = await registries.start('mtls', undefined, { tls: { ...server, clientCAs: [path.join(certs, 'ca.pem')] } });
  plainReg = await registries.start('plain');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-reg-tls-d-'));
  const localhostPort = `localhost:${tlsReg.split(':')[1]}`;
  fs.writeFileSync(path.join(root, 'daemon.json'), JSON.stringify({ 'registry-certs-dir': certsD, 'insecure-registries': [localhostPort], debug: true }));
  d = await startDaemon({ root });
  await importBusybox(d, 'busybox:tls');
});

after(async () => {
  await d?.teardown();
  await registries?.stopAll();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function ok(args: string[]) {
  const r = await d.docker(args, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `docker ${args.join(' ')}:\n${r.stdout}\n${r.stderr}\n--- berthd ---\n${d.log().slice(-2500)}`);
  return r;
}

test('a loopback TLS registry without a certs directory is insecure, as dockerd: https without verification', { skip }, async () => {
  certsFor(tlsReg);
  await ok(['tag', 'busybox:tls', `${tlsReg}/tls/bb:0`]);
  const p = await ok(['push', `${tlsReg}/tls/bb:0`]);
  assert.match(p.stdout, /0: digest: sha256:/);
  assert.match(d.log(), new RegExp(`registry ${tlsReg}: insecure, https without certificate verification`));
});

test('with <host:port>/ca.crt the registry is verified: a wrong CA fails in Go\'s words, the right one works', { skip }, async () => {
  certsFor(tlsReg, { 'ca.crt': 'rogue-ca.pem' });
  const bad = await d.docker(['pull', `${tlsReg}/tls/bb:0`], { timeoutMs: 60_000 });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, new RegExp(`Error response from daemon: Get "https://${tlsReg}/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority`));
  const push = await d.docker(['push', `${tlsReg}/tls/bb:0`], { timeoutMs: 60_000 });
  assert.notEqual(push.code, 0);
  assert.match(push.stderr, /x509: certificate signed by unknown authority/);
  certsFor(tlsReg, { 'ca.crt': 'ca.pem' });
  await ok(['tag', 'busybox:tls', `${tlsReg}/tls/bb:1`]);
  await ok(['push', `${tlsReg}/tls/bb:1`]);
  await ok(['rmi', `${tlsReg}/tls/bb:1`]);
  const pulled = await ok(['pull', `${tlsReg}/tls/bb:1`]);
  assert.match(pulled.stdout, /Status: Downloaded newer image/);
  const ran = await ok(['run', '--rm', `${tlsReg}/tls/bb:1`, 'echo', 'over-tls']);
  assert.equal(ran.stdout.trim(), 'over-tls');
});

test('client certificates: refused without client.cert/client.key, served with them; half a pair is dockerd\'s error', { skip }, async () => {
  await ok(['tag', 'busybox:tls', `${mtlsReg}/mtls/bb:1`]);
  certsFor(mtlsReg, { 'ca.crt': 'ca.pem' });
  const bad = await d.docker(['push', `${mtlsReg}/mtls/bb:1`], { timeoutMs: 60_000 });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, new RegExp(`Get "https://${mtlsReg}/v2/": remote error: tls: (bad certificate|certificate required)`), "the registry's own alert, as a Go client reads it");
  certsFor(mtlsReg, { 'ca.crt': 'ca.pem', 'client.cert': 'client-cert.pem' });
  const half = await d.docker(['push', `${mtlsReg}/mtls/bb:1`], { timeoutMs: 60_000 });
  assert.notEqual(half.code, 0);
  assert.match(half.stderr, /missing key client\.key for client certificate client\.cert\. CA certificates must use the extension \.crt/);
  certsFor(mtlsReg, { 'ca.crt': 'ca.pem', 'client.cert': 'client-cert.pem', 'client.key': 'client-key.pem' });
  const p = await ok(['push', `${mtlsReg}/mtls/bb:1`]);
  assert.match(p.stdout, /1: digest: sha256:/);
  await ok(['rmi', `${mtlsReg}/mtls/bb:1`]);
  await ok(['pull', `${mtlsReg}/mtls/bb:1`]);
});

test('an insecure-registries entry skips verification even with a wrong CA in its certs directory (as dockerd)', { skip }, async () => {
  const host = `localhost:${tlsReg.split(':')[1]}`;
  certsFor(host, { 'ca.crt': 'rogue-ca.pem' });
  await ok(['pull', `${host}/tls/bb:0`]);
  assert.match(d.log(), new RegExp(`registry ${host}: insecure, https without certificate verification`));
});

test('a plain-http loopback registry is reached after the https attempt fails (dockerd\'s fallback)', { skip }, async () => {
  await ok(['tag', 'busybox:tls', `${plainReg}/plain/bb:1`]);
  await ok(['push', `${plainReg}/plain/bb:1`]);
  assert.match(d.log(), new RegExp(`registry ${plainReg}: insecure, https failed \\(Get \\\\?"https://${plainReg}/v2/\\\\?": http: server gave HTTP response to HTTPS client\\), falling back to http`));
});
