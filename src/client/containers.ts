/**
 * `client.containers`: the Engine API's container endpoints (moby client's Container* methods). Every call answers
 * with the wire types of src/api/types, or rejects with an EngineError carrying the daemon's message and the kind
 * its status maps to. Streams: `attach` hijacks the connection (a raw Duplex, multiplexed with stdcopy framing unless
 * the container has a TTY); `logs` and `export` answer a Readable; `wait` resolves once the daemon has registered the
 * wait, with the exit status still to come; `stats` either one sample or a stream of them.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerPruneReport,
  ContainerSummary,
  ContainerTopResponse,
  ContainerUpdateRequest,
  ContainerUpdateResponse,
  ContainerWaitResponse,
  ExecCreateRequest,
  FilesystemChange,
  IdResponse,
  PathStat,
  StatsJSON,
  WaitCondition,
} from '../api/types/container.js';
import { jsonLines, readAll, type EngineClient } from './client.js';
import { drain, encodeFilterArg, seg, type FilterArg } from './shared.js';

export interface ContainerListOptions {
  all?: boolean;
  limit?: number;
  size?: boolean;
  filters?: FilterArg;
}

export interface ContainerCreateOptions {
  name?: string;
  platform?: string;
}

export interface ContainerStopOptions {
  /** Seconds to wait before SIGKILL (the daemon's default when omitted; -1 waits forever). */
  timeout?: number;
  signal?: string;
}

export interface ContainerRemoveOptions {
  force?: boolean;
  /** Remove anonymous volumes too (`docker rm -v`). */
  volumes?: boolean;
  link?: boolean;
}

export interface ContainerAttachOptions {
  stream?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  logs?: boolean;
  detachKeys?: string;
}

export interface ContainerLogsOptions {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  since?: string;
  until?: string;
  timestamps?: boolean;
  tail?: string;
  details?: boolean;
  signal?: AbortSignal;
}

/** A registered wait: `result` settles when the condition is met; `cancel` stops waiting (result rejects). */
export interface ContainerWaiter {
  result: Promise<ContainerWaitResponse>;
  cancel(): void;
}

/** What `HEAD|GET /containers/{id}/archive` tells about the path (from the X-Docker-Container-Path-Stat header). */
function pathStatOf(res: IncomingMessage): PathStat | undefined {
  const h = res.headers['x-docker-container-path-stat'];
  if (typeof h !== 'string' || !h) return undefined;
  return JSON.parse(Buffer.from(h, 'base64').toString('utf8')) as PathStat;
}

export class ContainersClient {
  constructor(private readonly http: EngineClient) {}

  list(opts: ContainerListOptions = {}): Promise<ContainerSummary[]> {
    return this.http.json('GET', '/containers/json', {
      query: { all: opts.all || undefined, limit: opts.limit, size: opts.size || undefined, filters: encodeFilterArg(opts.filters) },
    });
  }

  create(body: ContainerCreateRequest, opts: ContainerCreateOptions = {}): Promise<ContainerCreateResponse> {
    return this.http.json('POST', '/containers/create', { query: { name: opts.name, platform: opts.platform }, body });
  }

  inspect(id: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    return this.http.json('GET', `/containers/${seg(id)}/json`, { query: { size: opts.size || undefined } });
  }

  /** The inspect document as the daemon sent it (for `inspect` output that keeps its keys and escapes). */
  async inspectRaw(id: string, opts: { size?: boolean } = {}): Promise<string> {
    return (await this.http.buffer('GET', `/containers/${seg(id)}/json`, { query: { size: opts.size || undefined } })).toString('utf8');
  }

  async start(id: string, opts: { detachKeys?: string } = {}): Promise<void> {
    await this.http.buffer('POST', `/containers/${seg(id)}/start`, { query: { detachKeys: opts.detachKeys } });
  }

  async stop(id: string, opts: ContainerStopOptions = {}): Promise<void> {
    await this.http.buffer('POST', `/containers/${seg(id)}/stop`, { query: { t: opts.timeout, signal: opts.signal } });
  }

  async restart(id: string, opts: ContainerStopOptions = {}): Promise<void> {
    await this.http.buffer('POST', `/containers/${seg(id)}/restart`, { query: { t: opts.timeout, signal: opts.signal } });
  }

  async kill(id: string, signal?: string): Promise<void> {
    await this.http.buffer('POST', `/containers/${seg(id)}/kill`, { query: { signal } });
  }

  async remove(id: string, opts: ContainerRemoveOptions = {}): Promise<void> {
    await this.http.buffer('DELETE', `/containers/${seg(id)}`, { query: { force: opts.force || undefined, v: opts.volumes || undefined, link: opts.link || undefined } });
  }

  async pause(id: string): Promise<void> {
    await this.http.buffer('POST', `/containers/${seg(id)}/pause`);
  }

  async unpause(id: string): Promise<void> {
    await this.http.buffer('POST', `/containers/${seg(id)}/unpause`);
  }

