import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ago,
  bytesSize,
  formatFloat,
  fromHumanSize,
  getTimestamp,
  humanDuration,
  humanSize,
  humanSizeWithPrecision,
  parseDuration,
  parseDurationNs,
  parseSince,
  parseTimestamp,
  ramInBytes,
} from './units.js';

test('formatFloat matches Go strconv.FormatFloat', () => {
  const cases: [number, 'e' | 'f' | 'g', number, string][] = [
    [1.5, 'g', 3, '1.5'],
    [1000, 'g', 3, '1e+03'],
    [100, 'g', 3, '100'],
    [1.125, 'g', 3, '1.12'], // exact tie → even
    [1.135, 'g', 3, '1.14'], // 1.135 is slightly above the tie in binary
    [0.00001234, 'g', -1, '1.234e-05'],
    [1e6, 'g', -1, '1e+06'],
    [123456, 'g', -1, '123456'],
    [0.5, 'f', 0, '0'],
    [2.5, 'f', 0, '2'],
    [3.14159, 'f', 2, '3.14'],
    [1234.5678, 'e', 3, '1.235e+03'],
    [0, 'g', -1, '0'],
    [0, 'e', 2, '0.00e+00'],
    [0.1, 'f', -1, '0.1'],
    [-2.75, 'f', 1, '-2.8'],
    [9.9999, 'g', 3, '10'],
  ];
  for (const [v, f, p, want] of cases) assert.equal(formatFloat(v, f, p), want, `${v} ${f} ${p}`);
});

test('humanSize uses 3 significant digits like the docker CLI', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(10), '10B');
  assert.equal(humanSize(1982342), '1.98MB');
  assert.equal(humanSize(4860), '4.86kB');
  assert.equal(humanSize(1125), '1.12kB');
  assert.equal(humanSize(199_000_000), '199MB');
  assert.equal(humanSize(999_999), '1e+03kB'); // go-units really prints this
  assert.equal(humanSizeWithPrecision(1982342, 4), '1.982MB');
  assert.equal(bytesSize(1572864), '1.5MiB');
  assert.equal(bytesSize(1024), '1KiB');
  assert.equal(bytesSize(0), '0B');
});

test('ramInBytes / fromHumanSize', () => {
  assert.equal(ramInBytes('64m'), 64 * 1024 * 1024);
  assert.equal(ramInBytes('1g'), 1024 ** 3);
  assert.equal(ramInBytes('1G'), 1024 ** 3);
  assert.equal(ramInBytes('512k'), 512 * 1024);
  assert.equal(ramInBytes('512kb'), 512 * 1024);
  assert.equal(ramInBytes('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(ramInBytes('100'), 100);
  assert.equal(ramInBytes('100b'), 100);
  assert.equal(ramInBytes('10 MB'), 10 * 1024 * 1024);
  assert.equal(fromHumanSize('1k'), 1000);
  assert.throws(() => ramInBytes('abc'), { message: "invalid size: 'abc'" });
  assert.throws(() => ramInBytes(''), { message: "invalid size: ''" });
  assert.throws(() => ramInBytes('-1'), { message: "invalid size: '-1'" });
  assert.throws(() => ramInBytes('10x'), { message: "invalid suffix: 'x'" });
  assert.throws(() => ramInBytes('1kbb'), { message: "invalid suffix: 'kbb'" });
  assert.throws(() => ramInBytes('1.2.3m'), /strconv.ParseFloat: parsing "1.2.3": invalid syntax/);
});

test('humanDuration follows go-units', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(-5000), 'Less than a second');
  assert.equal(humanDuration(1 * s), '1 second');
  assert.equal(humanDuration(59 * s), '59 seconds');
  assert.equal(humanDuration(60 * s), 'About a minute');
  assert.equal(humanDuration(119 * s), 'About a minute');
  assert.equal(humanDuration(2 * m), '2 minutes');
  assert.equal(humanDuration(60 * m), 'About an hour');
  assert.equal(humanDuration(89 * m), 'About an hour');
  assert.equal(humanDuration(90 * m), '2 hours');
  assert.equal(humanDuration(47 * h), '47 hours');
  assert.equal(humanDuration(48 * h), '2 days');
  assert.equal(humanDuration(14 * d), '2 weeks');
  assert.equal(humanDuration(60 * d), '2 months');
  assert.equal(humanDuration(730 * d), '2 years');
  assert.equal(ago(new Date(1_000_000), new Date(1_012_000)), '12 seconds ago');
});

test('parseDuration is Go time.ParseDuration', () => {
  assert.equal(parseDuration('1h2m3.5s'), 3_723_500);
  assert.equal(parseDuration('300ms'), 300);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('-1.5h'), -5_400_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDurationNs('1us'), 1000);
  assert.equal(parseDurationNs('1µs'), 1000);
  assert.equal(parseDurationNs('.5s'), 500_000_000);
  assert.throws(() => parseDuration('1'), { message: 'time: missing unit in duration "1"' });
  assert.throws(() => parseDuration('1d'), { message: 'time: unknown unit "d" in duration "1d"' });
  assert.throws(() => parseDuration(''), { message: 'time: invalid duration ""' });
  assert.throws(() => parseDuration('s'), { message: 'time: invalid duration "s"' });
});

test('parseSince handles durations, RFC3339 and unix timestamps', () => {
  const now = new Date(1_700_000_600_000);
  assert.deepEqual(parseSince('10m', now), { seconds: 1_700_000_000, nanos: 0 });
  assert.deepEqual(parseSince('1700000000.123', now), { seconds: 1_700_000_000, nanos: 123_000_000 });
  assert.deepEqual(parseSince('1700000000', now), { seconds: 1_700_000_000, nanos: 0 });
  assert.deepEqual(parseSince('0', now), { seconds: 0, nanos: 0 });
  assert.deepEqual(parseSince('2023-11-14T22:13:20Z', now), { seconds: 1_700_000_000, nanos: 0 });
  assert.deepEqual(parseSince('2023-11-14T22:13:20.5+01:00', now), { seconds: 1_699_996_400, nanos: 500_000_000 });
  assert.deepEqual(parseSince('2023-11-14T22:13:20.000000001Z', now), { seconds: 1_700_000_000, nanos: 1 });
  const local = new Date(2023, 10, 14).getTime() / 1000;
  assert.deepEqual(parseSince('2023-11-14', now), { seconds: local, nanos: 0 });
  assert.equal(getTimestamp('2023-11-14T22:13Z', now), '1699999980.000000000');
  assert.throws(() => parseSince('yesterday', now), /failed to parse value as time or duration: "yesterday"/);
  assert.throws(() => parseSince('2023-13-xx', now), /cannot parse/);
  assert.deepEqual(parseTimestamp('5.1'), { seconds: 5, nanos: 100_000_000 });
});
