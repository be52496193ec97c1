import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClientFrame,
  decodeNumber,
  decodeResize,
  encodeFrame,
  encodeResize,
  encodeSignal,
  encodeStdin,
  FrameDecoder,
  MAX_CLIENT_PAYLOAD,
  parseReport,
} from './monitor-protocol.js';

describe('monitor protocol', () => {
  it('encodes type, big-endian length and payload', () => {
    assert.deepEqual([...encodeFrame(1, Buffer.from('hi'))], [1, 0, 0, 0, 2, 0x68, 0x69]);
    assert.deepEqual([...encodeFrame(ClientFrame.Start)], [3, 0, 0, 0, 0]);
  });

  it('encodes resize as u16be rows, cols', () => {
    const f = encodeResize(300, 2);
    assert.deepEqual([...f], [2, 0, 0, 0, 4, 0x01, 0x2c, 0x00, 0x02]);
    assert.deepEqual(decodeResize(f.subarray(5)), { rows: 300, cols: 2 });
    assert.throws(() => encodeResize(70000, 1), RangeError);
    assert.throws(() => encodeResize(-1, 1), RangeError);
  });

  it('encodes a signal as its number in decimal text', () => {
    assert.deepEqual([...encodeSignal(15)], [ClientFrame.Signal, 0, 0, 0, 2, 0x31, 0x35]);
    assert.deepEqual([...encodeSignal(64)].slice(5), [0x36, 0x34]);
    for (const bad of [0, -9, 65, 1.5]) assert.throws(() => encodeSignal(bad), RangeError);
  });

  it('splits large stdin into frames the monitor accepts', () => {
    const data = Buffer.alloc(MAX_CLIENT_PAYLOAD * 2 + 3, 7);
    const frames = encodeStdin(data);
    assert.equal(frames.length, 3);
    assert.deepEqual(
      frames.map((f) => f.readUInt32BE(1)),
      [MAX_CLIENT_PAYLOAD, MAX_CLIENT_PAYLOAD, 3],
    );
    assert.equal(encodeStdin(Buffer.alloc(0)).length, 0);
  });

  it('decodes frames split at every byte boundary', () => {
    const stream = Buffer.concat([
      encodeFrame(1, Buffer.from('hello\n')),
      encodeFrame(2, Buffer.alloc(0)),
      encodeFrame(4, Buffer.from('137')),
    ]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      assert.deepEqual(
        frames.map((f) => [f.type, f.payload.toString()]),
        [
          [1, 'hello\n'],
          [2, ''],
          [4, '137'],
        ],
        `cut at ${cut}`,
      );
      assert.equal(d.pending, 0);
    }
  });

  it('decodes byte by byte and keeps payloads independent of later input', () => {
    const d = new FrameDecoder();
    const stream = Buffer.concat([encodeFrame(1, Buffer.from('abc')), encodeFrame(1, Buffer.from('def'))]);
    const got = [];
    for (const b of stream) got.push(...d.push(Buffer.from([b])));
    assert.deepEqual(
      got.map((f) => f.payload.toString()),
      ['abc', 'def'],
    );
  });

  it('holds back an incomplete frame', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.push(Buffer.from([1, 0, 0, 0, 5, 0x61])), []);
    assert.equal(d.pending, 6);
  });

  it('rejects absurd lengths instead of buffering forever', () => {
    const d = new FrameDecoder(1024);
    assert.throws(() => d.push(Buffer.from([1, 0, 0, 4, 1])), /exceeds/);
  });

  it('parses numbers and reports', () => {
    assert.equal(decodeNumber(Buffer.from('137')), 137);
    assert.throws(() => decodeNumber(Buffer.from('13x')));
    assert.deepEqual(parseReport('{"pid":12,"monitorPid":11}'), { pid: 12, monitorPid: 11 });
    assert.deepEqual(parseReport('{"monitorPid":11}'), { monitorPid: 11 });
    assert.deepEqual(parseReport('{"error":"boom"}'), { error: 'boom' });
    // features: what the monitor understands beyond the first protocol; unknown names are dropped
    assert.deepEqual(parseReport('{"pid":12,"monitorPid":11,"features":["signal","later"]}'), { pid: 12, monitorPid: 11, features: ['signal'] });
    assert.equal(parseReport('{"monitorPid":11}').features, undefined);
    assert.throws(() => parseReport('{}'));
    assert.throws(() => parseReport('[1]'));
  });
});
