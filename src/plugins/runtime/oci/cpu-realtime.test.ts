/** The CPU real-time options from HostConfig to the OCI spec and `runc update`, with dockerd's refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSpec, validateHostConfig } from './spec.js';
import { facts, input } from './spec-fixtures.js';
import { planUpdate } from '../../../daemon/services/containers/stats.js';
import { normalizeHostConfig } from '../../../daemon/services/containers/create-config.js';
import { cpuRealtimeUnsupported, loadDaemonConfig } from '../../../daemon/config.js';

const TOO_HIGH = /cpu real-time runtime cannot be higher than cpu real-time period$/;
const NO_KERNEL = /Your kernel does not support CPU real-time scheduler$/;

test('CpuRealtimeRuntime/Period become linux.resources.cpu.realtimeRuntime/realtimePeriod; 0 leaves them out', () => {
  const s = buildSpec(input({ hostConfig: { CpuRealtimeRuntime: 10000, CpuRealtimePeriod: 1000000 } }));
  assert.equal(s.linux?.resources?.cpu?.realtimeRuntime, 10000);
  assert.equal(s.linux?.resources?.cpu?.realtimePeriod, 1000000);
  const none = buildSpec(input({ hostConfig: { CpuRealtimeRuntime: 0, CpuRealtimePeriod: 0 } }));
  assert.equal(none.linux?.resources?.cpu?.realtimeRuntime, undefined);
  assert.equal(none.linux?.resources?.cpu?.realtimePeriod, undefined);
});

test('a runtime above the period and a kernel without RT group scheduling are 400s in dockerd words', () => {
  const err = (f: () => void, re: RegExp) => assert.throws(f, (e: Error & { kind?: string }) => re.test(e.message) && e.kind === 'InvalidArgument');
  err(() => validateHostConfig({ CpuRealtimeRuntime: 20000, CpuRealtimePeriod: 10000 }, facts()), TOO_HIGH);
  err(() => validateHostConfig({ CpuRealtimeRuntime: 1000 }, facts({ cpuRealtime: false, cgroupVersion: 2 })), NO_KERNEL);
  err(() => validateHostConfig({ CpuRealtimePeriod: 1000 }, facts({ cpuRealtime: false })), NO_KERNEL);
  validateHostConfig({ CpuRealtimeRuntime: 10000, CpuRealtimePeriod: 10000 }, facts()); // equal is allowed
  validateHostConfig({}, facts({ cpuRealtime: false })); // unset needs no kernel support
});

test('inspect shows CpuRealtimeRuntime/CpuRealtimePeriod (0 when unset) and CgroupParent', () => {
  const h = normalizeHostConfig({});
  assert.equal(h.CpuRealtimeRuntime, 0);
  assert.equal(h.CpuRealtimePeriod, 0);
  assert.equal(h.CgroupParent, '');
  assert.equal(normalizeHostConfig({ CpuRealtimeRuntime: 5 }).CpuRealtimeRuntime, 5);
});

test('update: the new real-time values go to runc update, checked against the values the container keeps', () => {
  const hc = normalizeHostConfig({ CpuRealtimePeriod: 100000, CpuRealtimeRuntime: 5000 });
  const p = planUpdate(hc, { CpuRealtimeRuntime: 8000 }, { cpuRealtime: true });
  assert.deepEqual(p.resources.cpu, { realtimeRuntime: 8000 });
  assert.equal(p.hostConfig.CpuRealtimeRuntime, 8000);
  assert.equal(p.hostConfig.CpuRealtimePeriod, 100000);
  assert.throws(() => planUpdate(hc, { CpuRealtimeRuntime: 200000 }, { cpuRealtime: true }), TOO_HIGH);
  assert.throws(() => planUpdate(hc, { CpuRealtimeRuntime: 8000 }, { cpuRealtime: false }), NO_KERNEL);
  assert.equal(planUpdate(hc, { Memory: 0 }, { cpuRealtime: false }).resources.cpu, undefined);
});

test('daemon --cpu-rt-period/--cpu-rt-runtime/--cgroup-parent and their daemon.json keys; refused where unsupported', () => {
  const empty = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rtcfg-')), 'daemon.json');
  fs.writeFileSync(empty, '{}');
  const c = loadDaemonConfig(['--config-file', empty, '--cpu-rt-runtime', '950000', '--cpu-rt-period', '1000000', '--cgroup-parent', '/mine']).config;
  assert.deepEqual(c.cpuRealtime, { period: 1000000, runtime: 950000 });
  assert.equal(c.cgroupParent, '/mine');
  const d = loadDaemonConfig(['--config-file', empty]).config;
  fs.writeFileSync(empty, JSON.stringify({ 'cpu-rt-runtime': 5000, 'cpu-rt-period': 100000, 'cgroup-parent': '/f' }));
  const f = loadDaemonConfig(['--config-file', empty]).config;
  assert.deepEqual(f.cpuRealtime, { period: 100000, runtime: 5000 });
  assert.equal(f.cgroupParent, '/f');
  assert.throws(() => loadDaemonConfig(['--config-file', empty, '--cpu-rt-runtime', '1']), /specified both as a flag and in the configuration file: cpu-rt-runtime/);
  fs.writeFileSync(empty, '{}');
  assert.deepEqual(d.cpuRealtime, { period: 0, runtime: 0 });
  assert.equal(d.cgroupParent, '/berth');
  assert.equal(cpuRealtimeUnsupported({ period: 0, runtime: 0 }, { cgroupVersion: 2, cpuRealtime: false }), undefined);
  assert.equal(cpuRealtimeUnsupported({ period: 0, runtime: 1 }, { cgroupVersion: 2, cpuRealtime: false }), 'daemon-scoped cpu-rt-period and cpu-rt-runtime are not implemented for cgroup v2');
  assert.equal(cpuRealtimeUnsupported({ period: 1, runtime: 0 }, { cgroupVersion: 1, cpuRealtime: false }), 'daemon-scoped cpu-rt-period and cpu-rt-runtime are not supported by the kernel');
  assert.equal(cpuRealtimeUnsupported({ period: 0, runtime: 1 }, { cgroupVersion: 1, cpuRealtime: true }), undefined);
  assert.throws(() => loadDaemonConfig(['--config-file', empty, '--cpu-rt-runtime', '-1']), /invalid cpu-rt-runtime/);
});
