/**
 * Docker's namespace sharing modes (the pod model cri-dockerd and Nomad build on): which IPC, PID, UTS and cgroup
 * namespaces a container gets, and how it joins another container's.
 *
 * Terms:
 * - *IpcMode*: `private` (own IPC namespace and /dev/shm; the default), `shareable` (own, and others may join it:
 *   its /dev/shm is a tmpfs mounted on the host at `<container dir>/mounts/shm` and bound in, so a joiner binds the
 *   same one), `container:<id>` (join a shareable or host-IPC container's namespace and /dev/shm), `host`, `none`
 *   (own namespace, no /dev/shm).
 * - *PidMode*: `` (own), `host`, `container:<id>` (join; when that container's init exits, the kernel ends every
 *   process in the namespace — the joiner too, as with Docker).
 * - *UTSMode*: `` or `host`. *CgroupnsMode*: `private` or `host` (the default on cgroups v1; v2 defaults to private).
 * - *donor*: the container another one joins. References are resolved to full IDs at create (inspect shows them
 *   so; a missing one is a 400 there); the donor must be running at the joiner's start.
 *
 * A joiner keeps what it joined when the donor restarts (the donor gets new namespaces and a new /dev/shm; the
 * joiner's bind mount and namespace references stay), as with Docker.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ContainerRecord, HostConfig } from '../../../core/containers/container.js';
import type { Mount as OciMount } from '../../../core/runtime/spec.js';
import { mountAll, unmount } from '../../../core/mount/index.js';
import { conflict, invalidArgument } from '../../../errdefs/index.js';
import { DEFAULT_SHM_SIZE } from '../../../core/runtime/spec-builder.js';

const CONTAINER_PREFIX = 'container:';

/** The container a `container:<ref>` mode names, or undefined for other modes. */
export function donorRef(mode: string | undefined): string | undefined {
  return mode?.startsWith(CONTAINER_PREFIX) ? mode.slice(CONTAINER_PREFIX.length) : undefined;
}

/**
 * Create-time checks and normalisation, in dockerd's order and words: `container:<ref>` modes resolved to full IDs
 * (NotFound when the donor does not exist; a NetworkMode donor may be missing until start), the cgroup namespace
 * mode checked, `--uts host` refused with a hostname. Unknown IPC and PID modes pass, as in dockerd's API, and fail
 * at start.
 */
export function resolveNamespaceModes(
  hc: HostConfig,
  hostname: string | undefined,
  lookup: { find(ref: string): ContainerRecord | undefined },
): void {
  // a missing donor is the request's fault at create (dockerd: 400), not a missing container of the route's
  const donor = (ref: string) => {
    const c = lookup.find(ref);
    if (!c) throw invalidArgument(`No such container: ${ref}`);
    return c.Id;
  };
  const ipc = donorRef(hc.IpcMode);
  if (ipc) hc.IpcMode = `${CONTAINER_PREFIX}${donor(ipc)}`;
  const pid = donorRef(hc.PidMode);
  if (pid) hc.PidMode = `${CONTAINER_PREFIX}${donor(pid)}`;
  const net = donorRef(hc.NetworkMode);
  const netDonor = net !== undefined ? lookup.find(net) : undefined;
  if (netDonor) hc.NetworkMode = `${CONTAINER_PREFIX}${netDonor.Id}`;
  if (!['', 'host', 'private'].includes(hc.CgroupnsMode as string)) throw invalidArgument(`invalid cgroup namespace mode: ${hc.CgroupnsMode}`);
  if (hc.UTSMode === 'host' && hostname) throw invalidArgument('conflicting options: hostname and the UTS mode');
}

/** What a container's start needs for its namespaces. */
export interface NamespacePlan {
  ipcNsPath?: string;
  pidNsPath?: string;
  /** /dev/shm for shareable, joined and host IPC. */
  mounts: OciMount[];
  /** The host-side shm mount this container owns (shareable), unmounted when it stops. */
  shm?: string;
}

/** Where a container's shareable /dev/shm is mounted on the host (inside its record directory, as dockerd). */
export function shmPath(containerDir: string): string {
  return path.join(containerDir, 'mounts', 'shm');
}

/** /dev/shm stays writable with --read-only, as in Docker. */
function shmBind(source: string): OciMount {
  return { destination: '/dev/shm', type: 'bind', source, options: ['rbind', 'rprivate'] };
}

/**
 * Resolves the donors of a container about to start and prepares its own shareable /dev/shm. Throws dockerd's
 * errors for a missing, stopped or non-shareable donor.
 */
export function planNamespaces(
  rec: ContainerRecord,
  lookup: { get(ref: string): ContainerRecord },
  containerDir: (id: string) => string,
): NamespacePlan {
  const hc = rec.HostConfig;
  const plan: NamespacePlan = { mounts: [] };
  const ipc = hc.IpcMode || 'private';
  const ipcDonor = donorRef(ipc);
  if (ipcDonor !== undefined) {
    if (!ipcDonor) throw invalidArgument(`can't join IPC of container : invalid name or ID supplied: ""`);
    const other = lookup.get(ipcDonor);
    if (!other.State.Running) throw conflict(`can't join IPC of container ${other.Id}: container ${other.Id} is not running`);
    const mode = other.HostConfig.IpcMode;
    if (mode === 'host') {
      plan.ipcNsPath = `/proc/${other.State.Pid}/ns/ipc`;
      plan.mounts.push(shmBind('/dev/shm'));
    } else {
      const shm = shmPath(containerDir(other.Id));
      if (mode !== 'shareable' || !isMountPoint(shm))
        throw conflict(`can't join IPC of container ${other.Id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
      plan.ipcNsPath = `/proc/${other.State.Pid}/ns/ipc`;
      plan.mounts.push(shmBind(shm));
    }
  } else if (ipc === 'host') {
    plan.mounts.push(shmBind('/dev/shm'));
  } else if (ipc === 'shareable') {
    const shm = shmPath(containerDir(rec.Id));
    fs.mkdirSync(shm, { recursive: true, mode: 0o700 });
    if (!isMountPoint(shm)) {
      const size = hc.ShmSize || DEFAULT_SHM_SIZE;
      mountAll([{ type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', `size=${size}`] }], shm);
    }
    plan.shm = shm;
    plan.mounts.push(shmBind(shm));
  }
  const pidDonor = donorRef(hc.PidMode);
  if (pidDonor !== undefined) {
    if (!pidDonor) throw invalidArgument(`invalid name or ID supplied: ""`);
    const other = lookup.get(pidDonor);
    if (!other.State.Running) throw conflict(`container ${other.Id} is not running`);
    plan.pidNsPath = `/proc/${other.State.Pid}/ns/pid`; // the host's when the donor runs with --pid host
  }
  return plan;
}

/** Unmounts a container's own shareable /dev/shm (joiners keep their bind mounts). Idempotent. */
export function releaseShm(containerDir: string): void {
  const shm = shmPath(containerDir);
  try {
    unmount(shm, { detach: true });
  } catch {
    /* not mounted */
  }
}

function isMountPoint(dir: string): boolean {
  try {
    const st = fs.statSync(dir);
    const parent = fs.statSync(path.dirname(dir));
    return st.dev !== parent.dev;
  } catch {
    return false;
  }
}
