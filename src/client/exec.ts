/**
 * `client.exec`: exec instances made by `client.containers.exec`. `start` either detaches (the daemon runs it in
 * the background) or hijacks the connection for its streams (stdcopy-framed unless it has a TTY).
 */
import type { Duplex } from 'node:stream';
import type { ExecInspect, ExecStartRequest } from '../api/types/container.js';
import type { EngineClient } from './client.js';
import { drain, seg } from './shared.js';

export class ExecClient {
  constructor(private readonly http: EngineClient) {}

  /** Starts a detached exec (`Detach: true`). */
  async startDetached(id: string, opts: Omit<ExecStartRequest, 'Detach'> = {}): Promise<void> {
    await this.http.buffer('POST', `/exec/${seg(id)}/start`, { body: { ...opts, Detach: true } });
  }

  /** Starts an exec and hijacks the connection for its stdin/stdout/stderr. */
  start(id: string, opts: Omit<ExecStartRequest, 'Detach'> = {}): Promise<Duplex> {
    return this.http.hijack('POST', `/exec/${seg(id)}/start`, { body: { ...opts, Detach: false } });
  }

  inspect(id: string): Promise<ExecInspect> {
    return this.http.json('GET', `/exec/${seg(id)}/json`);
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    await this.http.buffer('POST', `/exec/${seg(id)}/resize`, { query: { h: height, w: width } });
  }
}
