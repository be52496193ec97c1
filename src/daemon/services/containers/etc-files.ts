/**
 * The per-container /etc/hostname, /etc/hosts and /etc/resolv.conf, written into the container's directory and
 * bind-mounted into its rootfs (as Docker does, so the image's own files are untouched).
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface EtcFilesInput {
  dir: string;
  hostname: string;
  domainname: string;
  /** The container's own address on its network, when it has one. */
  ip?: string;
  /** Its IPv6 address there, when the network has IPv6 (a second hosts line, as dockerd writes). */
  ip6?: string;
  /** `--add-host` entries, "name:ip" (Docker also accepts "name=ip"). */
  extraHosts: string[];
  /** legacy links' lines: the target's address and its names (alias, short ID, name) */
  linkHosts?: Array<{ ip: string; names: string[] }>;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** Host networking: the container shares the host's resolv.conf and hosts base. */
  hostNetwork: boolean;
  /** The container's monitor serves DNS on 127.0.0.11 (user-defined networks); `dns` are then its upstreams. */
  embeddedDns?: boolean;
}

export interface EtcFiles {
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
}

/** Loopback-only nameservers are useless inside a private netns; Docker then falls back to public resolvers. */
function usableNameservers(lines: string[]): string[] {
  return lines.filter((l) => /^\s*nameserver\s+/.test(l) && !/nameserver\s+(127\.|::1)/.test(l));
}

export async function writeEtcFiles(input: EtcFilesInput): Promise<EtcFiles> {
  const hostnamePath = path.join(input.dir, 'hostname');
  const hostsPath = path.join(input.dir, 'hosts');
  const resolvConfPath = path.join(input.dir, 'resolv.conf');

  const hostnameWritten = fs.writeFile(hostnamePath, `${input.hostname}\n`);

  const fqdn = input.domainname ? `${input.hostname}.${input.domainname} ${input.hostname}` : input.hostname;
  const hosts = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const h of input.extraHosts) {
    const sep = h.includes('=') ? h.indexOf('=') : h.indexOf(':');
    if (sep > 0) hosts.push(`${h.slice(sep + 1)}\t${h.slice(0, sep)}`);
  }
  for (const l of input.linkHosts ?? []) if (l.ip) hosts.push(`${l.ip}\t${l.names.join(' ')}`);
  if (input.ip) hosts.push(`${input.ip}\t${fqdn}`);
  if (input.ip6) hosts.push(`${input.ip6}\t${fqdn}`);
  const hostsWritten = fs.writeFile(hostsPath, hosts.join('\n') + '\n');

  let hostResolv: string[] = [];
  try {
    hostResolv = (await fs.readFile('/etc/resolv.conf', 'utf8')).split('\n');
  } catch {
    /* no host resolv.conf */
  }
  let resolv: string[];
  if (input.embeddedDns) {
    // Docker's resolv.conf on user-defined networks: only the embedded server, ndots:0 unless the user set ndots.
    const search = input.dnsSearch.length ? [`search ${input.dnsSearch.join(' ')}`] : hostResolv.filter((l) => /^\s*search\s/.test(l));
    const opts = input.dnsOptions.length
      ? input.dnsOptions
      : hostResolv.filter((l) => /^\s*options\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
    if (!opts.some((o) => o.startsWith('ndots:'))) opts.push('ndots:0');
    resolv = [...search, 'nameserver 127.0.0.11', `options ${opts.join(' ')}`];
  } else if (input.dns.length || input.dnsSearch.length || input.dnsOptions.length) {
    const ns = input.dns.length ? input.dns.map((d) => `nameserver ${d}`) : usableNameservers(hostResolv);
    const search = input.dnsSearch.length ? [`search ${input.dnsSearch.join(' ')}`] : hostResolv.filter((l) => /^\s*search\s/.test(l));
    const opts = input.dnsOptions.length ? [`options ${input.dnsOptions.join(' ')}`] : hostResolv.filter((l) => /^\s*options\s/.test(l));
    resolv = [...search, ...ns, ...opts];
  } else if (input.hostNetwork) {
    resolv = hostResolv.filter((l) => l.trim() !== '');
  } else {
    const ns = usableNameservers(hostResolv);
    resolv = [
      ...hostResolv.filter((l) => /^\s*(search|options)\s/.test(l)),
      ...(ns.length ? ns : ['nameserver 8.8.8.8', 'nameserver 8.8.4.4']),
    ];
  }
  await Promise.all([hostnameWritten, hostsWritten, fs.writeFile(resolvConfPath, resolv.join('\n') + '\n')]);
  return { hostnamePath, hostsPath, resolvConfPath };
}
