/**
 * NetworkService: Docker's networks (predefined bridge/host/none plus user-defined bridge networks) and the
 * container networking hook (`ContainerNetworking`, core/network) the container service calls at
 * create/start/exit/remove. It composes the contracts of `core/network` — a `NetworkDriver` per driver name, the
 * `Ipam`, the `PortAllocator` and the kernel's `NetOps` — which `bootstrap.ts` wires; it never branches on a
 * driver's name, only on what the driver says it is (`sandbox`, `userDefined`).
 *
 * State (all persisted under `<data-root>/network/`, one JSON file per network, written atomically):
 *   network record  — Docker's inspect fields plus berth's part: bridge name, address space (IPAM allocations),
 *                     endpoints (container, address, MAC, host veth, aliases, published ports).
 * A container's namespace is `<exec-root>/netns/<id12>` (bind mount). After a berthd restart the records are read
 * back, so teardown of a container that exited while berthd was down still finds its veths, addresses and ports;
 * `start()` re-creates missing bridges and rewrites berth's iptables chains from the records.
 *
 * Lifecycle of an endpoint: created in `setup` (address allocated, veth plugged, ports published, peers' hosts files
 * updated) → deleted in `teardown` (reverse order). Addresses are allocated at start and released at stop, as Docker
 * does; the allocation is on disk before the container runs, so addresses stay unique across restarts and crashes.
 *
 * Container records belong to the container service: every hook works on a copy of the container's
 * `NetworkSettings` and returns it; connect/disconnect (which start here) hand it to `storeNetworkSettings`.
 */
import type { NetworkCreateRequest } from '../../api/types/network.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ContainerRecord } from '../../core/containers/container.js';
import {
  DEFAULT_POOLS,
  type AddressPool, type ContainerNetworking, type LegacyEndpointConfig, type DriverEndpoint, type DriverName, type DriverNetwork, type Ipam,
  type NetOps, type NetworkContainers, type NetworkDriver, type NetworkSettings, type PoolSpec, type PortAllocator,
  type PortBinding, type PortMap, type PortRequest, type SandboxSetup,
} from '../../core/network/index.js';
import {
  conflict, EngineError, internal, invalidArgument, notFound,
} from '../../errdefs/index.js';
import type { Filters } from '../../pkg/filters/filters.js';
import { formatIp, isIp, macFromIp, parseCidr, parseIp } from '../../pkg/ipnet/ipv4.js';
import { contains6, formatIp6, formatPrefix6, isCidr6, isIp6, overlaps6, parseCidr6, parseIp6 } from '../../pkg/ipnet/ipv6.js';
import { generateId } from '../../pkg/stringid/stringid.js';
import { parseHostPort } from '../../pkg/nat/host-port.js';
import { addPeer, extraHostEntries, peerNames, removePeer } from './network-hosts.js';
import { hostNameservers, renderNameTable, renderResolverConfig, writeAtomic, writeAtomicSync } from './network-dns.js';
import type { EventBus } from './events.js';
import type { Logger } from '../logger.js';

export interface NetworkServiceOptions {
  dataRoot: string;
  execRoot: string;
  /** `--bip`: the default bridge's gateway/prefix, e.g. 10.99.0.1/24. */
  bip?: string;
  defaultAddressPools?: PoolSpec[];
  /** `--ipv6`: the default bridge has IPv6 too, on `fixedCidrV6` (`--fixed-cidr-v6`) or else a /64 of `ula48`. */
  ipv6?: boolean;
  fixedCidrV6?: string;
  /** Bridge name prefix; default derived from the data root (see `networkNaming`). */
  naming?: NetworkNaming;
  mtu?: number;
  /** One driver per name (bootstrap wires bridge, host and null). */
  drivers: Record<DriverName, NetworkDriver>;
  ipam: Ipam;
  ports: PortAllocator;
  ops: NetOps;
  events?: EventBus;
  logger?: Logger;
}

export interface NetworkNaming {
  /** Unique per data root: '' for /var/lib/berth, else 4 hex chars. */
  tag: string;
  /** Prefix of every bridge this daemon makes: "berth" or "berth<tag>". */
  bridgePrefix: string;
  defaultBridge: string;
}

/** Names of this daemon's bridges and chains, derived from its data root so test daemons never collide. */
export function networkNaming(dataRoot: string): NetworkNaming {
  const resolved = path.resolve(dataRoot);
  const tag = resolved === '/var/lib/berth' ? '' : crypto.createHash('sha256').update(resolved).digest('hex').slice(0, 4);
  const bridgePrefix = `berth${tag}`;
  return { tag, bridgePrefix, defaultBridge: `${bridgePrefix}0` };
}

interface Endpoint {
  id: string;
  containerId: string;
  containerName: string;
  ip: string;
  /** The IPv6 address, on networks with IPv6. */
  ip6?: string;
  mac: string;
  hostVeth: string;
  ifName: string;
  aliases: string[];
  ports: PortBinding[];
}

/** The persisted network: Docker's inspect fields + berth's bookkeeping. */
interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: DriverName;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: Array<{ Subnet: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> }> };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** `space`: the IPv4 pool (the record field keeps its first name, so older records read back). */
  berth: { bridge?: string; space?: AddressPool; space6?: AddressPool; endpoints: Record<string, Endpoint>; predefined?: boolean };
}

interface EndpointSettings {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] | null } | null;
  Aliases?: string[] | null;
  /** API ≥ 1.44: the MAC the endpoint is to have. */
  MacAddress?: string;
  /** Legacy links on a user-defined network (the docker CLI puts --link here): kept and shown, as dockerd. */
  Links?: string[] | null;
  [k: string]: unknown;
}

const PREDEFINED = ['bridge', 'host', 'none'];

