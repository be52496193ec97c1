/**
 * The request body of an upgrade (hijack) request.
 *
 * Node hands an upgrade request's raw socket over as soon as the headers are parsed: the request body (dockerode
 * sends its attach options as JSON, exec start sends `{"Detach":false,"Tty":…}`) arrives on that socket ahead of the
 * client's stream. dockerd never lets those bytes reach a container — its handler reads the body or Go drops it with
 * the hijacked connection's buffer. berth does the same by taking the whole body off the socket before any handler
 * runs: handlers may parse it; the hijacked stream starts after it.
 *
 * Terms: `head` is what Node had already read past the headers; `rest` is what is left of it after the body (the
 * first bytes of the client's stream, if it did not wait for our 101).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalidArgument } from '../../errdefs/index.js';

export interface UpgradeBody {
  body: Buffer;
  rest: Buffer;
}

/** Reads an upgrade request's body (Content-Length or chunked) off `socket`; at most `limit` bytes. */
export async function readUpgradeBody(req: IncomingMessage, socket: Duplex, head: Buffer, limit: number): Promise<UpgradeBody> {
  const reader = new SocketReader(socket, head);
  const te = String(req.headers['transfer-encoding'] ?? '').toLowerCase();
  if (te.split(',').map((s) => s.trim()).includes('chunked')) {
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const line = (await reader.line()).toString('latin1');
      const n = parseInt(line.split(';')[0]!.trim(), 16);
      if (!Number.isFinite(n) || n < 0) throw invalidArgument('invalid chunked request body');
      if (n === 0) {
        // Trailers, if any, end with an empty line.
        while ((await reader.line()).length > 0);
        break;
      }
      size += n;
      if (size > limit) throw invalidArgument('request body too large');
      chunks.push(await reader.take(n));
      await reader.line();
    }
    return { body: Buffer.concat(chunks), rest: reader.rest() };
  }
  const n = Number(req.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument('invalid Content-Length');
  if (n > limit) throw invalidArgument('request body too large');
  const body = n > 0 ? await reader.take(n) : Buffer.alloc(0);
  return { body, rest: reader.rest() };
}

/** Pulls exact byte counts or CRLF lines off a paused socket, starting with bytes already read. */
class SocketReader {
  constructor(private readonly socket: Duplex, private buf: Buffer) {}

  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) await this.more();
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async line(): Promise<Buffer> {
    let i: number;
    while ((i = this.buf.indexOf('\r\n')) < 0) {
      if (this.buf.length > 4096) throw invalidArgument('invalid chunked request body');
      await this.more();
    }
    const out = this.buf.subarray(0, i);
    this.buf = this.buf.subarray(i + 2);
    return out;
  }

  rest(): Buffer {
    return this.buf;
  }

  private async more(): Promise<void> {
    const chunk = this.socket.read() as Buffer | null;
    if (chunk) {
      this.buf = Buffer.concat([this.buf, chunk]);
      return;
    }
    // A client that hangs up mid-body gets nothing: there is no one left to answer.
    if (this.socket.readableEnded || this.socket.destroyed) throw invalidArgument('unexpected EOF in request body');
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('readable', done);
        this.socket.off('end', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('readable', done);
      this.socket.on('end', done);
      this.socket.on('close', done);
    });
  }
}
