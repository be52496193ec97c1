/**
 * The `local` volume driver: each volume is a directory `<root>/<name>/` holding `_data/` (what containers see) and
 * `volume.json` (name, CreatedAt, Labels, Options).
 *
 * Crash safety:
 * - create builds the whole directory as `<root>/.tmp-<rand>/` (metadata fsynced) and renames it into place, so a
 *   volume either exists completely or not at all;
 * - remove first renames `<name>` to `<root>/.trash-<rand>` (the volume is gone from that instant) and then deletes
 *   the data; leftovers of either kind are cleaned up by init(). Data is never deleted while it still has a name.
 * - nothing is deleted while anything is mounted below the volume's directory (checked against /proc/self/mountinfo).
 *
 * Driver options (Docker's local driver): `type`, `device`, `o` — e.g. `type=tmpfs,device=tmpfs,o=size=10m`, or
 * `type=none,device=/srv/x,o=bind`. Such a volume is mounted on `_data` at first use (mount()) and stays mounted
 * until the volume is removed (unmount() is also available); after a daemon restart the mounted state is read back
 * from /proc/self/mountinfo, so nothing is kept only in memory. `size` (quota) is refused: no quota support.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { mountOne, unmount } from '../../../core/mount/index.js';
import { conflict, internal, invalidArgument } from '../../../errdefs/index.js';
import {
  CreateVolumeOptions,
  LOCAL_DRIVER,
  rfc3339,
  validateVolumeName,
  VolumeDriver,
  VolumeRecord,
} from '../../../core/volumes/types.js';

const META = 'volume.json';
const DATA = '_data';
const VALID_OPTS = new Set(['type', 'o', 'device', 'size']);
const MANDATORY: Record<string, string[]> = { device: ['type'], type: ['device'], o: ['device', 'type'] };

/** Docker's local-driver option validation. */
export function validateLocalOptions(opts: Record<string, string> | null | undefined): void {
  if (!opts || Object.keys(opts).length === 0) return;
  for (const k of Object.keys(opts)) if (!VALID_OPTS.has(k)) throw invalidArgument(`invalid option: "${k}"`);
  if ('size' in opts) throw invalidArgument('quota size requested but no quota support');
  for (const [opt, reqs] of Object.entries(MANDATORY)) {
    if (!(opt in opts)) continue;
    for (const r of reqs) if (!(r in opts)) throw invalidArgument(`missing required option: "${r}"`);
  }
}

