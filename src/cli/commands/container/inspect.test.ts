import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { formatInspect, indentJSON } from './inspect.js';
import { portLines } from './info.js';
import { cpuPercent, formatStats, loadStatsFormat, memUsage, statsContext, type StatsJSON } from './stats.js';
import { splitCpArg, splitPathDirEntry, rebaseTransform } from './cp.js';

import { SAMPLES_DIR } from '../../../../test/samples.js';
const SAMPLES = SAMPLES_DIR;

test('inspect re-indents compact JSON exactly like docker (json.Indent, 4 spaces)', { skip: !fs.existsSync(SAMPLES) }, () => {
  const pretty = fs.readFileSync(`${SAMPLES}/container-inspect-running.json`, 'utf8').trim();
  const compact = JSON.stringify(JSON.parse(pretty));
  assert.equal(indentJSON(compact), pretty);
  // As an array of one element, the way `docker inspect` prints it.
  const arr = formatInspect([compact]);
  assert.ok(arr.startsWith('[\n    {\n        "Id": "10890787a420'));
  assert.ok(arr.endsWith('\n    }\n]\n'));
});

test('indentJSON keeps escapes and empty collections', () => {
  assert.equal(indentJSON('{"a":"x\\u003cy\\"","b":[],"c":{},"d":[1,{"e":null}]}'), '{\n    "a": "x\\u003cy\\"",\n    "b": [],\n    "c": {},\n    "d": [\n        1,\n        {\n            "e": null\n        }\n    ]\n}');
  assert.equal(formatInspect([]), '[]\n');
});

test('port lines are sorted naturally', () => {
  const ports = { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }], '9/udp': [{ HostIp: '127.0.0.1', HostPort: '9' }], '443/tcp': null };
  assert.deepEqual(portLines(ports, 'c'), ['9/udp -> 127.0.0.1:9', '80/tcp -> 0.0.0.0:8080', '80/tcp -> [::]:8080']);
  assert.deepEqual(portLines(ports, 'c', '80'), ['0.0.0.0:8080', '[::]:8080']);
  assert.throws(() => portLines(ports, 'c', '443/tcp'), /No public port '443\/tcp' published for c/);
});

test('stats values from a dockerd sample', { skip: !fs.existsSync(SAMPLES) }, async () => {
  const v = JSON.parse(fs.readFileSync(`${SAMPLES}/container-stats.json`, 'utf8')) as StatsJSON;
  assert.equal(cpuPercent(v), 0);
  assert.equal(memUsage(v), 368640);
  const row = statsContext('samp', v, true);
  assert.equal(row.Name, 'samp');
  assert.equal(row.MemUsage, '360KiB / 64MiB');
  assert.equal(row.MemPerc, '0.55%');
  assert.equal(row.NetIO, '1.57kB / 0B');
  assert.equal(row.BlockIO, '0B / 0B');
  assert.equal(row.PIDs, '1');
  const out = formatStats([row], await loadStatsFormat(''));
  assert.match(out, /^CONTAINER ID   NAME      CPU %     MEM USAGE \/ LIMIT   MEM %     NET I\/O       BLOCK I\/O   PIDS\n/);
});

test('cpu percent like docker', () => {
  const v: StatsJSON = {
    cpu_stats: { cpu_usage: { total_usage: 300 }, system_cpu_usage: 2000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 100 }, system_cpu_usage: 1000 },
  };
  assert.equal(cpuPercent(v), 40);
});

test('cp argument and path splitting', () => {
  assert.deepEqual(splitCpArg('c1:/etc/hosts'), { container: 'c1', path: '/etc/hosts' });
  assert.deepEqual(splitCpArg('/abs:x'), { container: '', path: '/abs:x' });
  assert.deepEqual(splitCpArg('./a:b'), { container: '', path: './a:b' });
  assert.deepEqual(splitCpArg('file'), { container: '', path: 'file' });
  assert.deepEqual(splitPathDirEntry('/a/b/'), ['/a', 'b']);
  assert.deepEqual(splitPathDirEntry('/a/b/.'), ['/a/b', '.']);
  assert.deepEqual(splitPathDirEntry('/x'), ['/', 'x']);
  assert.equal(rebaseTransform('a.b', 'c&d'), '--transform=s,^a\\.b\\(/\\|$\\),c\\&d\\1,S');
});
