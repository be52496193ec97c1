import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { goQuote } from '../../../pkg/gostr/quote.js';
import { displayablePorts, ellipsis, formatContainers, type ContainerSummary } from './ps.js';

import { SAMPLES_DIR } from '../../../../test/samples.js';
const SAMPLES = SAMPLES_DIR;

/**
 * containers-list.json was captured a few seconds before cli-ps.txt, after the `busybox:local` tag went away (so
 * the daemon reports the image by ID). Adjust those daemon-side fields and fix "now" to the moment of cli-ps.txt.
 */
function sampleList(): ContainerSummary[] {
  const list = JSON.parse(fs.readFileSync(`${SAMPLES}/containers-list.json`, 'utf8')) as ContainerSummary[];
  list[0]!.Image = 'b72063a78812';
  list[0]!.Status = 'Exited (3) 10 seconds ago';
  list[1]!.Image = 'b72063a78812';
  list[1]!.Status = 'Up 11 seconds';
  return list;
}
const NOW = (1795608962 + 11) * 1000;

test('ps table matches docker exactly (cli-ps.txt)', { skip: !fs.existsSync(SAMPLES) }, async () => {
  const want = fs.readFileSync(`${SAMPLES}/cli-ps.txt`, 'utf8');
  assert.equal(await formatContainers(sampleList(), { now: NOW }), want);
});

test('ps --format "{{json .}}" matches docker (cli-ps-json.txt)', { skip: !fs.existsSync(SAMPLES) }, async () => {
  const want = fs.readFileSync(`${SAMPLES}/cli-ps-json.txt`, 'utf8');
  const list = sampleList();
  const samp = { ...list[1]!, SizeRw: 0, SizeRootFs: 1978369, Status: 'Up 11 seconds', Mounts: [{ Name: 'sampvol', Source: '/var/lib/docker/volumes/sampvol/_data', Driver: 'local' }] };
  const prevTZ = process.env.TZ;
  process.env.TZ = 'UTC';
  try {
    const got = await formatContainers([samp], { format: '{{json .}}', now: (1795608961 + 12) * 1000, size: true });
    assert.equal(got, want);
  } finally {
    if (prevTZ === undefined) delete process.env.TZ;
    else process.env.TZ = prevTZ;
  }
});

test('ps -q, --no-trunc, -s and custom formats', async () => {
  const list = sampleList();
  assert.equal(await formatContainers(list, { quiet: true }), 'b5ef4a481966\n10890787a420\n');
  assert.equal(await formatContainers(list, { quiet: true, trunc: false }), list.map((c) => c.Id + '\n').join(''));
  assert.equal(await formatContainers(list, { format: '{{.Names}} {{.Label "app"}} {{.Networks}}' }), 'samp2  bridge\nsamp web sampnet\n');
  assert.equal(await formatContainers(list, { format: 'table {{.Names}}\t{{.State}}' }), 'NAMES     STATE\nsamp2     exited\nsamp      running\n');
  const full = await formatContainers(list, { trunc: false, now: NOW });
  assert.match(full, /"sh -c 'echo out; echo err >&2; exit 3'"/);
  const sized = await formatContainers([{ ...list[1]!, SizeRw: 12, SizeRootFs: 1978369 }], { size: true, now: NOW });
  assert.match(sized.split('\n')[0]!, /NAMES +SIZE$/);
  assert.match(sized.split('\n')[1]!, /12B \(virtual 1\.98MB\)$/);
  assert.equal(await formatContainers([], {}), 'CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n');
});

test('docker port display, ellipsis and quoting', () => {
  assert.equal(
    displayablePorts([
      { PrivatePort: 80, Type: 'tcp' },
      { PrivatePort: 81, Type: 'tcp' },
      { PrivatePort: 82, Type: 'tcp' },
      { PrivatePort: 53, Type: 'udp' },
      { IP: '0.0.0.0', PrivatePort: 443, PublicPort: 8443, Type: 'tcp' },
      { IP: '::', PrivatePort: 443, PublicPort: 8443, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 9000, PublicPort: 9000, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 9001, PublicPort: 9001, Type: 'tcp' },
    ]),
    '53/udp, 80-82/tcp, 0.0.0.0:9000-9001->9000-9001/tcp, 0.0.0.0:8443->443/tcp, [::]:8443->443/tcp',
  );
  assert.equal(ellipsis('sh -c \'echo out; echo err >&2; exit 3\'', 20), "sh -c 'echo out; ec…");
  assert.equal(goQuote('a"b\\c\x1b'), '"a\\"b\\\\c\\x1b"');
});
