/**
 * `LinuxKernel`: the real `Kernel` (core/kernel) — the native addon's calls (sys/linux.ts) and the two kernel-level
 * tools berth runs (`cp -a`, `umount -l`, `ps`). `hostKernel` is the one instance the daemon uses; code takes a `Kernel`
 * by injection with `hostKernel` as its default, and unit tests pass a `RecordingKernel` (sys/fake-kernel.ts).
 */
import { execFile, spawn } from 'node:child_process';
import type { CopyTreeOptions, Kernel } from '../core/kernel/index.js';
import * as linux from './linux.js';

export class LinuxKernel implements Kernel {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    linux.mount(source, target, fstype, flags, data);
  }

  umount2(target: string, flags = 0): void {
    linux.umount2(target, flags);
  }

  mknod(path: string, mode: number, dev: bigint = 0n): void {
    linux.mknod(path, mode, dev);
  }

  lsetxattr(path: string, name: string, value: Buffer): void {
    linux.lsetxattr(path, name, value);
  }

  lgetxattr(path: string, name: string): Buffer | undefined {
    return linux.lgetxattr(path, name);
  }

  llistxattr(path: string): string[] {
    return linux.llistxattr(path);
  }

  flock(fd: number, op: number): void {
    linux.flock(fd, op);
  }

  peerClosed(fd: number): boolean {
    return linux.peerClosed(fd);
  }

  connectUnix(path: string): number {
    return linux.connectUnix(path);
  }

  mallocTrim(): boolean {
    return linux.mallocTrim();
  }

  lowMemoryNotification(): void {
    linux.lowMemoryNotification();
  }

  setTopDir(path: string): void {
    linux.setTopDir(path);
  }

  copyTree(src: string, dst: string, opts: CopyTreeOptions = {}): Promise<void> {
    const args = ['-a', ...(opts.reflink ? ['--reflink=auto'] : []), '--', ...(opts.contents ? [`${src}/.`, `${dst}/`] : [src, dst])];
    return new Promise((resolve, reject) => {
      execFile('cp', args, (err, _stdout, stderr) => {
        if (err) reject(Object.assign(new Error(String(stderr).trim() || err.message), { code: (err as { code?: unknown }).code }));
        else resolve();
      });
    });
  }

  lazyUnmountTool(path: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const c = spawn('umount', ['-l', path], { stdio: 'ignore' });
      c.on('close', () => resolve());
      c.on('error', () => resolve());
    });
  }

  ps(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('ps', args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}${stderr ? `: ${stderr.trim()}` : ''}`));
        else resolve(stdout);
      });
    });
  }
}

/** The daemon's kernel. */
export const hostKernel: Kernel = new LinuxKernel();
