import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exchange } from './exchange.js';

/** A node:http server on a temp unix socket (berthd's server is node:http too). */
async function withServer(handler: http.RequestListener, fn: (socketPath: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-exchange-'));
  const socketPath = path.join(dir, 's.sock');
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(socketPath, r));
  try {
    await fn(socketPath);
  } finally {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('exchange: content-length, chunked and empty answers from node:http, request head and body as sent', async () => {
  const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  await withServer(
    (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        if (req.url === '/chunked') {
          res.write('{"a":');
          setTimeout(() => res.end('1}'), 10);
        } else if (req.url === '/none') {
          res.writeHead(204).end();
        } else if (req.url === '/missing') {
          res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"No such container: x"}');
        } else res.setHeader('X-Two', ['a', 'b']).end(JSON.stringify('é'.repeat(70_000)));
      });
    },
    async (socketPath) => {
      const t = { socketPath, hostname: 'localhost' };
      const big = await exchange(t, 'GET', '/big?x=1', {});
      assert.equal(big.status, 200);
      assert.equal(JSON.parse(big.body.toString('utf8')), 'é'.repeat(70_000));
      assert.equal(big.headers['x-two'], 'a, b');
      const chunked = await exchange(t, 'GET', '/chunked', {});
      assert.equal(chunked.headers['transfer-encoding'], 'chunked');
      assert.equal(chunked.body.toString(), '{"a":1}');
      const none = await exchange(t, 'POST', '/none', {});
      assert.equal(none.status, 204);
      assert.equal(none.body.length, 0);
      const missing = await exchange(t, 'DELETE', '/missing', {});
      assert.equal(missing.status, 404);
      assert.equal(missing.body.toString(), '{"message":"No such container: x"}');
      await exchange(t, 'POST', '/post', { 'Content-Type': 'application/json' }, Buffer.from('{"k":"v"}'));
      const post = seen.find((s) => s.url === '/post')!;
      assert.equal(post.body, '{"k":"v"}');
      assert.equal(post.headers['content-type'], 'application/json');
      assert.equal(post.headers.host, 'localhost');
      assert.equal(seen.find((s) => s.url === '/none')!.headers['content-length'], '0');
    },
  );
});

test('exchange: connection errors keep their code; an answer cut short is an error', async () => {
  await assert.rejects(exchange({ socketPath: '/nonexistent/berth.sock', hostname: 'localhost' }, 'GET', '/_ping', {}), { code: 'ENOENT' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-exchange-'));
  const socketPath = path.join(dir, 's.sock');
  const server = net.createServer((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'));
  await new Promise<void>((r) => server.listen(socketPath, r));
  try {
    await assert.rejects(exchange({ socketPath, hostname: 'localhost' }, 'GET', '/', {}), /before the end of its answer/);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
