/**
 * Networking contracts: what a network driver, the address manager (IPAM) and the host-port allocator do, and the
 * hook the container service calls. Plain types and interfaces only; implementations live in `plugins/network/*`,
 * the network service (`daemon/services/network-service.ts`) composes them and `bootstrap.ts` wires them.
 *
 * Terms (Docker's, as libnetwork defines them):
 *   network      — a named, isolated L2/L3 domain made by one driver: `bridge` (a Linux bridge with NAT, the default
 *                  and user-defined networks), `host` (the host's own stack), `null` (no connectivity). It owns an
 *                  IPAM configuration (its pools) and its driver options. Predefined networks (`bridge`, `host`,
 *                  `none`) exist once each and cannot be removed.
 *   sandbox      — a container's network stack: a network namespace, bind-mounted at `<exec-root>/netns/<id12>`
 *                  (inspect's `SandboxKey`), so it outlives berthd and can be entered by path (CNI, the monitor's
 *                  DNS server). Containers started with `--network container:<x>` share x's sandbox.
 *   endpoint     — one container's attachment to one network, inside its sandbox: an interface (eth0, eth1, …)
 *                  with a MAC and address(es) from the network's pools, the names it answers to on that network
 *                  (container name, short ID, aliases), and — on the primary network only — its port bindings.
 *                  Inspect shows it as `NetworkSettings.Networks[<name>]` (an `EndpointSettings`).
 *   IPAM pool    — a subnet of a network (one pool per address family: IPv4, and IPv6 on networks with EnableIPv6), with the gateway, an
 *                  optional sub-range addresses are handed out from, and the allocations (address → endpoint).
 *   port binding — a host address and port (TCP/UDP/SCTP) forwarded to a container port of an endpoint; explicit
 *                  (`-p 8080:80`) or ephemeral (`-p 80`, `HostPort: "0"`), chosen by the `PortAllocator`.
 *
 * Lifecycle: network create → driver `up` (host side made) … container start → sandbox made, endpoint per network
 * allocated (IPAM, ports) and persisted, driver `join`; container stop → driver `leave`, addresses and ports
 * released; network remove → driver `down`. The network service owns network records; the container service owns
 * container records and stores the `NetworkSettings` the network service returns.
 *
 * Room left for what comes next: a pool is per address family (`AddressPool.family`), endpoints carry optional
 * IPv6 fields, and a network's member names are plain data (`EndpointNames`) so a DNS server can be fed from them.
 */
import type { ContainerRecord } from '../containers/container.js';

/** The drivers berth has. `null` is Docker's name for the driver behind the `none` network. */
export type DriverName = 'bridge' | 'host' | 'null';

/**
 * How a container whose primary network uses a driver gets its sandbox:
 *   host    — it shares the host's network namespace (no sandbox of its own, no endpoints);
 *   empty   — a private namespace with only loopback, made by the runtime (runc) itself;
 *   managed — berth makes the namespace under the exec root and plugs the driver's endpoints into it.
 */
export type SandboxKind = 'host' | 'empty' | 'managed';

/** An IPAM pool (see the terms above). Plain data, persisted with its network. */
export interface AddressPool {
  /** Absent means 4 (records written before IPv6 existed). */
  family?: 4 | 6;
  subnet: string;
  /** Addresses are handed out from this sub-range of the subnet, when set. */
  ipRange?: string;
  gateway: string;
  /** address → owner (endpoint id). */
  allocated: Record<string, string>;
  /** The last address handed out (allocation is sequential, so a freed address is not reused at once). */
  last?: string;
}

/** One of the daemon's default address pools (`default-address-pools`): split `base` into subnets of `size` bits. */
export interface PoolSpec {
  base: string;
  size: number;
}

/** Docker's default local pools (172.17–31/16, then 192.168/20s). */
export const DEFAULT_POOLS: readonly PoolSpec[] = [
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
];

