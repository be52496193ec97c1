/**
 * ContainerStore: the container records, in memory for fast reads and on disk (one JSON file per container,
 * written atomically) so nothing is lost when berthd dies. Looks containers up the way Docker does: full ID, name
 * (with or without the leading slash), then unique ID prefix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ContainerRecord } from '../../../core/containers/container.js';
import { invalidArgument, notFound } from '../../../errdefs/index.js';

const RECORD_FILE = 'config.v2.json';

export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  private readonly byName = new Map<string, string>();

  constructor(readonly root: string) {}

  /**
   * Loads every record from disk. A record that cannot be read is handed to `onUnreadable` with whatever text
   * could be read; the record it returns (a placeholder) is kept in its place, so the container is never dropped
   * silently. Directories without a record — a create or a removal that a crash cut short — are returned as
   * `orphans` for the caller to clean up.
   */
  load(onUnreadable: (id: string, err: Error, text: string | undefined) => ContainerRecord | undefined): { records: ContainerRecord[]; orphans: string[] } {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o710 });
    const orphans: string[] = [];
    for (const id of fs.readdirSync(this.root)) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const file = path.join(this.root, id, RECORD_FILE);
      let text: string | undefined;
      try {
        text = fs.readFileSync(file, 'utf8');
        const rec = JSON.parse(text) as ContainerRecord;
        if (!rec || typeof rec !== 'object' || rec.Id !== id || typeof rec.Name !== 'string' || !rec.State || !rec.Config || !rec.HostConfig) throw new Error('not a container record');
        this.byId.set(rec.Id, rec);
        this.byName.set(rec.Name, rec.Id);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          orphans.push(id);
          continue;
        }
        const placeholder = onUnreadable(id, e as Error, text);
        if (placeholder) {
          this.byId.set(placeholder.Id, placeholder);
          if (!this.byName.has(placeholder.Name)) this.byName.set(placeholder.Name, placeholder.Id);
        }
      }
    }
    return { records: [...this.byId.values()], orphans };
  }

  dir(id: string): string {
    return path.join(this.root, id);
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /** Reserves a name for an ID; false when it is taken. Names are stored with their leading slash. */
  reserveName(name: string, id: string): boolean {
    const n = name.startsWith('/') ? name : `/${name}`;
    if (this.byName.has(n)) return false;
    this.byName.set(n, id);
    return true;
  }

  releaseName(name: string): void {
    this.byName.delete(name.startsWith('/') ? name : `/${name}`);
  }

  nameTaken(name: string): string | undefined {
    return this.byName.get(name.startsWith('/') ? name : `/${name}`);
  }

  /** Finds a container by ID, name or unique ID prefix; undefined when none matches. */
  find(ref: string): ContainerRecord | undefined {
    if (!ref) return undefined;
    const direct = this.byId.get(ref);
    if (direct) return direct;
    const byName = this.byName.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (byName) return this.byId.get(byName);
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    let found: ContainerRecord | undefined;
    for (const [id, rec] of this.byId) {
      if (!id.startsWith(ref)) continue;
      if (found) throw invalidArgument(`multiple IDs found with provided prefix: ${ref}`);
      found = rec;
    }
    return found;
  }

  /** Like find, but a missing container is Docker's 404 "No such container: <ref>". */
  get(ref: string): ContainerRecord {
    const rec = this.find(ref);
    if (!rec) throw notFound(`No such container: ${ref}`);
    return rec;
  }

  /** Writes a record atomically (temp file + rename) and keeps it in memory. */
  save(rec: ContainerRecord): void {
    const dir = this.dir(rec.Id);
    fs.mkdirSync(dir, { recursive: true, mode: 0o710 });
    const file = path.join(dir, RECORD_FILE);
    const tmp = `${file}.tmp`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(rec));
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true }); // a full disk: the old record stays whole
      throw e;
    }
    this.byId.set(rec.Id, rec);
    this.byName.set(rec.Name, rec.Id);
  }

  /** Renames; when the record cannot be written (a full disk) the old name stays, in memory and on disk. */
  rename(rec: ContainerRecord, newName: string): void {
    const old = rec.Name;
    this.byName.delete(old);
    rec.Name = newName.startsWith('/') ? newName : `/${newName}`;
    try {
      this.save(rec);
    } catch (e) {
      if (this.byName.get(rec.Name) === rec.Id) this.byName.delete(rec.Name);
      rec.Name = old;
      this.byName.set(old, rec.Id);
      throw e;
    }
  }

  /**
   * Forgets a container and deletes its directory (logs, hosts files, record). The record goes first: a crash
   * half-way leaves a directory without one, which the next load reports as an orphan.
   */
  remove(rec: ContainerRecord): void {
    this.byId.delete(rec.Id);
    if (this.byName.get(rec.Name) === rec.Id) this.byName.delete(rec.Name);
    fs.rmSync(path.join(this.dir(rec.Id), RECORD_FILE), { force: true });
    fs.rmSync(this.dir(rec.Id), { recursive: true, force: true });
  }

  /** Deletes an orphaned directory (see load). */
  removeOrphan(id: string): void {
    fs.rmSync(this.dir(id), { recursive: true, force: true });
  }
}
