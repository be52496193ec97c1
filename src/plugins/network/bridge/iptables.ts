/**
 * berth's iptables rules: NAT (masquerade) for bridge subnets, port publishing (DNAT), and forwarding policy
 * (isolation between networks, --internal), all in chains of berth's own so that they coexist with dockerd's and
 * teardown is exact.
 *
 * Chains (T = the daemon's tag, empty for the default data root):
 *   nat    BERTH[-T]              ← PREROUTING and OUTPUT (`-m addrtype --dst-type LOCAL`): DNAT for published ports
 *   nat    BERTH-POSTROUTING[-T]  ← POSTROUTING: MASQUERADE of bridge subnets, of 127.0.0.0/8 sources routed to a
 *                                   bridge (localhost publishing), and hairpin
 *   filter BERTH-FORWARD[-T]     ← FORWARD (inserted first): per-bridge accept/isolate/drop
 * Each built-in chain gets exactly one jump rule.
 *
 * Publishing on 127.0.0.1 without a userland proxy: the OUTPUT DNAT rule catches locally generated packets to a
 * local address (127.0.0.1 included); `route_localnet=1` on the bridge lets the kernel route the 127.0.0.1-sourced
 * packet out of the bridge, where it is masqueraded to the gateway address. Kernel rules keep working while berthd
 * is down (a proxy inside berthd would not), which is why berth does this instead of running docker-proxy.
 *
 * The chains are always rewritten whole from the desired state (`iptables-restore --noflush`, one spawn, atomic),
 * so the rules equal the persisted state after any crash, restart or partial failure.
 *
 * IPv6 (networks with EnableIPv6): the same chains under the same names in ip6tables, rendered by `renderRules6`
 * from the bridges' IPv6 subnets and the endpoints' IPv6 addresses — masquerade, forwarding policy, DNAT of ports
 * published on `::` or an IPv6 host address. They are made when the first IPv6 network appears and purged with the
 * IPv4 ones. `::1` cannot be published without a userland proxy (IPv6 has no `route_localnet`: the kernel drops
 * replies to ::1 arriving on the bridge), so a `::` binding is reached from the host through any other local IPv6
 * address — the bridge's gateway address, for one — as with dockerd's `--userland-proxy=false`.
 */
import { execFile } from 'node:child_process';
import { execText } from '../netlink.js';

export interface BridgeRuleSpec {
  bridge: string;
  subnet: string;
  /** The bridge's IPv6 subnet, on networks with IPv6. */
  subnet6?: string;
  internal: boolean;
  /** Masquerade outbound traffic (com.docker.network.bridge.enable_ip_masquerade). */
  masquerade: boolean;
  /** Inter-container communication on this bridge (com.docker.network.bridge.enable_icc). */
  icc: boolean;
}

export interface PortRuleSpec {
  proto: 'tcp' | 'udp' | 'sctp';
  /** '' or 0.0.0.0 = every local address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  /** The endpoint's IPv6 address: a binding whose host address is IPv6 (`::`, `::1`, …) goes there. */
  containerIp6?: string;
  containerPort: number;
  bridge: string;
}

/** Whether a published port's host address is an IPv6 one. */
export function isV6Binding(p: { hostIp: string }): boolean {
  return p.hostIp.includes(':');
}

export interface RuleState {
  bridges: BridgeRuleSpec[];
  ports: PortRuleSpec[];
}

export interface ChainNames {
  dnat: string;
  postrouting: string;
  forward: string;
  /** Interface-name wildcard matching every bridge of this daemon (iptables `+` suffix). */
  bridgeWildcard: string;
}

export function chainNames(tag: string, bridgePrefix: string): ChainNames {
  const sfx = tag ? `-${tag}` : '';
  return { dnat: `BERTH${sfx}`, postrouting: `BERTH-POSTROUTING${sfx}`, forward: `BERTH-FORWARD${sfx}`, bridgeWildcard: `${bridgePrefix}+` };
}

