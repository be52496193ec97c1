/**
 * dockerd's rules for a container's CPU real-time options (`--cpu-rt-period`, `--cpu-rt-runtime`), shared by the
 * spec builder (create and start) and `docker update`: the kernel must have RT group scheduling (cgroup v1 with
 * cpu.rt_period_us; v2 has none) and the runtime cannot exceed the period. Both are the caller's mistake (400).
 */
import { invalidArgument } from '../../errdefs/index.js';

export function validateCpuRealtime(period: number, runtime: number, host: { cpuRealtime: boolean }): void {
  if ((period !== 0 || runtime !== 0) && !host.cpuRealtime) throw invalidArgument('Your kernel does not support CPU real-time scheduler');
  if (period !== 0 && runtime !== 0 && runtime > period) throw invalidArgument('cpu real-time runtime cannot be higher than cpu real-time period');
}
