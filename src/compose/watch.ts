/**
 * `develop.watch`: host files are watched, and each change is matched against the services' watch rules.
 * Changes arriving within 500 ms of each other form one batch (an editor saving several files is one event), and a
 * batch is handled as Compose v2 does it: `rebuild` services are built and their containers recreated, `sync`
 * paths are copied into every container of the service through the archive API (paths gone from the host are
 * removed in the container with `rm -rf` through exec), `sync+restart` and `restart` then restart the containers,
 * `sync+exec` runs its command in them.
 *
 * A rule's ignore patterns are .dockerignore patterns relative to its path; the build context's .dockerignore,
 * editors' temporary files and `.git/` are always ignored. A sync rule whose path a bind mount already covers is
 * skipped with a warning (the container sees the files anyway).
 */
import fs from 'node:fs';
import path from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import { TarWriter } from '../pkg/tar/writer.js';
import type { ProjectRunner } from './apply.js';
import { ComposeError } from './apply.js';
import type { ExecCreateRequest } from '../api/types/container.js';
import { unlessNotFound, type Client } from '../client/index.js';
import type { ProjectContainer } from './containers.js';
import { L } from './labels.js';
import type { Service } from './model/types.js';

type Matcher = { ignores(p: string): boolean };
const ignoreFactory = (dockerignoreModule as unknown as { default: (o?: { ignorecase?: boolean }) => { add(p: string[]): Matcher } }).default;

export type WatchAction = 'sync' | 'rebuild' | 'restart' | 'sync+restart' | 'sync+exec';

export interface WatchTrigger {
  action: WatchAction;
  /** Absolute host path. */
  path: string;
  target?: string;
  ignore?: string[];
  include?: string[];
  initial_sync?: boolean;
  exec?: { command: string[] | string; user?: string; privileged?: boolean; working_dir?: string; environment?: Record<string, string> | string[] };
}

export interface WatchRule extends WatchTrigger {
  service: string;
  matches(hostPath: string): { hostPath: string; containerPath?: string } | undefined;
}

/** The batching window: a batch is handed on once no change has come for this long (Compose v2's quiet period). */
export const QUIET_PERIOD_MS = 500;

/** Editors' and tools' temporary files, never synced (vim swap files, emacs locks and backups, JetBrains' temp). */
const EPHEMERAL = ['**/*.swp', '**/*.swx', '**/*.swpx', '**/4913', '**/.#*', '**/#*#', '**/*~', '**/*___jb_old___', '**/*___jb_tmp___'];

