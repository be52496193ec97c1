import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TabWriter, formatTabbed } from './tabwriter.js';

import { SAMPLES_DIR } from '../../../test/samples.js';
const samples = SAMPLES_DIR;

test('reproduces docker ps table byte for byte', () => {
  const want = readFileSync(`${samples}/cli-ps.txt`, 'utf8');
  const rows = [
    ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
    ['b5ef4a481966', 'b72063a78812', `"sh -c 'echo out; ec…"`, '11 seconds ago', 'Exited (3) 10 seconds ago', '', 'samp2'],
    ['10890787a420', 'b72063a78812', '"httpd -f -p 80"', '12 seconds ago', 'Up 11 seconds', '127.0.0.1:18999->80/tcp', 'samp'],
  ];
  const w = new TabWriter();
  for (const r of rows) w.write(r.join('\t') + '\n');
  assert.equal(w.flush(), want);
});

test('reproduces docker images table from its own cells', () => {
  const want = readFileSync(`${samples}/cli-images.txt`, 'utf8');
  // Columns are at least 3 spaces apart and no cell has 3 spaces inside.
  const tabbed = want
    .split('\n')
    .map((l) => l.split(/ {3,}/).join('\t'))
    .join('\n');
  assert.equal(formatTabbed(tabbed), want);
});

test('column blocks, minwidth, unpadded last cell', () => {
  assert.equal(formatTabbed('a\tb\tc\n'), 'a         b         c\n');
  assert.equal(formatTabbed('aaaaaaaaaaaa\tb\nx\ty\n'), 'aaaaaaaaaaaa   b\nx              y\n');
  // A line without tabs ends the block: the widths above and below are independent.
  assert.equal(
    formatTabbed('aaaaaaaaaaaaaaa\tb\nbreak\nc\td\n'),
    'aaaaaaaaaaaaaaa   b\nbreak\nc         d\n',
  );
  // Unterminated last line is still written (Flush semantics).
  assert.equal(formatTabbed('x\ty'), 'x         y');
  assert.equal(formatTabbed('a\tb', { minwidth: 0, padding: 1, padchar: '.' }), 'a.b');
  assert.equal(formatTabbed('ab\tc\n', { minwidth: 0, padding: 1, padchar: '\t', tabwidth: 8 }), 'ab\tc\n');
  assert.equal(formatTabbed(''), '');
});
