import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseBindSpec,
  parseMountFlag,
  parseMountSpec,
  parseTmpfsFlags,
  parseVolumeFlag,
  parseVolumeFlags,
  parseVolumesFrom,
  splitCsv,
  tmpfsData,
  validMountMode,
} from './index.js';

test('-v name:/p:ro is a read-only named volume with mode ro', () => {
  const mp = parseBindSpec('name:/p:ro');
  assert.equal(mp.type, 'volume');
  assert.equal(mp.source, 'name');
  assert.equal(mp.destination, '/p');
  assert.equal(mp.rw, false);
  assert.equal(mp.mode, 'ro');
  assert.equal(mp.propagation, '');
  assert.equal(mp.copyData, true);
});

test('-v /host:/p:ro,z is a bind with rprivate propagation', () => {
  const mp = parseBindSpec('/host/:/p/:ro,z');
  assert.equal(mp.type, 'bind');
  assert.equal(mp.source, '/host');
  assert.equal(mp.destination, '/p');
  assert.equal(mp.rw, false);
  assert.equal(mp.mode, 'ro,z');
  assert.equal(mp.propagation, 'rprivate');
});

test('-v /p is an anonymous volume; /h:/p:rshared keeps the propagation; nocopy', () => {
  const anon = parseBindSpec('/p');
  assert.equal(anon.type, 'volume');
  assert.equal(anon.source, '');
  assert.equal(anon.rw, true);
  assert.equal(parseBindSpec('/h:/p:rshared').propagation, 'rshared');
  assert.equal(parseBindSpec('v1:/p:nocopy').copyData, false);
});

