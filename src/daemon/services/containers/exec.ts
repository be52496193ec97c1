/**
 * ExecService: `docker exec` — extra processes in a running container's task (`Task.exec`), each with its own
 * stdio and exit status; the process settings start from the task's spec (user, env, caps) with the exec's changes.
 *
 * Exec instances live in memory (as in dockerd): create returns an ID, start runs it (attached over a hijacked
 * connection, or detached), inspect reports Running/ExitCode/Pid.
 */
import type { Duplex } from 'node:stream';
import { frame } from '../../../api/stdcopy.js';
import type { ContainerRecord } from '../../../core/containers/container.js';
import { parseDetachKeys, type AttachSession } from '../../../core/runtime/attach.js';
import { RuntimeError, type ExecProcess, type Task } from '../../../core/runtime/runtime.js';
import { conflict, invalidArgument, notFound } from '../../../errdefs/index.js';
import { generateId } from '../../../pkg/stringid/stringid.js';
import { replaceOrAppendEnv, type SpecBuilder } from '../../../core/runtime/spec-builder.js';
import type { EventBus } from '../events.js';

import type { ExecCreateRequest } from '../../../api/types/container.js';

export type { ExecCreateRequest };

interface ExecInstance {
  id: string;
  containerId: string;
  req: ExecCreateRequest;
  cmd: string[];
  running: boolean;
  exitCode: number | null;
  pid: number;
  process?: ExecProcess;
  started: boolean;
}

export interface ExecServiceOptions {
  /** The running container and its task (Conflict when not running or paused). */
  containers: { runningInfo(ref: string): { rec: ContainerRecord; task: Task } };
  /** The container's rootfs on the host, for `-u` lookups. */
  rootfsPath(id: string): string;
  /** `-u` lookups in the container's /etc/passwd and /etc/group. */
  users: Pick<SpecBuilder, 'resolveUser'>;
  events: EventBus;
  hostCaps: () => Promise<string[]>;
}

export class ExecService {
  private readonly execs = new Map<string, ExecInstance>();

  constructor(private readonly o: ExecServiceOptions) {}

  create(containerRef: string, req: ExecCreateRequest): { Id: string } {
    const { rec } = this.o.containers.runningInfo(containerRef);
    const cmd = typeof req.Cmd === 'string' ? [req.Cmd] : req.Cmd ?? [];
    if (!Array.isArray(cmd) || cmd.length === 0) throw invalidArgument('No exec command specified');
    if (req.DetachKeys) parseDetachKeys(req.DetachKeys);
    const id = generateId();
    this.execs.set(id, { id, containerId: rec.Id, req, cmd, running: false, exitCode: null, pid: 0, started: false });
    rec.ExecIDs = [...(rec.ExecIDs ?? []), id];
    this.o.events.publish('container', `exec_create: ${dockerExecAction(cmd)}`, rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1), execID: id });
    return { Id: id };
  }

  private get(id: string): ExecInstance {
    const e = this.execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  /**
   * Starts an exec. `socket` is the hijacked client connection (absent when detached). Resolves when the process
   * has exited (attached) or has started (detached).
   */
  async start(id: string, opts: { detach: boolean; tty?: boolean }, socket?: Duplex): Promise<void> {
    const e = this.get(id);
    if (e.started) throw conflict(`Error: Exec command ${id} has already run`);
    const { rec, task } = this.o.containers.runningInfo(e.containerId);
    e.started = true;
    const tty = Boolean(e.req.Tty);
    try {
      const proc = structuredClone((await task.spec()).process);
      if (e.req.User) {
        const u = await this.o.users.resolveUser(this.o.rootfsPath(rec.Id), e.req.User, rec.HostConfig.GroupAdd ?? []);
        proc.user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
      }
      proc.args = e.cmd;
      proc.terminal = tty;
      proc.env = replaceOrAppendEnv(proc.env ?? [], e.req.Env ?? []);
      if (tty && !proc.env.some((v: string) => v.startsWith('TERM='))) proc.env.push('TERM=xterm');
      if (e.req.WorkingDir) proc.cwd = e.req.WorkingDir;
      if (e.req.Privileged) {
        const caps = await this.o.hostCaps();
        proc.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] };
      }
      if (e.req.ConsoleSize) proc.consoleSize = { height: e.req.ConsoleSize[0], width: e.req.ConsoleSize[1] };

      const p = await task.exec(id, proc, { tty, stdin: Boolean(e.req.AttachStdin) && !opts.detach });
      e.process = p;
      const exited = p.exited.then((code) => {
        e.running = false;
        e.exitCode = code ?? e.exitCode ?? 126;
        this.o.events.publish('container', 'exec_die', rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1), execID: id, exitCode: String(e.exitCode) });
      });
      let attached: AttachSession | undefined;
      if (socket && !opts.detach) {
        attached = p.attach(socket, {
          stdin: Boolean(e.req.AttachStdin),
          stdout: e.req.AttachStdout !== false,
          stderr: e.req.AttachStderr !== false,
          stdinOnce: true,
          detachKeys: e.req.DetachKeys ? parseDetachKeys(e.req.DetachKeys) : undefined,
        });
        await attached.ready; // subscribed before the process runs: no output is missed
      }
      try {
        e.pid = await p.start();
      } catch (err) {
        if (!(err instanceof RuntimeError)) throw err;
        // Docker reports exec start failures in the stream and gives the exec exit code 126.
        e.exitCode = 126;
        e.running = false;
        const msg = `${err.message}\r\n`;
        if (socket?.writable) socket.end(tty ? Buffer.from(msg) : frame(1, Buffer.from(msg)));
        return;
      }
      e.running = true;
      this.o.events.publish('container', `exec_start: ${dockerExecAction(e.cmd)}`, rec.Id, { image: rec.Config.Image, name: rec.Name.slice(1), execID: id });
      // The client then asks for the exit code (GET /exec/{id}/json): have it recorded before the request ends.
      if (attached && (await attached.done) === 'exited') await exited;
    } catch (err) {
      e.running = false;
      if (e.exitCode === null) e.exitCode = 126;
      throw err;
    }
  }

  resize(id: string, rows: number, cols: number): void {
    const e = this.get(id);
    if (!e.process) throw conflict(`Exec ${id} is not running`);
    e.process.resize(rows, cols);
  }

  inspect(id: string): Record<string, unknown> {
    const e = this.get(id);
    return {
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: {
        tty: Boolean(e.req.Tty),
        entrypoint: e.cmd[0],
        arguments: e.cmd.slice(1),
        privileged: Boolean(e.req.Privileged),
        user: e.req.User ?? '',
      },
      OpenStdin: Boolean(e.req.AttachStdin),
      OpenStderr: Boolean(e.req.AttachStderr),
      OpenStdout: Boolean(e.req.AttachStdout),
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: e.req.DetachKeys ?? '',
      Pid: e.pid,
    };
  }

  /** Forgets the exec instances of a removed container. */
  forgetContainer(containerId: string): void {
    for (const [id, e] of this.execs) if (e.containerId === containerId) this.execs.delete(id);
  }
}

/** dockerd's exec event text: the entrypoint, a space, then the arguments (`exec_create: true ` with none). */
function dockerExecAction(cmd: string[]): string {
  return `${cmd[0] ?? ''} ${cmd.slice(1).join(' ')}`;
}
