/**
 * The runc runtime (core/runtime's Runtime and Task): one berth-monitor per task process runs `runc run --detach`
 * (holding the output until the task's start) or `runc exec` and holds its stdio, log and exit file; berthd talks to it over its attach socket (io.ts), and a
 * plain signal to the init goes to it too (see RuncTask.kill). The other runc calls (kill --all, pause, resume,
 * update, delete) go through the thin CLI wrapper (runc.ts), and cgroup counters are read directly (cgroups.ts). This is the only module that spawns runc or the monitor; file locations
 * are layout.ts's.
 */
import { trace } from '../../../pkg/trace/trace.js';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { AttachOptions, AttachSession } from '../../../core/runtime/attach.js';
import { RuntimeError, type ExecProcess, type ExitStatus, type LinuxResources, type Process, type Runtime, type RuntimeFailure, type Spec, type Task, type TaskIO } from '../../../core/runtime/runtime.js';
import type { StatsSample } from '../../../core/runtime/stats.js';
import type { HostFacts } from '../../../core/kernel/index.js';
import { cgroupPids, containerCgroup, readSample, type ContainerCgroup } from './cgroups.js';
import { writeRealtimeParents } from './realtime.js';
import { ContainerIO } from './io.js';
import { RuncLayout } from './layout.js';
import { MonitorConnection, MonitorSignalError, readExitFile, startMonitor, type MonitorFeature } from './monitor.js';
import { Runc, RuncError } from './runc.js';

export { RuncLayout } from './layout.js';

export interface RuncRuntimeOptions {
  execRoot: string;
  /** The runc binary. */
  runtimePath: string;
  /** The berth-monitor binary. */
  monitorPath: string;
  /** The host's facts (read once by the daemon): where the cgroup hierarchies are, for stats and pids. */
  hostFacts: () => Promise<HostFacts>;
  /** The daemon's --cgroup-parent (default /berth). */
  cgroupParent?: string;
  /**
   * The daemon's --cpu-rt-period / --cpu-rt-runtime (0 = unset): written into every ancestor of a task's cgroup
   * before runc creates it (cgroup v1), since no cgroup may have more real-time time than its parent.
   */
  cpuRealtime?: { period: number; runtime: number };
}

/**
 * What a runc (or monitor) failure means, read from runc's own message — the one place its wording is interpreted.
 * runc reports a missing program as `exec: "x": executable file not found in $PATH` or `stat x: no such file or
 * directory`, an unexecutable one as `permission denied`.
 */
export function classifyRuncFailure(message: string): RuntimeFailure {
  if (/executable file not found|no such file or directory/.test(message)) return 'not-found';
  if (/permission denied/.test(message)) return 'permission-denied';
  if (/not a directory/.test(message)) return 'invalid';
  return 'other';
}

/** Docker's wording for a failed create/start of a task (the containerd shim's part of it). */
function createFailed(message: string): RuntimeError {
  // the monitor marks its log driver's own failures (monitor.c)
  if (message.startsWith('log driver: ')) return new RuntimeError(message.slice('log driver: '.length), 'log-driver');
  const text = `OCI runtime create failed: runc create failed: ${message.replace(/^runc (create|run|start) failed: /, '')}: unknown`;
  return new RuntimeError(text, classifyRuncFailure(message));
}

function asRuntimeError(e: unknown): unknown {
  if (e instanceof RuncError) return new RuntimeError(e.message, classifyRuncFailure(e.message), e.gone);
  return e;
}

export class RuncRuntime implements Runtime {
  readonly layout: RuncLayout;
  readonly runc: Runc;
  /** `runc delete`s of tasks (after their exit) in flight, by container id: they own runc's state until done. */
  private readonly deletingState = new Map<string, Promise<void>>();

  constructor(private readonly o: RuncRuntimeOptions) {
    this.layout = new RuncLayout(o.execRoot, o.cgroupParent);
    this.runc = new Runc({ path: o.runtimePath, root: this.layout.runcRoot });
  }

