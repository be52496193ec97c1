/**
 * OCI Distribution (Docker Registry HTTP API v2) client: ping, bearer-token and basic auth, manifests (Docker
 * schema2, OCI manifest, manifest list / OCI index), streaming blob download, blob existence checks and uploads.
 *
 * HTTP goes through Node's built-in fetch (undici inside Node 20), so no extra dependency is needed. Bodies stream
 * both ways; nothing here touches the disk.
 */
import { Readable } from 'node:stream';
import { digestOf, isDigest, type Digest } from '../../pkg/digest/index.js';
import { EngineError, invalidArgument, notFound, unauthorized, unavailable } from '../../errdefs/index.js';
import { MediaTypes } from '../../core/images/types.js';
import { endpointHost, isInsecure, parseChallenge, type AuthConfig, type Challenge } from './auth.js';

export const USER_AGENT = 'berth/0.1 (docker-compatible)';
const MAX_MANIFEST = 4 << 20;

export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.dockerManifestList,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifest,
].join(', ');

export interface Descriptor {
  mediaType?: string;
  digest: Digest;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

export interface FetchedManifest {
  bytes: Buffer;
  digest: Digest;
  mediaType: string;
  manifest: Manifest;
}

export function isIndex(m: FetchedManifest): boolean {
  return m.mediaType === MediaTypes.ociIndex || m.mediaType === MediaTypes.dockerManifestList || Array.isArray(m.manifest.manifests);
}

/** An error answered by the registry: `errors[0].code` in Docker's lower-case wording (`manifest unknown`). */
export class RegistryError extends EngineError {
  constructor(kind: EngineError['kind'], message: string, readonly status: number, readonly code?: string) {
    super(kind, message);
  }
}

async function registryError(res: Response, what: string): Promise<RegistryError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    /* no body */
  }
  let code: string | undefined;
  let msg = '';
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const e = body.errors?.[0];
    if (e) {
      code = e.code;
      const codeText = (e.code ?? 'unknown').toLowerCase().replace(/_/g, ' ');
      msg = e.message ? `${codeText}: ${e.message}` : codeText;
    }
  } catch {
    /* not JSON */
  }
  if (!msg) msg = `${what}: unexpected status ${res.status} ${res.statusText}`;
  const kind = res.status === 401 ? 'Unauthorized' : res.status === 403 ? 'Forbidden' : res.status === 404 ? 'NotFound' : res.status >= 500 ? 'Unavailable' : 'InvalidArgument';
  return new RegistryError(kind, msg, res.status, code);
}

export interface RegistryClientOptions {
  /** The reference domain (`docker.io`, `127.0.0.1:5000`). */
  domain: string;
  /** Repository path (`library/busybox`); empty for login. */
  repo?: string;
  actions?: Array<'pull' | 'push'>;
  auth?: AuthConfig;
  insecureRegistries?: readonly string[];
  signal?: AbortSignal;
}

export class RegistryClient {
  readonly host: string;
  readonly base: string;
  private authorization: string | undefined;
  private challenge: Challenge | undefined;

  constructor(private readonly o: RegistryClientOptions) {
    this.host = endpointHost(o.domain);
    this.base = `${isInsecure(this.host, o.insecureRegistries) ? 'http' : 'https'}://${this.host}/v2/`;
  }

  private basic(): string | undefined {
    const a = this.o.auth;
    if (!a?.username) return undefined;
    return 'Basic ' + Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64');
  }

