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
 */
import { execFile } from 'node:child_process';
import { execText } from '../netlink.js';

export interface BridgeRuleSpec {
  bridge: string;
  subnet: string;
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
  containerPort: number;
  bridge: string;
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
    const dst = p.hostIp && p.hostIp !== '0.0.0.0' ? ` -d ${p.hostIp}/32` : '';
    nat.push(`-A ${c.dnat}${dst} -p ${p.proto} -m ${p.proto} --dport ${p.hostPort} -j DNAT --to-destination ${p.containerIp}:${p.containerPort}`);
    nat.push(`-A ${c.postrouting} -s ${p.containerIp}/32 -d ${p.containerIp}/32 -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -j MASQUERADE`);
  }
  return ['*nat', ...nat, 'COMMIT', '*filter', ...filter, 'COMMIT', ''].join('\n');
}

function iptables(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('iptables', ['-w', ...args], (err, _o, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) }));
  });
}

/** Writes berth's chains from the desired state, serialised and coalesced (the latest state wins). */
export class Iptables {
  private running: Promise<void> = Promise.resolve();
  private pending: Promise<void> | undefined;
  private hooked = false;

  constructor(readonly chains: ChainNames, private readonly state: () => RuleState) {}

  /** Applies the current desired state (rewrites the chains; hooks them into the built-ins once). */
  sync(): Promise<void> {
    if (this.pending) return this.pending;
    const p = this.running.catch(() => {}).then(async () => {
      this.pending = undefined;
      await execText('iptables-restore', ['-w', '--noflush'], renderRules(this.chains, this.state()));
      if (!this.hooked) {
        await ensureJumps(this.chains);
        this.hooked = true;
      }
    });
    this.pending = p;
    this.running = p;
    return p;
  }
}

/** Adds each missing jump rule (FORWARD's at the top, before dockerd's DROP policy chains). */
export async function ensureJumps(c: ChainNames): Promise<void> {
  for (const [table, chain, rule] of jumpRules(c)) {
    if ((await iptables(['-t', table, '-C', chain, ...rule])).code === 0) continue;
    const r = await iptables(['-t', table, chain === 'FORWARD' ? '-I' : '-A', chain, ...(chain === 'FORWARD' ? ['1'] : []), ...rule]);
    if (r.code !== 0) throw new Error(`iptables: cannot hook ${c.dnat} into ${table}/${chain}: ${r.stderr.trim()}`);
  }
}

/** Removes berth's jump rules and chains for these names. Idempotent; used by tests and `--iptables` cleanup. */
export async function purgeChains(c: ChainNames): Promise<void> {
  for (const [table, chain, rule] of jumpRules(c)) {
    for (let i = 0; i < 8; i++) if ((await iptables(['-t', table, '-D', chain, ...rule])).code !== 0) break;
  }
  for (const [table, chain] of [['nat', c.dnat], ['nat', c.postrouting], ['filter', c.forward]]) {
    await iptables(['-t', table, '-F', chain]);
    await iptables(['-t', table, '-X', chain]);
  }
}

/** Whether any of these chains exists (for leak checks in tests). */
export async function chainsExist(c: ChainNames): Promise<string[]> {
  const out: string[] = [];
  for (const [table, chain] of [['nat', c.dnat], ['nat', c.postrouting], ['filter', c.forward]]) {
    if ((await iptables(['-t', table, '-S', chain])).code === 0) out.push(`${table}/${chain}`);
  }
  return out;
}

/**
 * Every host port some DNAT rule on this host publishes ("proto/port"), whichever engine made it: berth's chains
 * of other data roots, a dockerd without userland proxy. The port allocator keeps clear of them.
 */
export async function dnatPorts(): Promise<Set<string>> {
  const out = await execText('iptables', ['-w', '-t', 'nat', '-S']);
  const ports = new Set<string>();
  for (const line of out.split('\n')) {
    if (!line.includes('-j DNAT')) continue;
    const proto = /-p (tcp|udp|sctp)\b/.exec(line)?.[1];
    const port = /--dport (\d+)\b/.exec(line)?.[1];
    if (proto && port) ports.add(`${proto}/${port}`);
  }
  return ports;
}
