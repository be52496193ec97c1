/**
 * The host driver (Docker's `host` network): containers share the host's network namespace, so there is no
 * sandbox of their own, no endpoint, no address and nothing to program.
 */
import type { DriverEndpoint, DriverNetwork, DriverNetworkState, NetworkDriver } from '../../../core/network/index.js';

export class HostDriver implements NetworkDriver {
  readonly name = 'host' as const;
  readonly sandbox = 'host' as const;
  readonly userDefined = false;
  async up(_n: DriverNetwork): Promise<void> {}
  async down(_n: DriverNetwork): Promise<void> {}
  async join(_sandbox: string, _eps: DriverEndpoint[], _create: boolean): Promise<void> {}
  async leave(_eps: DriverEndpoint[], _sandboxGoing: boolean): Promise<void> {}
  async sync(_state: DriverNetworkState[]): Promise<void> {}
  async shutdown(_networks: DriverNetwork[]): Promise<void> {}
}
