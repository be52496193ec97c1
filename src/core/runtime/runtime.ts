/**
 * The runtime and its tasks: how the container service runs a container's processes, without knowing which OCI
 * runtime or monitor does it (containerd's Runtime/Task shape; the runc implementation is plugins/runtime/runc).
 *
 * Terms:
 * - *container*: Docker's object (record, config, name, writable layer); the container service owns it. It exists
 *   while stopped.
 * - *task*: the running instance of a container — its init process, the namespaces and cgroup around it, and the
 *   monitor that holds its stdio, log and exit status. A container has at most one task; a new one is created at
 *   every start. The task outlives berthd (its monitor does), so `load` finds it again after a daemon restart.
 * - *bundle*: the runtime's working directory for one task (OCI `config.json`, exit file, pid file). Its rootfs
 *   directory (`rootfsPath`) is where the caller mounts the container's root filesystem before `create`.
 * - *process*: one process in a task; the init is started by `Task.start`, further ones by `Task.exec`.
 * - *exit status*: how a process ended — its code (128+signal when killed) and, for the init, when and whether the
 *   kernel's OOM killer did it. Recorded by the monitor in a file, so it survives berthd being down.
 *
 * Lifecycle: `create` (the init exists, stopped before the user's program) → `start` → `exited` resolves →
 * `delete` (runtime state and cgroup released). `kill`, `pause`/`resume`, `update`, `exec`, `pids`, `stats` act on
 * a created or running task.
 */
import type { Duplex } from 'node:stream';
import type { LinuxResources, Process, Spec } from './spec.js';
import type { AttachOptions, AttachSession } from './attach.js';
import type { StatsSample } from './stats.js';

export type { Process, Spec, LinuxResources };

/** How a task's stdio is set up at create. */
export interface TaskIO {
  /** A pseudo-terminal for the init (docker -t); stdout and stderr are then one stream. */
  tty: boolean;
  /** Keep stdin open for attach clients (docker -i); otherwise the process reads /dev/null. */
  stdin: boolean;
  /** The log driver the monitor runs; absent for the `none` log driver. */
  log?: TaskLog;
  /** The embedded DNS server the monitor serves in the task's network namespace (core/network `SandboxSetup.resolver`). */
  dns?: { netnsPath: string; configPath: string };
}

/** Rotation of a log file (maxSize 0: none), done by the monitor. */
export interface LogRotation {
  maxSize: number;
  maxFile: number;
  compress: boolean;
}

/**
 * What the monitor logs the task's output to (native/monitor/log.h): a json-file or local-format file, or syslog
 * (with a local-format cache that `docker logs` reads, unless disabled), blocking or not.
 */
export interface TaskLog {
  driver: 'json-file' | 'local' | 'syslog';
  /** json-file / local: the log file; syslog: the cache file (absent: no cache). */
  path?: string;
  /** Rotation of `path`. */
  rotation?: LogRotation;
  /** json-file: a JSON object written as `attrs` into every record (`labels`/`env`/`tag`). */
  attrs?: string;
  syslog?: { address: string; facility: number; format: string; tag: string };
  /** non-blocking: records beyond maxBuffer queued bytes are dropped rather than the task waiting. */
  mode?: 'blocking' | 'non-blocking';
  maxBuffer?: number;
}

export interface ExitStatus {
  exitCode: number;
  /** RFC 3339; absent when the runtime does not know (then "now" is what callers record). */
  finishedAt?: string;
  oomKilled: boolean;
}

/** Why the runtime could not create or start a process, decided where the runtime's own message is read. */
export type RuntimeFailure =
  /** The program (or a path it needs) does not exist: Docker's exit code 127. */
  | 'not-found'
  /** The program exists but may not be executed: Docker's exit code 126. */
  | 'permission-denied'
  /** A path in the spec is wrong (e.g. `not a directory`): the caller's mistake, exit code 128. */
  | 'invalid'
  /** Anything else (bad spec, kernel refusal): exit code 128. */
  | 'other'
  /** The log driver could not start (a syslog listener that is not there); `message` is in dockerd's words. */
  | 'log-driver';

/** A runtime error with its kind decided at the source; `message` is the runtime's own text. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly failure: RuntimeFailure,
    /** The task (or process) does not exist or is not running any more: a stop/kill target already gone. */
    readonly gone = false,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}