const toList = (v: unknown): string[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** Is `p` the directory `dir` itself or inside it? */
export function isChild(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function matcher(patterns: string[]): Matcher | undefined {
  return patterns.length ? ignoreFactory({ ignorecase: false }).add(patterns) : undefined;
}

/** Whether `p` (absolute) is matched by `m`, its patterns relative to `base`; a directory's own pattern counts for what is inside. */
function matchedUnder(m: Matcher | undefined, base: string, p: string): boolean {
  if (!m || !isChild(base, p)) return false;
  const rel = path.relative(base, p).split(path.sep).join('/');
  if (!rel) return false;
  if (m.ignores(rel)) return true;
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) if (m.ignores(parts.slice(0, i).join('/'))) return true;
  return false;
}

/** The watch rules of a service (empty without develop.watch); rules a bind mount covers are dropped with a warning. */
export function serviceWatchRules(s: Service, warn: (m: string) => void = () => {}): WatchRule[] {
  const develop = (s.develop ?? {}) as { watch?: Record<string, unknown>[] };
  const out: WatchRule[] = [];
  let dockerignore: Matcher | undefined;
  const ctx = s.build?.context;
  if (ctx && fs.existsSync(path.join(ctx, '.dockerignore'))) dockerignore = matcher(fs.readFileSync(path.join(ctx, '.dockerignore'), 'utf8').split('\n'));
  const always = matcher(EPHEMERAL);
  for (const raw of develop.watch ?? []) {
    const t = { ...raw, ignore: toList(raw.ignore), include: toList(raw.include) } as WatchTrigger;
    if (!t.path) throw new ComposeError('watch rules MUST define a path');
    t.path = path.resolve(t.path);
    if (t.action === 'rebuild' && !s.build) throw new ComposeError(`can't watch service "${s.name}" with action rebuild without a build context`);
    if (t.action === 'sync+exec' && !toList(t.exec?.command).length) throw new ComposeError(`can't watch with action "sync+exec" on service ${s.name} without a command`);
    const sync = t.action === 'sync' || t.action === 'sync+restart' || t.action === 'sync+exec';
    if (sync && (s.volumes ?? []).some((v) => v.type === 'bind' && v.source && isChild(v.source, t.path))) {
      warn(`path '${t.path}' also declared by a bind mount volume, this path won't be monitored!`);
      continue;
    }
    const ignore = matcher(t.ignore ?? []);
    const include = matcher(t.include ?? []);
    out.push({
      ...t,
      service: s.name,
      matches(hostPath) {
        if (!isChild(t.path, hostPath)) return undefined;
        if (include && !matchedUnder(include, t.path, hostPath)) return undefined;
        if (ctx && matchedUnder(dockerignore, ctx, hostPath)) return undefined;
        if (matchedUnder(always, '/', hostPath) || hostPath.split(path.sep).includes('.git')) return undefined;
        if (matchedUnder(ignore, t.path, hostPath)) return undefined;
        const containerPath = t.target ? path.posix.join(t.target, path.relative(t.path, hostPath).split(path.sep).join('/')) : undefined;
        return { hostPath, containerPath };
      },
    });
  }
  return out;
}

/**
 * Watches directory trees with one inotify watch per directory (fs.watch), adding directories as they appear; a
 * file path is watched through its directory. Reports absolute paths of whatever changed, including every file of
 * a directory that appeared at once (`mkdir -p a/b && echo x > a/b/c` before a watch on `a` existed).
 */
export class TreeWatcher {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private closed = false;

  constructor(private readonly onChange: (p: string) => void) {}

  add(p: string): void {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(p);
    } catch {
      st = undefined;
    }
    if (st?.isDirectory()) this.watchDir(p, true);
    else this.watchDir(path.dirname(p), false);
  }

  private watchDir(dir: string, recursive: boolean): void {
    if (this.closed || this.watchers.has(dir)) return;
    let w: fs.FSWatcher;
    try {
      w = fs.watch(dir, { persistent: true }, (_type, name) => {
        if (!name) return;
        const full = path.join(dir, name.toString());
        this.onChange(full);
        if (recursive) {
          try {
            if (fs.statSync(full).isDirectory() && !this.watchers.has(full)) this.scan(full, true);
          } catch {
            this.forget(full);
          }
        }
      });
    } catch {
      return;
    }
    w.on('error', () => this.forget(dir));
    this.watchers.set(dir, w);
    if (recursive)
      for (const e of safeReaddir(dir)) if (e.isDirectory() && e.name !== '.git') this.watchDir(path.join(dir, e.name), true);
  }

  /** A directory that appeared: watch it and report what is already in it. */
  private scan(dir: string, report: boolean): void {
    this.watchDir(dir, true);
    for (const e of safeReaddir(dir)) {
      const full = path.join(dir, e.name);
      if (report) this.onChange(full);
      if (e.isDirectory() && e.name !== '.git') this.scan(full, report);
    }
  }

  private forget(dir: string): void {
    for (const [d, w] of this.watchers) {
      if (d === dir || d.startsWith(dir + path.sep)) {
        w.close();
        this.watchers.delete(d);
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

function safeReaddir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Go's %q of a string slice: `["web" "db"]`. */
export function goQuoteList(xs: string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

export interface WatchOptions {
  services?: string[];
  /** One line for the user (Compose's `⦿` lines). */
  log(message: string): void;
  warn?(message: string): void;
  /** Hide build output. */
  quiet?: boolean;
  /** Remove the image a rebuild replaced when nothing else uses it (--prune). */
  prune?: boolean;
}

/** One running watch over a project: start() sets up the watches, stop() ends them. */
export class ProjectWatch {
  private readonly rules: WatchRule[] = [];
  private readonly tree: TreeWatcher;
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Services whose containers are being recreated by a rebuild right now. */
  readonly rebuilding = new Set<string>();

  constructor(
    private readonly runner: ProjectRunner,
    private readonly opts: WatchOptions,
  ) {
    this.tree = new TreeWatcher((p) => this.changed(p));
  }

  /** Validates the rules, runs initial syncs, watches the paths and logs "Watch enabled". */
  async start(): Promise<void> {
    const project = this.runner.project;
    const names = this.opts.services?.length ? this.opts.services : Object.keys(project.services);
    for (const n of names) {
      const s = project.services[n];
      if (!s) throw new ComposeError(`no such service: ${n}`);
      this.rules.push(...serviceWatchRules(s, (m) => this.opts.warn?.(m)));
    }
    if (!this.rules.length) throw new ComposeError("none of the selected services is configured for watch, consider setting a 'develop' section");
    for (const r of this.rules) {
      if (r.initial_sync && r.action.startsWith('sync')) await this.sync(r.service, walk(r.path).map((p) => r.matches(p)).filter((m): m is NonNullable<typeof m> => !!m && !!m.containerPath));
      this.tree.add(r.path);
    }
    this.opts.log('Watch enabled');
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.tree.close();
  }

  /** Resolves once the batch in progress (if any) is handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  private changed(p: string): void {
    if (this.stopped) return;
    this.pending.add(p);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const batch = [...this.pending];
      this.pending = new Set();
      this.queue = this.queue.then(() => this.handle(batch), () => this.handle(batch)).catch((e) => this.opts.warn?.(`Error handling changed files: ${(e as Error).message}`));
    }, QUIET_PERIOD_MS);
  }

  /** One batch, in Compose's order: rebuilds, then syncs, then restarts, then exec hooks. */
  async handle(batch: string[]): Promise<void> {
    const rebuild = new Set<string>();
    const restart = new Set<string>();
    const syncs = new Map<string, Map<string, { hostPath: string; containerPath: string }>>();
    const execs = new Map<string, Set<WatchRule>>();
    for (const p of batch) {
      for (const r of this.rules) {
        const m = r.matches(p);
        if (!m) continue;
        if (r.action === 'rebuild') rebuild.add(r.service);
        if (r.action === 'restart' || r.action === 'sync+restart') restart.add(r.service);
        if (r.action.startsWith('sync') && m.containerPath) {
          const forService = syncs.get(r.service) ?? new Map();
          forService.set(m.containerPath, { hostPath: m.hostPath, containerPath: m.containerPath });
          syncs.set(r.service, forService);
        }
        if (r.action === 'sync+exec') execs.set(r.service, (execs.get(r.service) ?? new Set()).add(r));
      }
    }
    if (rebuild.size) await this.rebuild([...rebuild].sort());
    for (const [service, mappings] of syncs) {
      if (rebuild.has(service)) continue;
      this.opts.log(`Syncing service "${service}" after ${mappings.size} changes were detected`);
      await this.sync(service, [...mappings.values()]);
    }
    const toRestart = [...restart].filter((s) => !rebuild.has(s)).sort();
    if (toRestart.length) {
      for (const s of toRestart) await Promise.all((await this.containersOf(s)).map((c) => this.runner.client.containers.restart(c.Id)));
      this.opts.log(`service(s) ${goQuoteList(toRestart)} restarted`);
    }
    for (const [service, rules] of execs) {
      if (rebuild.has(service)) continue;
      for (const r of rules) await Promise.all((await this.containersOf(service)).map((c) => this.runHook(c, r)));
    }
  }

  private async containersOf(service: string): Promise<ProjectContainer[]> {
    return (await this.runner.containers({ oneoff: false, all: false })).filter((c) => c.Labels[L.service] === service);
  }

  /** Copies what exists on the host into each container of `service` and removes there what no longer exists. */
  async sync(service: string, mappings: { hostPath: string; containerPath?: string }[]): Promise<void> {
    const copy: { hostPath: string; containerPath: string }[] = [];
    const remove: string[] = [];
    for (const m of mappings) {
      if (!m.containerPath) continue;
      if (fs.existsSync(m.hostPath)) copy.push(m as { hostPath: string; containerPath: string });
      else remove.push(m.containerPath);
    }
    const containers = await this.containersOf(service);
    const errors: string[] = [];
    await Promise.all(
      containers.map(async (c) => {
        if (remove.length) {
          const code = await execToCompletion(this.runner.client, c.Id, ['rm', '-rf', ...remove]).catch((e: Error) => e.message);
          if (code !== 0) errors.push(`deleting paths in ${c.Id}: ${code}`);
        }
        if (copy.length)
          await this.runner.client.containers.putArchive(c.Id, '/', archive(copy), { copyUIDGID: true }).catch((e: Error) => {
            errors.push(`copying files to ${c.Id}: ${e.message}`);
          });
      }),
    );
    if (errors.length) throw new ComposeError(errors.join('\n'));
  }

  private async runHook(c: ProjectContainer, r: WatchRule): Promise<void> {
    const x = r.exec!;
    const cmd = typeof x.command === 'string' ? ['/bin/sh', '-c', x.command] : x.command;
    const env = Array.isArray(x.environment) ? x.environment : Object.entries(x.environment ?? {}).map(([k, v]) => `${k}=${v}`);
    await execToCompletion(this.runner.client, c.Id, cmd, { User: x.user, Privileged: x.privileged, WorkingDir: x.working_dir, Env: env });
  }

  /** Builds the services' images, then recreates their containers from them (dependencies left as they are). */
  async rebuild(services: string[]): Promise<void> {
    this.opts.log(`Rebuilding service(s) ${goQuoteList(services)} after changes were detected...`);
    for (const n of services) this.rebuilding.add(n);
    try {
      await this.rebuildNow(services);
    } finally {
      for (const n of services) this.rebuilding.delete(n);
    }
  }

  private async rebuildNow(services: string[]): Promise<void> {
    const project = this.runner.project;
    const before = new Map<string, string | undefined>();
    try {
      for (const n of services) {
        before.set(n, (await unlessNotFound(this.runner.client.images.inspect(imageRef(this.runner, n))))?.Id);
        await this.runner.build(project.services[n], { onLine: this.opts.quiet ? undefined : (l) => l.trim() && this.opts.log(l.replace(/\n$/, '')) });
      }
    } catch (e) {
      this.opts.log(`Build failed. Error: ${(e as Error).message}`);
      throw e;
    }
    this.opts.log(`service(s) ${goQuoteList(services)} successfully built`);
    try {
      await this.runner.up({ services, noDeps: true, forceRecreate: true, noBuild: true });
    } catch (e) {
      this.opts.log(`Failed to recreate services after update. Error: ${(e as Error).message}`);
      throw e;
    }
    if (this.opts.prune)
      for (const [n, id] of before) {
        const now = (await unlessNotFound(this.runner.client.images.inspect(imageRef(this.runner, n))))?.Id;
        if (id && now && id !== now) await this.runner.client.images.remove(id).catch(() => {});
      }
  }
}

/** Runs a command in a container, detached, and resolves with its exit code once it has ended (polled, as Compose does). */
async function execToCompletion(client: Client, id: string, cmd: string[], extra: ExecCreateRequest = {}): Promise<number> {
  const exec = await client.containers.exec(id, { ...extra, Cmd: cmd, AttachStdout: false, AttachStderr: false, AttachStdin: false, Tty: false });
  await client.exec.startDetached(exec.Id, { Tty: false });
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    const i = await client.exec.inspect(exec.Id);
    if (!i.Running && i.ExitCode !== null) return i.ExitCode;
    await new Promise((r) => setTimeout(r, delay));
  }
}

function imageRef(r: ProjectRunner, service: string): string {
  const s = r.project.services[service];
  return s.image ?? `${r.project.name}-${s.name}`;
}

/** Every path under `p` (itself included). */
function walk(p: string): string[] {
  const out = [p];
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return [];
  }
  if (st.isDirectory()) for (const e of safeReaddir(p)) out.push(...walk(path.join(p, e.name)));
  return out;
}

/** A tar of the host paths at their container paths: directories with all they hold, symlinks as links. */
function archive(list: { hostPath: string; containerPath: string }[]): import('node:stream').Readable {
  const w = new TarWriter();
  const seen = new Set<string>();
  const add = async (host: string, target: string): Promise<void> => {
    const name = target.replace(/^\/+/, '');
    if (!name || seen.has(name)) return;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(host);
    } catch {
      return; // gone since the event: the next batch removes it
    }
    seen.add(name);
    const base = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, mtime: st.mtime };
    if (st.isDirectory()) {
      await w.add({ ...base, name: `${name}/`, type: 'dir' });
      for (const e of safeReaddir(host)) await add(path.join(host, e.name), path.posix.join(target, e.name));
    } else if (st.isSymbolicLink()) {
      await w.add({ ...base, name, type: 'symlink', linkname: fs.readlinkSync(host) });
    } else if (st.isFile()) {
      let body: Buffer;
      try {
        body = fs.readFileSync(host);
      } catch {
        return;
      }
      await w.add({ ...base, name, type: 'file', size: body.length }, body);
    }
  };
  (async () => {
    for (const m of list) await add(m.hostPath, m.containerPath);
    await w.finish();
  })().catch((e: Error) => w.destroy(e));
  return w.readable;
}
