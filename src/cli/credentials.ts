/**
 * The CLI's credentials store, in docker's config.json format (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`): `{"auths":{"127.0.0.1:5000":{"auth":"base64(user:pass)"}}}`. Other keys of the file are
 * kept as they are. The file is written atomically with mode 0600. Credential helpers (`credsStore`,
 * `credHelpers`) are not supported: only the file's own `auths` are used.
 *
 * Also builds the `X-Registry-Auth` header (base64url of `{"username","password","serveraddress"}`, or of `{}`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Docker Hub's key in `auths` (docker's registry.IndexServer). */
export const INDEX_SERVER = 'https://index.docker.io/v1/';
const DEFAULT_NAMESPACE = 'docker.io';

/** One entry of `auths` as docker writes it. */
export interface StoredAuth {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  serveraddress?: string;
  email?: string;
}

/** Credentials resolved for one registry (what goes into X-Registry-Auth). */
export interface Credentials {
  username?: string;
  password?: string;
  serveraddress: string;
  identitytoken?: string;
  registrytoken?: string;
}

type ConfigFile = { auths?: Record<string, StoredAuth> } & Record<string, unknown>;

/** The config directory: `$DOCKER_CONFIG`, else `~/.docker`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || path.join(os.homedir(), '.docker');
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), 'config.json');
}

/** docker's credentials.ConvertToHostname: drops the scheme and any path (`https://index.docker.io/v1/` → `index.docker.io`). */
export function convertToHostname(address: string): string {
  let s = address.trim();
  if (s.startsWith('http://')) s = s.slice('http://'.length);
  else if (s.startsWith('https://')) s = s.slice('https://'.length);
  const slash = s.indexOf('/');
  return slash >= 0 ? s.slice(0, slash) : s;
}

/** The `auths` key for a reference's registry domain: Docker Hub → `https://index.docker.io/v1/`, else the host. */
export function serverForDomain(domain: string): string {
  return domain === DEFAULT_NAMESPACE || domain === 'index.docker.io' ? INDEX_SERVER : domain;
}

/**
 * The key `login`/`logout` use for what the user typed: empty or `docker.io` → Docker Hub's key; anything else is
 * normalised to its hostname (`http://127.0.0.1:5000/` → `127.0.0.1:5000`), as docker 28 does.
 */
export function normalizeServer(server: string | undefined): string {
  const s = (server ?? '').trim();
  if (!s || s === DEFAULT_NAMESPACE) return INDEX_SERVER;
  if (s === INDEX_SERVER) return s;
  const host = convertToHostname(s);
  return host === 'index.docker.io' || host === DEFAULT_NAMESPACE ? INDEX_SERVER : host;
}

/** Reads the config file; a missing file is empty. Throws (with the path) on a malformed file. */
export function loadConfig(file = configPath()): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`loading config file: ${file}: ${(e as Error).message}`);
  }
  if (!text.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`loading config file: ${file}: ${(e as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`loading config file: ${file}: not a JSON object`);
  return parsed as ConfigFile;
}

/** Writes the config file atomically (temp file + rename), mode 0600, in a 0700 directory when it must be made. */
export function saveConfig(cfg: ConfigFile, file = configPath()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(cfg, null, '\t'), { mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

function decodeEntry(server: string, e: StoredAuth): Credentials {
  const out: Credentials = { serveraddress: server };
  if (e.auth) {
    const dec = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = dec.indexOf(':');
    if (i >= 0) {
      out.username = dec.slice(0, i);
      out.password = dec.slice(i + 1);
    }
  }
  if (!out.username && e.username) out.username = e.username;
  if (!out.password && e.password) out.password = e.password;
  if (e.identitytoken) out.identitytoken = e.identitytoken;
  if (e.registrytoken) out.registrytoken = e.registrytoken;
  return out;
}

/**
 * The stored credentials for a server key (exact key first, then any key with the same hostname, as docker's file
 * store does); undefined when there are none.
 */
export function getCredentials(server: string, file = configPath()): Credentials | undefined {
  const auths = loadConfig(file).auths ?? {};
  if (auths[server]) return decodeEntry(server, auths[server]!);
  const host = convertToHostname(server);
  for (const [k, v] of Object.entries(auths)) if (v && convertToHostname(k) === host) return decodeEntry(server, v);
  return undefined;
}

/** Stores credentials under `server` (docker's form: `auth` = base64(user:pass), plus `identitytoken` when given). */
export function storeCredentials(server: string, creds: { username: string; password: string; identitytoken?: string }, file = configPath()): void {
  const cfg = loadConfig(file);
  const auths = (cfg.auths && typeof cfg.auths === 'object' ? cfg.auths : {}) as Record<string, StoredAuth>;
  const entry: StoredAuth = {};
  if (creds.identitytoken) {
    // docker keeps only the username with a token
    entry.auth = Buffer.from(`${creds.username}:`).toString('base64');
    entry.identitytoken = creds.identitytoken;
  } else entry.auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
  auths[server] = entry;
  cfg.auths = auths;
  saveConfig(cfg, file);
}

/** Removes the entries of `keys`; returns whether anything was removed (the file is rewritten only then). */
export function eraseCredentials(keys: string[], file = configPath()): boolean {
  const cfg = loadConfig(file);
  const auths = cfg.auths;
  if (!auths || typeof auths !== 'object') return false;
  let removed = false;
  for (const k of keys) {
    if (Object.prototype.hasOwnProperty.call(auths, k)) {
      delete auths[k];
      removed = true;
    }
  }
  if (removed) saveConfig(cfg, file);
  return removed;
}

/** `X-Registry-Auth`: base64url (padded, as Go's URLEncoding) of the JSON credentials, `{}` when there are none. */
export function encodeAuthHeader(creds: Credentials | undefined): string {
  const body: Record<string, string> = {};
  if (creds) {
    if (creds.username) body.username = creds.username;
    if (creds.password) body.password = creds.password;
    if (creds.identitytoken) body.identitytoken = creds.identitytoken;
    if (creds.registrytoken) body.registrytoken = creds.registrytoken;
    if (Object.keys(body).length) body.serveraddress = creds.serveraddress;
  }
  return Buffer.from(JSON.stringify(body)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The X-Registry-Auth header value for a registry domain (`docker.io`, `127.0.0.1:5000`). */
export function authHeaderForDomain(domain: string, file = configPath()): string {
  return encodeAuthHeader(getCredentials(serverForDomain(domain), file));
}
