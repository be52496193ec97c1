/**
 * A thin wrapper over the runc CLI for the calls berthd makes outside the monitor. No state logic: each method is one
 * runc invocation with `--root`, and a failure becomes a RuncError carrying runc's own message.
 *
 * runc runs with `--log /dev/null`: runc then prints only its plain error message on stderr (without logrus'
 * `time=… level=error msg=…` decoration), which is what we surface.
 */
import { execFile } from 'node:child_process';

export interface RuncOptions {
  /** runc's --root (state directory) for berth's containers. */
  root: string;
  /** Default /usr/sbin/runc. */
  path?: string;
}

/** runc state output (`runc state ID`). */
export interface RuncState {
  ociVersion: string;
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
  rootfs: string;
  created: string;
  owner?: string;
  annotations?: Record<string, string>;
}

export class RuncError extends Error {
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'RuncError';
  }

  /** runc's wording for a container that is not in its root. */
  get notFound(): boolean {
    return /does not exist|not exist/i.test(this.message);
  }

  /** runc's wording for a container that is gone or no longer running (a kill that came too late). */
  get gone(): boolean {
    return /not running|does not exist|container not running/.test(this.message);
  }
}

export interface CallOptions {
  signal?: AbortSignal;
}

export class Runc {
  readonly root: string;
  readonly path: string;

  constructor(opts: RuncOptions) {
    this.root = opts.root;
    this.path = opts.path ?? '/usr/sbin/runc';
  }

  /** Sends a signal (name like "SIGTERM"/"TERM" or number) to the init, or with `all` to every process. */
  async kill(id: string, signal: string | number = 'SIGTERM', opts: { all?: boolean } & CallOptions = {}): Promise<void> {
    await this.run(['kill', ...(opts.all ? ['--all'] : []), id, String(signal)], opts);
  }

  /** Removes the container's runc state and cgroup; `force` kills it first if it still runs. */
  async delete(id: string, opts: { force?: boolean } & CallOptions = {}): Promise<void> {
    await this.run(['delete', ...(opts.force ? ['--force'] : []), id], opts);
  }

  async state(id: string, opts: CallOptions = {}): Promise<RuncState> {
    return JSON.parse(await this.run(['state', id], opts)) as RuncState;
  }

  async pause(id: string, opts: CallOptions = {}): Promise<void> {
    await this.run(['pause', id], opts);
  }

  async resume(id: string, opts: CallOptions = {}): Promise<void> {
    await this.run(['resume', id], opts);
  }

  /** Updates resource limits; `resources` is an OCI `linux.resources` object, passed on stdin. */
  async update(id: string, resources: object, opts: CallOptions = {}): Promise<void> {
    await this.run(['update', '--resources', '-', id], opts, JSON.stringify(resources));
  }

  /** Host pids of every process in the container. */
  async ps(id: string, opts: CallOptions = {}): Promise<number[]> {
    const out = await this.run(['ps', '--format', 'json', id], opts);
    const v = JSON.parse(out) as unknown;
    return Array.isArray(v) ? v.map(Number) : [];
  }

  /** Containers known to this root (used on daemon start-up to re-adopt). */
  async list(opts: CallOptions = {}): Promise<RuncState[]> {
    const out = await this.run(['list', '--format', 'json'], opts);
    return (JSON.parse(out || 'null') as RuncState[] | null) ?? [];
  }

  private run(args: string[], opts: CallOptions, input?: string): Promise<string> {
    const full = ['--root', this.root, '--log', '/dev/null', ...args];
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.path,
        full,
        { encoding: 'utf8', maxBuffer: 16 << 20, signal: opts.signal },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const code = typeof err.code === 'number' ? err.code : null;
          const msg = stderr.trim() || err.message;
          reject(new RuncError(msg, full, code));
        },
      );
      if (input !== undefined) child.stdin?.end(input);
      else child.stdin?.end();
    });
  }
}
