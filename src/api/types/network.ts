/**
 * Engine API network types as decoder schemas: the body of `POST /networks/create` (`types.NetworkCreateRequest`)
 * and of `POST /networks/{id}/connect|disconnect`. Field names and Go types are moby's (api/types/network).
 */
import { bool, str, stringMap, struct, arrayOf, type Infer } from '../decode/schema.js';
import { endpointSettings } from './container.js';

const ipamConfig = struct('network.IPAMConfig', { Subnet: str(), IPRange: str(), Gateway: str(), AuxiliaryAddresses: stringMap });

export const networkCreateBody = struct('types.NetworkCreateRequest', {
  Name: str(),
  CheckDuplicate: bool,
  Driver: str(),
  Scope: str(),
  EnableIPv4: bool,
  EnableIPv6: bool,
  IPAM: struct('network.IPAM', { Driver: str(), Options: stringMap, Config: arrayOf(ipamConfig, '[]network.IPAMConfig') }),
  Internal: bool,
  Attachable: bool,
  Ingress: bool,
  ConfigOnly: bool,
  ConfigFrom: struct('network.ConfigReference', { Network: str() }),
  Options: stringMap,
  Labels: stringMap,
});

export const networkConnectBody = struct('types.NetworkConnect', { Container: str(), EndpointConfig: endpointSettings });

export const networkDisconnectBody = struct('types.NetworkDisconnect', { Container: str(), Force: bool });

// ---------------------------------------------------------------- TypeScript wire types

export type NetworkCreateRequest = Infer<typeof networkCreateBody>;
export type NetworkConnectRequest = Infer<typeof networkConnectBody>;
export type NetworkDisconnectRequest = Infer<typeof networkDisconnectBody>;
export type IpamConfig = Infer<typeof ipamConfig>;

export interface NetworkCreateResponse {
  Id: string;
  Warning: string;
}

/** `GET /networks` and `GET /networks/{id}` (types.NetworkResource). */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: IpamConfig[] | null };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string> | null;
  Labels: Record<string, string> | null;
}

export interface NetworkPruneReport {
  NetworksDeleted: string[] | null;
}
