/**
 * The spec builder's types: the OCI runtime spec (defined in core/runtime/spec.ts, re-exported here), the Docker
 * Engine API `Config`/`HostConfig` fields the builder consumes (already merged with the image's config at create),
 * under Docker's wire names, and the host facts it needs.
 */

// ---------------------------------------------------------------- OCI runtime spec (core/runtime/spec.ts)

import type { Mount, POSIXRlimit, LinuxCapabilities, User, Process, Root, NamespaceType, LinuxNamespace, LinuxDevice, LinuxDeviceCgroup, LinuxMemory, LinuxCPU, LinuxResources, LinuxSeccompArg, LinuxSyscall, LinuxSeccomp, Linux, Spec } from '../../../core/runtime/spec.js';
export type { Mount, POSIXRlimit, LinuxCapabilities, User, Process, Root, NamespaceType, LinuxNamespace, LinuxDevice, LinuxDeviceCgroup, LinuxMemory, LinuxCPU, LinuxResources, LinuxSeccompArg, LinuxSyscall, LinuxSeccomp, Linux, Spec };

// ---------------------------------------------------------------- Docker Engine API (wire names)

export type { StrSlice, DockerConfig, DockerUlimit, DockerDeviceMapping, DockerHostConfig } from '../../../core/runtime/spec-builder.js';

// ---------------------------------------------------------------- host facts

/** The host's devices and facts: one definition, in core/kernel (read once by host.ts). */
export type { HostDevice, HostFacts } from '../../../core/kernel/index.js';
