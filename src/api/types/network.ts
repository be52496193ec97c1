/**
 * Engine API network types as decoder schemas: the body of `POST /networks/create` (`types.NetworkCreateRequest`)
 * and of `POST /networks/{id}/connect|disconnect`. Field names and Go types are moby's (api/types/network).
 */
import { bool, str, stringMap, struct, arrayOf } from '../decode/schema.js';
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
