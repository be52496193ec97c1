import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnvFileError, parseEnvFile } from './dotenv.js';

test('env file syntax: export, comments, quotes, interpolation, bare names', () => {
  const text = [
    '# comment',
    'A=1',
    'export B = two ',
    'C="line\\nnext ${A}"',
    "D='${A} literal'",
    'E=val # trailing comment',
    'F=with#hash',
    'G=${A}${B}',
    'HOME_FROM_ENV',
    'MISSING_BARE',
    'M="multi',
    'line"',
    'EMPTY=',
  ].join('\n');
  const vars = parseEnvFile(text, (k) => ({ HOME_FROM_ENV: '/root' })[k]);
  assert.deepEqual(Object.fromEntries(vars), {
    A: '1',
    B: 'two',
    C: 'line\nnext 1',
    D: '${A} literal',
    E: 'val',
    F: 'with#hash',
    G: '1two',
    HOME_FROM_ENV: '/root',
    M: 'multi\nline',
    EMPTY: '',
  });
});

test('bad lines name the file and line', () => {
  assert.throws(() => parseEnvFile('A=1\nBAD KEY=2\n', undefined, 'x.env'), (e: Error) => e instanceof EnvFileError && /x\.env:2/.test(e.message));
  assert.throws(() => parseEnvFile('A="open\n', undefined, 'x.env'), /unterminated/);
});