  rootfsPath(id: string): string {
    return this.layout.rootfs(id);
  }

  private versionInfo: Promise<{ version: string; commit: string }> | undefined;

  /** `runc --version`, asked once. */
  version(): Promise<{ version: string; commit: string }> {
    this.versionInfo ??= new Promise((resolve) => {
      execFile(this.o.runtimePath, ['--version'], (err, stdout) => {
        if (err) return resolve({ version: 'unknown', commit: '' });
        const version = /runc version (\S+)/.exec(stdout)?.[1] ?? 'unknown';
        const commit = /commit: (\S+)/.exec(stdout)?.[1] ?? '';
        resolve({ version, commit });
      });
    });
    return this.versionInfo;
  }

  cgroupsPath(id: string, parent?: string): string {
    return this.layout.cgroupsPath(id, parent);
  }

  /** A task's cgroup directories, from the cgroupsPath of the spec it was created from. */
  async cgroupOf(spec: Spec, id: string): Promise<ContainerCgroup> {
    return containerCgroup(spec.linux?.cgroupsPath ?? this.layout.cgroupsPath(id), (await this.o.hostFacts()).cgroupMounts);
  }

  /** The daemon's real-time budget into the ancestors of a task's cgroup (a no-op without daemon values). */
  async prepareRealtimeParents(spec: Spec, id: string): Promise<void> {
    const rt = this.o.cpuRealtime;
    if (!rt || (rt.period === 0 && rt.runtime === 0)) return;
    const facts = await this.o.hostFacts();
    const cpuRoot = facts.cgroupMounts.version === 1 ? facts.cgroupMounts.roots.get('cpu') : undefined;
    if (!cpuRoot) return; // the daemon refused these options at start on such a host
    try {
      writeRealtimeParents(cpuRoot, spec.linux?.cgroupsPath ?? this.layout.cgroupsPath(id), rt);
    } catch (e) {
      throw new RuntimeError(`unable to init CPU RT controller: ${(e as Error).message}`, 'other');
    }
  }

  async create(id: string, spec: Spec, io: TaskIO): Promise<Task> {
    const l = this.layout;
    // A handful of small metadata operations: synchronous, as one step (each async fs call is a thread-pool round
    // trip, which on a loaded machine costs more than the calls themselves).
    fs.mkdirSync(l.bundle(id), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.dirname(l.socket(id)), { recursive: true, mode: 0o700 });
    // a previous run's exit status must not be taken for this one's
    for (const f of [l.exitFile(id), l.pidFile(id), l.monitorFile(id)]) fs.rmSync(f, { force: true });
    // a previous run whose runc state outlived a berthd crash (berthd deletes it after the exit, off the stop's path)
    if (fs.existsSync(l.runcState(id))) await this.runc.delete(id, { force: true }).catch(() => {});
    fs.writeFileSync(l.configFile(id), JSON.stringify(spec));
    await this.prepareRealtimeParents(spec, id);
    trace(id, 'runtime: bundle written');
    const startedAt = new Date(); // runc run starts the program: its first output may come before start()
    const started = await startMonitor({
      monitorPath: this.o.monitorPath,
      id,
      bundle: l.bundle(id),
      runcPath: this.o.runtimePath,
      runcRoot: l.runcRoot,
      // one runc process (create + start in one Go start-up); the monitor holds the output until task.start()
      mode: 'run',
      tty: io.tty,
      stdin: io.stdin,
      ...(io.log ? { log: io.log } : {}),
      ...(io.dns ? { dns: io.dns } : {}),
      exitFile: l.exitFile(id),
      socketPath: l.socket(id),
      pidFile: l.pidFile(id),
    }).catch((e: Error) => {
      throw createFailed(e.message);
    });
    trace(id, 'runtime: monitor up, runc run done');
    // Kept for a re-adopting berthd: a monitor an older berthd started has no such file and gets runc kill.
    fs.writeFileSync(l.monitorFile(id), JSON.stringify({ features: started.features }));
    const cio = new ContainerIO(io.tty);
    try {
      await cio.connect(l.socket(id));
    } catch (e) {
      await this.runc.delete(id, { force: true }).catch(() => {});
      throw e;
    }
    trace(id, 'runtime: monitor connected');
    const task = new RuncTask(this, id, cio, true, started.pid, started.monitorPid, started.features, false, spec);
    task.startedAt = startedAt;
    return task;
  }

