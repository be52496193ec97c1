import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { readUpgradeBody } from './hijack.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

test('Content-Length body: split between head and later socket data; the stream after it is left over', async () => {
  const socket = new PassThrough();
  const p = readUpgradeBody(req({ 'content-length': '10' }), socket, Buffer.from('{"a":'), 1024);
  setImmediate(() => socket.write('true}stdin!'));
  const { body, rest } = await p;
  assert.equal(body.toString(), '{"a":true}');
  assert.equal(rest.toString(), 'stdin!');
});

test('no body: everything in head is the stream', async () => {
  const { body, rest } = await readUpgradeBody(req({}), new PassThrough(), Buffer.from('abc'), 1024);
  assert.equal(body.length, 0);
  assert.equal(rest.toString(), 'abc');
});

test('chunked body with an extension and a trailer', async () => {
  const socket = new PassThrough();
  const p = readUpgradeBody(req({ 'transfer-encoding': 'chunked' }), socket, Buffer.from('4;x=1\r\n{"a"\r\n'), 1024);
  setImmediate(() => socket.write('6\r\n:true}\r\n0\r\nX-T: 1\r\n\r\nafter'));
  const { body, rest } = await p;
  assert.equal(body.toString(), '{"a":true}');
  assert.equal(rest.toString(), 'after');
});

test('bad input: too large, a bad length, a bad chunk size, a client gone mid-body', async () => {
  await assert.rejects(readUpgradeBody(req({ 'content-length': '2048' }), new PassThrough(), Buffer.alloc(0), 1024), { kind: 'InvalidArgument', message: 'request body too large' });
  await assert.rejects(readUpgradeBody(req({ 'content-length': '-1' }), new PassThrough(), Buffer.alloc(0), 1024), { kind: 'InvalidArgument' });
  await assert.rejects(readUpgradeBody(req({ 'transfer-encoding': 'chunked' }), new PassThrough(), Buffer.from('zz\r\n'), 1024), { kind: 'InvalidArgument' });
  const gone = new PassThrough();
  const p = readUpgradeBody(req({ 'content-length': '10' }), gone, Buffer.from('abc'), 1024);
  setImmediate(() => gone.end());
  await assert.rejects(p, { kind: 'InvalidArgument', message: 'unexpected EOF in request body' });
});