/** Mount points (unescaped) from /proc/self/mountinfo. */
export function mountPoints(): string[] {
  const text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) out.push(f[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

function isMounted(p: string): boolean {
  return mountPoints().includes(p);
}

function mountsUnder(dir: string): string[] {
  return mountPoints().filter((m) => m === dir || m.startsWith(dir + '/'));
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class LocalVolumeDriver implements VolumeDriver {
  readonly name = LOCAL_DRIVER;
  private readonly volumes = new Map<string, VolumeRecord>();
  /** Creates in flight, so two concurrent creates of one name share the work. */
  private readonly creating = new Map<string, Promise<{ record: VolumeRecord; created: boolean }>>();

  constructor(readonly root: string, private readonly log: (msg: string) => void = () => {}) {}

  async init(): Promise<void> {
    await fs.promises.mkdir(this.root, { recursive: true, mode: 0o701 });
    for (const entry of await fs.promises.readdir(this.root, { withFileTypes: true })) {
      const dir = path.join(this.root, entry.name);
      if (!entry.isDirectory()) continue;
      if (entry.name.startsWith('.tmp-') || entry.name.startsWith('.trash-')) {
        this.deleteTree(dir);
        continue;
      }
      try {
        const rec = JSON.parse(await fs.promises.readFile(path.join(dir, META), 'utf8')) as VolumeRecord;
        this.volumes.set(entry.name, { ...rec, name: entry.name });
      } catch (e) {
        // A directory with data but no metadata (copied in by hand, or from an older layout): adopt it.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync(path.join(dir, DATA))) {
          const st = await fs.promises.stat(dir);
          this.volumes.set(entry.name, { name: entry.name, createdAt: rfc3339(st.ctime), labels: null, options: null });
        } else this.log(`volume ${entry.name}: unreadable metadata: ${(e as Error).message}`);
      }
    }
  }

  path(name: string): string {
    return path.join(this.root, name, DATA);
  }

  get(name: string): VolumeRecord | undefined {
    return this.volumes.get(name);
  }

  list(): VolumeRecord[] {
    return [...this.volumes.values()];
  }

  create(name: string, opts: CreateVolumeOptions): Promise<{ record: VolumeRecord; created: boolean }> {
    const existing = this.volumes.get(name);
    if (existing) return Promise.resolve({ record: existing, created: false });
    const inflight = this.creating.get(name);
    if (inflight) return inflight.then((r) => ({ record: r.record, created: false }));
    const p = this.doCreate(name, opts).finally(() => this.creating.delete(name));
    this.creating.set(name, p);
    return p;
  }

  private async doCreate(name: string, opts: CreateVolumeOptions): Promise<{ record: VolumeRecord; created: boolean }> {
    validateVolumeName(name);
    validateLocalOptions(opts.options);
    const record: VolumeRecord = { name, createdAt: rfc3339(), labels: opts.labels ?? null, options: opts.options ?? null };
    const tmp = path.join(this.root, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      // one level at a time: a recursive mkdir reports a full disk as ENOENT
      await fs.promises.mkdir(tmp, { mode: 0o755 });
      await fs.promises.mkdir(path.join(tmp, DATA), { mode: 0o755 });
      await fs.promises.chmod(tmp, 0o755);
      const fh = await fs.promises.open(path.join(tmp, META), 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(record));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsyncDir(tmp);
      try {
        await fs.promises.rename(tmp, path.join(this.root, name));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') throw conflict(`volume ${name} already exists on disk`);
        throw e;
      }
      await fsyncDir(this.root);
    } catch (e) {
      await fs.promises.rm(tmp, { recursive: true, force: true }).catch(() => {});
      throw e;
    }
    this.volumes.set(name, record);
    return { record, created: true };
  }

  async mount(name: string): Promise<string> {
    const rec = this.volumes.get(name);
    const p = this.path(name);
    if (!rec || !needsMount(rec)) return p;
    if (isMounted(p)) return p;
    const o = rec.options!;
    try {
      mountOne({ type: o.type ?? '', source: o.device ?? '', options: (o.o ?? '').split(',').filter(Boolean) }, p);
    } catch (e) {
      const msg = (e as Error).message.replace(/password=[^,\s]*/g, 'password=********');
      throw internal(`failed to mount local volume: mount ${o.device}:${p}, data: ${o.o ?? ''}: ${msg}`);
    }
    return p;
  }

  async unmount(name: string): Promise<void> {
    const rec = this.volumes.get(name);
    const p = this.path(name);
    if (!rec || !needsMount(rec)) return;
    if (isMounted(p)) unmount(p);
  }

  /**
   * Removes the volume. The logical removal (rename out of the namespace) happens synchronously so a caller that
   * checked references in the same tick cannot race a new reference.
   */
  async remove(name: string): Promise<void> {
    const rec = this.volumes.get(name);
    if (!rec) return;
    const dir = path.join(this.root, name);
    if (needsMount(rec) && isMounted(this.path(name))) unmount(this.path(name));
    const busy = mountsUnder(dir);
    if (busy.length) throw conflict(`volume ${name} has active mounts: ${busy.join(', ')}`);
    const trash = path.join(this.root, `.trash-${randomBytes(8).toString('hex')}`);
    try {
      fs.renameSync(dir, trash);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.volumes.delete(name);
    await fsyncDir(this.root).catch(() => {});
    this.deleteTree(trash);
  }

  /** Deletes a directory tree unless something is mounted inside it (then it is left for a later init()). */
  private deleteTree(dir: string): void {
    if (mountsUnder(dir).length) {
      this.log(`not deleting ${dir}: something is mounted below it`);
      return;
    }
    fs.promises.rm(dir, { recursive: true, force: true }).catch((e: Error) => this.log(`delete ${dir}: ${e.message}`));
  }

  async size(name: string): Promise<number> {
    if (!this.volumes.has(name)) return -1;
    try {
      return await dirSize(this.path(name));
    } catch {
      return -1;
    }
  }
}

function needsMount(rec: VolumeRecord): boolean {
  return Boolean(rec.options && (rec.options.type || rec.options.device));
}

/** moby's directory.Size: apparent sizes of everything but directories, hard links counted once. */
export async function dirSize(dir: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(d, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      const st = await fs.promises.lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        await walk(p);
        continue;
      }
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  };
  await walk(dir);
  return total;
}