  async load(id: string, io: Pick<TaskIO, 'tty'>): Promise<Task> {
    const cio = new ContainerIO(io.tty);
    const pid = await readPid(this.layout.pidFile(id));
    try {
      await cio.connect(this.layout.socket(id));
      // whether it was paused meanwhile is not known here: treated as maybe (see RuncTask.kill)
      return new RuncTask(this, id, cio, true, pid, 0, this.monitorFeatures(id), true);
    } catch {
      return new RuncTask(this, id, undefined, false, pid, 0, [], true);
    }
  }

  /** What the task's monitor understands, as recorded at its start; none when no record (an older berthd's). */
  private monitorFeatures(id: string): MonitorFeature[] {
    try {
      const v = JSON.parse(fs.readFileSync(this.layout.monitorFile(id), 'utf8')) as { features?: unknown };
      return Array.isArray(v.features) ? v.features.filter((f): f is MonitorFeature => f === 'signal') : [];
    } catch {
      return [];
    }
  }

  /** A task's `runc delete`, known to `delete(id)` while it runs. */
  deleteState(id: string): Promise<void> {
    const p = this.runc.delete(id, { force: true }).finally(() => {
      if (this.deletingState.get(id) === p) this.deletingState.delete(id);
    });
    this.deletingState.set(id, p.catch(() => {}));
    return p;
  }

  async delete(id: string): Promise<void> {
    // Only a task whose exit was never handled (or a crash's leftover) still has runc state here; skip the spawn
    // otherwise, and leave it to a task's own delete in flight (a removal does not wait for that Go start-up).
    if (!this.deletingState.has(id) && fs.existsSync(this.layout.runcState(id))) await this.runc.delete(id, { force: true }).catch(() => {});
    const bundle = this.layout.bundle(id);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(bundle, { withFileTypes: true });
    } catch {
      return;
    }
    // Never recursive: the rootfs directory belongs to whoever mounts it, and is only removed when empty.
    for (const e of entries) {
      const p = path.join(bundle, e.name);
      try {
        if (e.isDirectory()) fs.rmdirSync(p);
        else fs.rmSync(p, { force: true });
      } catch {
        /* a mounted or non-empty rootfs stays */
      }
    }
    try {
      fs.rmdirSync(bundle);
    } catch {
      /* not empty: see above */
    }
  }

  async deleteUnknown(known: ReadonlySet<string>): Promise<void> {
    let ids: string[];
    try {
      ids = fs.readdirSync(this.layout.runcRoot);
    } catch {
      return;
    }
    await Promise.all(ids.filter((id) => !known.has(id)).map((id) => this.delete(id)));
  }

  /** The exit status the task's monitor recorded, or undefined. */
  exitStatus(id: string): Promise<ExitFileStatus | undefined> {
    return readExitFile(this.layout.exitFile(id)).catch(() => undefined);
  }

  /** Starts an exec's monitor; its process runs at `start()`. */
  async exec(id: string, execId: string, process: Process, io: Pick<TaskIO, 'tty' | 'stdin'>): Promise<ExecProcess> {
    const l = this.layout;
    const dir = l.execDir(execId);
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      const processFile = path.join(dir, 'process.json');
      await fs.promises.writeFile(processFile, JSON.stringify(process));
      await startMonitor({
        monitorPath: this.o.monitorPath,
        id,
        bundle: l.bundle(id),
        runcPath: this.o.runtimePath,
        runcRoot: l.runcRoot,
        mode: 'exec',
        processFile,
        tty: io.tty,
        stdin: io.stdin,
        exitFile: path.join(dir, 'exit.json'),
        socketPath: l.socket(execId),
        pidFile: path.join(dir, 'exec.pid'),
      });
      const cio = new ContainerIO(io.tty);
      const conn = await cio.connect(l.socket(execId));
      return new RuncExec(execId, cio, conn, dir);
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** `runc exec` of a process to its end, output collected (health probes). */
  async run(id: string, process: Process, opts: { timeoutMs: number; maxOutput: number }): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    const file = path.join(this.layout.bundle(id), `health-${globalThis.process.hrtime.bigint()}.json`);
    await fs.promises.writeFile(file, JSON.stringify(process));
    try {
      return await new Promise((resolve) => {
        execFile(
          this.o.runtimePath,
          ['--root', this.layout.runcRoot, 'exec', '--process', file, id],
          { timeout: opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20, encoding: 'utf8' },
          (err, stdout, stderr) => {
            const output = (stdout + stderr).slice(0, opts.maxOutput);
            if (!err) return resolve({ exitCode: 0, output, timedOut: false });
            if ((err as { killed?: boolean }).killed) return resolve({ exitCode: -1, output, timedOut: true });
            const code = typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
            resolve({ exitCode: code, output, timedOut: false });
          },
        );
      });
    } finally {
      await fs.promises.rm(file, { force: true });
    }
  }
}

