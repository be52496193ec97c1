/**
 * Stages as a graph: a stage *depends on* another when it builds `FROM` it, copies `--from` it or mounts it with
 * `RUN --mount=from=`. A build runs only the stages its target needs (the target and, transitively, what it depends
 * on) — BuildKit's behaviour; the classic builder ran them all — and runs independent stages at the same time.
 */
import { invalidArgument } from '../errdefs/index.js';
import type { Dockerfile } from './dockerfile/parser.js';
import { parseRunMount } from './mounts.js';

export interface StagePlan {
  /** Needed stage indexes in Dockerfile order. */
  needed: number[];
  /** stage index → indexes it depends on. */
  deps: Map<number, Set<number>>;
  target: number;
}

/** Index of the stage a `--from`/`FROM` word names (a name, or a number for `--from`), or undefined for an image. */
export function stageIndex(df: Dockerfile, word: string, allowNumber: boolean): number | undefined {
  const lower = word.toLowerCase();
  const byName = df.stages.findIndex((s) => s.name === lower);
  if (byName >= 0) return byName;
  if (allowNumber && /^\d+$/.test(word)) {
    const n = Number(word);
    if (n < df.stages.length) return n;
  }
  return undefined;
}

/** Plans a build of `target` (a stage name; default the last stage). `expand` resolves ARGs in stage references. */
export function planStages(df: Dockerfile, target: string | undefined, expand: (word: string) => string): StagePlan {
  let t = df.stages.length - 1;
  if (target) {
    t = df.stages.findIndex((s) => s.name === target.toLowerCase());
    if (t < 0) throw invalidArgument(`failed to reach build target ${target} in Dockerfile`);
  }
  const deps = new Map<number, Set<number>>();
  df.stages.forEach((s, i) => {
    const d = new Set<number>();
    const base = stageIndex(df, expand(s.base), false);
    if (base !== undefined && base < i) d.add(base);
    for (const ins of s.instructions) {
      for (const f of ins.flags) {
        let word: string | undefined;
        if (f.name === 'from' && (ins.cmd === 'COPY' || ins.cmd === 'ADD')) word = expand(f.value);
        if (f.name === 'mount' && ins.cmd === 'RUN') {
          try {
            word = parseRunMount(expand(f.value)).from;
          } catch {
            word = undefined; // reported when the step runs
          }
        }
        if (word === undefined) continue;
        const j = stageIndex(df, word, true);
        if (j === undefined) continue;
        if (j === i) throw invalidArgument(`circular dependency detected on stage: ${s.name ?? i}`);
        d.add(j);
      }
    }
    deps.set(i, d);
  });
  const needed = new Set<number>();
  const visiting = new Set<number>();
  const visit = (i: number) => {
    if (needed.has(i)) return;
    if (visiting.has(i)) throw invalidArgument(`circular dependency detected on stage: ${df.stages[i]!.name ?? i}`);
    visiting.add(i);
    for (const j of deps.get(i) ?? []) visit(j);
    visiting.delete(i);
    needed.add(i);
  };
  visit(t);
  return { needed: [...needed].sort((a, b) => a - b), deps, target: t };
}
