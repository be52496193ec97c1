/**
 * Registry credentials on the wire: the `X-Registry-Auth` header of pull/push (base64url JSON) and the `POST /auth`
 * body — Docker's `registry.AuthConfig`, keys in lower case as the CLI sends them.
 */
import { invalidArgument } from '../../errdefs/index.js';
import { decode, str, struct } from '../decode/schema.js';

/** Docker's `types.AuthConfig` as a decoder schema: wrongly typed fields are a 400 in Go's words, as from dockerd. */
export const authConfigBody = struct('types.AuthConfig', {
  username: str(),
  password: str(),
  auth: str(),
  email: str(),
  serveraddress: str(),
  identitytoken: str(),
  registrytoken: str(),
});

/** Credentials as the Docker CLI sends them (X-Registry-Auth / POST /auth body). */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** The answer of `POST /auth`. */
export interface AuthResponse {
  Status: string;
  IdentityToken?: string;
}

/** Decodes `X-Registry-Auth` (base64url or base64 JSON). Empty or `{}` → undefined. */
export function decodeAuthHeader(value: string | undefined): AuthConfig | undefined {
  if (!value) return undefined;
  let json: string;
  try {
    json = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    const raw = (decode(authConfigBody, JSON.parse(json)) ?? {}) as Record<string, unknown>;
    const out: AuthConfig = {};
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string' && v) (out as Record<string, string>)[k.toLowerCase()] = v;
    if (out.auth && !out.username) {
      const dec = Buffer.from(out.auth, 'base64').toString('utf8');
      const i = dec.indexOf(':');
      if (i > 0) {
        out.username = dec.slice(0, i);
        out.password = dec.slice(i + 1);
      }
    }
    return out.username || out.identitytoken || out.registrytoken ? out : undefined;
  } catch (e) {
    throw invalidArgument('invalid X-Registry-Auth header: ' + (e as Error).message);
  }
}

