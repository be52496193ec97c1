/**
 * `client.images`: image endpoints, plus `build` (`POST /build`). Long operations (pull, push, load, import, build)
 * answer a ProgressStream of JSON messages; registry operations take the credentials as an AuthConfig (sent
 * base64url-encoded in `X-Registry-Auth`, as the docker CLI does).
 */
import type { Readable } from 'node:stream';
import type { AuthConfig } from '../api/types/auth.js';
import type { BuildCachePruneReport, HistoryResponseItem, ImageDeleteResponseItem, ImageInspect, ImagePruneReport, ImageSummary } from '../api/types/image.js';
import { readAll, type EngineClient } from './client.js';
import { drain, encodeFilterArg, ProgressStream, seg, type FilterArg } from './shared.js';

/** `X-Registry-Auth`: base64url of the AuthConfig JSON; `{}` (anonymous) when none is given. */
export function registryAuthHeader(auth: AuthConfig | undefined): string {
  return Buffer.from(JSON.stringify(auth ?? {})).toString('base64url');
}

const authHeaderOf = (o: RegistryAuthOptions) => o.registryAuth ?? registryAuthHeader(o.auth);

/** Path segments of an image name, each escaped (the daemon's `{name*}` routes take slashes). */
const nameSeg = (name: string) => name.split('/').map(encodeURIComponent).join('/');

/** Credentials for a registry call: an AuthConfig, or `registryAuth`, the header value already encoded (moby's RegistryAuth). */
export interface RegistryAuthOptions {
  auth?: AuthConfig;
  registryAuth?: string;
}

export interface ImagePullOptions extends RegistryAuthOptions {
  /** A tag or a digest (`sha256:…`); `latest` when the reference has neither. */
  tag?: string;
  platform?: string;
  signal?: AbortSignal;
}

export interface ImageImportOptions {
  /** REPOSITORY[:TAG] for the new image. */
  repo?: string;
  tag?: string;
  /** Dockerfile instructions to apply (`--change`). */
  changes?: string[];
  message?: string;
  platform?: string;
}

/** `POST /build` query parameters (the docker CLI's names, moby's ImageBuildOptions). */
export interface ImageBuildOptions {
  tags?: string[];
  dockerfile?: string;
  buildArgs?: Record<string, string | null>;
  labels?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  /** Remove intermediate containers (the daemon's default: true). */
  remove?: boolean;
  forceRemove?: boolean;
  pull?: boolean;
  quiet?: boolean;
  networkMode?: string;
  platform?: string;
  extraHosts?: string[];
  cacheFrom?: string[];
  shmSize?: number;
  memory?: number;
  /** Total memory + swap for RUN steps (-1: unlimited). */
  memorySwap?: number;
  /** Stages built without the cache (`--no-cache-filter`). */
  noCacheFilter?: string[];
  /** berth's structured progress messages (berthStep/berthLog) instead of classic text. */
  berthProgress?: boolean;
  /** Build secrets by id (contents base64), sent as `X-Berth-Build-Secrets`. */
  secrets?: Record<string, string>;
  /** Credentials per registry host, sent as `X-Registry-Config`. */
  registryConfig?: Record<string, AuthConfig>;
  signal?: AbortSignal;
}

export class ImagesClient {
  constructor(private readonly http: EngineClient) {}

  list(opts: { all?: boolean; digests?: boolean; filters?: FilterArg } = {}): Promise<ImageSummary[]> {
    return this.http.json('GET', '/images/json', { query: { all: opts.all || undefined, digests: opts.digests || undefined, filters: encodeFilterArg(opts.filters) } });
  }

  inspect(name: string): Promise<ImageInspect> {
    return this.http.json('GET', `/images/${nameSeg(name)}/json`);
  }

  /** The inspect document as the daemon sent it. */
  async inspectRaw(name: string): Promise<string> {
    return (await this.http.buffer('GET', `/images/${nameSeg(name)}/json`)).toString('utf8');
  }

  history(name: string): Promise<HistoryResponseItem[]> {
    return this.http.json('GET', `/images/${nameSeg(name)}/history`);
  }

  remove(name: string, opts: { force?: boolean; noPrune?: boolean } = {}): Promise<ImageDeleteResponseItem[]> {
    return this.http.json('DELETE', `/images/${nameSeg(name)}`, { query: { force: opts.force || undefined, noprune: opts.noPrune || undefined } });
  }

  async tag(source: string, repo: string, tag?: string): Promise<void> {
    await this.http.buffer('POST', `/images/${nameSeg(source)}/tag`, { query: { repo, tag: tag || undefined } });
  }

