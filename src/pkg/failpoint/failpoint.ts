/**
 * Crash points for fault tests: with `BERTH_FAILPOINT=<name>[@<n>][,…]` in its environment the daemon kills itself
 * (SIGKILL, as a crash would) the n-th time (default: first) it reaches `crashPoint(<name>)`. Without the variable a
 * crash point costs one Map lookup. Used by the tests that prove a multi-step operation (removal) survives a crash at
 * every step.
 */
const armed = new Map<string, number>();
for (const spec of (process.env.BERTH_FAILPOINT ?? '').split(',').filter(Boolean)) {
  const [name, n] = spec.split('@');
  armed.set(name!, Math.max(1, Number(n) || 1));
}

export function crashPoint(name: string): void {
  const left = armed.get(name);
  if (left === undefined) return;
  if (left > 1) armed.set(name, left - 1);
  else process.kill(process.pid, 'SIGKILL');
}
