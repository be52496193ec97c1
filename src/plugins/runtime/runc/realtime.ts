/**
 * The daemon's CPU real-time budget (dockerd's --cpu-rt-period / --cpu-rt-runtime) on cgroup v1.
 *
 * A new v1 cpu cgroup starts with cpu.rt_runtime_us = 0, and the kernel refuses a child more real-time runtime than
 * its parent has. So before runc creates a task's cgroup, every ancestor below the hierarchy's root — from the top
 * down to the task's parent — gets the daemon's values; the root itself (the host's budget) is never written.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface RealtimeBudget {
  /** cpu.rt_period_us for each ancestor; 0 leaves it. */
  period: number;
  /** cpu.rt_runtime_us for each ancestor; 0 leaves it. */
  runtime: number;
}

/** The ancestors of a cgroup path below the root, top first: `/a/b/<id>` → `/a`, `/a/b`. */
export function cgroupAncestors(cgroupsPath: string): string[] {
  const parts = path.posix.normalize('/' + cgroupsPath).split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, i) => '/' + parts.slice(0, i + 1).join('/'));
}

/** Creates each ancestor of `cgroupsPath` under the cpu hierarchy `cpuRoot` and writes the budget into it. */
export function writeRealtimeParents(cpuRoot: string, cgroupsPath: string, budget: RealtimeBudget): void {
  for (const rel of cgroupAncestors(cgroupsPath)) {
    const dir = path.join(cpuRoot, rel);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    // the period first: the runtime is checked against it
    if (budget.period) writeValue(path.join(dir, 'cpu.rt_period_us'), budget.period);
    if (budget.runtime) writeValue(path.join(dir, 'cpu.rt_runtime_us'), budget.runtime);
  }
}

/** Writes one cgroup file; a refusal names the file, as Go's error does (`write <path>: invalid argument`). */
function writeValue(file: string, value: number): void {
  try {
    fs.writeFileSync(file, String(value));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`write ${file}: ${err.code === 'EINVAL' ? 'invalid argument' : err.message}`);
  }
}