export interface Runtime {
  /** The directory the caller mounts the container's root filesystem on before `create` (spec.root.path). */
  rootfsPath(id: string): string;
  /** cgroupsPath for a container's spec: below `parent` (HostConfig.CgroupParent) when given, else the daemon's parent. */
  cgroupsPath(id: string, parent?: string): string;
  /**
   * Creates the task: writes the bundle for `spec` and starts its monitor, which has the runtime create the init.
   * The user's program may already run (the runc runtime starts it in the same runc call), but none of its output
   * reaches an attach session before `start()`: sessions attached in between see all of it. Rejects with a
   * RuntimeError; nothing is left behind then.
   */
  create(id: string, spec: Spec, io: TaskIO): Promise<Task>;
  /**
   * The task of a container that was running when berthd last saw it. When its monitor still runs, the task is
   * connected (`connected` true) and behaves as one from `create`; otherwise `exited` resolves at once with the
   * recorded exit status, or undefined when the monitor died without recording one (the init may still run: kill it).
   */
  load(id: string, io: Pick<TaskIO, 'tty'>): Promise<Task>;
  /**
   * Releases whatever the runtime still holds for a container (state, cgroup, bundle files); idempotent. A task's
   * own `delete()` still in flight keeps the state and finishes it: this does not wait for it.
   */
  delete(id: string): Promise<void>;
  /**
   * Releases the runtime state of every container not in `known` (start-up: a crash after a removal, before a
   * task's `delete()` it did not wait for had finished).
   */
  deleteUnknown(known: ReadonlySet<string>): Promise<void>;
  /** The runtime program's version and commit (`/version`'s runc component); 'unknown' when it cannot tell. */
  version(): Promise<{ version: string; commit: string }>;
}

export interface Task {
  readonly id: string;
  /** Host pid of the init (0 before create finished). */
  readonly pid: number;
  /** Pid of the task's monitor. */
  readonly monitorPid: number;
  /** False for a task `load` found without a monitor. */
  readonly connected: boolean;
  /**
   * When the user's program was set running: taken before the runtime call that runs it, so none of its output is
   * timestamped earlier (State.StartedAt; clients filter logs with `since=<StartedAt>`). Undefined for a loaded task.
   */
  readonly startedAt: Date | undefined;
  /**
   * Resolves once the init exited and its output is in the log: its exit status, or undefined when the monitor
   * went away without one.
   */
  readonly exited: Promise<ExitStatus | undefined>;
  /** The spec the task was created from (its `process` is the template for health probes and execs). */
  spec(): Promise<Spec>;
  /**
   * Runs the user's program (or, when it runs already, releases its output to the attach sessions); resolves with
   * the init's pid. Rejects with a RuntimeError.
   */
  start(): Promise<number>;
  /** Signals the init (`all`: every process). A task already gone rejects with a RuntimeError whose `gone` is set. */
  kill(signal: string, opts?: { all?: boolean }): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Resizes the init's terminal. */
  resize(rows: number, cols: number): void;
  /** Changes the cgroup limits of a running task (only the fields given). */
  update(resources: LinuxResources): Promise<void>;
  /** Starts a monitor for a further process; `start()` on the result runs it. */
  exec(execId: string, process: Process, io: Pick<TaskIO, 'tty' | 'stdin'>): Promise<ExecProcess>;
  /** Runs a process to its end and collects its output (health probes): no monitor, no TTY. */
  run(process: Process, opts: { timeoutMs: number; maxOutput: number }): Promise<{ exitCode: number; output: string; timedOut: boolean }>;
  /** Attaches a client to the init's stdio (see attach.ts); before `start` the client sees every byte. */
  attach(client: Duplex, opts: AttachOptions): AttachSession;
  /** Host pids of every process in the task. */
  pids(): Promise<number[]>;
  /** One sample of the task's counters; `networks` reads the init's network namespace counters too. */
  stats(opts: { networks: boolean }): Promise<StatsSample>;
  /** Releases the runtime's state for this task (after `exited`, or to undo a failed start). */
  delete(): Promise<void>;
  /** Closes berthd's connections; the task and its monitor go on (berthd shutting down). */
  close(): void;
}

/** A further process in a task (docker exec). */
export interface ExecProcess {
  readonly id: string;
  /** Runs the process; resolves with its pid. Rejects with a RuntimeError (Docker then reports exit code 126). */
  start(): Promise<number>;
  attach(client: Duplex, opts: AttachOptions): AttachSession;
  resize(rows: number, cols: number): void;
  /** Its exit code once it ended; undefined when the monitor went away without one. */
  readonly exited: Promise<number | undefined>;
  close(): void;
}
