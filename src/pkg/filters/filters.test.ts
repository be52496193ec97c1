import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Filters, encodeFilters, filtersFromArgs, parseFilters } from './filters.js';

const invalid = (message: string) => (e: any) => {
  assert.equal(e.kind, 'InvalidArgument');
  assert.equal(e.message, message);
  return true;
};

test('parseFilters accepts both wire forms and empty input', () => {
  assert.equal(parseFilters('').size, 0);
  assert.equal(parseFilters(undefined).size, 0);
  assert.equal(parseFilters('{}').size, 0);
  const cur = parseFilters('{"label":{"a=b":true,"c":true},"status":{"running":true,"paused":false}}');
  assert.deepEqual(cur.get('label'), ['a=b', 'c']);
  assert.deepEqual(cur.get('status'), ['running']);
  const legacy = parseFilters('{"label":["a=b","c"]}');
  assert.deepEqual(legacy.get('label'), ['a=b', 'c']);
  assert.ok(legacy.has('label') && !legacy.has('status'));
  assert.deepEqual(legacy.get('status'), []);
  assert.throws(() => parseFilters('{bad'), (e: any) => e.kind === 'InvalidArgument');
  assert.throws(() => parseFilters('["x"]'), (e: any) => e.kind === 'InvalidArgument');
  assert.throws(() => parseFilters('{"a":"b"}'), (e: any) => e.kind === 'InvalidArgument');
});

test('validate uses moby wording', () => {
  const f = parseFilters('{"label":{"x":true},"colour":{"red":true}}');
  f.validate(['label', 'colour']);
  assert.throws(() => f.validate(['label', 'status']), invalid("invalid filter 'colour'"));
});

test('matchKVList: every label filter must match', () => {
  const f = filtersFromArgs(['label=app=web', 'label=tier']);
  assert.ok(f.matchKVList('label', { app: 'web', tier: 'front', x: 'y' }));
  assert.ok(!f.matchKVList('label', { app: 'db', tier: 'front' }));
  assert.ok(!f.matchKVList('label', { app: 'web' }));
  assert.ok(!f.matchKVList('label', {}));
  assert.ok(!f.matchKVList('label', null));
  assert.ok(filtersFromArgs(['label=a=']).matchKVList('label', { a: '' }));
  assert.ok(new Filters().matchKVList('label', {}));
});

test('exact, fuzzy and regex matches', () => {
  const f = filtersFromArgs(['id=1089', 'name=^sa', 'status=exited', 'status=running']);
  assert.ok(f.exactMatch('status', 'running'));
  assert.ok(!f.exactMatch('status', 'paused'));
  assert.ok(f.exactMatch('absent', 'anything'));
  assert.ok(f.fuzzyMatch('id', '10890787a420'));
  assert.ok(!f.fuzzyMatch('id', 'b5ef4a481966'));
  assert.ok(f.match('name', 'samp2'));
  assert.ok(!f.match('name', 'other'));
  assert.ok(!f.uniqueExactMatch('status', 'running'));
  assert.ok(filtersFromArgs(['status=running']).uniqueExactMatch('status', 'running'));
});

test('bool filters', () => {
  assert.equal(new Filters().bool('dangling'), false);
  assert.equal(new Filters().bool('dangling', true), true);
  assert.equal(filtersFromArgs(['dangling=true']).bool('dangling'), true);
  assert.equal(filtersFromArgs(['dangling=1']).bool('dangling'), true);
  assert.equal(filtersFromArgs(['dangling=false']).bool('dangling'), false);
  assert.throws(() => filtersFromArgs(['dangling=maybe']).bool('dangling'), invalid("invalid filter 'dangling=maybe'"));
  assert.throws(
    () => filtersFromArgs(['dangling=true', 'dangling=false']).bool('dangling'),
    invalid("invalid filter 'dangling=true,false'"),
  );
  assert.throws(() => parseFilters('{"dangling":{}}').bool('dangling'), invalid("invalid filter 'dangling'"));
});

test('encodeFilters builds the query value the docker CLI sends', () => {
  assert.equal(encodeFilters([]), '');
  assert.equal(
    encodeFilters(['a=b', 'a=c', 'label=x=y', ' Status = running ']),
    '{"a":{"b":true,"c":true},"label":{"x=y":true},"status":{"running":true}}',
  );
  assert.deepEqual(parseFilters(encodeFilters(['label=x=y'])).get('label'), ['x=y']);
  assert.throws(() => encodeFilters(['novalue']), invalid('bad format of filter (expected name=value)'));
});

test('matchLabels is moby’s prune rule: every label matches, label! values do not all match', () => {
  const labels = { a: '1', b: '2' };
  assert.equal(new Filters().matchLabels(labels), true);
  assert.equal(filtersFromArgs(['label=a', 'label=b=2']).matchLabels(labels), true);
  assert.equal(filtersFromArgs(['label=a=2']).matchLabels(labels), false);
  assert.equal(filtersFromArgs(['label=a']).matchLabels(null), false);
  assert.equal(filtersFromArgs(['label!=a']).matchLabels(labels), false);
  assert.equal(filtersFromArgs(['label!=a=2']).matchLabels(labels), true);
  assert.equal(filtersFromArgs(['label!=c']).matchLabels(labels), true);
  // MatchKVList on label!: excluded only when all of its values match
  assert.equal(filtersFromArgs(['label!=a', 'label!=c']).matchLabels(labels), true);
  assert.equal(filtersFromArgs(['label!=a', 'label!=b']).matchLabels(labels), false);
});

test('until takes a Unix timestamp, an RFC 3339 date or a Go duration, one value only, in dockerd’s words', () => {
  const now = new Date('2026-01-02T03:04:05Z');
  assert.equal(new Filters().until('until', now), undefined);
  assert.equal(filtersFromArgs(['until=1700000000.5']).until('until', now), 1_700_000_000_500);
  assert.equal(filtersFromArgs(['until=2024-01-02T00:00:00Z']).until('until', now), Date.UTC(2024, 0, 2));
  assert.equal(filtersFromArgs(['until=1h30m']).until('until', now), now.getTime() - 5_400_000);
  assert.equal(filtersFromArgs(['unused-for=24h']).until('unused-for', now), now.getTime() - 86_400_000);
  assert.throws(() => filtersFromArgs(['until=1h', 'until=2h']).until(), invalid('more than one until filter specified'));
  assert.throws(() => filtersFromArgs(['until=soon']).until(), (e: any) => e.kind === 'InvalidArgument' && /failed to parse value as time or duration: "soon"/.test(e.message));
});
