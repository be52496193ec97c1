/**
 * Which endpoints serve a registry domain (core/registry's RegistryHosts): docker.io pulls go to every
 * `registry-mirrors` entry in order, then to registry-1.docker.io. Secure hosts are HTTPS, verified against the
 * system CAs plus the host's certs directory (`<dir>/<host:port>/*.crt`, client `*.cert` + `*.key`, as dockerd reads
 * /etc/docker/certs.d). Insecure hosts — loopback, and what `insecure-registries` lists (`host`, `host:port`, or a CIDR
 * one of the host's addresses falls in; names are resolved) — are tried over HTTPS without verification first and
 * over plain HTTP when that fails, as dockerd; a loopback host with a certs directory is treated as secure (berth's
 * one difference, see core/registry/types.ts).
 */
import { promises as dns } from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Endpoint, EndpointTLS, RegistryHosts, Remote, RemoteOptions } from '../../core/registry/types.js';
import { invalidArgument } from '../../errdefs/index.js';
import { endpointHost, inCidr, isInsecure } from './auth.js';
import { DistributionRemote, probeTLS } from './client.js';

export interface HostsOptions {
  /** Validated mirror URLs (`http://127.0.0.1:5000/`). */
  mirrors?: readonly string[];
  insecure?: readonly string[];
  /** Certs directories, first with a `<host:port>` subdirectory wins (default none). */
  certsDirs?: readonly string[];
  debug?: (msg: string) => void;
}

function hostOf(hostport: string): string {
  if (hostport.startsWith('[')) return hostport.slice(1, hostport.indexOf(']'));
  const i = hostport.lastIndexOf(':');
  return i > 0 && hostport.indexOf(':') === i ? hostport.slice(0, i) : hostport;
}

/**
 * dockerd's ReadCertsDirectory: `*.crt` are CAs, `*.cert` a client certificate whose `*.key` must be beside it (and
 * the other way round), with dockerd's wording for a half pair.
 */
export function readCertsDirectory(dir: string): EndpointTLS | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return undefined;
  }
  const tls: EndpointTLS = {};
  for (const f of names) {
    const full = path.join(dir, f);
    if (f.endsWith('.crt')) (tls.ca ??= []).push(fs.readFileSync(full, 'utf8'));
    else if (f.endsWith('.cert')) {
      const key = f.slice(0, -'.cert'.length) + '.key';
      if (!names.includes(key)) throw invalidArgument(`missing key ${key} for client certificate ${f}. CA certificates must use the extension .crt`);
      tls.cert = fs.readFileSync(full, 'utf8');
      tls.key = fs.readFileSync(path.join(dir, key), 'utf8');
    } else if (f.endsWith('.key')) {
      const cert = f.slice(0, -'.key'.length) + '.cert';
      if (!names.includes(cert)) throw invalidArgument(`missing client certificate ${cert} for key ${f}`);
    }
  }
  return tls;
}

export class DistributionHosts implements RegistryHosts {
  constructor(private readonly o: HostsOptions = {}) {}

  /** Whether an `insecure-registries` entry names `hostport`: host, host:port, or a CIDR its address is in. */
  private async listed(hostport: string): Promise<boolean> {
    const host = hostOf(hostport);
    const entries = (this.o.insecure ?? []).map((e) => e.replace(/^https?:\/\//, '').replace(/\/+$/, ''));
    if (entries.some((e) => e === hostport || e === host)) return true;
    const cidrs = entries.filter((e) => e.includes('/'));
    if (!cidrs.length) return false;
    return (await this.addresses(host)).some((a) => cidrs.some((c) => inCidr(a, c)));
  }

  /** Loopback (localhost, ::1, 127.0.0.0/8, or a name that resolves there): insecure by default, as dockerd. */
  private async loopback(hostport: string): Promise<boolean> {
    return (await this.addresses(hostOf(hostport))).some((a) => isInsecure(a, []));
  }

  private async addresses(host: string): Promise<string[]> {
    if (net.isIP(host) || host === 'localhost') return [host];
    return (await dns.lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  }

  /** Whether `hostport` is spoken to as an insecure registry (https unverified, then http). */
  async insecure(hostport: string): Promise<boolean> {
    if (await this.listed(hostport)) return true;
    if (!(await this.loopback(hostport))) return false;
    return this.certs(hostport) === undefined;
  }

  /** The TLS material of `<certs dir>/<host:port>`, from the first certs directory that has it. */
  certs(hostport: string): EndpointTLS | undefined {
    for (const d of this.o.certsDirs ?? []) {
      const t = readCertsDirectory(path.join(d, hostport));
      if (t) return t;
    }
    return undefined;
  }

  /** One host's endpoint: verified HTTPS, or for an insecure host HTTPS unverified when it answers, else HTTP. */
  private async endpointFor(hostport: string, mirror: boolean): Promise<Endpoint> {
    if (!(await this.insecure(hostport))) return { base: `https://${hostport}/v2/`, host: hostport, mirror, tls: this.certs(hostport) ?? {} };
    // dockerd: the https endpoint (InsecureSkipVerify) first, plain http when it fails
    const tls: EndpointTLS = { insecureSkipVerify: true };
    const why = await probeTLS(`https://${hostport}/v2/`, tls);
    if (why === undefined) {
      this.o.debug?.(`registry ${hostport}: insecure, https without certificate verification`);
      return { base: `https://${hostport}/v2/`, host: hostport, mirror, tls };
    }
    this.o.debug?.(`registry ${hostport}: insecure, https failed (${why}), falling back to http`);
    return { base: `http://${hostport}/v2/`, host: hostport, mirror };
  }

  async endpoints(domain: string, purpose: 'pull' | 'push' | 'login'): Promise<Endpoint[]> {
    const out: Endpoint[] = [];
    const hub = domain === 'docker.io' || domain === 'index.docker.io';
    if (hub && purpose === 'pull') {
      for (const m of this.o.mirrors ?? []) {
        const u = new URL(m);
        // a mirror's scheme is the user's choice; https mirrors get their certs directory
        out.push(u.protocol === 'http:' ? { base: `http://${u.host}/v2/`, host: u.host, mirror: true } : await this.endpointFor(u.host, true));
      }
    }
    out.push(await this.endpointFor(endpointHost(domain), false));
    return out;
  }

  connect(opts: RemoteOptions): Remote {
    return new DistributionRemote(opts);
  }
}
