/**
 * The bridge driver: a Linux bridge per network (gateway address on it, `route_localnet` for localhost publishing),
 * and per container endpoint a veth pair — the host end attached to the bridge, the other end created directly in
 * the container's namespace under its final name (eth0, eth1, …) with Docker's MAC, then addressed and routed.
 *
 * A container's network namespace is a bind mount under the exec root (`<exec-root>/netns/<id12>`), made before
 * runc starts and joined by path, so it survives berthd and is found again after a restart.
 */
import type { NetOps } from '../../../core/network/index.js';
import { linkExists } from '../netlink.js';

export interface BridgeSpec {
  name: string;
  /** Gateway address with prefix length, e.g. 172.18.0.1/16. */
  gatewayCidr: string;
  /** The IPv6 gateway address with prefix length, on networks with IPv6. */
  gateway6Cidr?: string;
  mtu: number;
}

export interface EndpointSpec {
  hostVeth: string;
  /** Name inside the container (eth0, eth1…). */
  ifName: string;
  mac: string;
  /** Address with prefix length. */
  addressCidr: string;
  /** Default route via this gateway (only for the network that provides the gateway). */
  defaultGateway?: string;
  /** IPv6 address with prefix length, and the IPv6 default route's gateway (as above). */
  address6Cidr?: string;
  defaultGateway6?: string;
  /** `--link-local-ip` addresses with prefix length. */
  linkLocalCidrs?: string[];
  bridge: string;
  mtu: number;
}

/** The namespace's IPv6 switches, on before an IPv6 address is added there (and kept so by the runtime's spec). */
export const IPV6_ON: Record<string, string> = { 'net/ipv6/conf/all/disable_ipv6': '0', 'net/ipv6/conf/default/disable_ipv6': '0' };

/** Creates the bridge if missing, (re)sets its address, brings it up, enables localhost DNAT routing through it. */
export async function ensureBridge(ops: NetOps, b: BridgeSpec): Promise<void> {
  const lines: string[] = [];
  if (!(await linkExists(b.name))) lines.push(`link add name ${b.name} mtu ${b.mtu} type bridge`);
  lines.push(`addr replace ${b.gatewayCidr} dev ${b.name}`, `link set ${b.name} up`);
  await ops.ipBatch(lines);
  await ops.sysctl(`net/ipv4/conf/${b.name}/route_localnet`, '1');
  if (b.gateway6Cidr) {
    // a bridge made while the host's default has IPv6 off would refuse the address; nodad: it is ours alone
    await ops.sysctl(`net/ipv6/conf/${b.name}/disable_ipv6`, '0');
    await ops.ipBatch([`addr replace ${b.gateway6Cidr} dev ${b.name} nodad`]);
  }
}

export async function deleteBridge(ops: NetOps, name: string): Promise<void> {
  if (await linkExists(name)) await ops.ipBatch([`link del ${name}`], undefined, true);
}

/** The host's own network namespace, for moving the host end of a veth out of the container's namespace. */
export function hostNetnsPath(): string {
  return `/proc/${process.pid}/ns/net`;
}

/**
 * The in-namespace commands: loopback up; per endpoint a veth created inside the container's namespace under its
 * final name with Docker's MAC, its peer moved straight to the host namespace; addresses; links up; default route.
 * Creating the pair from inside lets one `unshare … ip -batch` make the namespace and configure it (one spawn).
 */
export function nsEndpointLines(eps: EndpointSpec[], withLoopback: boolean, hostNs = hostNetnsPath()): string[] {
  const lines = withLoopback ? ['link set lo up'] : [];
  for (const e of eps) {
    lines.push(
      `link add ${e.ifName} mtu ${e.mtu} address ${e.mac} type veth peer name ${e.hostVeth} mtu ${e.mtu} netns ${hostNs}`,
      `addr add ${e.addressCidr} dev ${e.ifName}`,
      ...(e.address6Cidr ? [`addr add ${e.address6Cidr} dev ${e.ifName} nodad`] : []),
      ...(e.linkLocalCidrs ?? []).map((a) => `addr add ${a} dev ${e.ifName}${a.includes(':') ? ' nodad' : ''}`),
      `link set ${e.ifName} up`,
    );
  }
  for (const e of eps) if (e.defaultGateway) lines.push(`route replace default via ${e.defaultGateway} dev ${e.ifName}`);
  for (const e of eps) if (e.defaultGateway6) lines.push(`route replace ::/0 via ${e.defaultGateway6} dev ${e.ifName}`);
  return lines;
}

/** The host-side commands: attach each host end to its bridge and bring it up. */
export function hostEndpointLines(eps: EndpointSpec[]): string[] {
  return eps.map((e) => `link set ${e.hostVeth} master ${e.bridge} up`);
}

/**
 * Makes the namespace at `netns` (when `create`) or enters the existing one, and plugs the endpoints in: two
 * spawns in all. On failure the host ends are deleted (which deletes the pairs).
 */
export async function attachEndpoints(ops: NetOps, netns: string, eps: EndpointSpec[], create: boolean): Promise<void> {
  const sysctls = eps.some((e) => e.address6Cidr) ? IPV6_ON : undefined;
  try {
    if (create) await ops.createNetns(netns, nsEndpointLines(eps, true), sysctls);
    else await ops.ipBatch(nsEndpointLines(eps, false), netns, false, sysctls);
    await ops.ipBatch(hostEndpointLines(eps));
  } catch (e) {
    await detachEndpoints(ops, eps.map((x) => x.hostVeth)).catch(() => {});
    throw e;
  }
}

/** Deletes host veth ends (their peers go with them); missing ones are ignored. */
export async function detachEndpoints(ops: NetOps, hostVeths: string[]): Promise<void> {
  const present: string[] = [];
  for (const v of hostVeths) if (await linkExists(v)) present.push(v);
  if (present.length) await ops.ipBatch(present.map((v) => `link del ${v}`), undefined, true);
}
