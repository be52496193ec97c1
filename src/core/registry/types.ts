/**
 * Registries as the engine sees them (OCI Distribution / Docker Registry HTTP API v2).
 *
 * Terms:
 * - *domain*: the registry part of a reference (`docker.io`, `127.0.0.1:5000`).
 * - *endpoint*: one base URL that serves a domain's `/v2/` API. A domain has one or more, tried in order: for
 *   docker.io pulls, every `registry-mirrors` entry first (a *mirror*), then the upstream `registry-1.docker.io`. A
 *   pull falls back to the next endpoint when one fails; push and login only ever use the upstream.
 * - *insecure* host: loopback always, and what `insecure-registries` lists (hosts, `host:port`s or CIDRs matched
 *   against the host's addresses), as dockerd: HTTPS is tried first without verifying the certificate, then plain
 *   HTTP. Every other host is HTTPS, verified against the system CAs plus the host's certs directory
 *   (`<certs.d>/<host:port>/*.crt`), with a client certificate from there (`*.cert` + `*.key`) when one is present.
 *   berth's one difference: a loopback host *with* a certs directory is verified with it (dockerd skips verification
 *   on loopback even then), so a TLS registry on 127.0.0.1 can be used — and tested — as a secure one.
 * - *remote*: a connection to one repository on one endpoint, with its credentials and the scopes it asked for.
 *   It answers the endpoint's auth challenge itself (basic, or bearer tokens from the token realm, renewed when they
 *   expire or a request gets a fresh 401) and retries what failed on the network or with a 5xx, with back-off.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../../pkg/digest/index.js';
import type { AuthConfig } from '../../api/types/auth.js';

export interface Endpoint {
  /** `https://host[:port]/v2/` (or `http://` when insecure). */
  base: string;
  /** `host[:port]` as dialled. */
  host: string;
  mirror: boolean;
  /** TLS material for `https` bases (PEM): extra CAs, a client certificate and key, or no verification at all. */
  tls?: EndpointTLS;
}

export interface EndpointTLS {
  ca?: string[];
  cert?: string;
  key?: string;
  insecureSkipVerify?: boolean;
}

/** OCI descriptor as manifests carry it. */
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

export interface RemoteOptions {
  endpoint: Endpoint;
  /** Repository path on that endpoint (`library/busybox`); empty for login. */
  repo?: string;
  actions?: Array<'pull' | 'push'>;
  /** Further repositories to ask pull access for in the same token (cross-repository mount sources). */
  pullFrom?: string[];
  auth?: AuthConfig;
  signal?: AbortSignal;
}

/** Byte progress of one transfer (for honest progress bars). */
export type OnBytes = (done: number) => void;

export interface Remote {
  readonly endpoint: Endpoint;
  /** Pings `/v2/` and answers its challenge; throws Unauthorized when the credentials are refused. */
  authorize(): Promise<void>;
  /** Login: checks the credentials and returns the identity (refresh) token the token server issued, if any. */
  login(): Promise<{ identityToken?: string }>;
  getManifest(reference: string): Promise<FetchedManifest>;
  /**
   * Streams a blob. A connection that breaks mid-way is re-opened with a `Range` request from the last byte
   * received (with back-off), so the consumer sees one whole stream; it verifies the digest itself.
   */
  getBlob(digest: Digest, size?: number): Promise<Readable>;
  getBlobBytes(digest: Digest, limit?: number): Promise<Buffer>;
  hasBlob(digest: Digest): Promise<boolean>;
  /**
   * Uploads a blob in chunks (PATCH with Content-Range), resuming from the offset the registry reports after a
   * broken chunk; `mountFrom` first tries a cross-repository mount. `open(offset)` streams the blob from `offset`.
   */
  putBlob(digest: Digest, size: number, open: (offset: number) => Promise<Readable>, opts?: { mountFrom?: string; onBytes?: OnBytes }): Promise<'mounted' | 'pushed'>;
  putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<Digest>;
}

/** Where a domain is served (mirrors, insecure rules) and how to reach it. */
export interface RegistryHosts {
  /** Endpoints for `domain`, in the order to try; mirrors only for `pull` of docker.io. */
  endpoints(domain: string, purpose: 'pull' | 'push' | 'login'): Promise<Endpoint[]>;
  connect(opts: RemoteOptions): Remote;
}