  private async send(method: string, url: string, init: { headers?: Record<string, string>; body?: Buffer | Readable; redirect?: RequestRedirect } = {}): Promise<Response> {
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...init.headers };
    if (this.authorization) headers.Authorization = this.authorization;
    const body = init.body instanceof Readable ? (Readable.toWeb(init.body) as unknown as ReadableStream) : init.body;
    try {
      return await fetch(url, {
        method,
        headers,
        body,
        redirect: init.redirect ?? 'follow',
        signal: this.o.signal,
        ...(init.body instanceof Readable ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      const cause = (e as { cause?: { message?: string; code?: string } }).cause;
      throw unavailable(`Get "${url}": ${cause?.message ?? (e as Error).message}`, e);
    }
  }

  /**
   * Pings `/v2/` and answers its challenge: a bearer token for this repository's scope from the token realm, or
   * basic credentials. Throws Unauthorized when the credentials are refused.
   */
  async authorize(): Promise<void> {
    const res = await this.send('GET', this.base);
    await res.body?.cancel();
    if (res.status === 200) return;
    if (res.status !== 401) throw unavailable(`${this.base}: unexpected status ${res.status} ${res.statusText}`);
    this.challenge = parseChallenge(res.headers.get('www-authenticate'));
    await this.answerChallenge();
  }

  /** Checks the stored credentials with one `GET /v2/` (login). */
  async verify(): Promise<void> {
    const res = await this.send('GET', this.base);
    await res.body?.cancel();
    if (res.status === 401 || res.status === 403) throw unauthorized(`login attempt to ${this.base} failed with status: ${res.status} ${res.statusText}`);
    if (!res.ok) throw unavailable(`${this.base}: unexpected status ${res.status} ${res.statusText}`);
  }

  private async answerChallenge(): Promise<void> {
    const ch = this.challenge;
    if (ch?.scheme === 'basic') {
      const b = this.basic();
      if (!b) throw unauthorized('unauthorized: authentication required');
      this.authorization = b;
      return;
    }
    if (ch?.scheme !== 'bearer' || !ch.params.realm) throw unauthorized(`${this.base}: unsupported authentication challenge`);
    const url = new URL(ch.params.realm);
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    if (this.o.repo) url.searchParams.set('scope', `repository:${this.o.repo}:${(this.o.actions ?? ['pull']).join(',')}`);
    const a = this.o.auth;
    if (a?.username) url.searchParams.set('account', a.username);
    let res: Response;
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT };
    if (a?.identitytoken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: a.identitytoken, service: ch.params.service ?? '', client_id: 'berth' });
      if (this.o.repo) form.set('scope', `repository:${this.o.repo}:${(this.o.actions ?? ['pull']).join(',')}`);
      res = await fetch(ch.params.realm, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(), signal: this.o.signal });
    } else {
      const b = this.basic();
      if (b) headers.Authorization = b;
      res = await fetch(url, { headers, signal: this.o.signal });
    }
    if (res.status === 401 || res.status === 403) {
      const e = await registryError(res, 'token');
      throw unauthorized(e.message.includes('unexpected status') ? 'unauthorized: incorrect username or password' : e.message);
    }
    if (!res.ok) throw unavailable(`token endpoint ${ch.params.realm}: status ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw unauthorized('token endpoint answered without a token');
    this.authorization = `Bearer ${token}`;
  }

  /** Sends a request; one retry after answering a fresh challenge for bodiless requests. */
  private async request(method: string, path: string, init: { headers?: Record<string, string>; body?: Buffer | Readable; url?: string } = {}): Promise<Response> {
    const url = init.url ?? this.base + path;
    let res = await this.send(method, url, init);
    if (res.status === 401 && !(init.body instanceof Readable)) {
      const ch = parseChallenge(res.headers.get('www-authenticate'));
      if (ch) {
        await res.body?.cancel();
        this.challenge = ch;
        await this.answerChallenge();
        res = await this.send(method, url, init);
      }
    }
    return res;
  }

  private repoPath(): string {
    if (!this.o.repo) throw invalidArgument('no repository given');
    return this.o.repo;
  }

  /** Fetches a manifest by tag or digest; verifies the bytes when asked by digest. NotFound: `manifest unknown`. */
  async getManifest(reference: string): Promise<FetchedManifest> {
    const res = await this.request('GET', `${this.repoPath()}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT } });
    if (!res.ok) throw await registryError(res, 'manifest');
    const len = Number(res.headers.get('content-length') ?? 0);
    if (len > MAX_MANIFEST) throw invalidArgument(`manifest too large: ${len} bytes`);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.length > MAX_MANIFEST) throw invalidArgument(`manifest too large: ${bytes.length} bytes`);
    const digest = digestOf(bytes);
    if (isDigest(reference) && digest !== reference) throw invalidArgument(`manifest verification failed for digest ${reference}`);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
    } catch {
      throw invalidArgument('invalid manifest: not JSON');
    }
    const ct = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const mediaType = manifest.mediaType ?? (ct && ct !== 'application/json' ? ct : manifest.manifests ? MediaTypes.ociIndex : MediaTypes.ociManifest);
    if (manifest.schemaVersion === 1) throw invalidArgument('unsupported manifest format: Docker Image manifest v2, schema 1 (deprecated)');
    return { bytes, digest, mediaType, manifest };
  }

  /** Streams a blob (following redirects to storage). The caller verifies the digest as it consumes the stream. */
  async getBlob(digest: Digest): Promise<{ stream: Readable; size: number | undefined }> {
    const res = await this.request('GET', `${this.repoPath()}/blobs/${digest}`);
    if (!res.ok || !res.body) throw await registryError(res, `blob ${digest}`);
    const cl = res.headers.get('content-length');
    return { stream: Readable.fromWeb(res.body as never), size: cl ? Number(cl) : undefined };
  }

  /** Reads a small blob whole and verifies it (image configs). */
  async getBlobBytes(digest: Digest, limit = 32 << 20): Promise<Buffer> {
    const res = await this.request('GET', `${this.repoPath()}/blobs/${digest}`);
    if (!res.ok) throw await registryError(res, `blob ${digest}`);
    const b = Buffer.from(await res.arrayBuffer());
    if (b.length > limit) throw invalidArgument(`blob ${digest} too large`);
    if (digestOf(b) !== digest) throw invalidArgument(`blob ${digest}: digest mismatch`);
    return b;
  }

  /** Whether the repository already has a blob (`HEAD`). */
  async hasBlob(digest: Digest): Promise<boolean> {
    const res = await this.request('HEAD', `${this.repoPath()}/blobs/${digest}`);
    await res.body?.cancel();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await registryError(res, `blob ${digest}`);
  }

  /**
   * Uploads a blob: `POST /blobs/uploads/` (with `mount`/`from` when a source repository is known; a 201 means the
   * registry mounted it and nothing is sent), then one monolithic `PUT <location>?digest=` streaming the body.
   * Returns 'mounted' or 'pushed'.
   */
  async putBlob(digest: Digest, size: number, body: () => Promise<Readable>, opts: { mountFrom?: string } = {}): Promise<'mounted' | 'pushed'> {
    const q = opts.mountFrom ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(opts.mountFrom)}` : '';
    const start = await this.request('POST', `${this.repoPath()}/blobs/uploads/${q}`, { headers: { 'Content-Length': '0' } });
    await start.body?.cancel();
    if (start.status === 201) return 'mounted';
    if (start.status !== 202) throw await registryError(start, 'blob upload');
    const loc = start.headers.get('location');
    if (!loc) throw unavailable('registry answered a blob upload without a Location');
    const url = new URL(loc, this.base);
    url.searchParams.set('digest', digest);
    const put = await this.request('PUT', '', {
      url: url.toString(),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body: await body(),
    });
    await put.body?.cancel().catch(() => {});
    if (put.status !== 201 && put.status !== 204 && put.status !== 200) throw await registryError(put, 'blob upload');
    return 'pushed';
  }

  /** `PUT /manifests/<tag>`; returns the digest the registry reports (or ours). */
  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<Digest> {
    const res = await this.request('PUT', `${this.repoPath()}/manifests/${reference}`, { headers: { 'Content-Type': mediaType }, body: bytes });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await registryError(res, 'manifest upload');
    await res.body?.cancel().catch(() => {});
    return (res.headers.get('docker-content-digest') as Digest | null) ?? digestOf(bytes);
  }
}

/** Picks the manifest for `os/arch[/variant]` from an index; NotFound in Docker's wording when none matches. */
export function pickPlatform(index: Manifest, os: string, arch: string, variant?: string): Descriptor {
  const ms = index.manifests ?? [];
  const match = ms.filter((m) => m.platform?.os === os && m.platform?.architecture === arch && (!variant || !m.platform.variant || m.platform.variant === variant));
  // attestation manifests (unknown/unknown) never match
  if (match.length) return match[0]!;
  throw notFound(`no matching manifest for ${os}/${arch}${variant ? '/' + variant : ''} in the manifest list entries`);
}