/** Address management for networks' pools. */
export interface Ipam {
  /** A new pool for `subnet`; checks that gateway and range lie in it. The gateway defaults to the first address. */
  newPool(subnet: string, gateway?: string, ipRange?: string): AddressPool;
  /** Hands `owner` an address: `requested` (must be in the pool and free) or the next free one. */
  allocate(pool: AddressPool, owner: string, requested?: string): string;
  /** Frees `ip` if `owner` holds it (any owner when undefined). */
  release(pool: AddressPool, ip: string, owner?: string): void;
  /** The first subnet from `pools` overlapping none of `taken`, `hostRoutes` and `skip`. */
  pickSubnet(pools: readonly PoolSpec[], taken: string[], hostRoutes: string[], skip?: string[]): string;
  /** The first /64 of the IPv6 prefix `base` overlapping none of `taken` and `hostRoutes`. */
  pickSubnet6(base: string, taken: string[], hostRoutes?: string[]): string;
}

export type PortProto = 'tcp' | 'udp' | 'sctp';

/** A concrete port binding (see the terms above). */
export interface PortBinding {
  proto: PortProto;
  /** '0.0.0.0' = every local address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

/** A port binding as asked for: `range` unset = any ephemeral port; [p, p] = exactly p. */
export interface PortRequest {
  proto: PortProto;
  containerPort: number;
  hostIp: string;
  range?: [number, number];
}

/** Chooses host ports for an endpoint's port requests. */
export interface PortAllocator {
  /**
   * Binds every request to a host port that neither berth (`used`, "proto/port") nor the host holds; explicit
   * ports are taken first so an ephemeral pick never steals one. Throws Docker's "port is already allocated" /
   * "bind: address already in use" conflicts; `endpoint` names the endpoint in those messages.
   */
  allocate(requests: PortRequest[], used: Set<string>, endpoint: { name: string; id: string }): Promise<PortBinding[]>;
}

/** A network as its driver sees it. */
export interface DriverNetwork {
  id: string;
  name: string;
  /** The host-side interface of the network (the bridge), for drivers that have one. */
  bridge?: string;
  pools: AddressPool[];
  internal: boolean;
  /** Docker's driver options (`com.docker.network.bridge.*`, `com.docker.network.driver.mtu`). */
  options: Record<string, string>;
}

/** An endpoint as its driver plugs it in. */
export interface DriverEndpoint {
  network: DriverNetwork;
  /** Host end of the link (the veth peer on the bridge). */
  hostIface: string;
  /** Name inside the sandbox (eth0, eth1, …). */
  ifName: string;
  mac: string;
  /** Address with prefix length, e.g. 172.18.0.2/16. */
  addressCidr: string;
  /** Default route via this gateway: set only on the endpoint that provides the container's gateway. */
  defaultGateway?: string;
  /** The IPv6 address with prefix length, on networks with IPv6 (fd00:1::2/64). */
  address6Cidr?: string;
  /** IPv6 default route via this gateway (as `defaultGateway`). */
  defaultGateway6?: string;
  /** Extra link-local addresses with prefix length (`--link-local-ip`: 169.254.1.1/16, fe80::8/64). */
  linkLocalCidrs?: string[];
}

/** The whole desired state of one network, for drivers that program host-wide state (firewall rules) from it. */
export interface DriverNetworkState {
  network: DriverNetwork;
  endpoints: Array<{ ip: string; ip6?: string; ports: PortBinding[] }>;
}

/** A network driver: makes networks' host side and plugs endpoints into sandboxes. */
export interface NetworkDriver {
  readonly name: DriverName;
  readonly sandbox: SandboxKind;
  /** Whether `network create -d <driver>` may make networks of it (host and null exist once, predefined). */
  readonly userDefined: boolean;
  /** Makes the network's host side, or re-makes it after a reboot. Idempotent and cheap when already up. */
  up(n: DriverNetwork): Promise<void>;
  /** Removes the network's host side. */
  down(n: DriverNetwork): Promise<void>;
  /** Plugs endpoints into the sandbox at `sandbox`, creating the namespace there first when `create`. */
  join(sandbox: string, eps: DriverEndpoint[], create: boolean): Promise<void>;
  /** Unplugs endpoints; when `sandboxGoing` the namespace is about to be destroyed and takes its links with it. */
  leave(eps: DriverEndpoint[], sandboxGoing: boolean): Promise<void>;
  /** Re-programs host-wide state (NAT, forwarding, published ports) from all of this driver's networks. */
  sync(state: DriverNetworkState[]): Promise<void>;
  /** A clean daemon stop with no container running: removes the host side of these networks. */
  shutdown(networks: DriverNetwork[]): Promise<void>;
}

/**
 * The kernel operations networking needs: `ip` batches (in the host namespace or a sandbox), namespace bind
 * mounts and sysctls. Implemented by `plugins/network/netlink.ts` as child processes — berthd never calls setns
 * itself (Node is multi-threaded).
 */
export interface NetOps {
  /** Runs `ip -batch -` in the host namespace, or in the namespace bound at `netns` (after its `sysctls`). */
  ipBatch(lines: string[], netns?: string, force?: boolean, sysctls?: Record<string, string>): Promise<void>;
  /** `ip -j <args>` in the host namespace, parsed. */
  ipJson<T = unknown>(args: string[]): Promise<T>;
  /**
   * Creates a new network namespace bound (bind-mounted) at `path`, running `lines` (an ip batch) inside it, after
   * writing `sysctls` (/proc/sys keys with slashes → values) there.
   */
  createNetns(path: string, lines?: string[], sysctls?: Record<string, string>): Promise<void>;
  /** Unmounts and removes a namespace bind mount; no error when it is already gone. */
  deleteNetns(path: string): Promise<void>;
  /** Writes a /proc/sys value (e.g. net/ipv4/ip_forward). */
  sysctl(key: string, value: string): Promise<void>;
}

/** A container's `NetworkSettings` as inspect shows it (Docker's field names). */
export type NetworkSettings = Record<string, unknown>;

/** A container's `HostConfig.PortBindings`. */
export type PortMap = Record<string, Array<{ HostIp: string; HostPort: string }>>;

/** Endpoint fields that API < 1.44 carried in the container's Config; they apply to the primary network. */
export interface LegacyEndpointConfig {
  macAddress?: string;
}

/** What `setup` hands the container service for starting the container. */
export interface SandboxSetup {
  /** The namespace to join: a path, 'host' for the host's, undefined for a private empty one made by runc. */
  netnsPath?: string;
  /** The container's own address on its primary network, for its /etc/hosts. */
  ip?: string;
  /** Its IPv6 address there, when the network has IPv6. */
  ip6?: string;
  /** Sysctls the runtime sets in the container's namespace (net.ipv6.conf.*.disable_ipv6=0 with IPv6). */
  sysctls?: Record<string, string>;
  /** Peers' hosts entries ("name:ip"), for containers without the embedded DNS server. */
  extraHosts?: string[];
  /**
   * The embedded DNS server (on user-defined networks): the container's monitor binds 127.0.0.11:53 in the
   * sandbox and answers from the name tables its config file lists (native/monitor/dns.h); resolv.conf points there.
   */
  resolver?: { configPath: string };
  /** The container's NetworkSettings after the endpoints were made: the container service stores them. */
  settings: NetworkSettings;
}

/**
 * The hook the container service calls (implemented by the network service). Every method takes the container's
 * record read-only and returns the `NetworkSettings` (and at create the normalised port bindings) for the container
 * service to store in it; the network service never writes container records.
 */
export interface ContainerNetworking {
  /** Create time: checks the network mode and networking config; the initial settings (one endpoint per network). */
  create?(rec: ContainerRecord, networkingConfig: Record<string, unknown> | undefined, legacy?: LegacyEndpointConfig): Promise<{ settings: NetworkSettings; portBindings: PortMap | null }>;
  /** Before the runtime starts the container: makes the sandbox and its endpoints. */
  setup(rec: ContainerRecord): Promise<SandboxSetup>;
  /** After it stopped: releases what setup made; idempotent, and works after a daemon restart. */
  teardown(rec: ContainerRecord): Promise<NetworkSettings>;
  /** Forgets the container entirely (on remove). */
  remove?(rec: ContainerRecord): Promise<void>;
}

/**
 * What the network service needs from the container side: read access to container records, and the container
 * service storing new settings after a connect/disconnect of a container (API calls that start in the network
 * routes).
 */
export interface NetworkContainers {
  find(ref: string): ContainerRecord | undefined;
  get(ref: string): ContainerRecord;
  all(): ContainerRecord[];
  /** Stores `settings` as the container's NetworkSettings and persists the record. */
  storeNetworkSettings(id: string, settings: NetworkSettings): void;
}
