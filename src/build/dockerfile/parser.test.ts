import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandWord, expandWords, keyValuePairs, parseDockerfile } from './parser.js';
import { ignorePatternRegex, isIgnored, parseDockerignore } from '../context.js';
import { parseGoDuration } from '../instructions.js';

/** A compact view of a parse: stage bases/names and `CMD rest` lines with flags and JSON form marked. */
function view(text: string) {
  const df = parseDockerfile(text);
  return {
    escape: df.escape,
    meta: df.metaArgs.map((i) => `${i.cmd} ${i.rest}`),
    stages: df.stages.map((s) => ({
      base: s.base,
      name: s.name,
      ins: s.instructions.map((i) => `${i.line}:${i.cmd}${i.flags.map((f) => ` --${f.name}=${f.value}`).join('')} ${i.json ? JSON.stringify(i.json) : i.rest}`),
    })),
  };
}

const cases: Array<{ name: string; text: string; want: ReturnType<typeof view> }> = [
  {
    name: 'basic instructions, comments and blank lines',
    text: '# a comment\nFROM busybox\n\nrun echo hi\n# another\nCMD ["sh"]\n',
    want: { escape: '\\', meta: [], stages: [{ base: 'busybox', name: undefined, ins: ['4:RUN echo hi', '6:CMD ["sh"]'] }] },
  },
  {
    name: 'line continuations with comment lines inside',
    text: 'FROM busybox\nRUN echo a \\\n# comment inside\n  && echo b \\\n  && echo c\nENV A=1\n',
    want: { escape: '\\', meta: [], stages: [{ base: 'busybox', name: undefined, ins: ['2:RUN echo a   && echo b   && echo c', '6:ENV A=1'] }] },
  },
  {
    name: 'escape directive (backtick)',
    text: '# escape=`\nFROM busybox\nRUN dir c:\\ `\n  && echo x\n',
    want: { escape: '`', meta: [], stages: [{ base: 'busybox', name: undefined, ins: ['3:RUN dir c:\\   && echo x'] }] },
  },
  {
    name: 'ARG before FROM, multi-stage names, flags',
    text: 'ARG V=1\nFROM busybox:${V} AS Build\nCOPY --chown=1:2 a b /dst/\nFROM scratch\nCOPY --from=build /x /y\n',
    want: {
      escape: '\\',
      meta: ['ARG V=1'],
      stages: [
        { base: 'busybox:${V}', name: 'build', ins: ['3:COPY --chown=1:2 a b /dst/'] },
        { base: 'scratch', name: undefined, ins: ['5:COPY --from=build /x /y'] },
      ],
    },
  },
  {
    name: 'JSON versus shell form',
    text: 'FROM busybox\nRUN ["echo", "hi"]\nRUN [not json\nENTRYPOINT ["a","b"]\nCMD echo "x"\n',
    want: { escape: '\\', meta: [], stages: [{ base: 'busybox', name: undefined, ins: ['2:RUN ["echo","hi"]', '3:RUN [not json', '4:ENTRYPOINT ["a","b"]', '5:CMD echo "x"'] }] },
  },
];

for (const c of cases) {
  test(`parse: ${c.name}`, () => {
    assert.deepEqual(view(c.text), c.want);
  });
}

test('parse errors carry the line number in Docker wording', () => {
  assert.throws(() => parseDockerfile('FROM busybox\n\nFOO bar\n'), (e: Error) => e.message === "dockerfile parse error on line 3: unknown instruction: FOO");
  assert.throws(() => parseDockerfile('FROM busybox\nfoo bar\n'), /dockerfile parse error on line 2: unknown instruction: FOO/);
  assert.throws(() => parseDockerfile('RUN echo\n'), /line 1: no build stage in current context/);
  assert.throws(() => parseDockerfile('FROM a b\n'), /FROM requires either one or three arguments/);
  assert.throws(() => parseDockerfile('# only a comment\n'), /cannot be empty/);
});

test('variable expansion: forms, defaults, quotes, escapes', () => {
  const env: Record<string, string> = { A: 'x', E: '', P: '/a b' };
  const look = (n: string) => env[n];
  assert.equal(expandWord('$A', look), 'x');
  assert.equal(expandWord('${A}y', look), 'xy');
  assert.equal(expandWord('${B:-def}', look), 'def');
  assert.equal(expandWord('${E:-def}', look), 'def');
  assert.equal(expandWord('${E-def}', look), '');
  assert.equal(expandWord('${A:+alt}', look), 'alt');
  assert.equal(expandWord('${B:+alt}', look), '');
  assert.equal(expandWord('\\$A', look), '$A');
  assert.equal(expandWord("'$A'", look), '$A');
  assert.equal(expandWord('"$A z"', look), 'x z');
  assert.equal(expandWord('$', look), '$');
  assert.deepEqual(expandWords('$P c "d e"', look), ['/a', 'b', 'c', 'd e']);
  assert.deepEqual(expandWords('a`$A b', look, '`'), ['a$A', 'b']);
});

test('ENV/LABEL key=value pairs and the legacy form', () => {
  assert.deepEqual(keyValuePairs('ENV', 'A=1 B="two words" C=3'), [['A', '1'], ['B', '"two words"'], ['C', '3']]);
  assert.deepEqual(keyValuePairs('ENV', 'A hello world'), [['A', 'hello world']]);
  assert.throws(() => keyValuePairs('ENV', 'A=1 B'), /can't find = in "B"/);
});

test('.dockerignore patterns', () => {
  const rules = parseDockerignore('# c\nsecret*\n**/*.log\nbuild/\n!build/keep\n');
  assert.equal(isIgnored(rules, 'secret.txt'), true);
  assert.equal(isIgnored(rules, 'a/b/x.log'), true);
  assert.equal(isIgnored(rules, 'x.log'), true);
  assert.equal(isIgnored(rules, 'build/out'), true);
  assert.equal(isIgnored(rules, 'build/keep'), false);
  assert.equal(isIgnored(rules, 'src/main.c'), false);
  assert.ok(ignorePatternRegex('/a/*.txt').test('a/b.txt'));
  assert.ok(!ignorePatternRegex('a/*.txt').test('a/b/c.txt'));
});

test('Go durations', () => {
  assert.equal(parseGoDuration('30s'), 30e9);
  assert.equal(parseGoDuration('1m30s'), 90e9);
  assert.equal(parseGoDuration('500ms'), 5e8);
  assert.throws(() => parseGoDuration('5x'));
});
