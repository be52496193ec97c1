/**
 * Docker's multiplexed stream framing ("stdcopy"), used by attach, logs and exec when the container has no TTY.
 *
 * A *frame* is an 8-byte header followed by a payload: byte 0 is the stream id (0 stdin, 1 stdout, 2 stderr,
 * 3 systemerr — an error from the daemon that ends the stream), bytes 1–3 are zero, bytes 4–7 are the payload length
 * as a big-endian uint32. With a TTY the stream is raw bytes instead, no framing.
 */
import { Transform, type TransformCallback } from 'node:stream';

export type StreamId = 0 | 1 | 2 | 3;
export const Stdin: StreamId = 0;
export const Stdout: StreamId = 1;
export const Stderr: StreamId = 2;
export const Systemerr: StreamId = 3;

export const HEADER_LEN = 8;
/** Largest payload one header can describe. */
export const MAX_FRAME_PAYLOAD = 0xffffffff;

/** One demultiplexed frame. */
export interface Frame {
  stream: StreamId;
  data: Buffer;
}

/** Encodes one frame. Payloads above 4 GiB cannot be described by the header and are rejected. */
export function frame(stream: StreamId, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError('stdcopy: frame payload too large');
  const out = Buffer.allocUnsafe(HEADER_LEN + payload.length);
  out[0] = stream;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  out.writeUInt32BE(payload.length, 4);
  payload.copy(out, HEADER_LEN);
  return out;
}

/**
 * Incremental frame parser: feed chunks with `push`, get back the frames they complete. Headers and payloads may be
 * split across any number of chunks. A stream id above 3 is an error (the input is probably a raw TTY stream).
 */
export class FrameParser {
  private pending: Buffer[] = [];
  private pendingLen = 0;

  /** Bytes held back as the start of an incomplete frame. */
  get buffered(): number {
    return this.pendingLen;
  }

  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingLen += chunk.length;
    }
    const out: Frame[] = [];
    while (this.pendingLen >= HEADER_LEN) {
      const head = this.contiguous(HEADER_LEN);
      const stream = head[0]!;
      if (stream > 3) throw new Error(`stdcopy: unrecognized input header: ${stream}`);
      const len = head.readUInt32BE(4);
      if (this.pendingLen < HEADER_LEN + len) break;
      out.push({ stream: stream as StreamId, data: this.take(HEADER_LEN + len).subarray(HEADER_LEN) });
    }
    return out;
  }

  /** Call at end of input: throws if a partial frame is left. */
  end(): void {
    if (this.pendingLen > 0) throw new Error(`stdcopy: unexpected EOF: ${this.pendingLen} bytes of a partial frame`);
  }

  private contiguous(n: number): Buffer {
    if (this.pending[0]!.length < n) this.pending = [Buffer.concat(this.pending)];
    return this.pending[0]!;
  }

  private take(n: number): Buffer {
    const first = this.contiguous(n);
    const out = first.subarray(0, n);
    if (first.length === n) this.pending.shift();
    else this.pending[0] = first.subarray(n);
    this.pendingLen -= n;
    return out;
  }
}

/** Stream form of FrameParser: writable side takes bytes, object-mode readable side emits `Frame`s. */
export class Demuxer extends Transform {
  private parser = new FrameParser();

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      for (const f of this.parser.push(chunk)) this.push(f);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.parser.end();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
}

/** Async-iterator form: `for await (const { stream, data } of demux(res)) …`. */
export async function* demux(source: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<Frame> {
  const parser = new FrameParser();
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    yield* parser.push(buf);
  }
  parser.end();
}
