/** `client.networks`: network endpoints. */
import type { EndpointSettings } from '../api/types/container.js';
import type { NetworkCreateRequest, NetworkCreateResponse, NetworkPruneReport, NetworkResource } from '../api/types/network.js';
import { readAll, type EngineClient } from './client.js';
import { drain, encodeFilterArg, seg, type FilterArg } from './shared.js';

export class NetworksClient {
  constructor(private readonly http: EngineClient) {}

  list(opts: { filters?: FilterArg } = {}): Promise<NetworkResource[]> {
    return this.http.json('GET', '/networks', { query: { filters: encodeFilterArg(opts.filters) } });
  }

  inspect(id: string, opts: { verbose?: boolean; scope?: string } = {}): Promise<NetworkResource> {
    return this.http.json('GET', `/networks/${seg(id)}`, { query: { verbose: opts.verbose || undefined, scope: opts.scope } });
  }

  /** The inspect document as the daemon sent it. */
  async inspectRaw(id: string, opts: { verbose?: boolean } = {}): Promise<string> {
    return (await this.http.buffer('GET', `/networks/${seg(id)}`, { query: { verbose: opts.verbose || undefined } })).toString('utf8');
  }

  create(body: NetworkCreateRequest): Promise<NetworkCreateResponse> {
    return this.http.json('POST', '/networks/create', { body });
  }

  async remove(id: string): Promise<void> {
    await this.http.buffer('DELETE', `/networks/${seg(id)}`);
  }

  async connect(network: string, container: string, endpoint?: EndpointSettings): Promise<void> {
    await this.http.buffer('POST', `/networks/${seg(network)}/connect`, { body: { Container: container, EndpointConfig: endpoint } });
  }

  async disconnect(network: string, container: string, force = false): Promise<void> {
    await this.http.buffer('POST', `/networks/${seg(network)}/disconnect`, { body: { Container: container, Force: force } });
  }

  prune(filters?: FilterArg): Promise<NetworkPruneReport> {
    return this.http.json('POST', '/networks/prune', { query: { filters: encodeFilterArg(filters) } });
  }
}
