/** Dockerfile 1.x pieces that need no daemon: heredoc parsing and expansion, run-mount flags, the stage graph. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDockerfile } from './dockerfile/parser.js';
import { expandHeredoc } from './builder.js';
import { planStages } from './graph.js';
import { parseRunMount } from './mounts.js';

test('heredocs: bodies in order, <<- strips tabs, quoted delimiters do not expand, syntax directive kept', () => {
  const df = parseDockerfile('# syntax=docker/dockerfile:1.7\nFROM busybox\nRUN <<A cat && cat <<-"B"\none\nA\n\ttwo\n\tB\nCOPY <<EOF /x\nbody $V\nEOF\nRUN echo "<<NOT a heredoc"\n');
  assert.equal(df.syntax, 'docker/dockerfile:1.7');
  const [run, copy, plain] = df.stages[0]!.instructions;
  assert.deepEqual(run!.heredocs!.map((h) => [h.name, h.body, h.expand, h.chomp]), [['A', 'one\n', true, false], ['B', 'two\n', false, true]]);
  assert.deepEqual(copy!.heredocs!.map((h) => h.body), ['body $V\n']);
  assert.equal(plain!.heredocs, undefined);
  assert.throws(() => parseDockerfile('FROM busybox\nRUN <<EOF\nno end\n'), /unterminated heredoc EOF/);
});

test('expandHeredoc: variables and defaults, escapes, quotes kept', () => {
  const look = (n: string) => ({ A: 'x', E: '' } as Record<string, string>)[n];
  assert.equal(expandHeredoc('a=$A b=${A} c=${N:-d} e=${E:-f} g=${A:+y} \\$A "$A"', look), 'a=x b=x c=d e=f g=y $A "x"');
});

test('parseRunMount: cache defaults, secret id/target rules, bad keys', () => {
  assert.deepEqual(
    { ...parseRunMount('type=cache,target=/root/.cache,sharing=locked,mode=0700,uid=1') },
    { type: 'cache', target: '/root/.cache', readonly: false, sharing: 'locked', required: false, id: '/root/.cache', mode: 0o700, uid: 1 },
  );
  const s = parseRunMount('type=secret,id=tok');
  assert.equal(s.target, '/run/secrets/tok');
  assert.equal(parseRunMount('type=secret,target=/a/b.key').id, 'b.key');
  assert.equal(parseRunMount('type=bind,source=src,target=/s').readonly, true);
  assert.equal(parseRunMount('type=bind,source=src,target=/s,rw').readonly, false);
  assert.throws(() => parseRunMount('type=cache,target=/x,bogus=1'), /unexpected key 'bogus'/);
  assert.throws(() => parseRunMount('type=ssh'), /not supported by berth/);
  assert.throws(() => parseRunMount('type=cache'), /mount target is required/);
});

test('planStages: the target and what it uses, nothing else; cycles refused', () => {
  const df = parseDockerfile('FROM busybox AS a\nFROM busybox AS b\nFROM a AS c\nRUN --mount=type=bind,from=b,target=/b true\nFROM busybox AS unused\nFROM busybox\nCOPY --from=c /x /x\n');
  const p = planStages(df, undefined, (w) => w);
  assert.deepEqual(p.needed, [0, 1, 2, 4]);
  assert.deepEqual([...p.deps.get(2)!].sort(), [0, 1]);
  assert.deepEqual(planStages(df, 'b', (w) => w).needed, [1]);
  assert.throws(() => planStages(df, 'nope', (w) => w), /failed to reach build target nope/);
  const cyc = parseDockerfile('FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\nCOPY --from=a /y /y\n');
  assert.throws(() => planStages(cyc, undefined, (w) => w), /circular dependency/);
});