test('bad -v specs fail with docker wording', () => {
  assert.throws(() => parseBindSpec('/p:ro'), { message: "invalid volume specification: '/p:ro'" });
  assert.throws(() => parseBindSpec(':/p'), { message: "invalid volume specification: ':/p'" });
  assert.throws(() => parseBindSpec('a:/p:xx'), { message: 'invalid mode: xx' });
  assert.throws(() => parseBindSpec('a:/p:ro,rw'), { message: 'invalid mode: ro,rw' });
  assert.throws(() => parseBindSpec('a:b:c:d'), { message: "invalid volume specification: 'a:b:c:d'" });
  assert.throws(() => parseBindSpec('a:rel'), {
    message: "invalid volume specification: 'a:rel': invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute",
  });
  assert.throws(() => parseBindSpec('a:/'), /destination can't be '\/'/);
  assert.throws(() => parseBindSpec('/h:/p:nocopy'), /field VolumeOptions must not be specified/);
  assert.throws(() => parseBindSpec('v:/p:rshared'), /field BindOptions must not be specified/);
  assert.ok(validMountMode('ro,z,rshared,nocopy,cached'));
  assert.ok(!validMountMode('ro,Z,z'));
});

test('--mount type=bind,src=,dst=,readonly,bind-propagation=rshared', () => {
  const m = parseMountFlag('type=bind,src=/a,dst=/b,readonly,bind-propagation=rshared');
  assert.deepEqual(m, { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true, BindOptions: { Propagation: 'rshared' } });
  const mp = parseMountSpec(m, () => true);
  assert.equal(mp.type, 'bind');
  assert.equal(mp.rw, false);
  assert.equal(mp.propagation, 'rshared');
  assert.equal(mp.mode, '');
  assert.throws(() => parseMountSpec(m, () => false), {
    message: 'invalid mount config for type "bind": bind source path does not exist: /a',
  });
  // CreateMountpoint skips the existence check.
  assert.equal(parseMountSpec({ ...m, BindOptions: { CreateMountpoint: true } }, () => false).createMountpoint, true);
});

test('--mount type=volume with volume-opt and volume-nocopy', () => {
  const m = parseMountFlag('type=volume,src=tv,dst=/data,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=10m,volume-nocopy,volume-label=a=b');
  assert.deepEqual(m, {
    Type: 'volume',
    Source: 'tv',
    Target: '/data',
    VolumeOptions: { DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=10m' } }, NoCopy: true, Labels: { a: 'b' } },
  });
  const mp = parseMountSpec(m);
  assert.equal(mp.copyData, false);
  assert.deepEqual(mp.volume?.options, { type: 'tmpfs', device: 'tmpfs', o: 'size=10m' });
  assert.deepEqual(mp.volume?.labels, { a: 'b' });
  // Quoted CSV keeps commas inside the option value.
  const q = parseMountFlag('type=volume,dst=/d,"volume-opt=o=size=1m,uid=5"');
  assert.equal(q.VolumeOptions?.DriverConfig?.Options?.o, 'size=1m,uid=5');
  // Default type is volume; anonymous read-only is refused by the daemon side.
  assert.throws(() => parseMountSpec({ ...parseMountFlag('dst=/x'), ReadOnly: true }), /must not set ReadOnly mode when using anonymous volumes/);
});

test('--mount type=tmpfs,tmpfs-size=,tmpfs-mode=', () => {
  const m = parseMountFlag('type=tmpfs,dst=/t,tmpfs-size=10m,tmpfs-mode=1770');
  assert.deepEqual(m, { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 10 * 1024 * 1024, Mode: 0o1770 } });
  const mp = parseMountSpec(m);
  assert.equal(mp.type, 'tmpfs');
  assert.equal(mp.tmpfsData, 'mode=1770,size=10m');
  assert.equal(tmpfsData({ SizeBytes: 1536 }, true), 'ro,size=1536');
  assert.equal(tmpfsData({ SizeBytes: 3 * 2 ** 30 }, false), 'size=3g');
  assert.throws(() => parseMountSpec({ Type: 'tmpfs', Target: '/t', Source: 'x' }), {
    message: 'invalid mount config for type "tmpfs": field Source must not be specified',
  });
});

test('--mount errors use the docker CLI wording', () => {
  assert.throws(() => parseMountFlag('type=bind,src=/a'), { message: 'target is required' });
  assert.throws(() => parseMountFlag('type=bind,dst=/a,bogus'), { message: "invalid field 'bogus' must be a key=value pair" });
  assert.throws(() => parseMountFlag('type=bind,dst=/a,foo=bar'), { message: "unexpected key 'foo' in 'foo=bar'" });
  assert.throws(() => parseMountFlag('type=bind,dst=/a,volume-nocopy'), { message: "cannot mix 'volume-*' options with mount type 'bind'" });
  assert.throws(() => parseMountFlag('type=tmpfs,dst=/a,tmpfs-mode=9'), { message: 'invalid value for tmpfs-mode: 9' });
  assert.throws(() => parseMountFlag('type=tmpfs,dst=/a,tmpfs-size=lots'), { message: 'invalid value for tmpfs-size: lots' });
  assert.throws(() => parseMountFlag('type=bind,dst=/a,readonly=maybe'), { message: 'invalid value for readonly: maybe' });
  assert.throws(() => parseMountSpec({ Type: 'nfs', Target: '/a' }), { message: 'invalid mount config for type "nfs": mount type unknown' });
  assert.throws(() => parseMountSpec({ Type: 'bind', Target: '/a' }), { message: 'invalid mount config for type "bind": field Source must not be empty' });
  assert.throws(() => parseMountSpec({ Type: 'volume', Target: '' }), { message: 'invalid mount config for type "volume": field Target must not be empty' });
});

test('-v CLI values: binds vs anonymous volumes, relative host paths made absolute', () => {
  assert.deepEqual(parseVolumeFlag('/p'), { kind: 'anonymous', target: '/p' });
  assert.deepEqual(parseVolumeFlag('n:/p:ro'), { kind: 'bind', bind: 'n:/p:ro' });
  assert.deepEqual(parseVolumeFlag('./x:/p', '/work'), { kind: 'bind', bind: '/work/x:/p' });
  assert.deepEqual(parseVolumeFlags(['/a', 'v:/b', '/h:/c:ro,z']), { Binds: ['v:/b', '/h:/c:ro,z'], Volumes: { '/a': {} } });
});

test('--volumes-from, --tmpfs, csv', () => {
  assert.deepEqual(parseVolumesFrom('c1'), { container: 'c1', mode: 'rw', rw: true });
  assert.deepEqual(parseVolumesFrom('c1:ro'), { container: 'c1', mode: 'ro', rw: false });
  assert.throws(() => parseVolumesFrom('c1:bad'), { message: 'invalid mode: bad' });
  assert.deepEqual(parseTmpfsFlags(['/run:size=1m,mode=700', '/tmp']), { '/run': 'size=1m,mode=700', '/tmp': '' });
  assert.deepEqual(splitCsv('a,"b,c",d""'.replace('d""', 'd')), ['a', 'b,c', 'd']);
  assert.deepEqual(splitCsv('"x""y"'), ['x"y']);
});
