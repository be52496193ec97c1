/**
 * The null driver (Docker's `none` network): a private namespace with only loopback, which the runtime (runc)
 * makes itself; no endpoint, no address and nothing to program.
 */
import type { DriverEndpoint, DriverNetwork, DriverNetworkState, NetworkDriver } from '../../../core/network/index.js';

export class NullDriver implements NetworkDriver {
  readonly name = 'null' as const;
  readonly sandbox = 'empty' as const;
  readonly userDefined = false;
  async up(_n: DriverNetwork): Promise<void> {}
  async down(_n: DriverNetwork): Promise<void> {}
  async join(_sandbox: string, _eps: DriverEndpoint[], _create: boolean): Promise<void> {}
  async leave(_eps: DriverEndpoint[], _sandboxGoing: boolean): Promise<void> {}
  async sync(_state: DriverNetworkState[]): Promise<void> {}
  async shutdown(_networks: DriverNetwork[]): Promise<void> {}
}
