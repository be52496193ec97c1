import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADJECTIVES, SURNAMES, generateName, randomName, validateContainerName } from './names.js';

test('lists are large, unique and valid name parts', () => {
  assert.ok(ADJECTIVES.length >= 100 && SURNAMES.length >= 100);
  assert.equal(new Set(ADJECTIVES).size, ADJECTIVES.length);
  assert.equal(new Set(SURNAMES).size, SURNAMES.length);
  for (const w of [...ADJECTIVES, ...SURNAMES]) assert.match(w, /^[a-z]+$/);
});

test('randomName never yields boring_wozniak', () => {
  const a = ADJECTIVES.indexOf('boring');
  const s = SURNAMES.indexOf('wozniak');
  // A scripted random source that offers boring_wozniak first, then boring_curie.
  const seq = [a, s, a, SURNAMES.indexOf('curie')];
  const rand = (n: number) => (seq.length ? seq.shift()! : n - 1);
  assert.equal(randomName(false, rand), 'boring_curie');
  for (let i = 0; i < 2000; i++) assert.match(randomName(), /^[a-z]+_[a-z]+$/);
});

test('generateName retries, then appends digits', () => {
  const tried: string[] = [];
  const name = generateName((n) => {
    tried.push(n);
    return tried.length <= 5;
  });
  assert.equal(tried.length, 6);
  assert.match(tried[0]!, /^[a-z]+_[a-z]+$/);
  assert.match(tried[2]!, /^[a-z]+_[a-z]+$/);
  assert.match(tried[3]!, /^[a-z]+_[a-z]+\d$/);
  assert.match(name, /^[a-z]+_[a-z]+\d$/);
  // Every plain and one-digit name taken: still terminates with a longer suffix.
  assert.match(generateName((n) => !/\d\d$/.test(n)), /^[a-z]+_[a-z]+\d{2,}$/);
});

test('validateContainerName uses Docker rule and message', () => {
  assert.equal(validateContainerName('web-1'), 'web-1');
  assert.equal(validateContainerName('/samp'), 'samp');
  assert.equal(validateContainerName('a.b_c'), 'a.b_c');
  for (const bad of ['bad name', 'a', '_x', '-x', '', 'x/y', 'ü1']) {
    assert.throws(() => validateContainerName(bad), (e: any) => {
      assert.equal(e.kind, 'InvalidArgument');
      assert.equal(e.message, `Invalid container name (${bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      return true;
    });
  }
});