/** The jump rules hooking berth's chains into the built-in ones: [table, chain, rule args]. */
export function jumpRules(c: ChainNames): Array<[string, string, string[]]> {
  return [
    ['nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat]],
    ['nat', 'OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat]],
    ['nat', 'POSTROUTING', ['-j', c.postrouting]],
    ['filter', 'FORWARD', ['-j', c.forward]],
  ];
}

/** Renders the iptables-restore input for the whole desired state. Pure (unit-tested). */
export function renderRules(c: ChainNames, s: RuleState): string {
  const nat: string[] = [`:${c.dnat} - [0:0]`, `:${c.postrouting} - [0:0]`];
  const filter: string[] = [`:${c.forward} - [0:0]`];
  for (const b of s.bridges) {
    if (b.masquerade && !b.internal) nat.push(`-A ${c.postrouting} -s ${b.subnet} ! -o ${b.bridge} -j MASQUERADE`);
    nat.push(`-A ${c.postrouting} -s 127.0.0.0/8 -o ${b.bridge} -j MASQUERADE`);
    const F = `-A ${c.forward}`;
    filter.push(`${F} -i ${b.bridge} -o ${b.bridge} -j ${b.icc ? 'ACCEPT' : 'DROP'}`);
    if (b.internal) {
      filter.push(`${F} -i ${b.bridge} -j DROP`, `${F} -o ${b.bridge} -j DROP`);
      continue;
    }
    filter.push(
      `${F} -i ${b.bridge} -o ${c.bridgeWildcard} -j DROP`,
      `${F} -i ${b.bridge} -j ACCEPT`,
      `${F} -o ${b.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      `${F} -o ${b.bridge} -m conntrack --ctstate DNAT -j ACCEPT`,
      `${F} -o ${b.bridge} -j DROP`,
    );
  }
  for (const p of s.ports) {
    if (isV6Binding(p)) continue;
    const dst = p.hostIp && p.hostIp !== '0.0.0.0' ? ` -d ${p.hostIp}/32` : '';
    nat.push(`-A ${c.dnat}${dst} -p ${p.proto} -m ${p.proto} --dport ${p.hostPort} -j DNAT --to-destination ${p.containerIp}:${p.containerPort}`);
    nat.push(`-A ${c.postrouting} -s ${p.containerIp}/32 -d ${p.containerIp}/32 -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -j MASQUERADE`);
  }
  return ['*nat', ...nat, 'COMMIT', '*filter', ...filter, 'COMMIT', ''].join('\n');
}

/** The ip6tables-restore input: the same chains for the IPv6 side of the bridges that have one. Pure. */
export function renderRules6(c: ChainNames, s: RuleState): string {
  const bridges = s.bridges.filter((b) => b.subnet6).map((b) => ({ ...b, subnet: b.subnet6! }));
  const nat: string[] = [`:${c.dnat} - [0:0]`, `:${c.postrouting} - [0:0]`];
  const filter: string[] = [`:${c.forward} - [0:0]`];
  for (const b of bridges) {
    if (b.masquerade && !b.internal) nat.push(`-A ${c.postrouting} -s ${b.subnet} ! -o ${b.bridge} -j MASQUERADE`);
  }
  // the filter rules are the IPv4 ones, bridge for bridge
  const v4 = renderRules(c, { bridges, ports: [] });
  filter.push(...v4.split('\n').filter((l) => l.startsWith(`-A ${c.forward} `)));
  for (const p of s.ports) {
    if (!isV6Binding(p) || !p.containerIp6) continue;
    const dst = p.hostIp !== '::' ? ` -d ${p.hostIp}/128` : '';
    nat.push(`-A ${c.dnat}${dst} -p ${p.proto} -m ${p.proto} --dport ${p.hostPort} -j DNAT --to-destination [${p.containerIp6}]:${p.containerPort}`);
    nat.push(`-A ${c.postrouting} -s ${p.containerIp6}/128 -d ${p.containerIp6}/128 -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -j MASQUERADE`);
  }
  return ['*nat', ...nat, 'COMMIT', '*filter', ...filter, 'COMMIT', ''].join('\n');
}

export type Family = 4 | 6;

const BIN: Record<Family, string> = { 4: 'iptables', 6: 'ip6tables' };

function iptables(args: string[], family: Family = 4): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BIN[family], ['-w', ...args], (err, _o, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) }));
  });
}

/** Writes berth's chains from the desired state, serialised and coalesced (the latest state wins). */
export class Iptables {
  private running: Promise<void> = Promise.resolve();
  private pending: Promise<void> | undefined;
  private hooked = false;
  /** Whether the ip6tables chains exist (made with the first IPv6 network, from then on rewritten too). */
  private v6 = false;

  constructor(readonly chains: ChainNames, private readonly state: () => RuleState) {}

  /** Applies the current desired state (rewrites the chains; hooks them into the built-ins once). */
  sync(): Promise<void> {
    if (this.pending) return this.pending;
    const p = this.running.catch(() => {}).then(async () => {
      this.pending = undefined;
      const state = this.state();
      await execText('iptables-restore', ['-w', '--noflush'], renderRules(this.chains, state));
      if (!this.hooked) {
        await ensureJumps(this.chains);
        this.hooked = true;
      }
      if (this.v6 || state.bridges.some((b) => b.subnet6)) {
        await execText('ip6tables-restore', ['-w', '--noflush'], renderRules6(this.chains, state));
        if (!this.v6) await ensureJumps(this.chains, 6);
        this.v6 = true;
      }
    });
    this.pending = p;
    this.running = p;
    return p;
  }
}

/** Adds each missing jump rule (FORWARD's at the top, before dockerd's DROP policy chains). */
export async function ensureJumps(c: ChainNames, family: Family = 4): Promise<void> {
  for (const [table, chain, rule] of jumpRules(c)) {
    if ((await iptables(['-t', table, '-C', chain, ...rule], family)).code === 0) continue;
    const r = await iptables(['-t', table, chain === 'FORWARD' ? '-I' : '-A', chain, ...(chain === 'FORWARD' ? ['1'] : []), ...rule], family);
    if (r.code !== 0) throw new Error(`${BIN[family]}: cannot hook ${c.dnat} into ${table}/${chain}: ${r.stderr.trim()}`);
  }
}

/**
 * Removes berth's jump rules and chains for these names, in iptables and (where they exist) ip6tables. Idempotent;
 * used at a clean shutdown, by tests and `--iptables` cleanup.
 */
export async function purgeChains(c: ChainNames): Promise<void> {
  for (const family of [4, 6] as const) {
    // ip6tables only when berth made chains there (one probe instead of ten failing calls)
    if (family === 6 && !(await chainsExist(c, 6)).length) continue;
    for (const [table, chain, rule] of jumpRules(c)) {
      for (let i = 0; i < 8; i++) if ((await iptables(['-t', table, '-D', chain, ...rule], family)).code !== 0) break;
    }
    for (const [table, chain] of [['nat', c.dnat], ['nat', c.postrouting], ['filter', c.forward]]) {
      await iptables(['-t', table, '-F', chain], family);
      await iptables(['-t', table, '-X', chain], family);
    }
  }
}

/** Which of these chains exist, as `table/chain` (`ip6:table/chain` for ip6tables; for leak checks in tests). */
export async function chainsExist(c: ChainNames, only?: Family): Promise<string[]> {
  const out: string[] = [];
  for (const family of only ? [only] : ([4, 6] as const)) {
    for (const [table, chain] of [['nat', c.dnat], ['nat', c.postrouting], ['filter', c.forward]]) {
      if ((await iptables(['-t', table, '-S', chain], family)).code === 0) out.push(`${family === 6 ? 'ip6:' : ''}${table}/${chain}`);
    }
  }
  return out;
}

/**
 * Every host port some DNAT rule on this host publishes ("proto/port"), whichever engine made it: berth's chains
 * of other data roots, a dockerd without userland proxy. The port allocator keeps clear of them.
 */
export async function dnatPorts(): Promise<Set<string>> {
  // both families at once (an ephemeral port is shared by the 0.0.0.0 and :: bindings)
  const [v4, v6] = await Promise.all([execText('iptables', ['-w', '-t', 'nat', '-S']), execText('ip6tables', ['-w', '-t', 'nat', '-S']).catch(() => '')]);
  const out = `${v4}\n${v6}`;
  const ports = new Set<string>();
  for (const line of out.split('\n')) {
    if (!line.includes('-j DNAT')) continue;
    const proto = /-p (tcp|udp|sctp)\b/.exec(line)?.[1];
    const port = /--dport (\d+)\b/.exec(line)?.[1];
    if (proto && port) ports.add(`${proto}/${port}`);
  }
  return ports;
}