  prune(filters?: FilterArg): Promise<ImagePruneReport> {
    return this.http.json('POST', '/images/prune', { query: { filters: encodeFilterArg(filters) } });
  }

  /** `POST /images/create?fromImage=`: pulls `image` (a repository name, with `tag` or a digest). */
  async pull(image: string, opts: ImagePullOptions = {}): Promise<ProgressStream> {
    const res = await this.http.request('POST', '/images/create', {
      query: { fromImage: image, tag: opts.tag, platform: opts.platform },
      headers: { 'X-Registry-Auth': authHeaderOf(opts) },
      signal: opts.signal,
    });
    return new ProgressStream(res);
  }

  /** `POST /images/{name}/push`. */
  async push(name: string, opts: RegistryAuthOptions & { tag?: string; signal?: AbortSignal } = {}): Promise<ProgressStream> {
    const res = await this.http.request('POST', `/images/${nameSeg(name)}/push`, {
      query: { tag: opts.tag },
      headers: { 'X-Registry-Auth': authHeaderOf(opts) },
      signal: opts.signal,
    });
    return new ProgressStream(res);
  }

  /** `POST /images/load`: a `docker save` tar or an OCI layout tar. */
  async load(tar: Readable | Buffer, opts: { quiet?: boolean } = {}): Promise<ProgressStream> {
    const res = await this.http.request('POST', '/images/load', { query: { quiet: opts.quiet || undefined }, body: tar, headers: { 'Content-Type': 'application/x-tar' } });
    return new ProgressStream(res);
  }

  /** `GET /images/get`: a tar of the named images (`docker save`). */
  save(names: string[]): Promise<Readable> {
    return this.http.request('GET', '/images/get', { query: { names } });
  }

  /** `POST /images/create?fromSrc=-`: a filesystem tar as a new one-layer image. */
  async import(tar: Readable | Buffer, opts: ImageImportOptions = {}): Promise<ProgressStream> {
    const res = await this.http.request('POST', '/images/create', {
      query: { fromSrc: '-', repo: opts.repo, tag: opts.tag, changes: opts.changes ?? [], message: opts.message, platform: opts.platform },
      body: tar,
      headers: { 'Content-Type': 'application/x-tar' },
    });
    return new ProgressStream(res);
  }

  /** `POST /build`: the build context as a tar stream; the answer streams the build's output. */
  async build(context: Readable | Buffer, opts: ImageBuildOptions = {}): Promise<ProgressStream> {
    const headers: Record<string, string> = { 'Content-Type': 'application/x-tar' };
    if (opts.registryConfig) headers['X-Registry-Config'] = Buffer.from(JSON.stringify(opts.registryConfig)).toString('base64url');
    if (opts.secrets && Object.keys(opts.secrets).length) headers['X-Berth-Build-Secrets'] = Buffer.from(JSON.stringify(opts.secrets)).toString('base64');
    const res = await this.http.request('POST', '/build', {
      query: {
        t: opts.tags,
        dockerfile: opts.dockerfile,
        buildargs: opts.buildArgs ? JSON.stringify(opts.buildArgs) : undefined,
        labels: opts.labels ? JSON.stringify(opts.labels) : undefined,
        target: opts.target,
        nocache: opts.noCache || undefined,
        rm: opts.remove,
        forcerm: opts.forceRemove || undefined,
        pull: opts.pull || undefined,
        q: opts.quiet || undefined,
        networkmode: opts.networkMode,
        platform: opts.platform,
        extrahosts: opts.extraHosts?.length ? opts.extraHosts.join(',') : undefined,
        cachefrom: opts.cacheFrom?.length ? JSON.stringify(opts.cacheFrom) : undefined,
        shmsize: opts.shmSize,
        memory: opts.memory,
        memswap: opts.memorySwap,
        nocachefilter: opts.noCacheFilter?.length ? opts.noCacheFilter.join(',') : undefined,
        berthprogress: opts.berthProgress || undefined,
      },
      body: context,
      headers,
      signal: opts.signal,
    });
    return new ProgressStream(res);
  }

  /** `POST /build/prune`: removes build cache records (`all`: not only dangling ones; keep `keepStorage` bytes). */
  pruneBuildCache(opts: { all?: boolean; filters?: FilterArg; keepStorage?: number } = {}): Promise<BuildCachePruneReport> {
    return this.http.json('POST', '/build/prune', { query: { all: opts.all || undefined, filters: encodeFilterArg(opts.filters), 'keep-storage': opts.keepStorage } });
  }
}
