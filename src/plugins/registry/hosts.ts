/**
 * Which endpoints serve a registry domain (core/registry's RegistryHosts): docker.io pulls go to every
 * `registry-mirrors` entry in order, then to registry-1.docker.io; plain HTTP is used for loopback and for what
 * `insecure-registries` lists — `host`, `host:port`, or a CIDR that one of the host's addresses falls in, as dockerd
 * (hostnames are resolved to match CIDRs).
 */
import { promises as dns } from 'node:dns';
import net from 'node:net';
import type { Endpoint, RegistryHosts, Remote, RemoteOptions } from '../../core/registry/types.js';
import { endpointHost, isInsecure } from './auth.js';
import { DistributionRemote } from './client.js';

export interface HostsOptions {
  /** Validated mirror URLs (`http://127.0.0.1:5000/`). */
  mirrors?: readonly string[];
  insecure?: readonly string[];
}

function hostOf(hostport: string): string {
  if (hostport.startsWith('[')) return hostport.slice(1, hostport.indexOf(']'));
  const i = hostport.lastIndexOf(':');
  return i > 0 && hostport.indexOf(':') === i ? hostport.slice(0, i) : hostport;
}

export class DistributionHosts implements RegistryHosts {
  constructor(private readonly o: HostsOptions = {}) {}

  /** Whether `hostport` is spoken to over plain HTTP (names resolved against CIDR entries). */
  async insecure(hostport: string): Promise<boolean> {
    const list = this.o.insecure ?? [];
    if (isInsecure(hostport, list)) return true;
    const host = hostOf(hostport);
    if (net.isIP(host) || !list.some((e) => e.includes('/'))) return false;
    try {
      const addrs = await dns.lookup(host, { all: true });
      return addrs.some((a) => isInsecure(a.address, list.filter((e) => e.includes('/'))));
    } catch {
      return false;
    }
  }

  async endpoints(domain: string, purpose: 'pull' | 'push' | 'login'): Promise<Endpoint[]> {
    const out: Endpoint[] = [];
    const hub = domain === 'docker.io' || domain === 'index.docker.io';
    if (hub && purpose === 'pull') {
      for (const m of this.o.mirrors ?? []) {
        const u = new URL(m);
        out.push({ base: `${u.protocol}//${u.host}/v2/`, host: u.host, mirror: true });
      }
    }
    const host = endpointHost(domain);
    out.push({ base: `${(await this.insecure(host)) ? 'http' : 'https'}://${host}/v2/`, host, mirror: false });
    return out;
  }

  connect(opts: RemoteOptions): Remote {
    return new DistributionRemote(opts);
  }
}
