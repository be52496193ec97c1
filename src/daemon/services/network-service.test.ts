/**
 * The network service against recording fakes of its contracts (drivers, kernel ops): what it asks each driver to
 * do, and that it hands NetworkSettings back instead of writing container records. The real drivers run in
 * test/integration/network.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ContainerRecord } from '../../core/containers/container.js';
import type {
  DriverEndpoint, DriverName, DriverNetwork, DriverNetworkState, NetOps, NetworkContainers, NetworkDriver, NetworkSettings,
  PortAllocator, SandboxKind,
} from '../../core/network/index.js';
import { defaultIpam } from '../../plugins/network/ipam.js';
import { NetworkService } from './network-service.js';

class RecordingDriver implements NetworkDriver {
  readonly calls: string[] = [];
  constructor(readonly name: DriverName, readonly sandbox: SandboxKind, readonly userDefined: boolean) {}
  async up(n: DriverNetwork) { this.calls.push(`up ${n.name}`); }
  async down(n: DriverNetwork) { this.calls.push(`down ${n.name}`); }
  async join(sb: string, eps: DriverEndpoint[], create: boolean) {
    this.calls.push(`join ${path.basename(sb)} ${eps.map((e) => `${e.ifName}=${e.addressCidr}${e.defaultGateway ? ` via ${e.defaultGateway}` : ''}`).join(',')} create=${create}`);
  }
  async leave(eps: DriverEndpoint[], going: boolean) { this.calls.push(`leave ${eps.map((e) => e.ifName).join(',')} going=${going}`); }
  async sync(state: DriverNetworkState[]) {
    this.calls.push(`sync ${state.map((s) => `${s.network.name}:${s.endpoints.flatMap((e) => e.ports.map((p) => `${p.hostPort}->${e.ip}:${p.containerPort}`)).join('+')}`).join(' ')}`);
  }
  async shutdown(nets: DriverNetwork[]) { this.calls.push(`shutdown ${nets.map((n) => n.name).join(',')}`); }
}

const ops: NetOps = {
  async ipBatch() {},
  async ipJson<T>() { return [] as T; },
  async createNetns(p: string) { fs.writeFileSync(p, ''); },
  async deleteNetns(p: string) { fs.rmSync(p, { force: true }); },
  async sysctl() {},
};

const ports: PortAllocator = {
  async allocate(reqs) {
    return reqs.map((r, i) => ({ proto: r.proto, hostIp: '0.0.0.0', hostPort: r.range?.[0] ?? 50000 + i, containerPort: r.containerPort }));
  },
};

function container(id: string, name: string, mode: string, extra: Partial<ContainerRecord['HostConfig']> = {}): ContainerRecord {
  return {
    Id: id, Name: `/${name}`, HostsPath: '', State: { Running: false, Status: 'created' },
    HostConfig: { NetworkMode: mode, PortBindings: null, ...extra }, Config: { ExposedPorts: {} },
    NetworkSettings: { Networks: {}, Ports: {} },
  } as unknown as ContainerRecord;
}

test('network service: drives its drivers by contract and returns settings instead of saving containers', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-netsvc-'));
  const bridge = new RecordingDriver('bridge', 'managed', true);
  const host = new RecordingDriver('host', 'host', false);
  const none = new RecordingDriver('null', 'empty', false);
  const svc = new NetworkService({
    dataRoot: path.join(root, 'data'), execRoot: path.join(root, 'exec'), bip: '10.250.0.1/24',
    drivers: { bridge, host, null: none }, ipam: defaultIpam, ports, ops,
  });
  const recs = new Map<string, ContainerRecord>();
  const stored: Array<[string, NetworkSettings]> = [];
  const lookup: NetworkContainers = {
    find: (ref) => recs.get(ref) ?? [...recs.values()].find((r) => r.Name === `/${ref}` || r.Id.startsWith(ref)),
    get: (ref) => { const r = lookup.find(ref); if (!r) throw new Error(`No such container: ${ref}`); return r; },
    all: () => [...recs.values()],
    storeNetworkSettings: (id, s) => { stored.push([id, s]); },
  };
  svc.attachContainers(lookup);
  try {
    await svc.start();
    assert.deepEqual(bridge.calls, ['up bridge', 'sync bridge:']);
    assert.deepEqual(host.calls, ['up host', 'sync host:']);

    // Create: the record is read, not changed; settings and normalised bindings come back.
    const a = container('a'.repeat(64), 'web', 'bridge', { PortBindings: { '80/tcp': [{ HostPort: '8080' } as never] } });
    recs.set(a.Id, a);
    const before = JSON.stringify(a);
    const made = await svc.create(a, undefined);
    assert.equal(JSON.stringify(a), before);
    assert.deepEqual(Object.keys(made.settings.Networks as object), ['bridge']);
    assert.deepEqual(made.portBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
    a.NetworkSettings = made.settings;
    a.HostConfig.PortBindings = made.portBindings;

    // Setup: one join that makes the sandbox, with the gateway route; ports synced through the driver.
    const frozen = JSON.stringify(a);
    const setup = await svc.setup(a);
    assert.equal(JSON.stringify(a), frozen);
    assert.equal(setup.netnsPath, path.join(root, 'exec', 'netns', 'aaaaaaaaaaaa'));
    assert.equal(setup.ip, '10.250.0.2');
    const ep = (setup.settings.Networks as Record<string, Record<string, unknown>>).bridge;
    assert.equal(ep.IPAddress, '10.250.0.2');
    assert.equal(ep.MacAddress, '02:42:0a:fa:00:02');
    assert.equal(setup.settings.IPAddress, '10.250.0.2');
    assert.deepEqual(setup.settings.Ports, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
    assert.deepEqual(bridge.calls.slice(2), ['up bridge', 'join aaaaaaaaaaaa eth0=10.250.0.2/24 via 10.250.0.1 create=true', 'sync bridge:8080->10.250.0.2:80']);
    a.NetworkSettings = setup.settings;
    a.State = { ...a.State, Running: true, Status: 'running' };

    // Connect to a user network while running: a second endpoint, stored through the container side.
    await svc.createNetwork({ Name: 'back', IPAM: { Config: [{ Subnet: '10.251.0.0/24' }] } });
    bridge.calls.length = 0;
    await svc.connect('back', 'web', { Aliases: ['api'] });
    assert.deepEqual(bridge.calls, ['up back', 'join aaaaaaaaaaaa eth1=10.251.0.2/24 create=false']);
    assert.equal(stored.length, 1);
    const afterConnect = stored[0][1];
    assert.deepEqual((afterConnect.Networks as Record<string, { Aliases: string[] }>).back.Aliases, ['api', 'aaaaaaaaaaaa']);
    assert.equal((a.NetworkSettings.Networks as Record<string, unknown>).back, undefined, 'the record itself is not written by the network service');
    a.NetworkSettings = afterConnect;

    // host/none refuse endpoints by what their driver is, not by name.
    await assert.rejects(svc.connect('host', 'web', undefined), /cannot be disconnected from host network or connected to host network/);
    await assert.rejects(svc.createNetwork({ Name: 'h2', Driver: 'host' }), /only one instance of "host" network is allowed/);
    await assert.rejects(svc.createNetwork({ Name: 'x', Driver: 'overlay' }), /plugin "overlay" not found/);

    // Teardown: leave with the namespace going, ports resynced, settings cleared and returned.
    bridge.calls.length = 0;
    const down = await svc.teardown(a);
    assert.deepEqual(bridge.calls, ['leave eth0 going=true', 'leave eth1 going=true', 'sync bridge: back:']);
    assert.equal(down.SandboxKey, '');
    assert.equal((down.Networks as Record<string, { IPAddress: string }>).bridge.IPAddress, '');
    assert.deepEqual((down.Networks as Record<string, { Aliases: string[] }>).back.Aliases, ['api']);
    assert.equal(stored.length, 1);

    // A none container: an empty namespace (loopback only) of berth's, still a real SandboxKey that CNI plugins can
    // enter (cri-dockerd's sandbox); no driver call.
    const n = container('b'.repeat(64), 'lonely', 'none');
    recs.set(n.Id, n);
    n.NetworkSettings = (await svc.create(n, undefined)).settings;
    const s = await svc.setup(n);
    assert.equal(s.netnsPath, path.join(root, 'exec', 'netns', 'b'.repeat(12)));
    assert.equal(s.settings.SandboxKey, s.netnsPath);
    assert.deepEqual(none.calls.filter((c) => c.startsWith('join')), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
