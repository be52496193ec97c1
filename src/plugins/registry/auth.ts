/**
 * Registry authentication pieces: the `X-Registry-Auth` header the Docker CLI sends, `WWW-Authenticate` challenges,
 * and which endpoints are spoken to over plain HTTP (insecure registries).
 */
import net from 'node:net';

export { decodeAuthHeader, type AuthConfig } from '../../api/types/auth.js';

/** One parsed `WWW-Authenticate` challenge: scheme (lower-case) and its parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (and `Basic realm="..."`). */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!)) !== null) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    if (p[0] === '') break;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

/** The API endpoint host for a reference domain: docker.io is served by registry-1.docker.io. */
export function endpointHost(domain: string): string {
  return domain === 'docker.io' || domain === 'index.docker.io' ? 'registry-1.docker.io' : domain;
}

function splitHost(hostport: string): string {
  if (hostport.startsWith('[')) return hostport.slice(1, hostport.indexOf(']'));
  const i = hostport.lastIndexOf(':');
  return i > 0 && hostport.indexOf(':') === i ? hostport.slice(0, i) : hostport;
}

export function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsS] = cidr.split('/');
  const bits = Number(bitsS);
  if (!net.isIPv4(ip) || !net.isIPv4(base ?? '') || !(bits >= 0 && bits <= 32)) return false;
  const n = (s: string) => s.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (n(ip) & mask) === (n(base!) & mask);
}

/**
 * Whether a registry host is spoken to over plain HTTP: loopback (127.0.0.0/8, ::1, localhost) always, as dockerd
 * does, plus every `--insecure-registry` entry (host, host:port or CIDR).
 */
export function isInsecure(hostport: string, insecure: readonly string[] = []): boolean {
  const host = splitHost(hostport);
  if (host === 'localhost' || host === '::1' || inCidr(host, '127.0.0.0/8')) return true;
  for (const e of insecure) {
    const entry = e.replace(/^https?:\/\//, '').replace(/\/+$/, '');
    if (entry === hostport || entry === host) return true;
    if (entry.includes('/') && inCidr(host, entry)) return true;
  }
  return false;
}
