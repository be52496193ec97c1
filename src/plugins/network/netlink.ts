/**
 * The kernel seam of the network plugin: every link, address, route and namespace change goes through `ip`
 * (iproute2) batches, `unshare`/`nsenter` and /proc/sys writes, as child processes — berthd never calls setns itself
 * (Node is multi-threaded). One batch per namespace keeps a container's network set-up at three spawns.
 *
 * `NetOps` (core/network) is the interface; `SystemNetOps` the real implementation; tests may pass a recording fake.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { internal } from '../../errdefs/index.js';
import { UnmountFlags, type Kernel } from '../../core/kernel/index.js';
import { hostKernel } from '../../sys/kernel.js';
import type { NetOps } from '../../core/network/index.js';

export type { NetOps };


export function execText(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(internal(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

export class SystemNetOps implements NetOps {
  constructor(private readonly kernel: Kernel = hostKernel) {}

  async ipBatch(lines: string[], netns?: string, force = false, sysctls?: Record<string, string>): Promise<void> {
    if (!lines.length) return;
    const input = lines.join('\n') + '\n';
    const ip = [...(force ? ['-force'] : []), '-batch', '-'];
    if (netns) await execText('nsenter', [`--net=${netns}`, ...withSysctls(['ip', ...ip], sysctls)], input);
    else await execText('ip', ip, input);
  }

  async ipJson<T>(args: string[]): Promise<T> {
    const out = await execText('ip', ['-j', ...args]);
    return (out.trim() ? JSON.parse(out) : []) as T;
  }

  async createNetns(path: string, lines: string[] = [], sysctls?: Record<string, string>): Promise<void> {
    await fs.writeFile(path, '', { flag: 'w' });
    if (lines.length) await execText('unshare', [`--net=${path}`, ...withSysctls(['ip', '-batch', '-'], sysctls)], lines.join('\n') + '\n');
    else await execText('unshare', [`--net=${path}`, 'true']);
  }

  async deleteNetns(path: string): Promise<void> {
    try {
      await fs.access(path);
    } catch {
      return; // already gone: no work, no spawn
    }
    try {
      this.kernel.umount2(path, UnmountFlags.DETACH); // one syscall; the namespace dies with its last reference
    } catch {
      await this.kernel.lazyUnmountTool(path);
    }
    await fs.rm(path, { force: true });
  }

  async sysctl(key: string, value: string): Promise<void> {
    const p = `/proc/sys/${key}`;
    try {
      if ((await fs.readFile(p, 'utf8')).trim() === value) return;
    } catch {
      /* fall through to the write, which reports */
    }
    await fs.writeFile(p, value);
  }
}

/**
 * A command preceded by /proc/sys writes in the namespace it runs in (one `sh`, still one spawn): the IPv6 switches
 * must be on before `ip` can add an IPv6 address there. Keys are /proc/sys paths (net/ipv6/conf/all/disable_ipv6).
 */
function withSysctls(cmd: string[], sysctls?: Record<string, string>): string[] {
  const kv = Object.entries(sysctls ?? {});
  if (!kv.length) return cmd;
  for (const [k, v] of kv) if (!/^[a-z0-9_/.-]+$/i.test(k) || !/^[0-9a-z -]*$/i.test(v)) throw internal(`bad sysctl ${k}=${v}`);
  const script = kv.map(([k, v]) => `echo '${v}' > /proc/sys/${k}`).join(' && ');
  return ['sh', '-c', `${script} && exec "$@"`, 'sh', ...cmd];
}

/** Whether a link exists in the host namespace (sync check through sysfs; cheap). */
export async function linkExists(name: string): Promise<boolean> {
  try {
    await fs.access(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
}