type ExitFileStatus = Awaited<ReturnType<typeof readExitFile>>;

/** "SIGTERM", "TERM" or "15" → 15; undefined for what this host does not name (runc is asked then). */
function signalNumberOf(signal: string): number | undefined {
  if (/^\d+$/.test(signal)) return Number(signal);
  const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
  return (osConstants.signals as Record<string, number | undefined>)[name];
}

async function readPid(file: string): Promise<number> {
  try {
    const n = Number.parseInt(await fs.promises.readFile(file, 'utf8'), 10);
    return Number.isInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

class RuncTask implements Task {
  readonly exited: Promise<ExitStatus | undefined>;
  startedAt: Date | undefined;
  private specCache: Spec | undefined;

  constructor(
    private readonly rt: RuncRuntime,
    readonly id: string,
    private readonly io: ContainerIO | undefined,
    readonly connected: boolean,
    public pid: number,
    readonly monitorPid: number,
    private readonly monitorFeatures: readonly MonitorFeature[],
    /** The cgroup may be frozen (pause() ran, or unknown after a re-adoption) — a SIGKILL then needs runc. */
    private mayBeFrozen: boolean,
    spec?: Spec,
  ) {
    this.specCache = spec;
    const ended: Promise<number | undefined> = io ? io.ended : Promise.resolve(undefined);
    // code undefined: the monitor went away without an exit frame (killed); its exit file may still tell.
    this.exited = ended.then(async (code) => {
      const exit = await rt.exitStatus(id);
      if (code === undefined && !exit) return undefined;
      return { exitCode: exit?.exitCode ?? code ?? 255, finishedAt: exit?.finishedAt, oomKilled: exit?.oomKilled ?? false };
    });
  }

  async spec(): Promise<Spec> {
    this.specCache ??= JSON.parse(await fs.promises.readFile(this.rt.layout.configFile(this.id), 'utf8')) as Spec;
    return this.specCache;
  }

  async start(): Promise<number> {
    const conn = this.io?.connection;
    if (!conn) throw new RuntimeError('the task has no monitor', 'other', true);
    const pid = await conn.start().catch((e: Error) => {
      throw createFailed(e.message);
    });
    if (pid) this.pid = pid;
    return this.pid;
  }

  /**
   * A signal to the init goes through its monitor (its parent: no pid-reuse race, and no Go runtime started for
   * it) when the monitor understands the frame. runc does the rest: --all (it signals every process of the
   * cgroup), a SIGKILL to a cgroup that may be frozen (runc thaws cgroup v1's freezer for it, where the kill would
   * otherwise wait), a monitor without the feature (started by an older berthd) and a connection lost before the
   * answer (the monitor died: runc tells what is left).
   */
  async kill(signal: string, opts: { all?: boolean } = {}): Promise<void> {
    const number = signalNumberOf(signal);
    const conn = this.io?.connection;
    const viaMonitor = !opts.all && number !== undefined && conn && this.monitorFeatures.includes('signal') && !(number === osConstants.signals.SIGKILL && this.mayBeFrozen);
    if (viaMonitor) {
      try {
        return await conn.signal(number);
      } catch (e) {
        if (!(e instanceof MonitorSignalError)) throw e;
        if (e.notRunning) throw new RuntimeError(e.message, 'other', true);
        if (!e.unanswered) throw new RuntimeError(e.message, 'other');
      }
    }
    await this.rt.runc.kill(this.id, signal, opts).catch((e) => {
      throw asRuntimeError(e);
    });
  }

  async pause(): Promise<void> {
    this.mayBeFrozen = true;
    await this.rt.runc.pause(this.id).catch((e) => {
      throw asRuntimeError(e);
    });
  }

  async resume(): Promise<void> {
    await this.rt.runc.resume(this.id).catch((e) => {
      throw asRuntimeError(e);
    });
    this.mayBeFrozen = false;
  }

  resize(rows: number, cols: number): void {
    this.io?.resize(rows, cols);
  }

  async update(resources: LinuxResources): Promise<void> {
    if (resources.cpu?.realtimeRuntime || resources.cpu?.realtimePeriod) await this.rt.prepareRealtimeParents(await this.spec(), this.id);
    await this.rt.runc.update(this.id, resources).catch((e) => {
      throw asRuntimeError(e);
    });
  }

  exec(execId: string, process: Process, io: Pick<TaskIO, 'tty' | 'stdin'>): Promise<ExecProcess> {
    return this.rt.exec(this.id, execId, process, io);
  }

  run(process: Process, opts: { timeoutMs: number; maxOutput: number }): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    return this.rt.run(this.id, process, opts);
  }

  attach(client: Duplex, opts: AttachOptions): AttachSession {
    if (!this.io) {
      client.end();
      return { ready: Promise.resolve(), done: Promise.resolve('exited') };
    }
    return this.io.attach(client, opts);
  }

  async pids(): Promise<number[]> {
    return cgroupPids(await this.rt.cgroupOf(await this.spec(), this.id));
  }

  async stats(opts: { networks: boolean }): Promise<StatsSample> {
    return readSample(await this.rt.cgroupOf(await this.spec(), this.id), this.pid, opts);
  }

  async delete(): Promise<void> {
    await this.rt.deleteState(this.id).catch((e) => {
      throw asRuntimeError(e);
    });
  }

  close(): void {
    this.io?.close();
  }
}

class RuncExec implements ExecProcess {
  readonly exited: Promise<number | undefined>;

  constructor(
    readonly id: string,
    private readonly io: ContainerIO,
    private readonly conn: MonitorConnection,
    private readonly dir: string,
  ) {
    this.exited = io.ended.then((code) => {
      fs.rmSync(dir, { recursive: true, force: true });
      return code;
    });
  }

  async start(): Promise<number> {
    try {
      return await this.conn.start();
    } catch (e) {
      this.io.close();
      fs.rmSync(this.dir, { recursive: true, force: true });
      throw new RuntimeError(`OCI runtime exec failed: ${(e as Error).message}: unknown`, classifyRuncFailure((e as Error).message));
    }
  }

  attach(client: Duplex, opts: AttachOptions): AttachSession {
    return this.io.attach(client, opts);
  }

  resize(rows: number, cols: number): void {
    this.io.resize(rows, cols);
  }

  close(): void {
    this.io.close();
  }
}
