import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FieldTemplate } from './field-template.js';
import { compileRowTemplate } from './format.js';
import { withGoJSON } from './gojson.js';
import { GoTemplate } from './template.js';

/** What the engine prints (or the error it throws) for a template over a value. */
function run(t: { execute(d: unknown): string; executeHeader(h: Record<string, string>): string }, data: unknown, header = false): string {
  try {
    return header ? t.executeHeader(data as Record<string, string>) : t.execute(data);
  } catch (e) {
    return `ERROR ${(e as Error).message}`;
  }
}

test('field-only templates print exactly what the engine prints, errors included', () => {
  const row = withGoJSON({ ID: 'abc', Size: 12, Ratio: 0.5, Ok: true, Nil: null, List: ['a', 'b'], Map: { b: 1, a: 'x' }, Ports: '0.0.0.0:80->80/tcp' });
  Object.defineProperty(row, 'Label', { value: () => 'lbl', enumerable: false });
  Object.defineProperty(row, 'Boom', { value: () => { throw new Error('no'); }, enumerable: false });
  const nested = { State: { Running: true, Pid: 7, Health: null }, Name: '/x', Config: new Map([['Image', 'alpine']]) };
  const templates = [
    '{{.ID}}\t{{.Size}}\t{{.Ratio}}\t{{.Ok}}\t{{.Nil}}\t{{.List}}\t{{.Map}}\t{{.Missing}}',
    '{{ .ID }}:{{.Label}} }} {',
    '{{.Boom}}',
    '{{.ID.Sub}}',
    '{{.List.X}}',
    '{{json .}}',
    '{{ json . }} and {{.Ports}}',
    '{{.State.Running}} {{.State.Pid}} {{.State.Health.Status}} {{.Config.Image}} {{.Name}} {{.toString}}',
    '',
    'no actions\n',
  ];
  const headers = { ID: 'CONTAINER ID', Size: 'SIZE', Ports: 'PORTS' };
  for (const text of templates) {
    const fast = FieldTemplate.parse(text);
    assert.ok(fast, text);
    const engine = new GoTemplate(text);
    for (const data of [row, nested, undefined, 'str']) assert.equal(run(fast, data), run(engine, data), `${text} over ${JSON.stringify(data)}`);
    assert.equal(run(fast, headers, true), run(engine, headers, true), `${text} header`);
  }
  assert.equal(run(FieldTemplate.parse('{{json .}}')!, { n: NaN }), run(new GoTemplate('{{json .}}'), { n: NaN }));
});

test('anything beyond fields and json goes to the engine', async () => {
  for (const text of ['{{.ID | upper}}', '{{- .ID}}', '{{.ID -}}', '{{/* c */}}', '{{if .A}}x{{end}}', '{{.Label "a"}}', '{{.}}', '{{.ID}', '{{json .ID}}', '{{$x := 1}}', '{{.Ünï}}']) {
    assert.equal(FieldTemplate.parse(text), undefined, text);
    assert.ok((await compileRowTemplate(text).catch(() => new GoTemplate('x'))) instanceof GoTemplate, text);
  }
  assert.ok((await compileRowTemplate('{{json .}}', { json: () => 'x' })) instanceof GoTemplate);
  await assert.rejects(compileRowTemplate('{{.ID'), /template parsing error/);
});
