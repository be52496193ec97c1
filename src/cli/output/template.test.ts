import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GoTemplate, parseFormat, sprintf } from './template.js';
import { renderFormat } from './format.js';
import { marshalJSON, withGoJSON } from './gojson.js';
import { formatValue } from './govalue.js';

import { SAMPLES_DIR } from '../../../test/samples.js';
const samples = SAMPLES_DIR;
const raw = JSON.parse(readFileSync(`${samples}/container-inspect-running.json`, 'utf8'));
const inspect = Array.isArray(raw) ? raw[0] : raw;
const run = (tmpl: string, data: unknown = inspect) => new GoTemplate(tmpl).execute(data);

test('fields, nested fields and missing keys on real inspect data', () => {
  assert.equal(run('{{.State.Status}}'), 'running');
  assert.equal(run('{{.Name}} {{.HostConfig.Memory}}'), '/samp 67108864');
  assert.equal(run('{{.Nope}}'), '<no value>');
  assert.equal(run('{{.Nope.Deeper}}'), '<no value>');
  assert.equal(run('{{.Config.Labels}}'), 'map[app:web]');
  assert.equal(run('{{.Config.Env}}'), '[FOO=bar]');
  assert.equal(run('{{.State.Running}}'), 'true');
});

test('Docker functions', () => {
  assert.equal(run('{{json .Config.Labels}}'), '{"app":"web"}');
  assert.equal(run('{{json .NetworkSettings.Ports}}'), '{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"18999"}]}');
  assert.equal(run('{{json .}}', { a: '<&>', b: null, c: [1, 2.5] }), '{"a":"<&>","b":null,"c":[1,2.5]}');
  assert.equal(run('{{range .Mounts}}{{.Source}}{{end}}'), '/var/lib/docker/volumes/sampvol/_data');
  assert.equal(run('{{index .Config.Labels "app"}}|{{index .Config.Labels "a.b"}}|'), 'web||');
  assert.equal(run('{{index .Config.Labels "a.b"}}', { Config: { Labels: { 'a.b': 'dotted' } } }), 'dotted');
  assert.equal(run('{{printf "%s-%d" .Name 3}}'), '/samp-3');
  assert.equal(run('{{join .Config.Env ","}}', { Config: { Env: ['A=1', 'B=2'] } }), 'A=1,B=2');
  assert.equal(run('{{split "a:b:c" ":"}}'), '[a b c]');
  assert.equal(run('{{title "hello wide-world"}} {{upper "x"}} {{lower "Y"}}'), 'Hello Wide-World X y');
  assert.equal(run('{{truncate "abcdef" 3}}|{{truncate "ab" 3}}|{{truncate "é…xyz" 2}}'), 'abc|ab|é…');
  assert.equal(run('[{{pad "x" 2 1}}][{{pad "" 2 1}}]'), '[  x ][]');
  assert.equal(run('{{println "a" 1}}'), 'a 1\n');
  assert.equal(run('{{.Name | printf "%q"}}'), '"/samp"');
});