  async rename(id: string, name: string): Promise<void> {
    await this.http.buffer('POST', `/containers/${seg(id)}/rename`, { query: { name } });
  }

  update(id: string, body: ContainerUpdateRequest): Promise<ContainerUpdateResponse> {
    return this.http.json('POST', `/containers/${seg(id)}/update`, { body });
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    await this.http.buffer('POST', `/containers/${seg(id)}/resize`, { query: { h: height, w: width } });
  }

  /**
   * Registers a wait for `condition` (the daemon's default, `not-running`, when omitted). Resolves as soon as the
   * daemon has answered the headers — so a following `start` cannot race past the exit — with the result to come.
   */
  async wait(id: string, condition?: WaitCondition): Promise<ContainerWaiter> {
    const answer = await this.http.head('POST', `/containers/${seg(id)}/wait`, { query: { condition } });
    const result = answer.body.then((b) => (b.length ? JSON.parse(b.toString('utf8')) : undefined) as ContainerWaitResponse);
    result.catch(() => {});
    return { result, cancel: answer.close };
  }

  /** Hijacks the connection for `POST /containers/{id}/attach`: the container's streams, raw or stdcopy-framed. */
  attach(id: string, opts: ContainerAttachOptions = {}): Promise<Duplex> {
    return this.http.hijack('POST', `/containers/${seg(id)}/attach`, {
      query: { stream: opts.stream ?? true, stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, logs: opts.logs, detachKeys: opts.detachKeys },
    });
  }

  /** The log stream: stdcopy-framed unless the container has a TTY (demux with api/stdcopy). */
  logs(id: string, opts: ContainerLogsOptions = {}): Promise<IncomingMessage> {
    return this.http.request('GET', `/containers/${seg(id)}/logs`, {
      query: {
        follow: opts.follow || undefined,
        stdout: opts.stdout,
        stderr: opts.stderr,
        since: opts.since,
        until: opts.until,
        timestamps: opts.timestamps || undefined,
        tail: opts.tail,
        details: opts.details || undefined,
      },
      signal: opts.signal,
    });
  }

  /** One stats sample (`stream=0`). */
  stats(id: string): Promise<StatsJSON> {
    return this.http.json('GET', `/containers/${seg(id)}/stats`, { query: { stream: false } });
  }

  /** Stats samples as they come, about one a second, until the container stops or `signal` aborts. */
  async *statsStream(id: string, signal?: AbortSignal): AsyncGenerator<StatsJSON> {
    const res = await this.http.request('GET', `/containers/${seg(id)}/stats`, { query: { stream: true }, signal });
    yield* jsonLines<StatsJSON>(res);
  }

  top(id: string, psArgs?: string): Promise<ContainerTopResponse> {
    return this.http.json('GET', `/containers/${seg(id)}/top`, { query: { ps_args: psArgs } });
  }

  async changes(id: string): Promise<FilesystemChange[]> {
    return (await this.http.json<FilesystemChange[] | null>('GET', `/containers/${seg(id)}/changes`)) ?? [];
  }

  /** The container's filesystem as a tar stream. */
  export(id: string): Promise<IncomingMessage> {
    return this.http.request('GET', `/containers/${seg(id)}/export`);
  }

  prune(filters?: FilterArg): Promise<ContainerPruneReport> {
    return this.http.json('POST', '/containers/prune', { query: { filters: encodeFilterArg(filters) } });
  }

  /** `HEAD /containers/{id}/archive`: the stat of a path inside the container. */
  async statPath(id: string, path: string): Promise<PathStat> {
    const res = await this.http.request('HEAD', `/containers/${seg(id)}/archive`, { query: { path } });
    res.resume();
    const st = pathStatOf(res);
    if (!st) throw new Error('unable to get resource stat from response');
    return st;
  }

  /** `GET /containers/{id}/archive`: a tar of `path`, with the path's stat. */
  async getArchive(id: string, path: string): Promise<{ stat: PathStat | undefined; tar: IncomingMessage }> {
    const res = await this.http.request('GET', `/containers/${seg(id)}/archive`, { query: { path } });
    return { stat: pathStatOf(res), tar: res };
  }

  /** `PUT /containers/{id}/archive`: extracts a tar stream into `path` inside the container. */
  async putArchive(id: string, path: string, tar: Readable | Buffer, opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {}): Promise<void> {
    const res = await this.http.request('PUT', `/containers/${seg(id)}/archive`, {
      query: { path, noOverwriteDirNonDir: opts.noOverwriteDirNonDir || undefined, copyUIDGID: opts.copyUIDGID || undefined },
      body: tar,
      headers: { 'Content-Type': 'application/x-tar' },
    });
    await drain(res);
  }

  /** `POST /containers/{id}/exec`: creates an exec instance (start it with `client.exec.start`). */
  exec(id: string, body: ExecCreateRequest): Promise<IdResponse> {
    return this.http.json('POST', `/containers/${seg(id)}/exec`, { body });
  }
}
