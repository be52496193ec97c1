/**
 * OCI Distribution (Docker Registry HTTP API v2) client for one repository on one endpoint — see core/registry for
 * the terms. Basic auth and bearer tokens (Docker Hub / Harbor / Distribution's token flow: anonymous, basic, and
 * OAuth refresh-token grants; tokens cached per scope until they expire, renewed on a fresh 401), manifests (Docker
 * schema2, OCI manifest, manifest list / OCI index), blob downloads that resume with `Range` after a broken
 * connection, chunked uploads (PATCH + Content-Range) that resume from the offset the registry reports, and retries
 * with back-off for network failures and 5xx answers.
 *
 * HTTP goes through ./transport.ts (node:http/https, one connection pool per TLS configuration). Bodies stream;
 * nothing here touches the disk.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Readable } from 'node:stream';
import tls, { rootCertificates } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { digestOf, isDigest, type Digest } from '../../pkg/digest/index.js';
import { EngineError, invalidArgument, unauthorized, unavailable } from '../../errdefs/index.js';
import { MediaTypes } from '../../core/images/types.js';
import type { Endpoint, EndpointTLS, FetchedManifest, Manifest, OnBytes, Remote, RemoteOptions } from '../../core/registry/types.js';
import { parseChallenge, type Challenge } from './auth.js';
import { registryFetch, type RegistryResponse } from './transport.js';

export { isIndex, pickPlatform } from '../../core/registry/platform.js';
export type { Descriptor, FetchedManifest, Manifest } from '../../core/registry/types.js';

export const USER_AGENT = 'berth/0.1 (docker-compatible)';
const MAX_MANIFEST = 4 << 20;
/** Bytes per PATCH of a chunked upload (BERTH_UPLOAD_CHUNK_SIZE overrides, for tests and slow links). */
const CHUNK = Number(process.env.BERTH_UPLOAD_CHUNK_SIZE) > 0 ? Number(process.env.BERTH_UPLOAD_CHUNK_SIZE) : 16 << 20;
/** Attempts of one request (or one blob transfer) before its error is final. */
const ATTEMPTS = 5;
/** Docker's token client: a token without `expires_in` lives 60 s. */
const DEFAULT_TOKEN_TTL_S = 60;

export const MANIFEST_ACCEPT = [MediaTypes.ociIndex, MediaTypes.dockerManifestList, MediaTypes.ociManifest, MediaTypes.dockerManifest].join(', ');

/** Back-off before retry `n` (1-based): 0.25 s, 0.5 s, 1 s, 2 s. */
const backoff = (n: number) => 250 * 2 ** (n - 1);

/** An error answered by the registry: `errors[0].code` in Docker's lower-case wording (`manifest unknown`). */
export class RegistryError extends EngineError {
  constructor(kind: EngineError['kind'], message: string, readonly status: number, readonly code?: string) {
    super(kind, message);
  }
}

/**
 * A failure of the network (refused, reset, cut, TLS): worth a mirror fallback, and a retry — except a certificate
 * that does not verify or a handshake the server refused, which no retry changes.
 */
export class TransportError extends EngineError {
  readonly retryable: boolean;
  constructor(message: string, cause?: unknown) {
    super('Unavailable', message, { cause });
    this.retryable = !/tls: |x509: |HTTP response to HTTPS client/.test(message);
  }
}

/**
 * Why an HTTPS server closed the connection: the TLS alert it sent (a client certificate it requires or refuses),
 * which a request may see only as a reset socket (TLS 1.3 sends it after the handshake, while the request is in
 * flight). A direct handshake and one request read it; undefined when nothing
 * more is learnt.
 */
