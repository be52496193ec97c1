/**
 * Leases recorded as JSON files under `<root>/leases/<id>.json` (written with temp + rename). See
 * core/content/types.ts for what a lease means.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Lease, LeaseManager, LeaseResource } from '../../../core/content/types.js';
import { notFound, invalidArgument } from '../../../errdefs/index.js';

export class FileLeaseManager implements LeaseManager {
  private readonly dir: string;
  private readonly leases = new Map<string, Lease>();
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(root: string, readonly boot: string) {
    this.dir = path.join(root, 'leases');
  }

  /**
   * Loads recorded leases. Leases of an earlier boot that carry no expiry belonged to work of a dead process and are
   * deleted; expired ones too.
   */
  static async open(root: string, boot = randomBytes(8).toString('hex')): Promise<FileLeaseManager> {
    const m = new FileLeaseManager(root, boot);
    await fsp.mkdir(m.dir, { recursive: true });
    for (const name of await fsp.readdir(m.dir)) {
      const p = path.join(m.dir, name);
      if (!name.endsWith('.json')) {
        await fsp.rm(p, { force: true });
        continue;
      }
      let lease: Lease | undefined;
      try {
        lease = JSON.parse(await fsp.readFile(p, 'utf8')) as Lease;
      } catch {
        lease = undefined;
      }
      if (!lease || m.isDead(lease)) await fsp.rm(p, { force: true });
      else m.leases.set(lease.id, lease);
    }
    return m;
  }

  private isDead(l: Lease): boolean {
    if (l.expiresAt) return Date.parse(l.expiresAt) <= Date.now();
    return l.boot !== this.boot;
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  private persist(l: Lease): Promise<void> {
    // Serialise writes so a lease file is never written by two overlapping renames out of order.
    const run = this.chain.then(async () => {
      const tmp = `${this.file(l.id)}.${randomBytes(4).toString('hex')}.tmp`;
      await fsp.writeFile(tmp, JSON.stringify(l));
      await fsp.rename(tmp, this.file(l.id));
    });
    this.chain = run.catch(() => {});
    return run;
  }

  async create(opts: { id?: string; expiresInMs?: number; labels?: Record<string, string> } = {}): Promise<Lease> {
    const id = opts.id ?? `lease-${Date.now()}-${randomBytes(6).toString('hex')}`;
    if (!/^[A-Za-z0-9._-]+$/.test(id)) throw invalidArgument(`invalid lease id ${id}`);
    const lease: Lease = { id, createdAt: new Date().toISOString(), boot: this.boot, resources: [] };
    if (opts.expiresInMs !== undefined) lease.expiresAt = new Date(Date.now() + opts.expiresInMs).toISOString();
    if (opts.labels) lease.labels = opts.labels;
    this.leases.set(id, lease);
    await this.persist(lease);
    return lease;
  }

  async addResource(leaseId: string, res: LeaseResource): Promise<void> {
    const l = this.leases.get(leaseId);
    if (!l) throw notFound(`lease ${leaseId}: not found`);
    if (l.resources.some((r) => r.type === res.type && r.id === res.id)) return;
    l.resources.push(res);
    await this.persist(l);
  }

  async delete(leaseId: string): Promise<void> {
    this.leases.delete(leaseId);
    await this.chain;
    await fsp.rm(this.file(leaseId), { force: true });
  }

  async list(): Promise<Lease[]> {
    const out: Lease[] = [];
    for (const l of [...this.leases.values()]) {
      if (this.isDead(l)) await this.delete(l.id);
      else out.push(l);
    }
    return out;
  }

  async protectedResources(): Promise<{ content: Set<string>; snapshots: Set<string> }> {
    const content = new Set<string>();
    const snapshots = new Set<string>();
    for (const l of await this.list()) {
      for (const r of l.resources) (r.type === 'content' ? content : snapshots).add(r.id);
    }
    return { content, snapshots };
  }
}
