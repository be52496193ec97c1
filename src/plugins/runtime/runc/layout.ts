/**
 * Where the runc runtime keeps each task's files under the daemon's exec root — the one place these paths are
 * computed.
 *
 *   <exec-root>/runc/<id>                  runc's own state (`runc --root`)
 *   <exec-root>/containers/<id>/           the bundle: config.json, exit.json, init.pid, monitor.json, health-*.json
 *   <exec-root>/containers/<id>/rootfs     the container's root filesystem mount point (spec.root.path)
 *   <exec-root>/execs/<exec-id>/           one exec's process.json, exit.json, exec.pid
 *   <exec-root>/s/<first 32 hex of id>     monitor attach sockets (a unix socket path must fit 108 bytes)
 *   cgroup <cgroup-parent>/<id>            the task's cgroup, relative to each hierarchy (parent default /berth)
 */
import path from 'node:path';

export class RuncLayout {
  constructor(
    readonly execRoot: string,
    /** The daemon's --cgroup-parent. */
    readonly cgroupParent = '/berth',
  ) {}

  /** runc's --root. */
  get runcRoot(): string {
    return path.join(this.execRoot, 'runc');
  }

  runcState(id: string): string {
    return path.join(this.runcRoot, id);
  }

  bundle(id: string): string {
    return path.join(this.execRoot, 'containers', id);
  }

  rootfs(id: string): string {
    return path.join(this.bundle(id), 'rootfs');
  }

  configFile(id: string): string {
    return path.join(this.bundle(id), 'config.json');
  }

  exitFile(id: string): string {
    return path.join(this.bundle(id), 'exit.json');
  }

  pidFile(id: string): string {
    return path.join(this.bundle(id), 'init.pid');
  }

  /** What the task's monitor reported it understands (`{"features":[…]}`); absent for an older berthd's monitor. */
  monitorFile(id: string): string {
    return path.join(this.bundle(id), 'monitor.json');
  }

  execDir(execId: string): string {
    return path.join(this.execRoot, 'execs', execId);
  }

  /**
   * The monitor's attach socket of a task or exec. Sockets live in a short directory named by the first 32 hex
   * digits of the ID (collisions are as unlikely as for 128-bit IDs).
   */
  socket(id: string): string {
    return path.join(this.execRoot, 's', id.slice(0, 32));
  }

  /**
   * A task's cgroup below `parent` (a container's --cgroup-parent) or the daemon's. Always absolute, from each
   * hierarchy's root: dockerd takes a relative parent from the init process's cgroup, which is the root on a host.
   */
  cgroupsPath(id: string, parent?: string): string {
    return path.posix.join('/', parent || this.cgroupParent, id);
  }
}