test('Go builtins follow Go semantics', () => {
  const d = { Zero: 0, Empty: [], Full: [1], M: {}, S: 'x', F: false, N: 3 };
  assert.equal(run('{{if .Empty}}y{{else}}n{{end}}{{if .M}}y{{else}}n{{end}}{{if .Full}}y{{end}}', d), 'nny');
  assert.equal(run('{{if .Missing}}y{{else}}n{{end}}', d), 'n');
  assert.equal(run('{{and .S .N}} {{and .Zero .S}} {{or .Zero .S}} {{or .F .Zero}}', d), '3 0 x 0');
  assert.equal(run('{{lt 1 2}} {{gt 1 2}} {{le 2 2}} {{ge 1 2}} {{lt "a" "b"}}', d), 'true false true false true');
  assert.equal(run('{{eq .S "y" "x"}} {{ne .N 3}} {{not .F}}', d), 'true false true');
  assert.equal(run('{{len .Full}} {{len .S}} {{len .M}}', d), '1 1 0');
  assert.equal(run('{{.Zero | printf "%d"}} {{.F | not}}', d), '0 true');
  assert.equal(run('{{range .Empty}}x{{else}}empty{{end}}', d), 'empty');
  assert.equal(run('{{range $i, $e := .L}}{{$i}}={{$e}};{{end}}', { L: ['a', 'b'] }), '0=a;1=b;');
  assert.equal(run('{{range $k, $v := .M}}{{$k}}:{{$v}} {{end}}', { M: { b: 2, a: 1 } }), 'a:1 b:2 ');
  assert.equal(run('{{range .L}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}', { L: [1, 2, 3] }), '1');
  assert.equal(run('{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}', { L: [1, 2, 3] }), '13');
  assert.equal(run('{{with .State}}{{.Status}}{{end}}{{with .Nope}}x{{else}}none{{end}}'), 'runningnone');
  assert.equal(run('{{$n := .Name}}{{range .Mounts}}{{$n}}:{{.Type}}{{end}}'), '/samp:volume');
  assert.equal(run('{{$.Name}}{{range .Mounts}}{{$.Id | printf "%.12s"}}{{end}}').length, 5 + 12);
  assert.equal(run('{{define "x"}}<{{.}}>{{end}}{{template "x" .S}}', d), '<x>');
  assert.equal(run('{{.Greet "bob"}}', { Greet: (n: string) => `hi ${n}` }), 'hi bob');
  assert.equal(run('{{(index .L 1).A}}', { L: [{ A: 1 }, { A: 2 }] }), '2');
  assert.throws(() => run('{{index .L 5}}', { L: [1] }), /index out of range: 5/);
  assert.throws(() => run('{{lt 1 "a"}}'), /incompatible types for comparison/);
  assert.throws(() => run('{{.S.X}}', d), /can't evaluate field X in type string/);
  assert.throws(() => new GoTemplate('{{nosuchfunc .}}'), /template parsing error: .*nosuchfunc/);
  assert.throws(() => new GoTemplate('{{if}}'), /template parsing error/);
});

test('printf', () => {
  assert.equal(sprintf('%s-%d', 'a', 3), 'a-3');
  assert.equal(sprintf('%v %v %v %v', 'a', 1.5, true, null), 'a 1.5 true <nil>');
  assert.equal(sprintf('%q', 'a"b\n'), '"a\\"b\\n"');
  assert.equal(sprintf('%x %X %x', 255, 255, 'hi'), 'ff FF 6869');
  assert.equal(sprintf('[%-10s][%10s][%.2s]', 'ab', 'cd', 'xyz'), '[ab        ][        cd][xy]');
  assert.equal(sprintf('[%5d][%-5d][%05d][%+d]', 42, 42, -42, 5), '[   42][42   ][-0042][+5]');
  assert.equal(sprintf('%.2f %f %e %g %g', 3.14159, 1.5, 1234.5678, 0.000012, 1e6), '3.14 1.500000 1.234568e+03 1.2e-05 1e+06');
  assert.equal(sprintf('%6.2f|%-8.3f|', 3.14159, 2), '  3.14|2.000   |');
  assert.equal(sprintf('100%%'), '100%');
  assert.equal(sprintf('%d', 'x'), '%!d(string=x)');
  assert.equal(sprintf('%s', 3), '%!s(int=3)');
  assert.equal(sprintf('%d'), '%!d(MISSING)');
  assert.equal(sprintf('%d', 1, 'x'), '1%!(EXTRA string=x)');
  assert.equal(sprintf('%v', { b: 1, a: [1, 'x'] }), 'map[a:[1 x] b:1]');
  assert.equal(sprintf('%t %T', true, 'x'), 'true string');
});

test('formatValue and marshalJSON are Go-like', () => {
  assert.equal(formatValue(1e6), '1000000');
  assert.equal(formatValue(1.5e-7), '1.5e-07');
  assert.equal(formatValue(new Map([['b', 1], ['a', 2]])), 'map[a:2 b:1]');
  assert.equal(marshalJSON({ b: '<x>', a: 1 }), '{"a":1,"b":"\\u003cx\\u003e"}');
  assert.equal(marshalJSON({ b: '&', a: 1 }, { escapeHTML: false, sortKeys: false }), '{"b":"&","a":1}');
  assert.equal(marshalJSON(Buffer.from('hi')), '"aGk="');
  assert.equal(marshalJSON('\u2028'), '"\\u2028"');
});

test('--format json of a ps row matches docker output', () => {
  const want = readFileSync(`${samples}/cli-ps-json.txt`, 'utf8');
  const row = withGoJSON({
    Command: '"httpd -f -p 80"',
    CreatedAt: '2026-11-25 12:16:01 +0000 UTC',
    ID: '10890787a420',
    Image: 'b72063a78812',
    Labels: 'app=web',
    LocalVolumes: '1',
    Mounts: 'sampvol',
    Names: 'samp',
    Networks: 'sampnet',
    Platform: null,
    Ports: '127.0.0.1:18999->80/tcp',
    RunningFor: '12 seconds ago',
    Size: '0B (virtual 1.98MB)',
    State: 'running',
    Status: 'Up 11 seconds',
  });
  const f = parseFormat('json');
  assert.equal(f.kind, 'json');
  assert.equal(renderFormat(f, [row]), want);
  assert.equal(renderFormat(parseFormat('{{json .}}'), [row]), want);
  assert.equal(run('{{.Ports}}', row), '127.0.0.1:18999->80/tcp');
});

test('parseFormat kinds and table rendering', () => {
  const headers = {
    ID: 'CONTAINER ID',
    Image: 'IMAGE',
    Command: 'COMMAND',
    RunningFor: 'CREATED',
    Status: 'STATUS',
    Ports: 'PORTS',
    Names: 'NAMES',
  };
  const def = '{{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}';
  const rows = [
    { ID: 'b5ef4a481966', Image: 'b72063a78812', Command: `"sh -c 'echo out; ec…"`, RunningFor: '11 seconds ago', Status: 'Exited (3) 10 seconds ago', Ports: '', Names: 'samp2' },
    { ID: '10890787a420', Image: 'b72063a78812', Command: '"httpd -f -p 80"', RunningFor: '12 seconds ago', Status: 'Up 11 seconds', Ports: '127.0.0.1:18999->80/tcp', Names: 'samp' },
  ];
  const table = parseFormat('table', { defaultTable: def });
  assert.equal(table.kind, 'table');
  assert.equal(table.tableHeader, true);
  assert.equal(renderFormat(table, rows, headers), readFileSync(`${samples}/cli-ps.txt`, 'utf8'));
  assert.equal(parseFormat('', { defaultTable: def }).kind, 'table');

  const custom = parseFormat('table {{.ID}}\\t{{.Names | upper}}');
  assert.equal(custom.text, '{{.ID}}\t{{.Names | upper}}');
  assert.equal(renderFormat(custom, rows, headers), 'CONTAINER ID   NAMES\nb5ef4a481966   SAMP2\n10890787a420   SAMP\n');
  assert.equal(renderFormat(custom, [], headers), 'CONTAINER ID   NAMES\n');

  const plain = parseFormat('{{.Names}}:{{.Status}}\\n--');
  assert.equal(plain.kind, 'template');
  assert.equal(plain.tableHeader, undefined);
  assert.equal(renderFormat(plain, rows.slice(1)), 'samp:Up 11 seconds\n--\n');

  assert.equal(parseFormat('raw', { raw: 'container_id: {{.ID}}' }).kind, 'raw');
  assert.equal(parseFormat('raw').kind, 'template');
});
