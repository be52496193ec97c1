import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeArch, parseKernelRelease, parseNofile, readHostFacts, splitDev, statusField } from './host.js';

test('dev_t splits like glibc', () => {
  assert.deepEqual(splitDev(0x0103n), { major: 1, minor: 3 }); // /dev/null
  assert.deepEqual(splitDev(0x88_00n), { major: 136, minor: 0 });
  // major 259, minor 65536 (large numbers use the high bits)
  const rdev = (259n & 0xfffn) << 8n | (65536n & 0xffn) | ((65536n & ~0xffn) << 12n);
  assert.deepEqual(splitDev(rdev), { major: 259, minor: 65536 });
});

test('status, limits and release parsing', () => {
  const status = 'Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\n';
  assert.equal(statusField(status, 'CapBnd'), '000001fffeffffff');
  assert.equal(statusField(status, 'CapAmb'), undefined);
  const limits = 'Limit  Soft Limit Hard Limit Units\nMax open files            20000                40000                files\n';
  assert.deepEqual(parseNofile(limits), { soft: 20000, hard: 40000 });
  assert.deepEqual(parseKernelRelease('6.1.0-18-amd64'), { major: 6, minor: 1 });
  assert.equal(nativeArch('x64'), 'amd64');
  assert.equal(nativeArch('ppc64', true), 'ppc64le');
});

test('readHostFacts reads this host', async () => {
  const f = await readHostFacts();
  assert.ok(f.cgroupVersion === 1 || f.cgroupVersion === 2);
  // one reading serves system info, the spec and stats: the hierarchies found agree with the version
  assert.equal(f.cgroupMounts.version, f.cgroupVersion);
  assert.equal(f.cgroupDriver, 'cgroupfs');
  if (f.cgroupVersion === 2) assert.equal(f.cgroupMounts.roots.get(''), '/sys/fs/cgroup');
  else assert.ok(f.cgroupMounts.roots.has('memory'));
  assert.ok(f.boundingCaps.includes('CAP_CHOWN'));
  assert.ok(f.devices.some((d) => d.path === '/dev/null' && d.type === 'c' && d.major === 1 && d.minor === 3));
  assert.ok(!f.devices.some((d) => d.path.startsWith('/dev/pts/') || d.path === '/dev/console'));
  assert.ok(f.nofile.hard > 0);
});
