/**
 * The CLI's credentials store, in docker's config.json format (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`): `{"auths":{"127.0.0.1:5000":{"auth":"base64(user:pass)"}}}`. Other keys of the file are
 * kept as they are. The file is written atomically with mode 0600.
 *
 * Credential helpers, as docker: `credHelpers[<registry host>]` or else `credsStore` names a program
 * `docker-credential-<name>` on PATH that keeps the secrets; berth speaks its protocol (`get`/`store`/`erase` with the
 * server URL or `{"ServerURL","Username","Secret"}` on stdin, JSON on stdout; an identity token is stored with the
 * username `<token>`), and the file only records the server with an empty entry.
 *
 * Also builds the `X-Registry-Auth` header (base64url of `{"username","password","serveraddress"}`, or of `{}`).
 */
import { spawnSync } from 'node:child_process';
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

type ConfigFile = { auths?: Record<string, StoredAuth>; credsStore?: string; credHelpers?: Record<string, string> } & Record<string, unknown>;

/** docker's credential helpers' username for an identity token. */
const TOKEN_USERNAME = '<token>';

/** The helper that keeps `server`'s credentials: `credHelpers[host]`, else `credsStore`; undefined for the file. */
export function helperFor(server: string, cfg: ConfigFile): string | undefined {
  const host = convertToHostname(server);
  const h = cfg.credHelpers && typeof cfg.credHelpers === 'object' ? cfg.credHelpers[host] : undefined;
  if (typeof h === 'string' && h) return h;
  return typeof cfg.credsStore === 'string' && cfg.credsStore ? cfg.credsStore : undefined;
}

/** Runs `docker-credential-<helper> <action>` with `input` on stdin; the trimmed stdout, or throws its message. */
function callHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): string {
  const prog = `docker-credential-${helper}`;
  const r = spawnSync(prog, [action], { input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`exec: "${prog}": executable file not found in $PATH`);
    throw r.error;
  }
  const out = (r.stdout ?? '').trim();
  if (r.status !== 0) throw new Error(out || (r.stderr ?? '').trim() || `${prog} ${action} exited with ${r.status}`);
  return out;
}

const NOT_FOUND = 'credentials not found in native keychain';

function helperGet(helper: string, server: string): Credentials | undefined {
  let out: string;
  try {
    out = callHelper(helper, 'get', server);
  } catch (e) {
    if ((e as Error).message.includes(NOT_FOUND)) return undefined;
    throw new Error(`error getting credentials - err: ${(e as Error).message}`);
  }
  const c = JSON.parse(out) as { Username?: string; Secret?: string };
  if (!c.Username && !c.Secret) return undefined;
  if (c.Username === TOKEN_USERNAME) return { serveraddress: server, identitytoken: c.Secret };
  return { serveraddress: server, username: c.Username, password: c.Secret };
}

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
  const cfg = loadConfig(file);
  const helper = helperFor(server, cfg);
  if (helper) return helperGet(helper, server);
  const auths = cfg.auths ?? {};
  if (auths[server]) return decodeEntry(server, auths[server]!);
  const host = convertToHostname(server);
  for (const [k, v] of Object.entries(auths)) if (v && convertToHostname(k) === host) return decodeEntry(server, v);
  return undefined;
}

/**
 * Stores credentials under `server` (docker's form: `auth` = base64(user:pass), plus `identitytoken` when given), or
 * hands them to the server's credential helper.
 */
export function storeCredentials(server: string, creds: { username: string; password: string; identitytoken?: string }, file = configPath()): void {
  const cfg = loadConfig(file);
  const auths = (cfg.auths && typeof cfg.auths === 'object' ? cfg.auths : {}) as Record<string, StoredAuth>;
  const entry: StoredAuth = {};
  const helper = helperFor(server, cfg);
  if (helper) {
    const secret = creds.identitytoken
      ? { ServerURL: server, Username: TOKEN_USERNAME, Secret: creds.identitytoken }
      : { ServerURL: server, Username: creds.username, Secret: creds.password };
    try {
      callHelper(helper, 'store', JSON.stringify(secret));
    } catch (e) {
      throw new Error(`error storing credentials - err: ${(e as Error).message}`);
    }
    // the file only remembers that the server has credentials (docker's nativeStore)
  } else if (creds.identitytoken) {
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
  for (const k of keys) {
    const helper = helperFor(k, cfg);
    if (!helper) continue;
    try {
      callHelper(helper, 'erase', k);
    } catch {
      /* not stored under this key */
    }
  }
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
