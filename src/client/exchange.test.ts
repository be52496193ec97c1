import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exchange, exchangeHead, upgrade } from './exchange.js';

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

test('exchangeHead: resolves at the head, the body when it ends; close() cancels with an error', async () => {
  const finish: (() => void)[] = [];
  await withServer(
    (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      finish.push(() => res.end('{"StatusCode":3}'));
    },
    async (socketPath) => {
      const t = { socketPath, hostname: 'localhost' };
      const pending = await exchangeHead(t, 'POST', '/wait', {});
      assert.equal(pending.status, 200);
      assert.equal(finish.length, 1, 'the head arrived before the body was written');
      finish[0]!();
      assert.deepEqual(JSON.parse((await pending.body).toString()), { StatusCode: 3 });
      const cancelled = await exchangeHead(t, 'POST', '/wait', {});
      cancelled.close();
      await assert.rejects(cancelled.body, /before the end of its answer/);
      finish[1]!();
    },
  );
});

test('upgrade: a 101 hands over the socket with the bytes read past the head; an error status is the whole answer', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-exchange-'));
  const socketPath = path.join(dir, 's.sock');
  const heads: string[] = [];
  const server = net.createServer((s) => {
    let got = '';
    s.on('data', (c) => {
      got += c;
      if (!got.includes('\r\n\r\n')) return;
      heads.push(got);
      if (got.startsWith('POST /missing')) {
        s.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 34\r\n\r\n{"message":"No such container: x"}');
        return;
      }
      // the head and the stream's first bytes in one write, then an echo of what the client sends
      s.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello ');
      s.removeAllListeners('data');
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
    });
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  try {
    const t = { socketPath, hostname: 'localhost' };
    const up = await upgrade(t, 'POST', '/attach?stream=1', {});
    assert.equal(up.status, 101);
    assert.ok('socket' in up);
    // a tick passes before anyone reads: nothing may be lost meanwhile
    await new Promise((r) => setTimeout(r, 20));
    let seen = '';
    up.socket.on('data', (d: Buffer) => (seen += d));
    up.socket.end('world');
    await new Promise((r) => up.socket.on('close', r));
    assert.equal(seen, 'hello world');
    assert.match(heads[0]!, /^POST \/attach\?stream=1 HTTP\/1\.1\r\n/);
    assert.match(heads[0]!, /\r\nConnection: Upgrade\r\n/);
    assert.match(heads[0]!, /\r\nUpgrade: tcp\r\n/);
    assert.doesNotMatch(heads[0]!, /Connection: close/);
    const missing = await upgrade(t, 'POST', '/missing', {});
    assert.equal(missing.status, 404);
    assert.ok('body' in missing && missing.body.toString() === '{"message":"No such container: x"}');
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
