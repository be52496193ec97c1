/**
 * `RecordingKernel`: a `Kernel` for unit tests (youki's pattern). It performs nothing on the host: it records every
 * call in order (`calls`), keeps a mount table (a stack of mounts per target, so `umount2` of a path with nothing
 * mounted fails with EINVAL as the kernel's does) and xattrs in memory, and fails a chosen call on demand
 * (`failOn`). `copyTree` and `lazyUnmountTool` are recorded only; `ps` prints `psOutput`.
 */
import type { CopyTreeOptions, Kernel } from '../core/kernel/index.js';
import { MountFlags } from '../core/kernel/index.js';

export interface KernelCall {
  op: keyof Kernel;
  args: unknown[];
}

export interface FakeMount {
  source: string | null;
  fstype: string | null;
  flags: number;
  data: string | null;
}

/** An error shaped like the real kernel's (`code` is the errno name). */
export function kernelError(op: string, code: string, detail = ''): Error {
  return Object.assign(new Error(`${op}${detail ? ` ${detail}` : ''}: ${code}`), { code, syscall: op });
}

export class RecordingKernel implements Kernel {
  readonly calls: KernelCall[] = [];
  /** target → mounts stacked there, the top last. */
  readonly mounts = new Map<string, FakeMount[]>();
  private readonly xattrs = new Map<string, Map<string, Buffer>>();
  private readonly failures: Array<{ op: keyof Kernel; code: string; when: (args: unknown[]) => boolean }> = [];

  /** Makes the next call of `op` (whose arguments satisfy `when`) throw an error with errno name `code`. */
  failOn(op: keyof Kernel, code: string, when: (args: unknown[]) => boolean = () => true): this {
    this.failures.push({ op, code, when });
    return this;
  }

  /** The recorded calls of one kind, their arguments only. */
  callsOf(op: keyof Kernel): unknown[][] {
    return this.calls.filter((c) => c.op === op).map((c) => c.args);
  }

  /** How many mounts are stacked at `target`. */
  depth(target: string): number {
    return this.mounts.get(target)?.length ?? 0;
  }

  private record(op: keyof Kernel, args: unknown[]): void {
    this.calls.push({ op, args });
    const i = this.failures.findIndex((f) => f.op === op && f.when(args));
    if (i >= 0) {
      const [f] = this.failures.splice(i, 1);
      throw kernelError(op, f!.code, String(args[1] ?? args[0] ?? ''));
    }
  }

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    this.record('mount', [source, target, fstype, flags, data]);
    const stack = this.mounts.get(target) ?? [];
    if (flags & MountFlags.REMOUNT) {
      const top = stack[stack.length - 1];
      if (!top) throw kernelError('mount', 'EINVAL', target);
      top.flags = flags;
      return;
    }
    stack.push({ source, fstype, flags, data });
    this.mounts.set(target, stack);
  }

  umount2(target: string, flags = 0): void {
    this.record('umount2', [target, flags]);
    const stack = this.mounts.get(target);
    if (!stack?.length) throw kernelError('umount2', 'EINVAL', target);
    stack.pop();
    if (!stack.length) this.mounts.delete(target);
  }

  mknod(path: string, mode: number, dev: bigint = 0n): void {
    this.record('mknod', [path, mode, dev]);
  }

  lsetxattr(path: string, name: string, value: Buffer): void {
    this.record('lsetxattr', [path, name, value]);
    const m = this.xattrs.get(path) ?? new Map<string, Buffer>();
    m.set(name, Buffer.from(value));
    this.xattrs.set(path, m);
  }

  lgetxattr(path: string, name: string): Buffer | undefined {
    this.record('lgetxattr', [path, name]);
    return this.xattrs.get(path)?.get(name);
  }

  llistxattr(path: string): string[] {
    this.record('llistxattr', [path]);
    return [...(this.xattrs.get(path)?.keys() ?? [])];
  }

  flock(fd: number, op: number): void {
    this.record('flock', [fd, op]);
  }

  peerClosed(fd: number): boolean {
    this.record('peerClosed', [fd]);
    return false;
  }

  connectUnix(path: string): number {
    this.record('connectUnix', [path]);
    throw kernelError('connect', 'ENOENT', path);
  }

  mallocTrim(): boolean {
    this.record('mallocTrim', []);
    return false;
  }

  lowMemoryNotification(): void {
    this.record('lowMemoryNotification', []);
  }

  setTopDir(path: string): void {
    this.record('setTopDir', [path]);
  }

  async copyTree(src: string, dst: string, opts: CopyTreeOptions = {}): Promise<void> {
    this.record('copyTree', [src, dst, opts]);
  }

  /** What `ps` prints (set by the test). */
  psOutput = '  PID CMD\n';

  async ps(args: string[]): Promise<string> {
    this.record('ps', [args]);
    return this.psOutput;
  }

  async lazyUnmountTool(path: string): Promise<void> {
    this.record('lazyUnmountTool', [path]);
    this.mounts.delete(path);
  }
}
