/** `client.system`: ping, version, info, disk usage, events, registry login (`POST /auth`). */
import type { AuthConfig, AuthResponse } from '../api/types/auth.js';
import type { DashboardStatus, DiskUsage, EventMessage, SystemInfo, SystemVersion } from '../api/types/system.js';
import { jsonLines, type EngineClient } from './client.js';
import { encodeFilterArg, type FilterArg } from './shared.js';

export interface EventsOptions {
  /** Unix timestamp (seconds, fractions allowed) or RFC 3339; the CLI converts durations first. */
  since?: string;
  until?: string;
  filters?: FilterArg;
  signal?: AbortSignal;
}

export class SystemClient {
  constructor(private readonly http: EngineClient) {}

  /** True when the daemon answers `/_ping`. */
  ping(signal?: AbortSignal): Promise<boolean> {
    return this.http.ping(signal);
  }

  version(): Promise<SystemVersion> {
    return this.http.json('GET', '/version');
  }

  info(): Promise<SystemInfo> {
    return this.http.json('GET', '/info');
  }

  diskUsage(): Promise<DiskUsage> {
    return this.http.json('GET', '/system/df');
  }

  /** Events as they happen (and past ones from `since`); ends at `until`, or when `signal` aborts. */
  async *events(opts: EventsOptions = {}): AsyncGenerator<EventMessage> {
    const res = await this.http.request('GET', '/events', {
      query: { since: opts.since, until: opts.until, filters: encodeFilterArg(opts.filters) },
      signal: opts.signal,
    });
    yield* jsonLines<EventMessage>(res);
  }

  /** `POST /berth/dashboard` (berth's own endpoint): starts the web dashboard if needed; its URL carries the token. */
  dashboard(): Promise<DashboardStatus> {
    return this.http.json('POST', '/berth/dashboard');
  }

  /** `POST /auth`: checks credentials with the registry. */
  auth(config: AuthConfig): Promise<AuthResponse> {
    return this.http.json('POST', '/auth', { body: config });
  }
}
