/**
 * Timestamps along berthd's container paths for profiling (issue 17: where a `docker run`'s milliseconds go).
 * Off unless `BERTH_TRACE_FILE` names a file: then each `trace(id, step)` appends `<epoch ms> <id> <step>` (µs
 * resolution, comparable with other processes' clocks) to it. bench/run.ts sets it on its berthd and prints the profile; nothing else
 * reads the file. The cost when off is one branch.
 */
import fs from 'node:fs';

const file = process.env.BERTH_TRACE_FILE;
let fd: number | undefined;

export function trace(id: string, step: string): void {
  if (!file) return;
  fd ??= fs.openSync(file, 'a');
  fs.writeSync(fd, `${(performance.timeOrigin + performance.now()).toFixed(3)} ${id.slice(0, 12)} ${step}\n`);
}
