import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { registryFetch } from './transport.js';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: string;
}

/** Two origins on 127.0.0.1: `a` redirects in various ways, `b` (another port) is the redirect target elsewhere. */
let a: http.Server;
let b: http.Server;
let aBase = '';
let bBase = '';
const seen: Seen[] = [];

function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void): Promise<http.Server> {
  const s = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      handler(req, res, body);
    });
  });
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

before(async () => {
  b = await serve((req, res) => res.end(`b:${req.method}:${req.url}`));
  bBase = `http://127.0.0.1:${(b.address() as AddressInfo).port}`;
  a = await serve((req, res, body) => {
    if (req.url === '/elsewhere') return res.writeHead(307, { Location: `${bBase}/blob` }).end();
    if (req.url === '/same') return res.writeHead(302, { Location: '/target' }).end();
    if (req.url === '/see-other') return res.writeHead(303, { Location: '/target' }).end();
    if (req.url === '/loop') return res.writeHead(302, { Location: '/loop' }).end();
    if (req.url === '/big') return res.end(Buffer.alloc(1 << 20, 'x'));
    if (req.url === '/slow') return void res.writeHead(200, { 'Content-Length': '10' }).write('12345');
    res.setHeader('X-Two', ['1', '2']);
    res.end(`a:${req.method}:${req.url}:${body}`);
  });
  aBase = `http://127.0.0.1:${(a.address() as AddressInfo).port}`;
});

after(() => {
  a.closeAllConnections();
  b.closeAllConnections();
  a.close();
  b.close();
});

test('a redirect to another origin is followed without the Authorization header', async () => {
  seen.length = 0;
  const res = await registryFetch(`${aBase}/elsewhere`, { headers: { Authorization: 'Bearer secret' } }, undefined);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'b:GET:/blob');
  assert.equal(seen[0]!.authorization, 'Bearer secret');
  assert.equal(seen[1]!.authorization, undefined);
});

test('a redirect within the origin keeps Authorization and resolves a relative Location', async () => {
  seen.length = 0;
  const res = await registryFetch(`${aBase}/same`, { headers: { Authorization: 'Bearer secret' } }, undefined);
  assert.equal(await res.text(), 'a:GET:/target:');
  assert.equal(seen[1]!.authorization, 'Bearer secret');
});

test('303 after a POST becomes a GET without the body; 307 keeps method and body', async () => {
  const seeOther = await registryFetch(`${aBase}/see-other`, { method: 'POST', body: 'form=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }, undefined);
  assert.equal(await seeOther.text(), 'a:GET:/target:');
  seen.length = 0;
  const kept = await registryFetch(`${aBase}/elsewhere`, { method: 'PUT', body: Buffer.from('data') }, undefined);
  assert.equal(await kept.text(), 'b:PUT:/blob');
  assert.equal(seen[1]!.body, 'data');
});

test('a streamed body is sent once: the redirect comes back as the answer', async () => {
  const res = await registryFetch(`${aBase}/elsewhere`, { method: 'PATCH', body: Readable.from([Buffer.from('chunk')]) }, undefined);
  assert.equal(res.status, 307);
  assert.equal(res.headers.get('location'), `${bBase}/blob`);
  await res.discard();
});

test('a redirect loop ends after ten hops with the last redirect', async () => {
  seen.length = 0;
  const res = await registryFetch(`${aBase}/loop`, {}, undefined);
  assert.equal(res.status, 302);
  assert.equal(seen.length, 11);
  await res.discard();
});

test('headers read case-insensitively, repeated ones joined; ok and statusText as fetch', async () => {
  const res = await registryFetch(`${aBase}/h`, {}, undefined);
  assert.equal(res.headers.get('x-two'), '1, 2');
  assert.equal(res.headers.get('X-Two'), '1, 2');
  assert.equal(res.headers.get('missing'), null);
  assert.equal(res.ok, true);
  assert.equal(res.statusText, 'OK');
  assert.equal(await res.text(), 'a:GET:/h:');
});

test('discard of a long body closes it; the next request still works', async () => {
  const big = await registryFetch(`${aBase}/big`, {}, undefined);
  await big.discard();
  assert.equal(big.body.destroyed, true);
  assert.equal(await (await registryFetch(`${aBase}/after`, {}, undefined)).text(), 'a:GET:/after:');
});

test('an abort while the body streams fails the reader with the abort', async () => {
  const ac = new AbortController();
  const res = await registryFetch(`${aBase}/slow`, { signal: ac.signal }, undefined);
  const reading = (async () => {
    for await (const _ of res.body) ac.abort();
  })();
  await assert.rejects(reading, (e: Error) => e.name === 'AbortError');
});

test('a refused connection rejects with the errno code (transportMessage words it as Go)', async () => {
  const s = await serve(() => undefined);
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  await assert.rejects(registryFetch(`http://127.0.0.1:${port}/`, {}, undefined), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
});
