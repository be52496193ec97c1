import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Demuxer, FrameParser, demux, frame, type Frame } from './stdcopy.js';

// The first frame of shared/dockerd-samples/logs-multiplexed-od.txt: stderr, 35 bytes, a timestamped "err\n".
const sampleStderr = '2026-11-25T12:16:02.525175672Z err\n';

test('frame writes the 8-byte header as dockerd does', () => {
  const f = frame(2, Buffer.from(sampleStderr));
  assert.equal(sampleStderr.length, 0x23);
  assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 0x23]);
  assert.equal(f.subarray(8).toString(), sampleStderr);
  assert.deepEqual([...frame(1, Buffer.alloc(0))], [1, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(frame(1, Buffer.alloc(70000)).readUInt32BE(4), 70000);
});

test('FrameParser handles frames split at every byte boundary', () => {
  const input = Buffer.concat([frame(2, sampleStderr), frame(1, 'out\n'), frame(1, ''), frame(3, 'boom')]);
  for (let step = 1; step <= input.length; step++) {
    const p = new FrameParser();
    const got: Frame[] = [];
    for (let i = 0; i < input.length; i += step) got.push(...p.push(input.subarray(i, i + step)));
    p.end();
    assert.deepEqual(
      got.map((f) => [f.stream, f.data.toString()]),
      [[2, sampleStderr], [1, 'out\n'], [1, ''], [3, 'boom']],
      `step ${step}`,
    );
  }
});

test('FrameParser rejects truncated input and raw tty bytes', () => {
  const p = new FrameParser();
  p.push(frame(1, 'hello').subarray(0, 10));
  assert.equal(p.buffered, 10);
  assert.throws(() => p.end(), /unexpected EOF/);
  assert.throws(() => new FrameParser().push(Buffer.from('hello world\n')), /unrecognized input header: 104/);
});

test('Demuxer stream and demux generator', async () => {
  const input = Buffer.concat([frame(1, 'a'), frame(2, 'bb'), frame(1, 'ccc')]);
  const chunks = [input.subarray(0, 3), input.subarray(3, 12), input.subarray(12)];
  const viaStream: Frame[] = [];
  for await (const f of Readable.from(chunks).pipe(new Demuxer())) viaStream.push(f as Frame);
  const viaGen: Frame[] = [];
  for await (const f of demux(Readable.from(chunks))) viaGen.push(f);
  const want = [[1, 'a'], [2, 'bb'], [1, 'ccc']];
  assert.deepEqual(viaStream.map((f) => [f.stream, f.data.toString()]), want);
  assert.deepEqual(viaGen.map((f) => [f.stream, f.data.toString()]), want);
  await assert.rejects(async () => {
    for await (const _ of demux(Readable.from([input.subarray(0, 5)]))) void _;
  }, /unexpected EOF/);
});
