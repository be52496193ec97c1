/**
 * What compose needs from the Engine API, as one narrow interface over the client in src/client: containers,
 * networks, volumes and images of a project, by their Docker wire shapes. Keeping compose on this seam means the
 * planner and the commands never build URLs themselves.
 */
import type { Readable } from 'node:stream';
import { EngineClient, jsonLines, readAll } from '../client/client.js';
import { L } from './labels.js';

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  State: string;
  Status: string;
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
  Labels: Record<string, string>;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  State: { Status: string; Running: boolean; ExitCode: number; Health?: { Status: string } };
  Config: { Labels: Record<string, string>; Tty?: boolean; OpenStdin?: boolean; Healthcheck?: unknown };
  HostConfig: Record<string, unknown>;
  NetworkSettings: { Networks: Record<string, { Aliases?: string[]; IPAddress?: string }> };
  Mounts: { Type: string; Name?: string; Source?: string; Destination: string; RW?: boolean }[];
}

const enc = encodeURIComponent;

export class ComposeEngine {
  constructor(readonly client: EngineClient) {}

  listContainers(project: string, opts: { all?: boolean; extraLabels?: string[] } = {}): Promise<ContainerSummary[]> {
    const filters = JSON.stringify({ label: [`${L.project}=${project}`, ...(opts.extraLabels ?? [])] });
    return this.client.json<ContainerSummary[]>('GET', '/containers/json', { query: { all: opts.all ?? true, filters } });
  }

  /** Every container carrying a compose project label (for `ls`). */
  listAllComposeContainers(): Promise<ContainerSummary[]> {
    return this.client.json<ContainerSummary[]>('GET', '/containers/json', { query: { all: true, filters: JSON.stringify({ label: [L.project] }) } });
  }

  inspect(id: string): Promise<ContainerInspect> {
    return this.client.json<ContainerInspect>('GET', `/containers/${enc(id)}/json`);
  }

  async create(name: string, body: unknown): Promise<string> {
    const r = await this.client.json<{ Id: string }>('POST', '/containers/create', { query: { name }, body });
    return r.Id;
  }

  async start(id: string): Promise<void> {
    await this.client.json('POST', `/containers/${enc(id)}/start`);
  }

  async stop(id: string, timeout?: number): Promise<void> {
    await this.client.json('POST', `/containers/${enc(id)}/stop`, { query: { t: timeout } });
  }

  async restart(id: string, timeout?: number): Promise<void> {
    await this.client.json('POST', `/containers/${enc(id)}/restart`, { query: { t: timeout } });
  }

  async kill(id: string, signal?: string): Promise<void> {
    await this.client.json('POST', `/containers/${enc(id)}/kill`, { query: { signal } });
  }

  async pause(id: string): Promise<void> {
    await this.client.json('POST', `/containers/${enc(id)}/pause`);
  }

  async unpause(id: string): Promise<void> {
    await this.client.json('POST', `/containers/${enc(id)}/unpause`);
  }

  async remove(id: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    await this.client.json('DELETE', `/containers/${enc(id)}`, { query: { force: opts.force ?? false, v: opts.volumes ?? false } });
  }

  async rename(id: string, name: string): Promise<void> {
    await this.client.json('POST', `/containers/${enc(id)}/rename`, { query: { name } });
  }

  /** Resolves with the exit code once the container is not running (condition "not-running" or "next-exit"). */
  async wait(id: string, condition: 'not-running' | 'next-exit' = 'not-running'): Promise<number> {
    const r = await this.client.json<{ StatusCode: number }>('POST', `/containers/${enc(id)}/wait`, { query: { condition } });
    return r.StatusCode;
  }

  logs(id: string, opts: { follow?: boolean; tail?: string; timestamps?: boolean; since?: string }, signal?: AbortSignal): Promise<Readable> {
    return this.client.request('GET', `/containers/${enc(id)}/logs`, {
      query: { stdout: true, stderr: true, follow: opts.follow ?? false, tail: opts.tail ?? 'all', timestamps: opts.timestamps ?? false, since: opts.since },
      signal,
    });
  }

  async top(id: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    return this.client.json('GET', `/containers/${enc(id)}/top`);
  }

  async putArchive(id: string, dir: string, tar: Buffer | Readable, opts: { copyUIDGID?: boolean } = {}): Promise<void> {
    await this.client.json('PUT', `/containers/${enc(id)}/archive`, { query: { path: dir, copyUIDGID: opts.copyUIDGID || undefined }, body: tar, headers: { 'Content-Type': 'application/x-tar' } });
  }

