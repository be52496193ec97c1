/**
 * Healthchecks (Docker's HEALTHCHECK / --health-*): while a container runs, its probe command runs every interval
 * inside it (the task's `run`, with the container's own process settings); results go to `State.Health` — status
 * starting → healthy/unhealthy, FailingStreak, the last five probe logs — and to `health_status` events.
 *
 * Terms: Interval/Timeout/StartPeriod are nanoseconds on the wire (Docker's Go durations). During the start period
 * failed probes do not count toward Retries; the first success ends the start period.
 */
import type { ContainerRecord, Health } from '../../../core/containers/container.js';
import type { Task } from '../../../core/runtime/runtime.js';

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

const NS_PER_MS = 1_000_000;
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;
const MAX_LOG_ENTRIES = 5;
const MAX_OUTPUT = 4096;

/** The probe's argv, or undefined when healthchecks are off (no test, or NONE). */
export function probeArgs(test: string[] | undefined): string[] | undefined {
  if (!test || test.length === 0) return undefined;
  switch (test[0]) {
    case 'NONE':
      return undefined;
    case 'CMD':
      return test.length > 1 ? test.slice(1) : undefined;
    case 'CMD-SHELL':
      return test.length > 1 ? ['/bin/sh', '-c', test.slice(1).join(' ')] : undefined;
    default:
      return test; // Docker treats a bare list as CMD
  }
}

export interface HealthHost {
  /** The container's running task; probes run in it. */
  task: Pick<Task, 'spec' | 'run'>;
  /** Persists the record after a health change. */
  save(rec: ContainerRecord): void;
  publish(rec: ContainerRecord, status: string): void;
}

/** Runs the probes of one running container until stopped. */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly rec: ContainerRecord,
    private readonly cfg: HealthConfig,
    private readonly args: string[],
    private readonly host: HealthHost,
  ) {
    rec.State.Health = { Status: 'starting', FailingStreak: 0, Log: [] };
    host.save(rec);
    this.schedule();
  }

  private get intervalMs(): number {
    return this.cfg.Interval ? this.cfg.Interval / NS_PER_MS : DEFAULT_INTERVAL_MS;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probe().finally(() => this.schedule()), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async probe(): Promise<void> {
    if (this.stopped || !this.rec.State.Running) return;
    const start = new Date();
    const { code, output } = await this.exec();
    if (this.stopped) return;
    const health = this.rec.State.Health as Health;
    health.Log = [...health.Log, { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: code, Output: output }].slice(-MAX_LOG_ENTRIES);
    const before = health.Status;
    const inStartPeriod = Date.now() - this.startedAt < (this.cfg.StartPeriod ?? 0) / NS_PER_MS;
    if (code === 0) {
      health.Status = 'healthy';
      health.FailingStreak = 0;
    } else if (!(inStartPeriod && before === 'starting')) {
      health.FailingStreak++;
      if (health.FailingStreak >= (this.cfg.Retries || DEFAULT_RETRIES)) health.Status = 'unhealthy';
    }
    this.host.save(this.rec);
    if (health.Status !== before || health.Status !== 'starting') this.host.publish(this.rec, health.Status);
  }

  /** One probe in the task with the container's process settings (user, env, caps) and the probe's args. */
  private async exec(): Promise<{ code: number; output: string }> {
    let proc;
    try {
      proc = (await this.host.task.spec()).process;
    } catch (e) {
      return { code: -1, output: (e as Error).message };
    }
    const timeoutMs = this.cfg.Timeout ? this.cfg.Timeout / NS_PER_MS : DEFAULT_TIMEOUT_MS;
    const r = await this.host.task.run({ ...proc, args: this.args, terminal: false }, { timeoutMs, maxOutput: MAX_OUTPUT });
    if (r.timedOut) return { code: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
    return { code: r.exitCode, output: r.output };
  }
}
