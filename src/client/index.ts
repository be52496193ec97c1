/**
 * The typed Engine API client, shaped like moby's: one `Client` per daemon address with a facet per resource —
 * `client.containers.create(body)`, `client.images.pull(name)`, `client.exec.start(id)`, `client.system.events()`.
 * Requests and answers use the wire types of src/api/types; a non-2xx answer rejects with an EngineError whose
 * message is the daemon's text and whose kind comes from the status (`err.status` keeps the number); no daemon on
 * the socket is a DaemonUnreachableError. Streams are Node streams: hijacked Duplexes (attach, exec start),
 * Readables (logs, export, save, archives), ProgressStreams (pull, push, load, import, build) and async
 * iterables (events, stats).
 *
 * `client.http` is the transport underneath (the versioned path prefix, keep-alive pool, hijack); commands use the
 * facets, never paths.
 */
import type { ContainerConfig, HostConfig, IdResponse } from '../api/types/container.js';
import { API_VERSION } from '../api/version.js';
import { EngineClient } from './client.js';
import { ContainersClient } from './containers.js';
import { ExecClient } from './exec.js';
import { ImagesClient } from './images.js';
import { NetworksClient } from './networks.js';
import { SystemClient } from './system.js';
import { VolumesClient } from './volumes.js';

export { DaemonUnreachableError, EngineClient, jsonLines, readAll } from './client.js';
export { ProgressError, ProgressStream, throwIfError, unlessNotFound, type FilterArg } from './shared.js';
export { registryAuthHeader } from './images.js';
export type * from './containers.js';
export type * from './images.js';
export type { EventsOptions } from './system.js';

/** `POST /commit` options (query parameters); the body is the new image's config. */
export interface CommitOptions {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  /** Pause the container while committing (the daemon's default: true). */
  pause?: boolean;
  config?: ContainerConfig & { HostConfig?: HostConfig };
}

export class Client {
  readonly http: EngineClient;
  readonly containers: ContainersClient;
  readonly exec: ExecClient;
  readonly images: ImagesClient;
  readonly networks: NetworksClient;
  readonly volumes: VolumesClient;
  readonly system: SystemClient;

  /** `host`: `unix:///path`, a socket path, or `tcp://host:port`. */
  constructor(host: string | EngineClient, apiVersion: string = API_VERSION) {
    this.http = typeof host === 'string' ? new EngineClient(host, apiVersion) : host;
    this.containers = new ContainersClient(this.http);
    this.exec = new ExecClient(this.http);
    this.images = new ImagesClient(this.http);
    this.networks = new NetworksClient(this.http);
    this.volumes = new VolumesClient(this.http);
    this.system = new SystemClient(this.http);
  }

  get host(): string {
    return this.http.host;
  }

  /** `POST /commit`: a container's changes as a new image. */
  commit(opts: CommitOptions): Promise<IdResponse> {
    return this.http.json('POST', '/commit', {
      query: {
        container: opts.container,
        repo: opts.repo,
        tag: opts.tag,
        comment: opts.comment,
        author: opts.author,
        changes: opts.changes,
        pause: opts.pause === false ? false : undefined,
      },
      body: opts.config ?? {},
    });
  }

  /** Ends pooled keep-alive connections so the process can exit promptly. */
  close(): void {
    this.http.close();
  }
}