  /** Runs a command in a container, detached, and resolves with its exit code once it has ended. */
  async execRun(id: string, cmd: string[], extra: Record<string, unknown> = {}): Promise<number> {
    const exec = await this.execCreate(id, { ...extra, Cmd: cmd, AttachStdout: false, AttachStderr: false, AttachStdin: false, Tty: false });
    await this.client.json('POST', `/exec/${enc(exec)}/start`, { body: { Detach: true, Tty: false } });
    for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
      const i = await this.client.json<{ Running: boolean; ExitCode: number | null }>('GET', `/exec/${enc(exec)}/json`);
      if (!i.Running && i.ExitCode !== null) return i.ExitCode;
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  listNetworks(project?: string): Promise<{ Id: string; Name: string; Labels: Record<string, string> }[]> {
    return this.client.json('GET', '/networks', { query: { filters: project ? JSON.stringify({ label: [`${L.project}=${project}`] }) : undefined } });
  }

  async inspectNetwork(name: string): Promise<{ Id: string; Name: string; Labels: Record<string, string> } | undefined> {
    try {
      return await this.client.json('GET', `/networks/${enc(name)}`);
    } catch (e) {
      if ((e as { kind?: string }).kind === 'NotFound') return undefined;
      throw e;
    }
  }

  async createNetwork(body: unknown): Promise<string> {
    const r = await this.client.json<{ Id: string }>('POST', '/networks/create', { body });
    return r.Id;
  }

  async removeNetwork(id: string): Promise<void> {
    await this.client.json('DELETE', `/networks/${enc(id)}`);
  }

  async connect(network: string, container: string, endpoint: unknown): Promise<void> {
    await this.client.json('POST', `/networks/${enc(network)}/connect`, { body: { Container: container, EndpointConfig: endpoint } });
  }

  async listVolumes(project: string): Promise<{ Name: string; Labels: Record<string, string> | null }[]> {
    const r = await this.client.json<{ Volumes: { Name: string; Labels: Record<string, string> | null }[] | null }>('GET', '/volumes', { query: { filters: JSON.stringify({ label: [`${L.project}=${project}`] }) } });
    return r.Volumes ?? [];
  }

  async inspectVolume(name: string): Promise<{ Name: string; Labels: Record<string, string> | null } | undefined> {
    try {
      return await this.client.json('GET', `/volumes/${enc(name)}`);
    } catch (e) {
      if ((e as { kind?: string }).kind === 'NotFound') return undefined;
      throw e;
    }
  }

  async createVolume(body: unknown): Promise<void> {
    await this.client.json('POST', '/volumes/create', { body });
  }

  async removeVolume(name: string): Promise<void> {
    await this.client.json('DELETE', `/volumes/${enc(name)}`);
  }

  async inspectImage(ref: string): Promise<{ Id: string; RepoTags?: string[] } | undefined> {
    try {
      return await this.client.json('GET', `/images/${enc(ref)}/json`);
    } catch (e) {
      if ((e as { kind?: string }).kind === 'NotFound') return undefined;
      throw e;
    }
  }

  async removeImage(ref: string): Promise<void> {
    await this.client.json('DELETE', `/images/${enc(ref)}`);
  }

  /** Pulls an image; `onProgress` sees each JSON message. Throws on an error message in the stream. */
  async pull(ref: string, onProgress?: (m: Record<string, unknown>) => void, auth?: string): Promise<void> {
    const { repo, tag } = splitRef(ref);
    const res = await this.client.request('POST', '/images/create', { query: { fromImage: repo, tag }, headers: auth ? { 'X-Registry-Auth': auth } : {} });
    for await (const m of jsonLines(res)) {
      if (m.error) throw Object.assign(new Error(String(m.error)), { kind: 'Unknown' });
      onProgress?.(m);
    }
  }

  async push(ref: string, onProgress?: (m: Record<string, unknown>) => void, auth?: string): Promise<void> {
    const { repo, tag } = splitRef(ref);
    const res = await this.client.request('POST', `/images/${enc(repo)}/push`, { query: { tag }, headers: { 'X-Registry-Auth': auth ?? Buffer.from('{}').toString('base64') } });
    for await (const m of jsonLines(res)) {
      if (m.error) throw Object.assign(new Error(String(m.error)), { kind: 'Unknown' });
      onProgress?.(m);
    }
  }

  /** Classic builder: POST /build with a tar context; returns the image ID. */
  async build(context: Readable, query: Record<string, string | number | boolean | undefined>, onMessage?: (m: Record<string, unknown>) => void): Promise<string | undefined> {
    const res = await this.client.request('POST', '/build', { query, body: context, headers: { 'Content-Type': 'application/x-tar' } });
    let id: string | undefined;
    for await (const m of jsonLines(res)) {
      if (m.error) throw Object.assign(new Error(String(m.error)), { kind: 'Unknown' });
      const aux = m.aux as { ID?: string } | undefined;
      if (aux?.ID) id = aux.ID;
      onMessage?.(m);
    }
    return id;
  }

  async execCreate(id: string, body: unknown): Promise<string> {
    const r = await this.client.json<{ Id: string }>('POST', `/containers/${enc(id)}/exec`, { body });
    return r.Id;
  }

  events(filters: Record<string, string[]>, signal: AbortSignal): Promise<Readable> {
    return this.client.request('GET', '/events', { query: { filters: JSON.stringify(filters) }, signal });
  }

  async drain(r: Readable): Promise<void> {
    await readAll(r);
  }
}

/** "repo[:tag][@digest]" → query parts for /images/create (a digest goes in `tag`, as docker does). */
export function splitRef(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repo: ref.slice(0, at), tag: ref.slice(at + 1) };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}
