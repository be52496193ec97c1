/** `client.volumes`: volume endpoints. */
import type { Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneReport } from '../api/types/volume.js';
import { readAll, type EngineClient } from './client.js';
import { drain, encodeFilterArg, seg, type FilterArg } from './shared.js';

export class VolumesClient {
  constructor(private readonly http: EngineClient) {}

  list(opts: { filters?: FilterArg } = {}): Promise<VolumeListResponse> {
    return this.http.json('GET', '/volumes', { query: { filters: encodeFilterArg(opts.filters) } });
  }

  inspect(name: string): Promise<Volume> {
    return this.http.json('GET', `/volumes/${seg(name)}`);
  }

  /** The inspect document as the daemon sent it. */
  async inspectRaw(name: string): Promise<string> {
    return (await this.http.buffer('GET', `/volumes/${seg(name)}`)).toString('utf8');
  }

  create(body: VolumeCreateRequest = {}): Promise<Volume> {
    return this.http.json('POST', '/volumes/create', { body });
  }

  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.http.buffer('DELETE', `/volumes/${seg(name)}`, { query: { force: opts.force || undefined } });
  }

  prune(filters?: FilterArg): Promise<VolumePruneReport> {
    return this.http.json('POST', '/volumes/prune', { query: { filters: encodeFilterArg(filters) } });
  }
}
