import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlagSpec, parseFlags } from './flags.js';

const runFlags: FlagSpec[] = [
  { name: 'interactive', short: 'i', type: 'bool', description: '' },
  { name: 'tty', short: 't', type: 'bool', description: '' },
  { name: 'detach', short: 'd', type: 'bool', description: '' },
  { name: 'rm', type: 'bool', description: '' },
  { name: 'env', short: 'e', type: 'list', description: '' },
  { name: 'name', type: 'string', description: '' },
  { name: 'pids-limit', type: 'int', description: '' },
];

test('combined short booleans and a valued short flag at the end of the run', () => {
  const r = parseFlags(['-itd', '-eA=1', '-e', 'B=2', 'busybox'], runFlags, { interspersed: false });
  assert.equal(r.values.interactive, true);
  assert.equal(r.values.tty, true);
  assert.equal(r.values.detach, true);
  assert.deepEqual(r.values.env, ['A=1', 'B=2']);
  assert.deepEqual(r.args, ['busybox']);
});

test('--flag=value, bool =false, and arguments after the image left untouched', () => {
  const r = parseFlags(['--rm=false', '--name=x', 'img', 'sh', '-c', '--rm', '-e'], runFlags, { interspersed: false });
  assert.equal(r.values.rm, false);
  assert.ok(r.set.has('rm'));
  assert.equal(r.values.name, 'x');
  assert.deepEqual(r.args, ['img', 'sh', '-c', '--rm', '-e']);
});

test('interspersed parsing keeps reading flags after positionals', () => {
  const r = parseFlags(['a', '--rm', 'b', '--', '--name'], runFlags);
  assert.deepEqual(r.args, ['a', 'b', '--name']);
  assert.equal(r.values.rm, true);
});

test('errors use pflag wording', () => {
  assert.throws(() => parseFlags(['--nosuchflag'], runFlags), /^Error: unknown flag: --nosuchflag$/);
  assert.throws(() => parseFlags(['-x'], runFlags), /unknown shorthand flag: 'x' in -x/);
  assert.throws(() => parseFlags(['-e'], runFlags), /flag needs an argument: 'e' in -e/);
  assert.throws(() => parseFlags(['--name'], runFlags), /flag needs an argument: --name/);
  assert.throws(() => parseFlags(['--pids-limit', 'x'], runFlags), /invalid argument "x" for "--pids-limit" flag/);
  assert.throws(() => parseFlags(['--rm=maybe'], runFlags), /strconv.ParseBool/);
});
