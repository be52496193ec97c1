/**
 * The bridge driver (Docker's `bridge`): each network is a Linux bridge carrying the gateway address of its pool;
 * each endpoint a veth pair, one end in the sandbox, the other on the bridge (`links.ts`); NAT, isolation and
 * published ports are iptables rules in berth's own chains, rewritten whole from the desired state (`iptables.ts`).
 */
import type {
  DriverEndpoint, DriverNetwork, DriverNetworkState, NetOps, NetworkDriver,
} from '../../../core/network/index.js';
import { Iptables, purgeChains, RuleState, type ChainNames } from './iptables.js';
import { attachEndpoints, deleteBridge, detachEndpoints, EndpointSpec, ensureBridge } from './links.js';

export interface BridgeDriverOptions {
  ops: NetOps;
  mtu: number;
  /** berth's chains for this daemon; undefined with `--iptables=false` (no rules, no ip_forward). */
  chains?: ChainNames;
}

export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge' as const;
  readonly sandbox = 'managed' as const;
  readonly userDefined = true;
  private readonly iptables: Iptables | undefined;
  private rules: RuleState = { bridges: [], ports: [] };
  /** Bridges known to be up in this process (skips the sysfs check on the hot path). */
  private readonly bridgesUp = new Set<string>();

  constructor(private readonly o: BridgeDriverOptions) {
    if (o.chains) this.iptables = new Iptables(o.chains, () => this.rules);
  }

  async up(n: DriverNetwork): Promise<void> {
    const br = n.bridge;
    const pool = n.pools.find((p) => p.family !== 6);
    const pool6 = n.pools.find((p) => p.family === 6);
    if (!br || !pool || this.bridgesUp.has(br)) return;
    await ensureBridge(this.o.ops, {
      name: br,
      gatewayCidr: `${pool.gateway}/${pool.subnet.split('/')[1]}`,
      gateway6Cidr: pool6 ? `${pool6.gateway}/${pool6.subnet.split('/')[1]}` : undefined,
      mtu: this.o.mtu,
    });
    this.bridgesUp.add(br);
  }

  async down(n: DriverNetwork): Promise<void> {
    if (!n.bridge) return;
    await deleteBridge(this.o.ops, n.bridge);
    this.bridgesUp.delete(n.bridge);
  }

  join(sandbox: string, eps: DriverEndpoint[], create: boolean): Promise<void> {
    return attachEndpoints(this.o.ops, sandbox, eps.map((e) => this.spec(e)), create);
  }

  async leave(eps: DriverEndpoint[], sandboxGoing: boolean): Promise<void> {
    // When the namespace is about to be unmounted the kernel deletes the pairs with it (no `ip link del`, whose
    // synchronize_net is the slowest part of teardown); a disconnect from a live namespace deletes them here.
    if (!sandboxGoing) await detachEndpoints(this.o.ops, eps.map((e) => e.hostIface));
  }

  async sync(state: DriverNetworkState[]): Promise<void> {
    if (!this.iptables) return;
    const nets = state.filter((s) => s.network.bridge && s.network.pools.length);
    this.rules = {
      bridges: nets.map(({ network: n }) => ({
        bridge: n.bridge!,
        subnet: n.pools.find((p) => p.family !== 6)!.subnet,
        subnet6: n.pools.find((p) => p.family === 6)?.subnet,
        internal: n.internal,
        masquerade: n.options['com.docker.network.bridge.enable_ip_masquerade'] !== 'false',
        icc: n.options['com.docker.network.bridge.enable_icc'] !== 'false',
      })),
      ports: nets.flatMap(({ network: n, endpoints }) =>
        endpoints.flatMap((ep) => ep.ports.map((p) => ({ ...p, containerIp: ep.ip, containerIp6: ep.ip6, bridge: n.bridge! })))),
    };
    if (nets.some((s) => !s.network.internal)) await this.o.ops.sysctl('net/ipv4/ip_forward', '1');
    // routing for IPv6 networks, as dockerd turns it on (all interfaces: the kernel has no ip_forward for v6)
    if (nets.some((s) => !s.network.internal && s.network.pools.some((p) => p.family === 6))) await this.o.ops.sysctl('net/ipv6/conf/all/forwarding', '1');
    await this.iptables.sync();
  }

  async shutdown(networks: DriverNetwork[]): Promise<void> {
    const lines = networks.filter((n) => n.bridge).map((n) => `link del ${n.bridge}`);
    try {
      await this.o.ops.ipBatch(lines, undefined, true);
      for (const n of networks) if (n.bridge) this.bridgesUp.delete(n.bridge);
    } finally {
      if (this.o.chains) await purgeChains(this.o.chains);
    }
  }

  private spec(e: DriverEndpoint): EndpointSpec {
    return {
      hostVeth: e.hostIface,
      ifName: e.ifName,
      mac: e.mac,
      addressCidr: e.addressCidr,
      defaultGateway: e.defaultGateway,
      address6Cidr: e.address6Cidr,
      defaultGateway6: e.defaultGateway6,
      linkLocalCidrs: e.linkLocalCidrs,
      bridge: e.network.bridge!,
      mtu: this.o.mtu,
    };
  }
}