function tlsAlert(url: string, t: EndpointTLS | undefined): Promise<unknown | undefined> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = tls.connect({
      host: u.hostname,
      port: Number(u.port || 443),
      servername: net.isIP(u.hostname) ? undefined : u.hostname,
      ...(t?.ca?.length ? { ca: [...rootCertificates, ...t.ca] } : {}),
      ...(t?.cert && t.key ? { cert: t.cert, key: t.key } : {}),
      rejectUnauthorized: !t?.insecureSkipVerify,
    });
    const timer = setTimeout(() => finish(undefined), 5000);
    const finish = (v: unknown) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    s.once('secureConnect', () => s.write(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`));
    s.once('error', (e: NodeJS.ErrnoException) => finish(/ALERT|CERT/.test(e.code ?? '') ? e : undefined));
    s.once('data', () => finish(undefined));
    s.once('close', () => finish(undefined));
  });
}

/**
 * Whether an HTTPS exchange with `url` works under `tls` (any HTTP status counts): undefined when it does, else the
 * failure in Go's words. dockerd's fallback from an insecure registry's https endpoint to http.
 */
export async function probeTLS(url: string, tls: EndpointTLS): Promise<string | undefined> {
  try {
    const res = await registryFetch(url, { method: 'GET', headers: { 'User-Agent': USER_AGENT }, signal: AbortSignal.timeout(10_000) }, tls);
    await res.discard();
    return undefined;
  } catch (e) {
    return transportMessage('GET', url, e);
  }
}

async function registryError(res: RegistryResponse, what: string): Promise<RegistryError> {
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
  // Distribution's client reads an OAuth error in the challenge first (RFC 6750): a token that lacks the scope is
  // `denied`, as Docker Hub and Harbor answer a push to someone else's repository
  const ch = res.status === 401 || res.status === 403 ? parseChallenge(res.headers.get('www-authenticate')) : undefined;
  if (ch?.scheme === 'bearer' && ch.params.error === 'insufficient_scope') {
    return new RegistryError('Forbidden', `denied: ${ch.params.error_description || 'requested access to the resource is denied'}`, res.status, 'DENIED');
  }
  if (ch?.scheme === 'bearer' && ch.params.error === 'invalid_token' && !msg) msg = `unauthorized: ${ch.params.error_description || 'authentication required'}`;
  if (!msg && res.status === 401) msg = 'unauthorized: authentication required';
  if (!msg) msg = `${what}: unexpected status ${res.status} ${res.statusText}`;
  const kind = res.status === 401 ? 'Unauthorized' : res.status === 403 ? 'Forbidden' : res.status === 404 ? 'NotFound' : res.status >= 500 ? 'Unavailable' : 'InvalidArgument';
  return new RegistryError(kind, msg, res.status, code);
}

/** Go's net/http wording for what node:http/https report, so errors read as dockerd's (`dial tcp …: connection refused`). */
export function transportMessage(method: string, url: string, e: unknown): string {
  const verb = method === 'GET' || method === 'HEAD' ? 'Get' : method === 'PUT' ? 'Put' : method === 'PATCH' ? 'Patch' : 'Post';
  const u = new URL(url);
  type Cause = { code?: string; message?: string; address?: string; port?: number };
  const cause: Cause | undefined = (e as { cause?: Cause }).cause ?? (e as Cause);
  const addr = cause?.address ? `${cause.address}:${cause.port ?? u.port}` : u.host;
  const code = cause?.code ?? '';
  let why: string;
  if (code === 'ECONNREFUSED') why = `dial tcp ${addr}: connect: connection refused`;
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') why = `dial tcp: lookup ${u.hostname}: no such host`;
  else if (code === 'ECONNRESET') why = 'read: connection reset by peer';
  else if (code === 'ETIMEDOUT') why = `dial tcp ${addr}: i/o timeout`;
  else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') why = `tls: failed to verify certificate: x509: certificate is valid for ${altNames(cause)}, not ${u.hostname}`;
  else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') why = 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
  else if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE/.test(code)) why = 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
  else if (/CERTIFICATE_REQUIRED/.test(code) || /certificate required/.test(cause?.message ?? '')) why = 'remote error: tls: certificate required';
  else if (/BAD_CERTIFICATE|UNKNOWN_CA/.test(code) || /alert bad certificate|alert unknown ca/.test(cause?.message ?? '')) why = 'remote error: tls: bad certificate';
  else if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/.test(cause?.message ?? '')) why = 'http: server gave HTTP response to HTTPS client';
  else why = cause?.message ?? (e as Error).message;
  return `${verb} "${url}": ${why}`;
}

/** The names a certificate is valid for, as Go lists them (`127.0.0.1, localhost`). */
function altNames(cause: { message?: string; cert?: { subjectaltname?: string } } | undefined): string {
  const alt = cause?.cert?.subjectaltname ?? /cert's altnames: (.*)$/.exec(cause?.message ?? '')?.[1] ?? '';
  const names = alt.split(/,\s*/).map((n) => n.replace(/^(DNS|IP Address):/, '')).filter(Boolean);
  return names.length ? names.join(', ') : 'other names';
}

function retryableStatus(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504 || status === 429;
}

type Body = Buffer | undefined;

interface CachedToken {
  header: string;
  /** ms epoch after which the token is renewed before use. */
  expiresAt: number;
}

export class DistributionRemote implements Remote {
  readonly endpoint: Endpoint;
  private challenge: Challenge | undefined;
  /** Basic credentials or the current bearer token. */
  private authorization: string | undefined;
  private token: CachedToken | undefined;
  /** A refresh token the token server issued at login (Docker's IdentityToken). */
  private refreshToken: string | undefined;

  constructor(private readonly o: RemoteOptions) {
    this.endpoint = o.endpoint;
  }

  private get base(): string {
    return this.endpoint.base;
  }

  private get signal(): AbortSignal | undefined {
    return this.o.signal;
  }

  private basic(): string | undefined {
    const a = this.o.auth;
    if (!a?.username || a.identitytoken) return undefined;
    return 'Basic ' + Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64');
  }

  /** One HTTP exchange; network failures become TransportErrors in Go's wording. */
  private async send(method: string, url: string, init: { headers?: Record<string, string>; body?: Body | Readable; auth?: boolean } = {}): Promise<RegistryResponse> {
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...init.headers };
    if (init.auth !== false) {
      await this.renewIfExpired();
      if (this.authorization) headers.Authorization = this.authorization;
    }
    try {
      return await registryFetch(url, { method, headers, body: init.body, signal: this.signal }, this.endpoint.tls);
    } catch (e) {
      if ((e as Error).name === 'AbortError' || this.signal?.aborted) throw e;
      const code = (e as { code?: string }).code;
      if (url.startsWith('https:') && code === 'ECONNRESET') {
        const alert = await tlsAlert(url, this.endpoint.tls);
        if (alert) throw new TransportError(transportMessage(method, url, alert), alert);
      }
      throw new TransportError(transportMessage(method, url, e), e);
    }
  }

  /**
   * A request with Docker's resilience: a 401 carrying a challenge is answered (fresh token) and the request sent
   * again; network failures and 5xx answers are retried with back-off. Only buffered bodies are ever re-sent.
   */
  private async request(method: string, path: string, init: { headers?: Record<string, string>; body?: Body; url?: string; retries?: number } = {}): Promise<RegistryResponse> {
    const url = init.url ?? this.base + path;
    const attempts = init.retries ?? ATTEMPTS;
    let reauthed = false;
    for (let attempt = 1; ; attempt++) {
      let res: RegistryResponse;
      try {
        res = await this.send(method, url, init);
      } catch (e) {
        if (!(e instanceof TransportError) || !e.retryable || attempt >= attempts) throw e;
        await sleep(backoff(attempt), undefined, { signal: this.signal });
        continue;
      }
      if (res.status === 401 && !reauthed) {
        const ch = parseChallenge(res.headers.get('www-authenticate'));
        if (ch) {
          await res.discard();
          reauthed = true;
          this.challenge = ch;
          this.token = undefined;
          await this.answerChallenge();
          attempt--;
          continue;
        }
      }
      if (retryableStatus(res.status) && attempt < attempts) {
        await res.discard();
        await sleep(backoff(attempt), undefined, { signal: this.signal });
        continue;
      }
      return res;
    }
  }

  async authorize(): Promise<void> {
    const res = await this.request('GET', '', { url: this.base });
    await res.discard();
    if (res.status === 200) return;
    if (res.status !== 401) throw new RegistryError('Unavailable', `${this.base}: unexpected status ${res.status} ${res.statusText}`, res.status);
    // request() already answered one challenge; a second 401 means the credentials (or the token) are refused
    throw unauthorized('unauthorized: authentication required');
  }

  async login(): Promise<{ identityToken?: string }> {
    this.offline = true;
    const res = await this.send('GET', this.base);
    await res.discard();
    if (res.status === 401) {
      this.challenge = parseChallenge(res.headers.get('www-authenticate'));
      await this.answerChallenge();
    } else if (!res.ok) {
      throw new RegistryError('Unavailable', `${this.base}: unexpected status ${res.status} ${res.statusText}`, res.status);
    }
    // verify what we now hold with one more ping, as dockerd's loginV2 does
    const check = await this.send('GET', this.base);
    await check.discard();
    if (check.status === 401 || check.status === 403) throw unauthorized(`login attempt to ${this.base} failed with status: ${check.status} ${check.statusText}`);
    if (!check.ok) throw new RegistryError('Unavailable', `${this.base}: unexpected status ${check.status} ${check.statusText}`, check.status);
    return { identityToken: this.refreshToken };
  }

  /** Whether the token request asks for a refresh token (login: `offline_token=true`). */
  private offline = false;

  private scopes(): string[] {
    const out: string[] = [];
    if (this.o.repo) out.push(`repository:${this.o.repo}:${(this.o.actions ?? ['pull']).join(',')}`);
    for (const from of this.o.pullFrom ?? []) if (from !== this.o.repo) out.push(`repository:${from}:pull`);
    return out;
  }

  private async renewIfExpired(): Promise<void> {
    if (this.token && Date.now() >= this.token.expiresAt) {
      this.token = undefined;
      await this.answerChallenge();
    }
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
    const realm = ch.params.realm;
    const service = ch.params.service ?? '';
    const scopes = this.scopes();
    const a = this.o.auth;
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT };
    const refresh = a?.identitytoken ?? this.refreshToken;
    let res: RegistryResponse | undefined;
    try {
      if (refresh) {
        // OAuth2 refresh-token grant (what the CLI's stored identitytoken is for)
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, service, client_id: 'docker' });
        if (scopes.length) form.set('scope', scopes.join(' '));
        if (this.offline) form.set('access_type', 'offline');
        res = await registryFetch(realm, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(), signal: this.signal }, this.realmTLS(realm));
        if (res.status === 404 || res.status === 405) {
          await res.discard();
          res = undefined; // no OAuth endpoint: the GET flow below
        }
      }
      if (!res) {
        const url = new URL(realm);
        if (service) url.searchParams.set('service', service);
        for (const s of scopes) url.searchParams.append('scope', s);
        if (a?.username) url.searchParams.set('account', a.username);
        if (this.offline) {
          url.searchParams.set('offline_token', 'true');
          url.searchParams.set('client_id', 'docker');
        }
        const b = this.basic();
        if (b) headers.Authorization = b;
        res = await registryFetch(url, { headers, signal: this.signal }, this.realmTLS(realm));
      }
    } catch (e) {
      if ((e as Error).name === 'AbortError' || this.signal?.aborted) throw e;
      throw new TransportError(transportMessage('GET', realm, e), e);
    }
    if (res.status === 401 || res.status === 403) {
      const e = await registryError(res, 'token');
      throw unauthorized(e.message.includes('unexpected status') ? 'unauthorized: incorrect username or password' : e.message);
    }
    if (!res.ok) {
      await res.discard();
      throw unavailable(`token endpoint ${realm}: status ${res.status}`);
    }
    const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number; issued_at?: string; refresh_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw unauthorized('token endpoint answered without a token');
    if (body.refresh_token) this.refreshToken = body.refresh_token;
    const issued = body.issued_at ? Date.parse(body.issued_at) : NaN;
    const ttl = (body.expires_in && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_TTL_S) * 1000;
    // renewed a little before the end (a quarter of its life, at most 5 s) so a request never leaves with a token
    // that expires on its way
    const margin = Math.min(5000, ttl / 4);
    this.token = { header: `Bearer ${token}`, expiresAt: (Number.isNaN(issued) ? Date.now() : Math.min(issued, Date.now())) + ttl - margin };
    this.authorization = this.token.header;
  }

  /** The token server is reached with the registry's TLS settings (dockerd: one transport for both). */
  private realmTLS(_realm: string): EndpointTLS | undefined {
    return this.endpoint.tls;
  }

  private repoPath(): string {
    if (!this.o.repo) throw invalidArgument('no repository given');
    return this.o.repo;
  }

  async getManifest(reference: string): Promise<FetchedManifest> {
    const res = await this.request('GET', `${this.repoPath()}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT } });
    if (!res.ok) throw await registryError(res, 'manifest');
    const len = Number(res.headers.get('content-length') ?? 0);
    if (len > MAX_MANIFEST) throw invalidArgument(`manifest too large: ${len} bytes`);
    const bytes = await res.buffer();
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

  async getBlob(digest: Digest, size?: number): Promise<Readable> {
    const path = `${this.repoPath()}/blobs/${digest}`;
    const first = await this.request('GET', path);
    if (!first.ok) throw await registryError(first, `blob ${digest}`);
    const cl = first.headers.get('content-length');
    const total = size ?? (cl ? Number(cl) : undefined);
    const signal = this.signal;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      let res = first;
      let received = 0;
      let skip = 0;
      let failures = 0;
      for (;;) {
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            let c = chunk;
            if (skip) {
              const n = Math.min(skip, c.length);
              skip -= n;
              c = c.subarray(n);
              if (!c.length) continue;
            }
            received += c.length;
            yield c;
          }
          if (total === undefined || received >= total) return;
          throw new TransportError(`Get "${self.base}${path}": unexpected EOF`);
        } catch (e) {
          if (signal?.aborted || (e as Error).name === 'AbortError') throw e;
          if (++failures >= ATTEMPTS) throw e instanceof EngineError ? e : new TransportError(transportMessage('GET', self.base + path, e), e);
          await sleep(backoff(failures), undefined, { signal });
          // resume where the broken connection stopped
          res = await self.request('GET', path, { headers: received ? { Range: `bytes=${received}-` } : {} });
          if (res.status === 200) skip = received; // the registry ignored the Range: drop what we already have
          else if (res.status !== 206) throw await registryError(res, `blob ${digest}`);
        }
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  async getBlobBytes(digest: Digest, limit = 32 << 20): Promise<Buffer> {
    const res = await this.request('GET', `${this.repoPath()}/blobs/${digest}`);
    if (!res.ok) throw await registryError(res, `blob ${digest}`);
    const b = await res.buffer();
    if (b.length > limit) throw invalidArgument(`blob ${digest} too large`);
    if (digestOf(b) !== digest) throw invalidArgument(`blob ${digest}: digest mismatch`);
    return b;
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    const res = await this.request('HEAD', `${this.repoPath()}/blobs/${digest}`);
    await res.discard();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await registryError(res, `blob ${digest}`);
  }

  async putBlob(digest: Digest, size: number, open: (offset: number) => Promise<Readable>, opts: { mountFrom?: string; onBytes?: OnBytes } = {}): Promise<'mounted' | 'pushed'> {
    const q = opts.mountFrom ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(opts.mountFrom)}` : '';
    const start = await this.request('POST', `${this.repoPath()}/blobs/uploads/${q}`, { headers: { 'Content-Length': '0' } });
    await start.discard();
    if (start.status === 201) return 'mounted';
    if (start.status !== 202) throw await registryError(start, 'blob upload');
    let location = this.location(start);
    let offset = 0;
    let failures = 0;
    let reader = new ChunkReader(await open(0));
    try {
      while (offset < size) {
        const chunk = await reader.read(Math.min(CHUNK, size - offset));
        if (chunk.length === 0) throw invalidArgument(`blob ${digest}: content ended at ${offset} of ${size} bytes`);
        let res: RegistryResponse | undefined;
        try {
          res = await this.request('PATCH', '', {
            url: location,
            headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.length - 1}`, 'Content-Length': String(chunk.length) },
            body: chunk,
            retries: 1,
          });
        } catch (e) {
          if (!(e instanceof TransportError)) throw e;
          res = undefined;
        }
        if (res && res.status === 202) {
          await res.discard();
          location = this.location(res);
          const expected = offset + chunk.length;
          const next = rangeEnd(res) ?? expected;
          if (next !== expected) {
            // the registry kept another amount than we sent: continue from its count
            reader.destroy();
            reader = new ChunkReader(await open(next));
          }
          offset = next;
          opts.onBytes?.(offset);
          continue;
        }
        // A broken chunk: ask the registry how much it has, and go on from there.
        if (res && !retryableStatus(res.status) && res.status !== 416) throw await registryError(res, 'blob upload');
        await res?.discard();
        if (++failures >= ATTEMPTS) throw new TransportError(`Patch "${location}": upload failed ${ATTEMPTS} times at byte ${offset}`);
        await sleep(backoff(failures), undefined, { signal: this.signal });
        const status = await this.request('GET', '', { url: location }).catch((e) => {
          if (e instanceof TransportError) return undefined;
          throw e;
        });
        await status?.discard();
        if (status && (status.status === 204 || status.status === 200)) {
          location = this.location(status, location);
          offset = rangeEnd(status) ?? 0;
        } else {
          // The registry dropped the session (Distribution cancels one whose data no longer matches its state after a
          // cut mid-chunk): start a new session and send the blob again from the start.
          const again = await this.request('POST', `${this.repoPath()}/blobs/uploads/`, { headers: { 'Content-Length': '0' } });
          await again.discard();
          if (again.status !== 202) throw await registryError(again, 'blob upload');
          location = this.location(again);
          offset = 0;
        }
        opts.onBytes?.(offset);
        reader.destroy();
        reader = new ChunkReader(await open(offset));
      }
    } finally {
      reader.destroy();
    }
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const put = await this.request('PUT', '', { url: url.toString(), headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': '0' } });
    await put.discard();
    if (put.status !== 201 && put.status !== 204 && put.status !== 200) throw await registryError(put, 'blob upload');
    return 'pushed';
  }

  private location(res: RegistryResponse, fallback?: string): string {
    const loc = res.headers.get('location');
    if (!loc) {
      if (fallback) return fallback;
      throw unavailable('registry answered a blob upload without a Location');
    }
    return new URL(loc, this.base).toString();
  }

  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<Digest> {
    const res = await this.request('PUT', `${this.repoPath()}/manifests/${reference}`, { headers: { 'Content-Type': mediaType }, body: bytes });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await registryError(res, 'manifest upload');
    await res.discard();
    return (res.headers.get('docker-content-digest') as Digest | null) ?? digestOf(bytes);
  }
}

/** The next offset after an upload's `Range: 0-<last>` header (undefined when absent). */
function rangeEnd(res: RegistryResponse): number | undefined {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get('range') ?? '');
  return m ? Number(m[1]) + 1 : undefined;
}

/** Reads a stream in exact-size buffers. */
class ChunkReader {
  private readonly it: AsyncIterator<Buffer>;
  private left: Buffer = Buffer.alloc(0);
  private done = false;
  constructor(private readonly stream: Readable) {
    this.it = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  async read(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    if (this.left.length) {
      const take = this.left.subarray(0, n);
      this.left = this.left.subarray(take.length);
      parts.push(take);
      have = take.length;
    }
    while (have < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const c = r.value;
      const need = n - have;
      if (c.length > need) {
        parts.push(c.subarray(0, need));
        this.left = c.subarray(need);
        have = n;
      } else {
        parts.push(c);
        have += c.length;
      }
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
  }

  destroy(): void {
    this.stream.destroy();
  }
}
