/**
 * Docker image references: parsing, normalisation and display.
 *
 * Terms:
 * - *reference*: what a user types to name an image: `name[:tag][@digest]`, e.g. `busybox`, `localhost:5000/a/b:t`,
 *   `alpine@sha256:<64 hex>`.
 * - *domain*: the registry host (`docker.io`, `localhost:5000`, `[::1]:5000`); *path*: the repository path inside it
 *   (`library/busybox`). *name* = domain + "/" + path (the fully qualified repository).
 * - *normalised* reference: the fully qualified form Docker stores: `busybox` → `docker.io/library/busybox:latest`
 *   (a missing tag becomes `latest` only when there is no digest either — see `withDefaultTag`).
 * - *familiar* form: what Docker displays: `docker.io/` and `library/` stripped again (`busybox:latest`).
 *
 * The grammar follows the distribution/reference specification; error messages match Docker's wording because users
 * and tests match on them.
 */
import { invalidArgument } from '../../errdefs/index.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_LENGTH_MAX = 255;

// Grammar pieces (distribution/reference).
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}';
const namePat = `(?:${domainAndPort}/)?${pathComponent}(?:/${pathComponent})*`;

const REFERENCE_RE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const TAG_RE = new RegExp(`^${tagPat}$`);
const ANCHORED_IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const SHORT_IDENTIFIER_RE = /^[a-f0-9]{6,64}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** A parsed, normalised reference. `domain`+`path` are always set; `tag` and `digest` only when present. */
export interface Reference {
  /** Registry host[:port], `docker.io` for Docker Hub. */
  domain: string;
  /** Repository path inside the registry (`library/busybox`). */
  path: string;
  tag?: string;
  digest?: string;
}

/** Docker's error for anything not matching the grammar. */
export const ERR_INVALID_FORMAT = 'invalid reference format';
export const ERR_UPPERCASE = 'invalid reference format: repository name must be lowercase';

function refError(msg: string): Error {
  return invalidArgument(msg);
}

/** Splits a name into domain and remainder the way Docker does (the first component is a domain if it looks like one). */
function splitDockerDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  let domain: string;
  let remainder: string;
  if (i === -1 || (!/[.:]/.test(name.slice(0, i)) && name.slice(0, i) !== 'localhost' && name.slice(0, i).toLowerCase() === name.slice(0, i))) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = name.slice(0, i);
    remainder = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return [domain, remainder];
}