export class NetworkService implements ContainerNetworking {
  private readonly dir: string;
  private readonly netnsDir: string;
  /** Name tables and resolver configs of the embedded DNS servers (network-dns.ts). */
  private readonly dnsDir: string;
  /** Containers whose monitor serves DNS (they get no peers in /etc/hosts). */
  private readonly resolvers = new Set<string>();
  private readonly ops: NetOps;
  private readonly ipam: Ipam;
  readonly naming: NetworkNaming;
  private readonly networks = new Map<string, NetworkRecord>();
  private containers: NetworkContainers | undefined;
  /** Serialises allocation-affecting operations (setup/teardown/connect/create/remove). */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: NetworkServiceOptions) {
    this.dir = path.join(o.dataRoot, 'network');
    this.netnsDir = path.join(o.execRoot, 'netns');
    this.dnsDir = path.join(o.execRoot, 'dns');
    this.ops = o.ops;
    this.ipam = o.ipam;
    this.naming = o.naming ?? networkNaming(o.dataRoot);
  }

  /** Gives the service its view of the containers (the two services reference each other). */
  attachContainers(c: NetworkContainers): void {
    this.containers = c;
  }

  private driverOf(n: NetworkRecord): NetworkDriver {
    const d = this.o.drivers[n.Driver];
    if (!d) throw internal(`network ${n.Name}: no driver ${n.Driver}`);
    return d;
  }

  /** Whether containers on `n` get endpoints in a sandbox berth makes (bridge networks). */
  private hasEndpoints(n: NetworkRecord): boolean {
    return this.driverOf(n).sandbox === 'managed';
  }

  /** The network as its driver sees it. */
  private driverNetwork(n: NetworkRecord): DriverNetwork {
    const pools = [n.berth.space, n.berth.space6].filter((p): p is AddressPool => p !== undefined);
    return { id: n.Id, name: n.Name, bridge: n.berth.bridge, pools, internal: n.Internal, options: n.Options };
  }

  private driverEndpoint(n: NetworkRecord, ep: Endpoint, gateways?: { v4?: string; v6?: string }): DriverEndpoint {
    const bits = n.berth.space ? n.berth.space.subnet.split('/')[1] : '32';
    const e: DriverEndpoint = { network: this.driverNetwork(n), hostIface: ep.hostVeth, ifName: ep.ifName, mac: ep.mac, addressCidr: `${ep.ip}/${bits}`, defaultGateway: gateways?.v4 };
    if (ep.ip6 && n.berth.space6) {
      e.address6Cidr = `${ep.ip6}/${n.berth.space6.subnet.split('/')[1]}`;
      e.defaultGateway6 = gateways?.v6;
    }
    return e;
  }

  /** Lets every driver re-program its host-wide state (firewall rules) from all of its networks. */
  private async syncDrivers(): Promise<void> {
    for (const d of Object.values(this.o.drivers)) {
      const state = [...this.networks.values()]
        .filter((n) => n.Driver === d.name)
        .map((n) => ({ network: this.driverNetwork(n), endpoints: Object.values(n.berth.endpoints).map((ep) => ({ ip: ep.ip, ip6: ep.ip6, ports: ep.ports })) }));
      await d.sync(state);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lock.catch(() => {}).then(fn);
    this.lock = p;
    return p;
  }

  // ------------------------------------------------------------------ start-up

  /** Loads networks, creates the predefined ones on first start, brings bridges up and rewrites iptables chains. */
  async start(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.netnsDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.dnsDir, { recursive: true, mode: 0o700 });
    for (const f of fs.readdirSync(this.dnsDir)) if (f.startsWith('ctr-')) this.resolvers.add(f.slice(4));
    for (const f of fs.readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const file = path.join(this.dir, f);
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
        const n = JSON.parse(text) as NetworkRecord;
        this.networks.set(n.Id, n);
      } catch (e) {
        await this.quarantine(file, text, (e as Error).message);
      }
    }
    for (const name of ['none', 'host']) {
      if (!this.byName(name)) await this.save(this.predefined(name, name === 'none' ? 'null' : 'host'));
    }
    let def = this.byName('bridge');
    const wantBip = this.o.bip || '';
    if (!def || (wantBip && def.berth.space && `${def.berth.space.gateway}/${def.berth.space.subnet.split('/')[1]}` !== normalizeBip(wantBip))) {
      const space = wantBip ? this.spaceFromBip(wantBip) : this.ipam.newPool(await this.freeSubnet(def ? [def.Id] : [], true));
      if (def) space.allocated = {}; // re-addressed: endpoints are re-made at next start
      def = {
        ...(def ?? this.predefined('bridge', 'bridge')),
        IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: space.subnet, Gateway: space.gateway }] },
        Options: {
          'com.docker.network.bridge.default_bridge': 'true',
          'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': 'true',
          'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          'com.docker.network.bridge.name': this.naming.defaultBridge,
          'com.docker.network.driver.mtu': String(this.o.mtu ?? 1500),
        },
      };
      def.berth = { ...def.berth, bridge: this.naming.defaultBridge, space, predefined: true };
      delete def.berth.space6;
      def.EnableIPv6 = false;
      await this.save(def);
    }
    await this.defaultBridgeV6(def);
    // Networks' host side: the default bridge always; user-defined ones that have endpoints (others come up on
    // first use).
    for (const n of this.networks.values()) {
      if (n.berth.predefined || Object.keys(n.berth.endpoints).length) await this.driverOf(n).up(this.driverNetwork(n));
    }
    await this.syncDrivers();
    // The tables may be behind the records after a crash between the two writes.
    for (const n of this.networks.values()) await this.writeNameTable(n);
  }

  /**
   * A network record that cannot be read (torn by a crash or a full disk): reported in the log, kept beside as
   * `<id>.json.corrupt` for inspection, and its host side (the bridge) removed, so nothing of it is left half alive.
   * Its containers lose that network, as when a network disappears under dockerd.
   */
  private async quarantine(file: string, text: string, why: string): Promise<void> {
    const id = path.basename(file, '.json');
    const bridge = /"com\.docker\.network\.bridge\.name":"([^"]+)"/.exec(text)?.[1]
      ?? /"bridge":"([^"]+)"/.exec(text)?.[1]
      ?? `${this.naming.bridgePrefix}-${id.slice(0, 5)}`;
    const driverName = (/"Driver":"(bridge|host|null)"/.exec(text)?.[1] ?? 'bridge') as DriverName;
    await fsp.rename(file, `${file}.corrupt`).catch(() => {});
    const left = bridge.startsWith(this.naming.bridgePrefix) && bridge !== this.naming.defaultBridge;
    if (left) await this.o.drivers[driverName]?.down({ id, name: id, bridge, pools: [], internal: false, options: {} }).catch(() => {});
    this.o.logger?.error(`network ${id}: unreadable record (${why}); kept as ${path.basename(file)}.corrupt${left ? `, its bridge ${bridge} removed` : ''}`);
  }

  /**
   * `--ipv6` / `--fixed-cidr-v6` for the default bridge: its IPv6 pool follows the daemon's configuration at every
   * start (the pool is made again when the subnet changed; containers get addresses from it at their next start).
   */
  private async defaultBridgeV6(def: NetworkRecord): Promise<void> {
    const want = this.o.ipv6 ? (this.o.fixedCidrV6 ? formatPrefix6(parseCidr6(this.o.fixedCidrV6)) : def.berth.space6?.subnet ?? this.ipam.pickSubnet6(this.ula48(), this.taken6(), await this.hostRoutes(6))) : undefined;
    if ((def.berth.space6?.subnet ?? undefined) === want && def.EnableIPv6 === Boolean(want)) return;
    const v4 = def.IPAM.Config.filter((c) => !isCidr6(c.Subnet));
    if (want) {
      const space6 = this.ipam.newPool(want);
      def.berth.space6 = space6;
      def.IPAM.Config = [...v4, { Subnet: space6.subnet, Gateway: space6.gateway }];
    } else {
      delete def.berth.space6;
      def.IPAM.Config = v4;
    }
    def.EnableIPv6 = Boolean(want);
    await this.save(def);
  }

  /** This daemon's IPv6 ULA /48 (fdXX:XXXX:XXXX::/48 from its data root), networks asking for IPv6 get /64s of it. */
  private ula48(): string {
    const h = crypto.createHash('sha256').update(`berth-ula:${path.resolve(this.o.dataRoot)}`).digest('hex');
    return `fd${h.slice(0, 2)}:${h.slice(2, 6)}:${h.slice(6, 10)}::/48`;
  }

  private taken6(exclude: string[] = []): string[] {
    return [...this.networks.values()].filter((n) => n.berth.space6 && !exclude.includes(n.Id)).map((n) => n.berth.space6!.subnet);
  }

  // ------------------------------------------------------------------ embedded DNS data

  private tablePath(n: NetworkRecord): string {
    return path.join(this.dnsDir, `net-${n.Id}`);
  }

  private resolverPath(containerId: string): string {
    return path.join(this.dnsDir, `ctr-${containerId}`);
  }

  /** Networks whose containers get the embedded DNS server: user-defined ones with endpoints. */
  private hasDns(n: NetworkRecord): boolean {
    return !n.berth.predefined && this.hasEndpoints(n);
  }

  /** Rewrites a user-defined network's name table from its endpoints. */
  private async writeNameTable(n: NetworkRecord): Promise<void> {
    if (!this.hasDns(n)) return;
    const entries = Object.values(n.berth.endpoints).map((ep) => ({
      ip4: ep.ip,
      ip6: ep.ip6,
      names: peerNames(this.containers?.find(ep.containerId)?.Name ?? ep.containerName, ep.containerId, ep.aliases),
    }));
    writeAtomicSync(this.tablePath(n), renderNameTable(n.Name, entries));
  }

  /** Rewrites a container's resolver config: the tables of its user-defined networks and its upstreams. */
  private async writeResolverConfig(rec: ContainerRecord, ns: NetworkSettings): Promise<void> {
    const tables = Object.keys(networksOf(ns))
      .map((nm) => this.find(nm))
      .filter((n): n is NetworkRecord => n !== undefined && this.hasDns(n))
      .map((n) => this.tablePath(n));
    const upstreams = rec.HostConfig.Dns?.length ? rec.HostConfig.Dns : await hostNameservers();
    // legacy links on a user-defined network are aliases this container alone resolves: a table of its own, first
    const linked: Array<{ ip4: string; names: string[] }> = [];
    for (const [nm, ep] of Object.entries(networksOf(ns))) {
      const n = this.find(nm);
      if (!n || !this.hasDns(n) || !Array.isArray(ep.Links)) continue;
      for (const l of ep.Links as string[]) {
        const [target, alias = target] = l.split(':');
        const t = target ? this.containers?.find(target.replace(/^\//, '')) : undefined;
        const tep = t ? Object.values(n.berth.endpoints).find((e) => e.containerId === t.Id) : undefined;
        if (tep?.ip && alias) linked.push({ ip4: tep.ip, names: [alias] });
      }
    }
    if (linked.length) {
      await writeAtomic(this.linkTablePath(rec.Id), renderNameTable('', linked));
      tables.unshift(this.linkTablePath(rec.Id));
    } else await fsp.rm(this.linkTablePath(rec.Id), { force: true });
    await writeAtomic(this.resolverPath(rec.Id), renderResolverConfig(tables, upstreams));
  }

  /** A container's own name table: its legacy links' aliases on user-defined networks. */
  private linkTablePath(containerId: string): string {
    return path.join(this.dnsDir, `lnk-${containerId}`);
  }

  /**
   * After the container service re-adopted running containers: drops endpoints (veth, address, ports) and
   * namespace mounts of containers that are not running any more — a crash between allocation and start, or a
   * container that was removed while berthd was down.
   */
  async reconcile(): Promise<void> {
    if (!this.containers) return;
    let ports = false;
    for (const f of fs.existsSync(this.netnsDir) ? fs.readdirSync(this.netnsDir) : []) {
      const rec = this.containers.find(f);
      if (!rec || !rec.State.Running) await this.ops.deleteNetns(path.join(this.netnsDir, f)).catch(() => {});
    }
    for (const n of this.networks.values()) {
      let changed = false;
      for (const ep of Object.values(n.berth.endpoints)) {
        const rec = this.containers.find(ep.containerId);
        if (rec && (rec.State.Running || rec.State.Status === 'restarting')) continue;
        if (rec === undefined || !rec.State.Running) {
          if (ep.ports.length) ports = true;
          await this.driverOf(n).leave([this.driverEndpoint(n, ep)], false).catch(() => {});
          if (n.berth.space) this.ipam.release(n.berth.space, ep.ip, ep.id);
          if (n.berth.space6 && ep.ip6) this.ipam.release(n.berth.space6, ep.ip6, ep.id);
          delete n.berth.endpoints[ep.id];
          changed = true;
        }
      }
      if (changed) {
        await this.save(n);
        await this.writeNameTable(n);
      }
    }
    for (const id of [...this.resolvers]) {
      const rec = this.containers.find(id);
      if (rec?.State.Running) continue;
      this.resolvers.delete(id);
      await fsp.rm(this.resolverPath(id), { force: true });
      await fsp.rm(this.linkTablePath(id), { force: true });
    }
    if (ports) await this.syncDrivers();
  }

  /**
   * A clean shutdown with no container running removes the bridges and iptables chains (the next start makes them
   * again from the saved records), so a stopped berth leaves nothing on the host. With containers running they stay:
   * those containers keep their network while berthd is away.
   */
  async shutdown(): Promise<void> {
    if (this.containers?.all().some((c) => c.State.Running)) return;
    for (const d of Object.values(this.o.drivers)) {
      const nets = [...this.networks.values()].filter((n) => n.Driver === d.name).map((n) => this.driverNetwork(n));
      await d.shutdown(nets).catch((e) => this.o.logger?.warn(`network driver ${d.name} shutdown: ${(e as Error).message}`));
    }
  }

  private predefined(name: string, driver: NetworkRecord['Driver']): NetworkRecord {
    return {
      Name: name,
      Id: generateId(),
      Created: new Date().toISOString(),
      Scope: 'local',
      Driver: driver,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: [] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Options: {},
      Labels: {},
      berth: { endpoints: {}, predefined: true },
    };
  }

  /**
   * The host's routed prefixes of one family that are not this daemon's bridges: a new subnet must not overlap them.
   * Host routes without a prefix length are single addresses; loopback, link-local and multicast are left out.
   */
  private async hostRoutes(family: 4 | 6 = 4): Promise<string[]> {
    const usable =
      family === 4
        ? (d: string) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(d) && !d.startsWith('127.') && !d.startsWith('0.')
        : (d: string) => /^[0-9a-f:]+\/\d+$/.test(d) && isCidr6(d) && !d.startsWith('fe80:') && !d.startsWith('ff') && d !== '::1/128';
    try {
      const routes = await this.ops.ipJson<Array<{ dst: string; dev?: string }>>([`-${family}`, 'route', 'show', 'table', 'all']);
      const own = new Set(this.bridgeNetworks().map((n) => n.berth.bridge));
      return routes
        .filter((r) => r.dst && r.dst !== 'default' && !(r.dev && own.has(r.dev)))
        .map((r) => (r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`))
        .filter(usable);
    } catch {
      return [];
    }
  }

  private async freeSubnet(exclude: string[] = [], skipDocker = false): Promise<string> {
    const taken = this.bridgeNetworks()
      .filter((n) => !exclude.includes(n.Id))
      .flatMap((n) => n.IPAM.Config.map((c) => c.Subnet).filter((s) => s && !isCidr6(s)));
    const pools = this.o.defaultAddressPools?.length ? this.o.defaultAddressPools : DEFAULT_POOLS;
    return this.ipam.pickSubnet(pools, taken, await this.hostRoutes(), skipDocker && !this.o.defaultAddressPools?.length ? ['172.17.0.0/16'] : []);
  }

  /** Networks with a host-side interface and a pool (bridge networks). */
  private bridgeNetworks(): NetworkRecord[] {
    return [...this.networks.values()].filter((n) => n.berth.bridge && n.berth.space);
  }

  private spaceFromBip(bip: string): AddressPool {
    const p = parseCidr(bip);
    if (p.ip === p.base) throw invalidArgument(`invalid --bip ${bip}: the address must be the bridge's own address, not the network's`);
    return this.ipam.newPool(`${formatIp(p.base)}/${p.bits}`, formatIp(p.ip));
  }

  /** Persists a network record atomically (temp file + rename), serialised per network. */
  /**
   * Writes the record (temp + rename) synchronously, in one step: it is small, and it is written while the
   * service's lock is held, where two async calls would each wait behind whatever fills the thread pool (see
   * writeAtomicSync) with every other setup and teardown queued behind them. Being synchronous, writes of one
   * record can never land out of order.
   */
  private save(n: NetworkRecord): Promise<void> {
    this.networks.set(n.Id, n);
    const file = path.join(this.dir, `${n.Id}.json`);
    try {
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(n));
      fs.renameSync(`${file}.tmp`, file);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  // ------------------------------------------------------------------ lookup

  private byName(name: string): NetworkRecord | undefined {
    for (const n of this.networks.values()) if (n.Name === name) return n;
    return undefined;
  }

  /** Docker's lookup order: full ID, exact name, unique ID prefix. */
  find(ref: string): NetworkRecord | undefined {
    if (!ref) return undefined;
    const direct = this.networks.get(ref);
    if (direct) return direct;
    const named = this.byName(ref);
    if (named) return named;
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const matches = [...this.networks.values()].filter((n) => n.Id.startsWith(ref));
    if (matches.length > 1) throw invalidArgument(`network ${ref} is ambiguous (${matches.length} matches found based on ID prefix)`);
    return matches[0];
  }

  get(ref: string): NetworkRecord {
    const n = this.find(ref);
    if (!n) throw notFound(`network ${ref} not found`);
    return n;
  }

  // ------------------------------------------------------------------ API: networks

  /** Docker's inspect view. */
  private view(n: NetworkRecord, withContainers: boolean): Record<string, unknown> {
    const { berth, ...rest } = n;
    const containers: Record<string, unknown> = {};
    if (withContainers) {
      const bits = berth.space ? berth.space.subnet.split('/')[1] : '';
      const bits6 = berth.space6 ? berth.space6.subnet.split('/')[1] : '';
      for (const ep of Object.values(berth.endpoints)) {
        containers[ep.containerId] = {
          Name: this.containers?.find(ep.containerId)?.Name.slice(1) ?? ep.containerName,
          EndpointID: ep.id,
          MacAddress: ep.mac,
          IPv4Address: ep.ip ? `${ep.ip}/${bits}` : '',
          IPv6Address: ep.ip6 ? `${ep.ip6}/${bits6}` : '',
        };
      }
      if (!this.hasEndpoints(n)) {
        for (const c of this.containers?.all() ?? []) {
          if (!c.State.Running || c.HostConfig.NetworkMode !== n.Name) continue;
          containers[c.Id] = { Name: c.Name.slice(1), EndpointID: '', MacAddress: '', IPv4Address: '', IPv6Address: '' };
        }
      }
    }
    return { ...rest, Containers: containers };
  }

  list(filters?: Filters): Array<Record<string, unknown>> {
    if (filters) {
      for (const k of filters.keys())
        if (!['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'].includes(k)) throw invalidArgument(`invalid filter '${k}'`);
    }
    const out: Array<Record<string, unknown>> = [];
    for (const n of this.networks.values()) {
      if (filters && !this.matches(n, filters)) continue;
      out.push(this.view(n, false));
    }
    return out;
  }

  private matches(n: NetworkRecord, f: Filters): boolean {
    const vals = (k: string) => f.get(k);
    const any = (k: string, test: (v: string) => boolean) => vals(k).length === 0 || vals(k).some(test);
    if (!any('driver', (v) => v === n.Driver)) return false;
    if (!any('id', (v) => n.Id.startsWith(v) || n.Id.includes(v))) return false;
    if (!any('name', (v) => n.Name.includes(v))) return false;
    if (!any('scope', (v) => v === n.Scope)) return false;
    if (!any('type', (v) => {
      if (v !== 'custom' && v !== 'builtin') throw invalidArgument(`invalid filter: 'type'='${v}'`);
      return (v === 'builtin') === Boolean(n.berth.predefined);
    })) return false;
    for (const l of vals('label')) {
      const i = l.indexOf('=');
      if (i < 0 ? !(l in n.Labels) : n.Labels[l.slice(0, i)] !== l.slice(i + 1)) return false;
    }
    if (vals('dangling').length) {
      const want = vals('dangling')[0];
      if (!['true', 'false', '1', '0'].includes(want)) throw invalidArgument(`invalid filter 'dangling=${want}'`);
      const dangling = !n.berth.predefined && !this.inUse(n);
      if (dangling !== (want === 'true' || want === '1')) return false;
    }
    return true;
  }

  inspect(ref: string): Record<string, unknown> {
    return this.view(this.get(ref), true);
  }

  /** Whether a network is used: endpoints (running containers) or containers configured on it. */
  private inUse(n: NetworkRecord): boolean {
    if (Object.keys(n.berth.endpoints).length) return true;
    return (this.containers?.all() ?? []).some((c) => Object.values(networksIn(c.NetworkSettings)).some((s) => (s as { NetworkID?: string }).NetworkID === n.Id));
  }

  createNetwork(body: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    return this.serial(async () => {
      if (!body || typeof body !== 'object') throw invalidArgument('network create: empty request');
      const name = body.Name ?? '';
      if (!name) throw invalidArgument('Name is required');
      // dockerd checks no pattern here: "test 01" and "_x" are valid network names
      if (this.byName(name)) throw conflict(`network with name ${name} already exists`);
      const driverName = body.Driver || 'bridge';
      if (PREDEFINED.includes(name)) throw new EngineError('Forbidden', `operation is not permitted on predefined ${name} network `);
      // Swarm-scoped networks, as a dockerd that is not in a swarm answers them (Debian's 20.10, side by side)
      if (body.Ingress) throw new EngineError('Forbidden', 'Ingress network can only be global scope network');
      if (body.Scope === 'swarm') throw new EngineError('Forbidden', 'cannot create a swarm scoped network when swarm is not active');
      if (body.Scope && body.Scope !== 'local')
        throw internal('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.');
      const driver = Object.hasOwn(this.o.drivers, driverName) ? this.o.drivers[driverName as DriverName] : undefined;
      if (driver && !driver.userDefined) throw new EngineError('Forbidden', `only one instance of "${driverName}" network is allowed`);
      if (!driver) throw notFound(`plugin "${driverName}" not found`);
      const cfgs = body.IPAM?.Config ?? [];
      const cfgs6 = cfgs.filter((x) => x.Subnet && isCidr6(x.Subnet));
      const cfgs4 = cfgs.filter((x) => !cfgs6.includes(x));
      if (cfgs4.length > 1) throw invalidArgument('berth networks support one IPv4 subnet');
      if (cfgs6.length > 1) throw invalidArgument('berth networks support one IPv6 subnet');
      const c = cfgs4[0] ?? {};
      if (c.Subnet && isCidr6(c.Subnet)) throw invalidArgument(`invalid subnet ${c.Subnet}`);
      // IPv6: the pool the user named, or a /64 of this daemon's ULA prefix; a v6 subnet on a network without
      // EnableIPv6 is kept in the IPAM config and gives no addresses (dockerd 20.10 takes it so too).
      let space6: AddressPool | undefined;
      const c6 = cfgs6[0];
      if (body.EnableIPv6) {
        space6 = this.ipam.newPool(c6?.Subnet ?? this.ipam.pickSubnet6(this.ula48(), this.taken6(), await this.hostRoutes(6)), c6?.Gateway, c6?.IPRange);
        const p6 = parseCidr6(space6.subnet);
        for (const other of this.taken6())
          if (overlaps6(p6, parseCidr6(other))) throw new EngineError('Forbidden', 'Pool overlaps with other one on this address space');
      }
      if ((c.Gateway || c.IPRange) && !c.Subnet) throw invalidArgument('invalid pool request: IP range or gateway given without a subnet');
      let space: AddressPool;
      if (c.Subnet) {
        space = this.ipam.newPool(c.Subnet, c.Gateway, c.IPRange);
        const p = parseCidr(space.subnet);
        for (const other of this.bridgeNetworks()) {
          const op = parseCidr(other.berth.space!.subnet);
          const bits = Math.min(p.bits, op.bits);
          if (formatIp((p.base & maskOf(bits)) >>> 0) === formatIp((op.base & maskOf(bits)) >>> 0))
            throw new EngineError('Forbidden', `Pool overlaps with other one on this address space`);
        }
      } else space = this.ipam.newPool(await this.freeSubnet([], true));
      const id = generateId();
      const options = { ...(body.Options ?? {}) };
      const bridge = options['com.docker.network.bridge.name'] || `${this.naming.bridgePrefix}-${id.slice(0, 5)}`;
      if (bridge.length > 15 || !/^[a-zA-Z0-9_.-]+$/.test(bridge)) throw invalidArgument(`invalid bridge name: ${bridge}`);
      if (this.bridgeNetworks().some((n) => n.berth.bridge === bridge)) throw conflict(`bridge name ${bridge} is already in use by another network`);
      const ipamConfig: NetworkRecord['IPAM']['Config'][number] = { Subnet: space.subnet, Gateway: space.gateway };
      if (space.ipRange) ipamConfig.IPRange = space.ipRange;
      // Auxiliary addresses (devices of the user's on the segment): kept, and never handed to a container.
      const aux = c.AuxiliaryAddresses ?? {};
      if ((Object.keys(aux).length) && !c.Subnet) throw invalidArgument('invalid pool request: auxiliary addresses given without a subnet');
      for (const [host, addr] of Object.entries(aux)) {
        const ip = formatIp(parseIp(addr));
        if (!inSubnet(space.subnet, parseIp(ip))) throw invalidArgument(`no matching subnet for aux-address ${addr}`);
        space.allocated[ip] = `aux:${host}`;
      }
      if (Object.keys(aux).length) ipamConfig.AuxiliaryAddresses = { ...aux };
      const ipamConfigs: NetworkRecord['IPAM']['Config'] = [ipamConfig];
      if (space6) {
        const cfg6: NetworkRecord['IPAM']['Config'][number] = { Subnet: space6.subnet, Gateway: space6.gateway };
        if (space6.ipRange) cfg6.IPRange = space6.ipRange;
        ipamConfigs.push(cfg6);
      } else if (c6?.Subnet) ipamConfigs.push({ Subnet: formatPrefix6(parseCidr6(c6.Subnet)), ...(c6.Gateway ? { Gateway: c6.Gateway } : {}) });
      const rec: NetworkRecord = {
        Name: name,
        Id: id,
        Created: new Date().toISOString(),
        Scope: 'local',
        Driver: driver.name,
        EnableIPv6: Boolean(space6),
        IPAM: { Driver: body.IPAM?.Driver || 'default', Options: body.IPAM?.Options ?? {}, Config: ipamConfigs },
        Internal: Boolean(body.Internal),
        Attachable: Boolean(body.Attachable),
        Ingress: false,
        ConfigFrom: { Network: '' },
        ConfigOnly: false,
        Options: options,
        Labels: body.Labels ?? {},
        berth: { bridge, space, ...(space6 ? { space6 } : {}), endpoints: {} },
      };
      await this.save(rec);
      try {
        await driver.up(this.driverNetwork(rec));
        await this.syncDrivers();
      } catch (e) {
        this.networks.delete(id);
        await fsp.rm(path.join(this.dir, `${id}.json`), { force: true });
        await driver.down(this.driverNetwork(rec)).catch(() => {});
        throw e;
      }
      this.o.events?.publish('network', 'create', id, { name, type: driver.name });
      return { Id: id, Warning: '' };
    });
  }

  removeNetwork(ref: string): Promise<void> {
    return this.serial(async () => {
      const n = this.get(ref);
      if (n.berth.predefined) throw new EngineError('Forbidden', `${n.Name} is a pre-defined network and cannot be removed`);
      if (Object.keys(n.berth.endpoints).length)
        throw new EngineError('Forbidden', `error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
      await this.dropNetwork(n);
    });
  }

  private async dropNetwork(n: NetworkRecord): Promise<void> {
    this.networks.delete(n.Id);
    await fsp.rm(path.join(this.dir, `${n.Id}.json`), { force: true });
    await fsp.rm(this.tablePath(n), { force: true });
    await this.driverOf(n).down(this.driverNetwork(n));
    await this.syncDrivers();
    this.o.events?.publish('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
  }

  prune(filters?: Filters): Promise<{ NetworksDeleted: string[] }> {
    return this.serial(async () => {
      if (filters) for (const k of filters.keys()) if (!['label', 'label!', 'until'].includes(k)) throw invalidArgument(`invalid filter '${k}'`);
      const untilMs = filters?.until();
      const deleted: string[] = [];
      for (const n of [...this.networks.values()]) {
        if (n.berth.predefined || this.inUse(n)) continue;
        if (filters && !pruneMatches(n, filters, untilMs)) continue;
        await this.dropNetwork(n);
        deleted.push(n.Name);
      }
      return { NetworksDeleted: deleted };
    });
  }

  /** `POST /networks/{id}/connect`: adds the network to a container; plugs it in now when the container runs. */
  connect(ref: string, containerRef: string, cfg: EndpointSettings | undefined): Promise<void> {
    return this.serial(async () => {
      const n = this.get(ref);
      const rec = this.lookup().get(containerRef);
      const mode = rec.HostConfig.NetworkMode;
      if (!this.hasEndpoints(n) || mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
        if (mode === 'host' || this.driverOf(n).sandbox === 'host') throw new EngineError('Forbidden', 'container cannot be disconnected from host network or connected to host network');
        if (mode.startsWith('container:')) throw new EngineError('Forbidden', 'container sharing network namespace with another container or host cannot be connected to any other network');
        throw new EngineError('Forbidden', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
      }
      const ns = copySettings(rec);
      const nets = networksOf(ns);
      if (nets[n.Name]) throw new EngineError('Forbidden', `endpoint with name ${rec.Name.slice(1)} already exists in network ${n.Name}`);
      this.validateEndpointConfig(n, cfg);
      nets[n.Name] = endpointSettings(n, cfg);
      if (rec.State.Running) await this.plug(rec, ns, [n.Name], false);
      if (rec.State.Running && this.resolvers.has(rec.Id)) await this.writeResolverConfig(rec, ns);
      this.lookup().storeNetworkSettings(rec.Id, ns);
      this.o.events?.publish('network', 'connect', n.Id, { container: rec.Id, name: n.Name, type: n.Driver });
    });
  }

  disconnect(ref: string, containerRef: string, force: boolean): Promise<void> {
    return this.serial(async () => {
      const n = this.get(ref);
      const rec = this.lookup().find(containerRef);
      if (!rec) {
        if (force) {
          // Docker's force-disconnect of a gone container: drop its endpoint by name or ID.
          for (const ep of Object.values(n.berth.endpoints)) if (ep.containerId.startsWith(containerRef) || ep.containerName === containerRef) await this.unplug(n, ep);
          return;
        }
        throw notFound(`No such container: ${containerRef}`);
      }
      if (this.driverOf(n).sandbox === 'host') throw new EngineError('Forbidden', 'container cannot be disconnected from host network or connected to host network');
      const ns = copySettings(rec);
      const nets = networksOf(ns);
      if (!nets[n.Name]) throw new EngineError('Forbidden', `container ${rec.Id} is not connected to network ${n.Name}`);
      const ep = Object.values(n.berth.endpoints).find((e) => e.containerId === rec.Id);
      if (ep) await this.unplug(n, ep, { rec, ns });
      // Docker leaves NetworkMode as is, even when it names this network; the container then starts without it.
      delete nets[n.Name];
      this.syncTopLevel(rec, ns);
      if (rec.State.Running && this.resolvers.has(rec.Id)) await this.writeResolverConfig(rec, ns);
      this.lookup().storeNetworkSettings(rec.Id, ns);
      await this.syncDrivers();
      this.o.events?.publish('network', 'disconnect', n.Id, { container: rec.Id, name: n.Name, type: n.Driver });
    });
  }

  private lookup(): NetworkContainers {
    if (!this.containers) throw internal('network service: container store not attached');
    return this.containers;
  }

  private validateEndpointConfig(n: NetworkRecord, cfg: EndpointSettings | undefined): void {
    const userDefined = !n.berth.predefined;
    if (cfg?.IPAMConfig?.IPv4Address) {
      if (!userDefined) throw invalidArgument('user specified IP address is supported on user defined networks only');
      const ip = parseIp(cfg.IPAMConfig.IPv4Address);
      if (n.berth.space && !inSubnet(n.berth.space.subnet, ip)) throw invalidArgument(`no configured subnet or ip-range contain the IP address ${cfg.IPAMConfig.IPv4Address}`);
    }
    const ip6 = cfg?.IPAMConfig?.IPv6Address;
    if (ip6) {
      if (!userDefined) throw invalidArgument('user specified IP address is supported on user defined networks only');
      if (!isIp6(ip6)) throw invalidArgument(`invalid IPv6 address: ${ip6}`);
      if (!n.berth.space6 || !contains6(parseCidr6(n.berth.space6.subnet), parseIp6(ip6))) throw invalidArgument(`no configured subnet or ip-range contain the IP address ${ip6}`);
    }
    if (cfg?.Aliases?.length && !userDefined) throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
    if (cfg?.MacAddress) normalizeMac(cfg.MacAddress);
    const bad = (cfg?.IPAMConfig?.LinkLocalIPs ?? []).filter((a) => !isIp(a) && !isIp6(a));
    if (bad.length) throw invalidArgument(`Invalid link-local IP address: [${bad.join(' ')}]`);
  }

  // ------------------------------------------------------------------ ContainerNetworking

  async create(rec: ContainerRecord, networkingConfig: Record<string, unknown> | undefined, legacy?: LegacyEndpointConfig): Promise<{ settings: NetworkSettings; portBindings: PortMap | null }> {
    const mode = rec.HostConfig.NetworkMode || 'bridge';
    const eps: Record<string, EndpointSettings> = { ...((networkingConfig?.EndpointsConfig ?? {}) as Record<string, EndpointSettings>) };
    const ns = copySettings(rec);
    if (mode.startsWith('container:')) {
      // a donor that does not exist (yet) fails the start with 404 "No such container: <ref>", as with dockerd
      const other = this.lookup().find(mode.slice('container:'.length));
      if (other?.Id === rec.Id) throw invalidArgument('cannot join own network namespace');
      if (Object.keys(rec.HostConfig.PortBindings ?? {}).length) throw invalidArgument('conflicting options: port publishing and the container type network mode');
      ns.Networks = {};
      return { settings: ns, portBindings: rec.HostConfig.PortBindings };
    }
    // A network that does not exist (yet) fails the start, not the create, as with dockerd.
    const primaryRef = mode === 'default' ? 'bridge' : mode;
    const primary = this.find(primaryRef);
    const primaryName = primary?.Name ?? primaryRef;
    if (eps.default && !eps[primaryName]) {
      eps[primaryName] = eps.default;
      delete eps.default;
    }
    const nets: Record<string, unknown> = {};
    let primaryCfg = eps[mode] ?? eps[primaryName] ?? (primary ? eps[primary.Id] : undefined);
    // The legacy Config.MacAddress (API < 1.44) is the primary endpoint's MAC.
    const legacyMac = legacy?.macAddress;
    if (legacyMac && !primaryCfg?.MacAddress) primaryCfg = { ...primaryCfg, MacAddress: legacyMac };
    if (primary) this.validateEndpointConfig(primary, primaryCfg);
    nets[primaryName] = endpointSettings(primary, primaryCfg);
    for (const [key, cfg] of Object.entries(eps)) {
      const n = this.find(key);
      if (n && primary && n.Id === primary.Id) continue;
      if (!n) {
        if (key !== primaryName) nets[key] = endpointSettings(undefined, cfg);
        continue;
      }
      if ((primary && !this.hasEndpoints(primary)) || !this.hasEndpoints(n))
        throw invalidArgument('Container cannot be connected to network endpoints: host and none networks are exclusive');
      this.validateEndpointConfig(n, cfg);
      nets[n.Name] = endpointSettings(n, cfg);
    }
    ns.Networks = nets;
    ns.Ports = {};
    const portBindings = !primary || this.hasEndpoints(primary) ? normalizePortBindings(rec.HostConfig.PortBindings) : rec.HostConfig.PortBindings;
    return { settings: ns, portBindings };
  }

  setup(rec: ContainerRecord): Promise<SandboxSetup> {
    return this.serial(async () => {
      const mode = rec.HostConfig.NetworkMode || 'bridge';
      const ns = copySettings(rec);
      if (mode === 'host') {
        ns.SandboxKey = '';
        return { netnsPath: 'host', settings: ns };
      }
      if (mode.startsWith('container:')) {
        const other = this.lookup().get(mode.slice('container:'.length));
        if (!other.State.Running) throw conflict(`cannot join network of a non running container: ${other.Id}`);
        if (other.HostConfig.NetworkMode === 'host') return { netnsPath: 'host', settings: ns };
        const key = String((other.NetworkSettings as Record<string, unknown>).SandboxKey || '');
        return { netnsPath: key && fs.existsSync(key) ? key : `/proc/${other.State.Pid}/ns/net`, settings: ns };
      }
      const primary = this.find(mode);
      const netns = path.join(this.netnsDir, rec.Id.slice(0, 12));
      if (fs.existsSync(netns)) await this.ops.deleteNetns(netns).catch(() => {}); // leftovers of a crash
      ns.SandboxKey = netns;
      ns.SandboxID = crypto.createHash('sha256').update(netns + rec.Id).digest('hex');
      if (primary && this.driverOf(primary).sandbox === 'empty') {
        // An empty namespace (loopback up) that is still a real SandboxKey, as dockerd's: CNI plugins driven by
        // cri-dockerd enter a NetworkMode=none sandbox through it.
        await this.ops.createNetns(netns, ['link set lo up']);
        return { netnsPath: netns, settings: ns };
      }
      try {
        const names = Object.keys(networksOf(ns));
        // Missing networks (removed while the container was stopped) fail the start as in Docker.
        for (const nm of names) this.get(nm);
        await this.plug(rec, ns, names, true);
        if (!fs.existsSync(netns)) await this.ops.createNetns(netns); // no bridge endpoint at all
      } catch (e) {
        await this.unplugAll(rec, ns).catch(() => {});
        await this.ops.deleteNetns(netns).catch(() => {});
        throw e;
      }
      // dockerd: a connect event per network at every start (and a disconnect at every stop, teardown)
      for (const nm of Object.keys(networksOf(ns))) {
        const n = this.get(nm);
        this.o.events?.publish('network', 'connect', n.Id, { container: rec.Id, name: n.Name, type: n.Driver });
      }
      const primaryName = primary?.Name ?? Object.keys(networksOf(ns))[0];
      const primaryEp = primaryName ? networksOf(ns)[primaryName] as { IPAddress?: string; GlobalIPv6Address?: string } | undefined : undefined;
      const ip6 = primaryEp?.GlobalIPv6Address || undefined;
      // IPv6 on in the container's namespace (runc writes them there; the user's --sysctl still wins)
      const v6 = Object.values(networksOf(ns)).some((e) => (e as { GlobalIPv6Address?: string }).GlobalIPv6Address);
      const sysctls = v6 ? { 'net.ipv6.conf.all.disable_ipv6': '0', 'net.ipv6.conf.default.disable_ipv6': '0' } : undefined;
      // On a user-defined network the container's monitor serves DNS (Docker's 127.0.0.11); peers are not in
      // its /etc/hosts then, as with Docker.
      if (Object.keys(networksOf(ns)).some((nm) => this.hasDns(this.get(nm)))) {
        await this.writeResolverConfig(rec, ns);
        this.resolvers.add(rec.Id);
        return { netnsPath: netns, ip: primaryEp?.IPAddress || undefined, ip6, sysctls, settings: ns, resolver: { configPath: this.resolverPath(rec.Id) } };
      }
      this.resolvers.delete(rec.Id);
      // Peers on user-defined networks, for /etc/hosts.
      const peers: Array<{ ip: string; names: string[] }> = [];
      for (const nm of Object.keys(networksOf(ns))) {
        const n = this.get(nm);
        if (n.berth.predefined) continue;
        for (const ep of Object.values(n.berth.endpoints)) {
          if (ep.containerId === rec.Id) continue;
          const peer = this.containers?.find(ep.containerId);
          peers.push({ ip: ep.ip, names: peerNames(peer?.Name ?? ep.containerName, ep.containerId, ep.aliases) });
        }
      }
      return { netnsPath: netns, ip: primaryEp?.IPAddress || undefined, ip6, sysctls, extraHosts: extraHostEntries(peers), settings: ns };
    });
  }

  /** Creates endpoints for `names` in the container's namespace (allocations persisted first); fills `ns`. */
  private async plug(rec: ContainerRecord, ns: NetworkSettings, names: string[], fresh: boolean): Promise<void> {
    const netns = String(ns.SandboxKey || '');
    if (!netns) throw conflict(`container ${rec.Id} has no network namespace of berth's`);
    const nets = networksOf(ns);
    const mode = rec.HostConfig.NetworkMode;
    const primary = this.find(mode);
    let ifIndex = fresh ? 0 : this.nextIfIndex(rec);
    const byDriver = new Map<NetworkDriver, DriverEndpoint[]>();
    const made: Array<{ n: NetworkRecord; ep: Endpoint }> = [];
    try {
      for (const nm of names) {
        const n = this.get(nm);
        if (!this.hasEndpoints(n)) continue;
        const driver = this.driverOf(n);
        await driver.up(this.driverNetwork(n));
        const settings = nets[n.Name] as Record<string, unknown> & EndpointSettings;
        const epId = generateId();
        const linkLocal = linkLocalCidrs(settings.IPAMConfig?.LinkLocalIPs ?? []);
        const ip = this.ipam.allocate(n.berth.space!, epId, settings.IPAMConfig?.IPv4Address || undefined);
        let ip6: string | undefined;
        try {
          if (n.berth.space6) ip6 = this.ipam.allocate(n.berth.space6, epId, settings.IPAMConfig?.IPv6Address || undefined);
        } catch (e) {
          this.ipam.release(n.berth.space!, ip, epId);
          throw e;
        }
        const ep: Endpoint = {
          id: epId,
          containerId: rec.Id,
          containerName: rec.Name.slice(1),
          ip,
          ...(ip6 ? { ip6 } : {}),
          mac: settings.MacAddress ? normalizeMac(settings.MacAddress) : macFromIp(parseIp(ip)),
          hostVeth: `bveth${epId.slice(0, 10)}`,
          ifName: `eth${ifIndex++}`,
          aliases: (settings.Aliases ?? []).filter((a) => a !== rec.Id.slice(0, 12)),
          ports: [],
        };
        n.berth.endpoints[epId] = ep;
        made.push({ n, ep });
        const isPrimary = primary ? n.Id === primary.Id : made.length === 1;
        if (isPrimary) ep.ports = await this.allocatePorts(rec, ep);
        const bits = n.berth.space!.subnet.split('/')[1];
        const list = byDriver.get(driver) ?? [];
        const dep = this.driverEndpoint(n, ep, isPrimary && !n.Internal ? { v4: n.berth.space!.gateway, v6: n.berth.space6?.gateway } : undefined);
        if (linkLocal.length) dep.linkLocalCidrs = linkLocal;
        list.push(dep);
        byDriver.set(driver, list);
        Object.assign(settings, {
          NetworkID: n.Id,
          EndpointID: epId,
          Gateway: n.berth.space!.gateway,
          IPAddress: ip,
          IPPrefixLen: Number(bits),
          IPv6Gateway: ip6 ? n.berth.space6!.gateway : '',
          GlobalIPv6Address: ip6 ?? '',
          GlobalIPv6PrefixLen: ip6 ? Number(n.berth.space6!.subnet.split('/')[1]) : 0,
          MacAddress: ep.mac,
          Aliases: n.berth.predefined ? settings.Aliases ?? null : [...new Set([...(ep.aliases ?? []), rec.Id.slice(0, 12)])],
        });
      }
      await Promise.all(made.map(({ n }) => this.save(n)));
      // One driver in practice (bridge); the first join of a fresh start makes the namespace.
      let create = fresh;
      for (const [driver, eps] of byDriver) {
        await driver.join(netns, eps, create);
        create = false;
      }
    } catch (e) {
      for (const { n, ep } of made) {
        this.ipam.release(n.berth.space!, ep.ip, ep.id);
        if (n.berth.space6 && ep.ip6) this.ipam.release(n.berth.space6, ep.ip6, ep.id);
        delete n.berth.endpoints[ep.id];
        clearEndpointSettings(nets[n.Name] as Record<string, unknown>);
        await this.save(n);
      }
      throw e;
    }
    if (made.some(({ ep }) => ep.ports.length)) await this.syncDrivers();
    this.syncTopLevel(rec, ns);
    for (const { n } of made) await this.writeNameTable(n);
    // Tell running peers without a DNS server of their own about the newcomer (hosts files).
    for (const { n, ep } of made) {
      if (n.berth.predefined) continue;
      const names = peerNames(rec.Name, rec.Id, ep.aliases);
      for (const other of Object.values(n.berth.endpoints)) {
        if (other.containerId === rec.Id || this.resolvers.has(other.containerId)) continue;
        const peer = this.containers?.find(other.containerId);
        if (peer?.HostsPath) await addPeer(peer.HostsPath, ep.ip, names).catch(() => {});
      }
      // A connect on a running container without a DNS server: it learns its peers too.
      if (!fresh && rec.HostsPath && !this.resolvers.has(rec.Id)) {
        for (const other of Object.values(n.berth.endpoints)) {
          if (other.containerId === rec.Id) continue;
          const peer = this.containers?.find(other.containerId);
          await addPeer(rec.HostsPath, other.ip, peerNames(peer?.Name ?? other.containerName, other.containerId, other.aliases)).catch(() => {});
        }
      }
    }
  }

  private nextIfIndex(rec: ContainerRecord): number {
    let max = -1;
    for (const n of this.networks.values())
      for (const ep of Object.values(n.berth.endpoints)) if (ep.containerId === rec.Id) max = Math.max(max, Number(ep.ifName.slice(3)));
    return max + 1;
  }

  /**
   * Removes one endpoint: link, address, ports, peers' hosts entries. `own` is the container being changed with
   * the copy of its settings to update (absent for an endpoint whose container is gone).
   */
  private async unplug(n: NetworkRecord, ep: Endpoint, own?: { rec: ContainerRecord; ns: NetworkSettings }, nsGoing = false): Promise<void> {
    await this.driverOf(n).leave([this.driverEndpoint(n, ep)], nsGoing);
    if (n.berth.space) this.ipam.release(n.berth.space, ep.ip, ep.id);
    if (n.berth.space6 && ep.ip6) this.ipam.release(n.berth.space6, ep.ip6, ep.id);
    delete n.berth.endpoints[ep.id];
    await this.save(n);
    await this.writeNameTable(n);
    if (!n.berth.predefined) {
      for (const other of Object.values(n.berth.endpoints)) {
        if (this.resolvers.has(other.containerId)) continue;
        const peer = this.containers?.find(other.containerId);
        if (peer?.HostsPath) await removePeer(peer.HostsPath, ep.ip, other.ip).catch(() => {});
      }
    }
    if (own) {
      const { rec, ns } = own;
      const s = networksOf(ns)[n.Name] as Record<string, unknown> | undefined;
      if (s) clearEndpointSettings(s);
      // Its own hosts file forgets the peers of that network.
      if (rec.HostsPath && rec.State.Running && !n.berth.predefined && !this.resolvers.has(rec.Id))
        for (const other of Object.values(n.berth.endpoints)) await removePeer(rec.HostsPath, other.ip, ep.ip).catch(() => {});
    }
  }

  private async unplugAll(rec: ContainerRecord, ns: NetworkSettings, nsGoing = false): Promise<boolean> {
    let hadPorts = false;
    for (const n of [...this.networks.values()]) {
      for (const ep of Object.values(n.berth.endpoints)) {
        if (ep.containerId !== rec.Id) continue;
        if (ep.ports.length) hadPorts = true;
        await this.unplug(n, ep, { rec, ns }, nsGoing);
      }
    }
    return hadPorts;
  }

  async teardown(rec: ContainerRecord): Promise<NetworkSettings> {
    const netns = path.join(this.netnsDir, rec.Id.slice(0, 12));
    const ns = await this.serial(async () => {
      const ns = copySettings(rec);
      // The container has stopped; unless another running container joined its namespace (--network
      // container:<it>), unmounting the namespace destroys it and the veths in it.
      const joined = (this.containers?.all() ?? []).some((c) => {
        const m = c.HostConfig.NetworkMode;
        if (c.Id === rec.Id || !c.State.Running || !m.startsWith('container:')) return false;
        const ref = m.slice('container:'.length);
        return rec.Id.startsWith(ref) || rec.Name === `/${ref}`;
      });
      const nsGoing = fs.existsSync(netns) && !joined;
      if (fs.existsSync(netns))
        for (const nm of Object.keys(networksOf(ns))) {
          const n = this.find(nm);
          if (n) this.o.events?.publish('network', 'disconnect', n.Id, { container: rec.Id, name: n.Name, type: n.Driver });
        }
      const hadPorts = await this.unplugAll(rec, ns, nsGoing);
      if (hadPorts) await this.syncDrivers();
      // its own small files, synchronously (see writeAtomicSync: async calls here wait behind a busy thread pool)
      if (this.resolvers.delete(rec.Id)) fs.rmSync(this.resolverPath(rec.Id), { force: true });
      fs.rmSync(this.linkTablePath(rec.Id), { force: true });
      ns.SandboxKey = '';
      ns.SandboxID = '';
      ns.Ports = {};
      for (const s of Object.values(networksOf(ns))) clearEndpointSettings(s as Record<string, unknown>);
      this.syncTopLevel(rec, ns);
      return ns;
    });
    // The namespace is this container's alone (its endpoints are gone from every record): unmounted after the
    // lock, so the other containers' teardowns do not wait for it.
    await this.ops.deleteNetns(netns);
    return ns;
  }

  async remove(rec: ContainerRecord): Promise<void> {
    await this.teardown(rec);
  }

  /** Docker fills the top-level address fields from the default bridge endpoint only; Ports from the primary. */
  private syncTopLevel(rec: ContainerRecord, ns: NetworkSettings): void {
    const b = networksOf(ns).bridge as Record<string, unknown> | undefined;
    ns.Bridge = '';
    ns.IPAddress = (b?.IPAddress as string) ?? '';
    ns.IPPrefixLen = (b?.IPPrefixLen as number) ?? 0;
    ns.Gateway = (b?.Gateway as string) ?? '';
    ns.MacAddress = (b?.MacAddress as string) ?? '';
    ns.EndpointID = (b?.EndpointID as string) ?? '';
    ns.GlobalIPv6Address = (b?.GlobalIPv6Address as string) ?? '';
    ns.GlobalIPv6PrefixLen = (b?.GlobalIPv6PrefixLen as number) ?? 0;
    ns.IPv6Gateway = (b?.IPv6Gateway as string) ?? '';
    // Ports: exposed and published ports of the running container.
    const ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
    const eps = [...this.networks.values()].flatMap((n) => Object.values(n.berth.endpoints)).filter((e) => e.containerId === rec.Id);
    if (eps.length) {
      for (const k of Object.keys(rec.Config.ExposedPorts ?? {})) ports[normalizePortKey(k)] = null;
      for (const k of Object.keys(rec.HostConfig.PortBindings ?? {})) ports[normalizePortKey(k)] ??= null;
      for (const ep of eps)
        for (const p of ep.ports) {
          const key = `${p.containerPort}/${p.proto}`;
          (ports[key] ??= []).push({ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) });
        }
    }
    ns.Ports = ports;
  }

  // ------------------------------------------------------------------ ports

  private usedPorts(): Set<string> {
    const used = new Set<string>();
    for (const n of this.networks.values())
      for (const ep of Object.values(n.berth.endpoints)) for (const p of ep.ports) used.add(`${p.proto}/${p.hostPort}`);
    return used;
  }

  /**
   * Turns PortBindings (+ PublishAllPorts) into requests for the port allocator. On an endpoint with IPv6 a binding
   * without host address is published on `::` too, on the same port (dockerd's pair of `0.0.0.0` and `::` entries);
   * without IPv6, bindings to IPv6 host addresses are left out (no address to forward them to).
   */
  private async allocatePorts(rec: ContainerRecord, ep: Endpoint): Promise<PortBinding[]> {
    const want = this.portRequests(rec).filter((w) => ep.ip6 || !w.hostIp.includes(':'));
    const got = await this.o.ports.allocate(want, this.usedPorts(), { name: ep.containerName, id: ep.id });
    if (!ep.ip6) return got;
    const out: PortBinding[] = [];
    for (const b of got) {
      out.push(b);
      const req = want.find((w) => w.proto === b.proto && w.containerPort === b.containerPort && (w.hostIp || '0.0.0.0') === b.hostIp);
      if (req && !req.hostIp) out.push({ ...b, hostIp: '::' });
    }
    return out;
  }

  private portRequests(rec: ContainerRecord): PortRequest[] {
    const want: PortRequest[] = [];
    const bindings = rec.HostConfig.PortBindings ?? {};
    for (const [key, list] of Object.entries(bindings)) {
      const { port, proto } = parsePortKey(key);
      for (const b of list ?? [{ HostIp: '', HostPort: '' }]) {
        want.push({ proto, containerPort: port, hostIp: b?.HostIp || '', range: parseHostPort(b?.HostPort) });
      }
    }
    if (rec.HostConfig.PublishAllPorts) {
      for (const key of Object.keys(rec.Config.ExposedPorts ?? {})) {
        const { port, proto } = parsePortKey(key);
        if (want.some((w) => w.containerPort === port && w.proto === proto)) continue;
        want.push({ proto, containerPort: port, hostIp: '' });
      }
    }
    return want;
  }

  /** For leak checks and cleanup: the bridges this daemon has made. */
  bridges(): string[] {
    return this.bridgeNetworks().map((n) => n.berth.bridge!);
  }
}

// ------------------------------------------------------------------ helpers

function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

function inSubnet(subnet: string, ip: number): boolean {
  const p = parseCidr(subnet);
  return ((ip & maskOf(p.bits)) >>> 0) === p.base;
}

function normalizeBip(bip: string): string {
  const p = parseCidr(bip);
  return `${formatIp(p.ip)}/${p.bits}`;
}

/**
 * `--link-local-ip`s as interface addresses: each must be link-local unicast (169.254.0.0/16, fe80::/10), given the
 * link-local prefix length, as libnetwork adds them. Checked at the start (dockerd's create takes any address).
 */
function linkLocalCidrs(ips: string[]): string[] {
  return ips.map((a) => {
    if (isIp(a) && (parseIp(a) >>> 16) === 0xa9fe) return `${formatIp(parseIp(a))}/16`;
    if (isIp6(a) && (parseIp6(a) >> 118n) === 0x3fan) return `${formatIp6(parseIp6(a))}/64`;
    throw invalidArgument(`invalid link local IP address: ${a}`);
  });
}

/** A MAC address as the kernel takes it (lower case, colons); Docker's error otherwise. */
function normalizeMac(mac: string): string {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(mac.trim());
  if (!m) throw invalidArgument(`invalid MAC address: ${mac}`);
  return m.slice(1).join(':').toLowerCase();
}

/** A deep copy of a container's NetworkSettings: the hooks change the copy and hand it back. */
function copySettings(rec: ContainerRecord): NetworkSettings {
  return structuredClone(rec.NetworkSettings ?? {}) as NetworkSettings;
}

/** The endpoints of a settings object being changed (made when missing). */
function networksOf(ns: NetworkSettings): Record<string, Record<string, unknown>> {
  if (!ns.Networks || typeof ns.Networks !== 'object') ns.Networks = {};
  return ns.Networks as Record<string, Record<string, unknown>>;
}

/** The endpoints of a stored container's settings, read only. */
function networksIn(ns: NetworkSettings | undefined): Record<string, Record<string, unknown>> {
  const nets = ns?.Networks;
  return nets && typeof nets === 'object' ? (nets as Record<string, Record<string, unknown>>) : {};
}

/** A new endpoint's settings; `n` undefined for a network that does not exist yet (the start will fail). */
function endpointSettings(n: NetworkRecord | undefined, cfg: EndpointSettings | undefined): Record<string, unknown> {
  const ipv4 = cfg?.IPAMConfig?.IPv4Address;
  const ipv6 = cfg?.IPAMConfig?.IPv6Address;
  const linkLocal = cfg?.IPAMConfig?.LinkLocalIPs ?? [];
  const ipam: Record<string, unknown> = {};
  if (ipv4) ipam.IPv4Address = ipv4;
  if (ipv6) ipam.IPv6Address = formatIp6(parseIp6(ipv6));
  if (linkLocal.length) ipam.LinkLocalIPs = [...linkLocal];
  return {
    IPAMConfig: Object.keys(ipam).length ? ipam : null,
    Links: cfg?.Links?.length ? [...cfg.Links] : null,
    Aliases: cfg?.Aliases?.length ? [...cfg.Aliases] : null,
    NetworkID: n?.Id ?? '',
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    // a configured MAC shows before the start too, as with dockerd ≥ 25
    MacAddress: cfg?.MacAddress ? normalizeMac(cfg.MacAddress) : '',
    DriverOpts: null,
  };
}

function clearEndpointSettings(s: Record<string, unknown> | undefined): void {
  if (!s) return;
  // A MAC the user configured stays (the next start uses it again); one derived from the address goes with it.
  const ip = typeof s.IPAddress === 'string' && s.IPAddress ? s.IPAddress : '';
  const mac = typeof s.MacAddress === 'string' ? s.MacAddress : '';
  const configured = mac && (!ip || mac !== macFromIp(parseIp(ip)));
  Object.assign(s, { EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: configured ? mac : '' });
  if (Array.isArray(s.Aliases)) {
    // The short-ID alias is added at start; keep only the user's.
    const left = (s.Aliases as string[]).filter((a) => !/^[0-9a-f]{12}$/.test(a));
    s.Aliases = left.length ? left : null;
  }
}

function parsePortKey(key: string): { port: number; proto: PortBinding['proto'] } {
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(key.trim());
  if (!m) throw invalidArgument(`invalid port specification: "${key}"`);
  const port = Number(m[1]);
  if (port < 1 || port > 65535) throw invalidArgument(`invalid port specification: "${key}"`);
  return { port, proto: (m[2]?.toLowerCase() ?? 'tcp') as PortBinding['proto'] };
}

function normalizePortKey(key: string): string {
  const { port, proto } = parsePortKey(key);
  return `${port}/${proto}`;
}

/** Checks PortBindings and fills in the fields a client left out, as Go's zero values do in dockerd's inspect. */
function normalizePortBindings(bindings: PortMap | null): PortMap | null {
  if (!bindings) return bindings;
  const out: PortMap = {};
  for (const [key, list] of Object.entries(bindings)) {
    parsePortKey(key);
    for (const b of list ?? []) {
      parseHostPort(b?.HostPort);
      if (b?.HostIp && !b.HostIp.includes(':')) parseIp(b.HostIp);
    }
    out[key] = list ? list.map((b) => ({ HostIp: b?.HostIp ?? '', HostPort: b?.HostPort ?? '' })) : list;
  }
  return out;
}

function pruneMatches(n: NetworkRecord, f: Filters, untilMs: number | undefined): boolean {
  if (!f.matchLabels(n.Labels)) return false;
  return untilMs === undefined || Date.parse(n.Created) < untilMs;
}