/** Validates a fully spelled reference (`Parse` in distribution/reference); the caller fills domain/path. */
function parseStrict(s: string): Reference {
  const m = REFERENCE_RE.exec(s);
  if (!m) {
    if (s === '') throw refError('invalid reference format: repository name must have at least one component');
    if (REFERENCE_RE.test(s.toLowerCase())) throw refError(ERR_UPPERCASE);
    throw refError(ERR_INVALID_FORMAT);
  }
  const name = m[1]!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    throw refError(`invalid reference format: repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const ref: Reference = { domain: '', path: name };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) {
    const d = m[3];
    if (!d.startsWith('sha256:')) {
      if (/^(sha384|sha512):/.test(d)) ref.digest = d;
      else throw refError('invalid reference format: unsupported digest algorithm');
    } else {
      if (!DIGEST_RE.test(d)) {
        if (d.length !== 71) throw refError('invalid checksum digest length');
        throw refError('invalid checksum digest format');
      }
      ref.digest = d;
    }
  }
  return ref;
}

/**
 * Parses what a user typed and normalises it (`ParseNormalizedNamed`): `busybox` → {docker.io, library/busybox}.
 * Does not add a default tag (see `parseAndDefault`). Throws InvalidArgument with Docker's messages.
 */
export function parseNormalized(s: string): Reference {
  if (ANCHORED_IDENTIFIER_RE.test(s)) {
    throw refError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDockerDomain(s);
  const tagSep = remainder.indexOf(':');
  const atSep = remainder.indexOf('@');
  let remoteName = remainder;
  const cut = [tagSep, atSep].filter((x) => x > -1);
  if (cut.length) remoteName = remainder.slice(0, Math.min(...cut));
  if (remoteName.toLowerCase() !== remoteName) throw refError(ERR_UPPERCASE);
  const ref = parseStrict(`${domain}/${remainder}`);
  // parseStrict recomputes domain/path from the grammar; trust our split for the domain.
  ref.domain = domain;
  ref.path = remoteName;
  return ref;
}

/** Adds `latest` when the reference has neither tag nor digest (`TagNameOnly`/`WithDefaultTag`). */
export function withDefaultTag(ref: Reference): Reference {
  if (ref.tag === undefined && ref.digest === undefined) return { ...ref, tag: DEFAULT_TAG };
  return ref;
}

/** parseNormalized + withDefaultTag. */
export function parseAndDefault(s: string): Reference {
  return withDefaultTag(parseNormalized(s));
}

/** The fully qualified repository name: `docker.io/library/busybox`. */
export function fullName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full string form: `docker.io/library/busybox:latest`, `docker.io/library/a@sha256:...`. */
export function format(ref: Reference): string {
  let s = fullName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The familiar repository name: `busybox`, `user/app`, `localhost:5000/a/b`. */
export function familiarName(ref: Reference): string {
  if (ref.domain === DEFAULT_DOMAIN) {
    return ref.path.startsWith(OFFICIAL_REPO_PREFIX) && ref.path.indexOf('/', OFFICIAL_REPO_PREFIX.length) === -1
      ? ref.path.slice(OFFICIAL_REPO_PREFIX.length)
      : ref.path;
  }
  return fullName(ref);
}

/** The familiar string: `busybox:latest`, `localhost:5000/a/b:t`, `alpine@sha256:...`. */
export function familiarString(ref: Reference): string {
  let s = familiarName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Normalises any user string to the stored full string form with a default tag: `busybox` → `docker.io/library/busybox:latest`. */
export function normalize(s: string): string {
  return format(parseAndDefault(s));
}

/** Familiar display form of a stored full string: `docker.io/library/busybox:latest` → `busybox:latest`. */
export function familiarize(full: string): string {
  return familiarString(parseNormalized(full));
}

/** Validates a tag on its own (`docker tag x repo:TAG`, `?tag=` params). */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** Whether a string is a full 64-hex image ID (without `sha256:`). */
export function isFullID(s: string): boolean {
  return ANCHORED_IDENTIFIER_RE.test(s);
}

/**
 * Whether a string may be (a prefix of) an image ID: hex of 1..64 characters, optionally after `sha256:`. Docker
 * resolves names first and only then tries IDs by prefix, so a short ID like `abc123` is also a valid name.
 */
export function isIDPrefix(s: string): boolean {
  const hex = s.startsWith('sha256:') ? s.slice(7) : s;
  return /^[a-f0-9]{1,64}$/.test(hex);
}

/** Whether a string looks like a *short* image ID (12 hex, or any 6..64 hex) — for display decisions. */
export function looksLikeShortID(s: string): boolean {
  return SHORT_IDENTIFIER_RE.test(s);
}

/** What a user-supplied image string resolves as: a digest/ID (`sha256:...` or 64 hex) or a named reference. */
export type AnyReference = { kind: 'id'; id: string } | { kind: 'named'; ref: Reference };

/** `ParseAnyReference`: 64 hex or `sha256:<hex>` is an ID; anything else must parse as a name. */
export function parseAny(s: string): AnyReference {
  if (ANCHORED_IDENTIFIER_RE.test(s)) return { kind: 'id', id: `sha256:${s}` };
  if (s.startsWith('sha256:')) {
    if (!DIGEST_RE.test(s)) throw refError(ERR_INVALID_FORMAT);
    return { kind: 'id', id: s };
  }
  return { kind: 'named', ref: parseNormalized(s) };
}

/**
 * Parses `repo` and `tag` as the API's `?repo=&tag=` pair (tag/import/commit): `repo` may itself carry a tag.
 * Returns the normalised reference with a default tag. Digests are refused (Docker: "refusing to create a tag with a
 * digest reference").
 */
export function parseRepoTag(repo: string, tag?: string): Reference {
  const ref = parseNormalized(repo);
  if (ref.digest !== undefined) throw refError('refusing to create a tag with a digest reference');
  if (tag) {
    if (!isValidTag(tag)) throw refError(ERR_INVALID_FORMAT);
    if (ref.tag !== undefined) throw refError(ERR_INVALID_FORMAT);
    return { ...ref, tag };
  }
  return withDefaultTag(ref);
}
