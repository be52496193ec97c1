/**
 * The Dockerfile builder behind `POST /build`: Dockerfile 1.x syntax (BuildKit's) through the classic API.
 *
 * - A build runs the stages its target needs (graph.ts), each stage in its own task, so independent stages run at
 *   the same time; a stage waits for another only where it uses it (FROM, COPY --from, RUN --mount from=).
 * - Each step produces an image, as Docker's classic builder does. Metadata steps (ENV, CMD, LABEL, ...) create an
 *   image with the parent's layers, an edited config and an `empty_layer` history entry. RUN creates a container from
 *   the current image (entrypoint cleared, build args in its environment, run mounts from mounts.ts), streams its
 *   output, and commits its writable layer. COPY/ADD/WORKDIR work on a scratch snapshot on top of the current image,
 *   mounted on the host: sources are streamed as a tar into the scope-resolved destination, then the snapshot's upper
 *   dir becomes the new layer.
 * - Cache (cache.ts): a step's key covers the parent image, the step's text, the resulting config and the checksums
 *   of what it reads. A hit reuses the image; after a stage's first miss no further step of that stage is probed.
 *   `cachefrom` images are matched by their history as dockerd does.
 * - Progress (progress.ts): classic `Step n/m` text for the docker CLI, or per-step events for `berth build`.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Duplex, Readable } from 'node:stream';
import type { ContainerConfig, HistoryEntry, ImageConfig, LayerRecord } from '../core/images/types.js';
import type { ImageWriter } from '../core/images/writer.js';
import { mountAll, unmount } from '../core/mount/index.js';
import { EngineError, invalidArgument, isNotFound } from '../errdefs/index.js';
import { applyLayer } from '../pkg/archive/apply-layer.js';
import { diffLayer } from '../pkg/archive/diff-layer.js';
import { decompress } from '../pkg/archive/compression.js';
import { chainIDs, type Digest } from '../pkg/digest/index.js';
import * as ref from '../pkg/reference/index.js';
import { commitLayer, EMPTY_TAR_DIFF_ID } from '../daemon/services/containers/commit.js';
import { ScopedFS } from '../pkg/securejoin/scoped.js';
import type { TarHeader } from '../pkg/tar/header.js';
import { hostKernel as kernel } from '../sys/kernel.js';
import { expandWord, expandWords, parseDockerfile, keyValuePairs, splitRaw, type Dockerfile, type Heredoc, type Instruction } from './dockerfile/parser.js';
import { BuildCache } from './cache.js';
import { ContextIndex } from './context-index.js';
import { fileLinks } from './file-links.js';
import {
  applyDockerignore, collectSources, ContextTree, diskEntry, DiskTree, hashSources, isDirScoped, isIgnored, LayerPlan, lookupOwner, mkdirScoped, parseDockerignore, readContextFile, tarOf, type Source, type SourceEntry, type SourceTree,
} from './context.js';
import { BuildError } from './errors.js';
import { planStages, stageIndex, type StagePlan } from './graph.js';
import { goQuoteList, parseHealthcheck } from './instructions.js';
import { CacheMounts, mountCacheText, parseRunMount, removeMountStubs, secretFile, secretMissing, type RunMount } from './mounts.js';
import { BuildProgress, type BuildMessage, type Lane } from './progress.js';

export { BuildError } from './errors.js';
export type { BuildMessage } from './progress.js';

// ------------------------------------------------------------------------------------------------ dependencies

/**
 * What the builder writes images through: the one image writer (core/images/writer.ts), shared with commit, plus
 * removal of untagged step images when the build cache is pruned.
 */
export type BuildImageStore = ImageWriter & {
  remove?(id: string, opts: { force?: boolean; noprune?: boolean }): Promise<unknown>;
};

export interface BuildContainers {
  create(name: string | undefined, body: Record<string, unknown>): Promise<{ Id: string }>;
  attach(ref: string, socket: Duplex, opts: { stdin: boolean; stdout: boolean; stderr: boolean; stdinOnce: boolean }): Promise<void>;
  start(ref: string): Promise<unknown>;
  wait(ref: string, condition: string, signal: AbortSignal): Promise<{ StatusCode: number }>;
  kill(ref: string, signal?: string): Promise<void>;
  remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void>;
}

export interface BuilderDeps {
  dataRoot: string;
  images: BuildImageStore;
  containers: BuildContainers;
  /** Host architecture in Go's naming, for FROM scratch and the TARGETARCH/BUILDARCH args. */
  arch: string;
  /** Pulls an image (`pull=1`, or a base image that is not there); absent: no registry. */
  pull?: (name: string, signal?: AbortSignal) => Promise<void>;
}

export interface BuildOptions {
  dockerfile?: string;
  tags?: string[];
  buildArgs?: Record<string, string | null>;
  noCache?: boolean;
  /** Stages whose steps never use the cache (`--no-cache-filter`). */
  noCacheFilter?: string[];
  rm?: boolean;
  forceRm?: boolean;
  target?: string;
  labels?: Record<string, string>;
  quiet?: boolean;
  /** HostConfig.NetworkMode of RUN containers (`networkmode`; `container:<id>` too). */
  networkMode?: string;
  /** `extrahosts` (the CLI's --add-host): `host:ip` entries for RUN containers. */
  extraHosts?: string[];
  /** Resource limits of RUN containers (`memory`, `memswap`, `shmsize`, `cpushares`, `cpusetcpus`, ...). */
  resources?: { Memory?: number; MemorySwap?: number; ShmSize?: number; CpuShares?: number; CpusetCpus?: string; CpusetMems?: string; CpuPeriod?: number; CpuQuota?: number };
  /** Images whose history may satisfy steps (`cachefrom`). */
  cacheFrom?: string[];
  /** Always pull base images. */
  pull?: boolean;
  /** `os/arch[/variant]`; only the host's platform can be built. */
  platform?: string;
  /** Secrets for `RUN --mount=type=secret` (id → value); held in memory only. */
  secrets?: Map<string, Buffer>;
  /** Emit per-step events instead of classic text (progress.ts). */
  structuredProgress?: boolean;
  signal?: AbortSignal;
}

/** Build args every Dockerfile may use without declaring them (Docker's builtinAllowedBuildArgs). */
const BUILTIN_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);
const DEFAULT_SHELL = ['/bin/sh', '-c'];

const id12 = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

// ------------------------------------------------------------------------------------------------ state

interface StageState {
  index: number;
  name?: string;
  /** Current image; undefined while a `FROM scratch` stage has no step yet. */
  imageId?: string;
  layers: LayerRecord[];
  image: ImageConfig;
  /** Declared ARGs in scope (undefined: declared without a value). */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
  /** After the first cache miss (or with --no-cache[-filter]) no step of this stage probes the cache. */
  busted: boolean;
  lane: Lane;
  /** Steps of this stage so far / in all (for `[stage k/n]`). */
  stepNo: number;
  stepCount: number;
}

/** What one step reports when it ends. */
interface StepCtx {
  id: number;
  name: string;
  cached: boolean;
}

// ------------------------------------------------------------------------------------------------ builder

export class Builder {
  readonly cache: BuildCache;
  readonly cacheMounts: CacheMounts;
  private readonly tmpRoot: string;

  constructor(private readonly d: BuilderDeps) {
    this.cache = new BuildCache(path.join(d.dataRoot, 'build', 'cache.json'));
    this.cacheMounts = new CacheMounts(path.join(d.dataRoot, 'build', 'cache-mounts'));
    this.tmpRoot = path.join(d.dataRoot, 'build', 'tmp');
  }

  /**
   * `POST /build/prune`: deletes build cache records (and their untagged step images) and cache mounts. Without
   * `all`, build results (`final`) stay; `until` keeps what was used more recently; `keepStorage` stops once what is
   * left is at most that many bytes (oldest first).
   */
  async prune(opts: { all?: boolean; until?: number; keepStorage?: number } = {}): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    const items = await this.items();
    let total = items.reduce((n, i) => n + i.size, 0);
    const cutoff = opts.until;
    const candidates = items
      .filter((i) => !i.inUse && (opts.all || !i.final) && (cutoff === undefined || i.lastUsed.getTime() < cutoff))
      .sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
    const deleted: string[] = [];
    let reclaimed = 0;
    const keys: string[] = [];
    for (const c of candidates) {
      if (opts.keepStorage !== undefined && opts.keepStorage > 0 && total <= opts.keepStorage) break;
      if (c.kind === 'mount') await this.cacheMounts.remove(c.dir!);
      else {
        keys.push(c.key!);
        await this.d.images.remove?.(c.image!, { force: false }).catch(() => {});
      }
      deleted.push(c.id);
      reclaimed += c.size;
      total -= c.size;
    }
    if (keys.length) this.cache.delete(keys);
    return { CachesDeleted: deleted, SpaceReclaimed: reclaimed };
  }

  /** The build cache as `GET /system/df` shows it (BuildKit's usage records). */
  async df(): Promise<Array<Record<string, unknown>>> {
    return (await this.items()).map((i) => ({
      ID: i.id,
      Parent: '',
      Parents: null,
      Type: i.kind === 'mount' ? 'exec.cachemount' : 'regular',
      Description: i.description,
      InUse: i.inUse,
      Shared: false,
      Size: i.size,
      CreatedAt: i.created.toISOString(),
      LastUsedAt: i.lastUsed.toISOString(),
      UsageCount: i.usage,
    }));
  }

  private async items(): Promise<Array<{ id: string; kind: 'step' | 'mount'; key?: string; image?: string; dir?: string; description: string; size: number; created: Date; lastUsed: Date; usage: number; inUse: boolean; final: boolean }>> {
    const out = [];
    for (const [key, r] of this.cache.list()) {
      out.push({ id: key.slice(0, 25), kind: 'step' as const, key, image: r.image, description: r.description, size: r.size, created: new Date(r.created), lastUsed: new Date(r.lastUsed), usage: r.usage, inUse: false, final: !!r.final });
    }
    for (const m of await this.cacheMounts.list()) {
      out.push({ id: createHash('sha256').update(m.id).digest('hex').slice(0, 25), kind: 'mount' as const, dir: m.dir, description: `mount / from exec cache ${m.id}`, size: m.size, created: m.created, lastUsed: m.lastUsed, usage: 1, inUse: m.inUse, final: false });
    }
    return out;
  }

  /** Checks the tags before anything is streamed (bad ones are a 400, as in Docker). */
  static validateTags(tags: string[]): void {
    for (const t of tags) ref.parseNormalized(t);
  }

  async build(contextTar: Readable, opts: BuildOptions, emit: (m: BuildMessage) => void): Promise<string> {
    const progress = new BuildProgress(emit, !!opts.structuredProgress, !!opts.quiet);
    const tags = opts.tags ?? [];
    Builder.validateTags(tags);
    if (opts.platform) {
      const [os, arch] = opts.platform.toLowerCase().split('/');
      if (os !== 'linux' || (arch !== undefined && arch !== this.d.arch)) throw invalidArgument(`berth builds only for the host platform linux/${this.d.arch}, not ${opts.platform}`);
    }
    fs.mkdirSync(this.tmpRoot, { recursive: true, mode: 0o700 });
    const work = fs.realpathSync(fs.mkdtempSync(path.join(this.tmpRoot, 'b-')));
    // Secrets go to memory-backed storage when the host has it, never under the data root.
    const secretDir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : work, 'berth-secrets-'));
    fs.chmodSync(secretDir, 0o700);
    let context: ContextIndex | undefined;
    try {
      const t0 = Date.now();
      // The context stays in memory (indexed, hashed) and goes to disk only where a step needs a directory.
      context = await ContextIndex.read(decompress(contextTar), { spillDir: work, signal: opts.signal });
      const dfName = opts.dockerfile || 'Dockerfile';
      let dfText: string;
      try {
        dfText = readContextFile(context, dfName);
      } catch {
        throw invalidArgument(`Cannot locate specified Dockerfile: ${dfName}`);
      }
      applyDockerignore(context, dfName);
      const df = parseDockerfile(dfText);
      if (opts.structuredProgress) emit({ berthStep: { id: 0, name: '[internal] load build context', started: t0, completed: Date.now() } });
      if (df.syntax) progress.text(`# syntax=${df.syntax}: noted; berth's built-in Dockerfile frontend builds it\n`);
      const run = new BuildRun(this.d, this.cache, this.cacheMounts, df, context, work, secretDir, opts, progress);
      let id: string;
      try {
        id = await run.execute();
      } catch (e) {
        progress.flushAll();
        throw e;
      }
      this.cache.markFinal(id);
      emit({ aux: { ID: id } });
      if (opts.quiet) emit({ stream: `${id}\n` });
      progress.text(`Successfully built ${id12(id)}\n`);
      for (const t of tags) {
        const r = ref.withDefaultTag(ref.parseNormalized(t));
        await this.d.images.tag(id, ref.familiarName(r), r.tag);
        progress.text(`Successfully tagged ${ref.familiarString(r)}\n`);
      }
      return id;
    } finally {
      context?.close();
      fs.rmSync(secretDir, { recursive: true, force: true });
      // Never recurse into a still-mounted snapshot: detach whatever may be left first.
      let safe = true;
      for (const e of fs.readdirSync(work)) {
        if (e === 'context') continue;
        try {
          unmount(path.join(work, e), { detach: true });
        } catch {
          safe = false; // still mounted: leave the directory rather than delete image content through it
        }
      }
      // The work dir (an extracted context, if a step needed one: many files, maybe) goes after the response, not before it.
      if (safe) void fsp.rm(work, { recursive: true, force: true }).catch(() => {});
    }
  }
}

// ------------------------------------------------------------------------------------------------ one build

/** One build: the Dockerfile, the stage tasks, the step numbering and the shared cache state. */
class BuildRun {
  private readonly metaArgs = new Map<string, string | undefined>();
  private readonly usedArgs = new Set<string>();
  private readonly escape: string;
  private plan!: StagePlan;
  private readonly tasks = new Map<number, Promise<StageState>>();
  private readonly lanes = new Map<number, Lane>();
  /** First step number of each needed stage (its FROM). */
  private readonly firstStep = new Map<number, number>();
  private total = 0;
  /** Aborted when the client goes or a stage fails: the other stages stop too. */
  private readonly ac = new AbortController();
  private cacheSources: Array<{ id: string; layers: LayerRecord[]; config: ImageConfig }> | undefined;

  constructor(
    private readonly d: BuilderDeps,
    private readonly cache: BuildCache,
    private readonly cacheMounts: CacheMounts,
    private readonly df: Dockerfile,
    private readonly context: ContextIndex,
    private readonly work: string,
    private readonly secretDir: string,
    private readonly opts: BuildOptions,
    private readonly progress: BuildProgress,
  ) {
    this.escape = df.escape;
    const onAbort = () => this.ac.abort(opts.signal?.reason);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  }

  private get signal(): AbortSignal {
    return this.ac.signal;
  }

  private contextDirOnce: Promise<string> | undefined;
  /** The context as a directory (`<work>/context`), extracted the first time a step needs one (a bind mount of it). */
  private contextDir(): Promise<string> {
    this.contextDirOnce ??= (async () => {
      const dir = path.join(this.work, 'context');
      fs.mkdirSync(dir, { mode: 0o700 });
      await this.context.extractTo(dir, this.signal);
      return dir;
    })();
    return this.contextDirOnce;
  }

  private get buildArgs(): Record<string, string | null> {
    return this.opts.buildArgs ?? {};
  }

  private argValue(name: string, dflt: string | undefined): string | undefined {
    const given = this.buildArgs[name];
    if (given !== undefined && given !== null) return given;
    return dflt;
  }

  /** BuildKit's automatic platform ARGs (global scope; a stage sees them once it declares them). */
  private platformArgs(): Array<[string, string]> {
    const arch = this.d.arch;
    const plat = `linux/${arch}`;
    return [
      ['TARGETPLATFORM', plat], ['TARGETOS', 'linux'], ['TARGETARCH', arch], ['TARGETVARIANT', ''],
      ['BUILDPLATFORM', plat], ['BUILDOS', 'linux'], ['BUILDARCH', arch], ['BUILDVARIANT', ''],
    ];
  }

  async execute(): Promise<string> {
    for (const [k, v] of this.platformArgs()) this.metaArgs.set(k, v);
    const metaLookup = (n: string) => this.metaArgs.get(n);
    // Step numbers: meta ARGs, then each needed stage's FROM and instructions, in Dockerfile order.
    this.plan = planStages(this.df, this.opts.target, (w) => expandWord(w, (n) => this.argValue(n, this.metaArgs.get(n)), this.escape));
    this.total = this.df.metaArgs.length + this.plan.needed.reduce((n, i) => n + 1 + this.df.stages[i]!.instructions.length, 0);
    let step = 0;
    for (const ins of this.df.metaArgs) {
      step++;
      this.progress.text(`Step ${step}/${this.total} : ${ins.original}\n`);
      for (const [k, v] of this.argPairs(ins)) {
        const val = this.argValue(k, v === undefined ? this.metaArgs.get(k) : expandWord(v, metaLookup, this.escape));
        this.metaArgs.set(k, val);
        if (this.buildArgs[k] !== undefined) this.usedArgs.add(k);
      }
    }
    for (const i of this.plan.needed) {
      this.firstStep.set(i, step + 1);
      step += 1 + this.df.stages[i]!.instructions.length;
    }
    const lanes = this.progress.openLanes(this.plan.needed.length);
    this.plan.needed.forEach((i, k) => this.lanes.set(i, lanes[k]!));
    await this.loadCacheSources();
    // Start every needed stage now; each waits for the stages it uses. The first failure stops the others.
    const all = this.plan.needed.map((i) => this.stage(i));
    let firstError: unknown;
    await Promise.all(
      all.map((p) =>
        p.catch((e) => {
          if (firstError === undefined) {
            firstError = e;
            this.ac.abort(e);
          }
        }),
      ),
    );
    if (firstError !== undefined) throw this.opts.signal?.aborted ? this.opts.signal.reason ?? firstError : firstError;
    const last = await this.stage(this.plan.target);
    if (this.opts.labels && Object.keys(this.opts.labels).length) {
      const labels = this.opts.labels;
      await this.configStep(last, `LABEL ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(' ')}`, (c) => {
        c.Labels = { ...(c.Labels ?? {}), ...labels };
      }, undefined);
    }
    if (!last.imageId) throw invalidArgument('No image was generated. Is your Dockerfile empty?');
    const unused = Object.keys(this.buildArgs).filter((k) => !this.usedArgs.has(k) && !BUILTIN_ARGS.has(k)).sort();
    if (unused.length) this.progress.text(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    return last.imageId;
  }

  /** The task building stage `i` (started once). */
  private stage(i: number): Promise<StageState> {
    let t = this.tasks.get(i);
    if (!t) {
      if (!this.lanes.has(i)) throw invalidArgument(`stage ${i} is not part of this build`);
      t = this.runStage(i);
      t.catch(() => {});
      this.tasks.set(i, t);
    }
    return t;
  }

  private async runStage(i: number): Promise<StageState> {
    const stage = this.df.stages[i]!;
    const lane = this.lanes.get(i)!;
    const stageLabel = stage.name ?? `stage-${i}`;
    const count = 1 + stage.instructions.length;
    let id = this.firstStep.get(i)!;
    try {
      const fromStep: StepCtx = { id, name: `[${stageLabel} 1/${count}] FROM ${stage.base}`, cached: false };
      lane.start({ id, name: fromStep.name }, `Step ${id}/${this.total} : ${stage.from.original}\n`);
      const st = await this.from(i, stage.base, stage.name, lane, count);
      lane.text(` ---> ${st.imageId ? id12(st.imageId) : ''}\n`);
      lane.end({ id, name: fromStep.name, cached: true });
      // The base image's ONBUILD triggers run first, as instructions of this stage; they are not inherited.
      const triggers = st.image.config?.OnBuild ?? [];
      if (st.image.config) st.image.config.OnBuild = null;
      if (triggers.length) {
        lane.text(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
        for (const t of triggers) {
          const ins = parseDockerfile(`FROM scratch\n${t}\n`).stages[0]!.instructions[0];
          if (!ins) continue;
          if (ins.cmd === 'ONBUILD' || ins.cmd === 'FROM' || ins.cmd === 'MAINTAINER') throw invalidArgument(`${ins.cmd} isn't allowed as an ONBUILD trigger`);
          await this.dispatch(st, ins, { id, name: fromStep.name, cached: false });
        }
      }
      for (const ins of stage.instructions) {
        this.signal.throwIfAborted();
        id++;
        st.stepNo++;
        const sc: StepCtx = { id, name: `[${stageLabel} ${st.stepNo}/${count}] ${ins.original.split('\n')[0]}`, cached: false };
        // A step that uses another stage starts once that stage is built (so its time is its own).
        await this.stagesUsedBy(st, ins);
        lane.start({ id, name: sc.name }, `Step ${id}/${this.total} : ${ins.original}\n`);
        try {
          await this.dispatch(st, ins, sc);
        } catch (e) {
          lane.end({ id, name: sc.name, error: (e as Error).message });
          throw e;
        }
        lane.end({ id, name: sc.name, cached: sc.cached });
      }
      return st;
    } finally {
      lane.finish();
    }
  }

  /** Waits for the stages `ins` reads (`COPY --from`, `RUN --mount=from=`); unknown names are images. */
  private async stagesUsedBy(st: StageState, ins: Instruction): Promise<void> {
    for (const f of ins.flags) {
      let word: string | undefined;
      try {
        if (f.name === 'from' && (ins.cmd === 'COPY' || ins.cmd === 'ADD')) word = this.word(st, f.value);
        else if (f.name === 'mount' && ins.cmd === 'RUN') word = parseRunMount(this.word(st, f.value)).from;
      } catch {
        continue; // the step itself reports it
      }
      if (word === undefined) continue;
      const ix = stageIndex(this.df, word, true);
      if (ix !== undefined && ix !== st.index && this.lanes.has(ix)) await this.stage(ix);
    }
  }

  // -------------------------------------------------------------------------------------------- FROM

  private async from(index: number, baseRaw: string, name: string | undefined, lane: Lane, count: number): Promise<StageState> {
    const base = expandWord(baseRaw, (n) => this.metaArgs.get(n), this.escape);
    if (!base) throw invalidArgument('base name (' + baseRaw + ') should not be blank');
    const noCache = !!this.opts.noCache || (name !== undefined && (this.opts.noCacheFilter ?? []).some((f) => f.toLowerCase() === name));
    const st: StageState = {
      index,
      name,
      layers: [],
      image: { architecture: this.d.arch, os: 'linux', config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
      args: new Map(),
      cmdSet: false,
      busted: noCache,
      lane,
      stepNo: 1,
      stepCount: count,
    };
    if (base.toLowerCase() === 'scratch') return st;
    const dep = stageIndex(this.df, base, false);
    let id: string | undefined;
    if (dep !== undefined && dep < index) {
      id = (await this.stage(dep)).imageId;
      if (!id) throw invalidArgument(`stage ${base} produced no image`);
    } else id = await this.baseImage(base);
    await this.load(st, id);
    return st;
  }

  /** A base image: pulled first with `pull=1`, or when it is not there and a registry is wired. */
  private async baseImage(name: string): Promise<string> {
    if (this.opts.pull && this.d.pull) {
      try {
        await this.d.pull(name, this.signal);
      } catch (e) {
        // docker build --pull of a local-only image fails too, unless the image exists locally
        if (!this.tryResolve(name)) throw e;
      }
    }
    const local = this.tryResolve(name);
    if (local) return local;
    if (this.d.pull) {
      await this.d.pull(name, this.signal);
      return this.d.images.resolve(name).id;
    }
    return this.d.images.resolve(name).id;
  }

  private tryResolve(name: string): string | undefined {
    try {
      return this.d.images.resolve(name).id;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private async load(st: StageState, id: string): Promise<void> {
    const rec = this.d.images.resolve(id);
    const cfg = await this.d.images.config(rec.id);
    st.imageId = rec.id;
    st.layers = rec.layers.map((l) => ({ ...l }));
    st.image = JSON.parse(JSON.stringify(cfg)) as ImageConfig;
    st.image.config ??= {};
  }

  // -------------------------------------------------------------------------------------------- dispatch

  private lookup(st: StageState): (n: string) => string | undefined {
    const env = new Map((st.image.config?.Env ?? []).map((e) => [e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    return (n) => (env.has(n) ? env.get(n) : st.args.get(n));
  }

  private words(st: StageState, s: string): string[] {
    return expandWords(s, this.lookup(st), this.escape);
  }

  private word(st: StageState, s: string): string {
    return expandWord(s, this.lookup(st), this.escape);
  }

  private argPairs(ins: Instruction): Array<[string, string | undefined]> {
    const out: Array<[string, string | undefined]> = [];
    for (const w of splitRaw(ins.rest, this.escape)) {
      const i = w.indexOf('=');
      if (i === 0) throw invalidArgument(`dockerfile parse error on line ${ins.line}: ARG names can not be blank`);
      out.push(i < 0 ? [w, undefined] : [w.slice(0, i), w.slice(i + 1)]);
    }
    return out;
  }

  private async dispatch(st: StageState, ins: Instruction, sc: StepCtx): Promise<void> {
    const c = () => st.image.config!;
    switch (ins.cmd) {
      case 'ENV': {
        const look = this.lookup(st);
        const pairs = keyValuePairs('ENV', ins.rest, this.escape).map(([k, v]) => [expandWord(k, look, this.escape), expandWord(v, look, this.escape)] as const);
        return this.configStep(st, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, (cfg) => {
          const env = [...(cfg.Env ?? [])];
          for (const [k, v] of pairs) {
            const i = env.findIndex((e) => e.split('=')[0] === k);
            if (i >= 0) env[i] = `${k}=${v}`;
            else env.push(`${k}=${v}`);
          }
          cfg.Env = env;
        }, sc);
      }
      case 'LABEL': {
        const look = this.lookup(st);
        const pairs = keyValuePairs('LABEL', ins.rest, this.escape).map(([k, v]) => [expandWord(k, look, this.escape), expandWord(v, look, this.escape)] as const);
        return this.configStep(st, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, (cfg) => {
          cfg.Labels = { ...(cfg.Labels ?? {}) };
          for (const [k, v] of pairs) cfg.Labels[k] = v;
        }, sc);
      }
      case 'ARG': {
        const parts: string[] = [];
        for (const [k, raw] of this.argPairs(ins)) {
          const dflt = raw === undefined ? (this.metaArgs.has(k) ? this.metaArgs.get(k) : undefined) : this.word(st, raw);
          st.args.set(k, this.argValue(k, dflt));
          if (this.buildArgs[k] !== undefined) this.usedArgs.add(k);
          parts.push(raw === undefined ? k : `${k}=${dflt}`);
        }
        return this.configStep(st, `ARG ${parts.join(' ')}`, () => {}, sc);
      }
      case 'CMD':
      case 'ENTRYPOINT': {
        const v = ins.json ?? [...(c().Shell ?? DEFAULT_SHELL), ins.rest];
        return this.configStep(st, `${ins.cmd} ${goQuoteList(v)}`, (cfg) => {
          if (ins.cmd === 'CMD') {
            cfg.Cmd = v;
            st.cmdSet = true;
          } else {
            cfg.Entrypoint = v;
            if (!st.cmdSet) cfg.Cmd = null;
          }
        }, sc);
      }
      case 'SHELL': {
        if (!ins.json || ins.json.length === 0) throw invalidArgument('SHELL requires the arguments to be in JSON form');
        const v = ins.json;
        return this.configStep(st, `SHELL ${goQuoteList(v)}`, (cfg) => {
          cfg.Shell = v;
        }, sc);
      }
      case 'EXPOSE': {
        const ports = this.words(st, ins.rest);
        for (const p of ports) if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw invalidArgument(`invalid containerPort: ${p}`);
        return this.configStep(st, `EXPOSE ${ports.map((p) => (p.includes('/') ? p.toLowerCase() : `${p}/tcp`)).join(' ')}`, (cfg) => {
          cfg.ExposedPorts = { ...(cfg.ExposedPorts ?? {}) };
          for (const p of ports) cfg.ExposedPorts[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }, sc);
      }
      case 'VOLUME': {
        const vols = (ins.json ?? this.words(st, ins.rest)).map((v) => this.word(st, v));
        if (vols.some((v) => v.trim() === '')) throw invalidArgument('VOLUME specified can not be an empty string');
        return this.configStep(st, `VOLUME ${goQuoteList(vols)}`, (cfg) => {
          cfg.Volumes = { ...(cfg.Volumes ?? {}) };
          for (const v of vols) cfg.Volumes[v] = {};
        }, sc);
      }
      case 'USER': {
        const u = this.word(st, ins.rest);
        return this.configStep(st, `USER ${u}`, (cfg) => {
          cfg.User = u;
        }, sc);
      }
      case 'STOPSIGNAL': {
        const s = this.word(st, ins.rest);
        return this.configStep(st, `STOPSIGNAL ${s}`, (cfg) => {
          cfg.StopSignal = s;
        }, sc);
      }
      case 'MAINTAINER': {
        const m = ins.rest;
        return this.configStep(st, `MAINTAINER ${m}`, () => {
          st.image.author = m;
        }, sc);
      }
      case 'ONBUILD': {
        const trigger = ins.rest.trim();
        const kw = trigger.split(/\s+/)[0]!.toUpperCase();
        if (kw === 'ONBUILD') throw invalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (kw === 'FROM' || kw === 'MAINTAINER') throw invalidArgument(`${kw} isn't allowed as an ONBUILD trigger`);
        return this.configStep(st, `ONBUILD ${trigger}`, (cfg) => {
          cfg.OnBuild = [...(cfg.OnBuild ?? []), trigger];
        }, sc);
      }
      case 'HEALTHCHECK': {
        const hc = parseHealthcheck(ins);
        return this.configStep(st, `HEALTHCHECK ${ins.rest}`, (cfg) => {
          cfg.Healthcheck = hc;
        }, sc);
      }
      case 'WORKDIR': {
        const w = this.word(st, ins.rest);
        if (!w) throw invalidArgument('WORKDIR requires exactly one argument');
        const dir = path.posix.resolve(c().WorkingDir || '/', w);
        c().WorkingDir = dir;
        return this.fsStep(st, `WORKDIR ${dir}`, '', sc, async (root) => {
          const fsys = new ScopedFS(root);
          await mkdirScoped(fsys, dir, undefined);
        });
      }
      case 'RUN':
        return this.runStep(st, ins, sc);
      case 'COPY':
      case 'ADD':
        return this.copyStep(st, ins, sc);
    }
    throw invalidArgument(`dockerfile parse error on line ${ins.line}: unknown instruction: ${ins.cmd}`);
  }

  // -------------------------------------------------------------------------------------------- cache

  private cacheKey(st: StageState, createdBy: string, extra: string): string {
    return createHash('sha256')
      .update(JSON.stringify([st.imageId ?? 'scratch', createdBy, st.image.config ?? {}, st.image.author ?? '', extra]))
      .digest('hex');
  }

  /** On a hit (the local index, then `cachefrom` images), moves the stage onto the cached image and says so. */
  private async probe(st: StageState, key: string, createdBy: string, sc: StepCtx | undefined): Promise<boolean> {
    if (st.busted) return false;
    const id = this.cache.get(key);
    if (id) {
      try {
        await this.load(st, id);
        st.lane.text(` ---> Using cache\n ---> ${id12(id)}\n`);
        if (sc) sc.cached = true;
        return true;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    const restored = await this.fromCacheSources(st, createdBy);
    if (restored) {
      this.cache.set(key, restored, { description: sc?.name ?? createdBy, size: 0 });
      st.lane.text(` ---> Using cache\n ---> ${id12(restored)}\n`);
      if (sc) sc.cached = true;
      return true;
    }
    st.busted = true;
    return false;
  }

  private async loadCacheSources(): Promise<void> {
    if (!this.opts.cacheFrom?.length) return;
    this.cacheSources = [];
    for (const name of this.opts.cacheFrom) {
      const id = this.tryResolve(name);
      if (!id) {
        this.progress.text(`[Warning] cache-from image ${name} not found, ignoring it\n`);
        continue;
      }
      const rec = this.d.images.resolve(id);
      this.cacheSources.push({ id: rec.id, layers: rec.layers, config: await this.d.images.config(rec.id) });
    }
  }

  /**
   * dockerd's `--cache-from` rule: an image whose history starts with the current image's history and whose next
   * entry is this step (same `created_by`) supplies the step; the result has that image's layers up to the step and
   * the config this build computed.
   */
  private async fromCacheSources(st: StageState, createdBy: string): Promise<string | undefined> {
    if (!this.cacheSources?.length) return undefined;
    const hist = st.image.history ?? [];
    const diffs = st.layers.map((l) => l.diffID);
    for (const src of this.cacheSources) {
      const sh = src.config.history ?? [];
      if (sh.length <= hist.length) continue;
      if (!hist.every((h, i) => h.created_by === sh[i]!.created_by && !!h.empty_layer === !!sh[i]!.empty_layer)) continue;
      if (!diffs.every((d, i) => src.layers[i]?.diffID === d)) continue;
      const next = sh[hist.length]!;
      if (next.created_by !== createdBy) continue;
      if (sh.length === hist.length + 1 && src.config.config && JSON.stringify(src.config.config) === JSON.stringify(st.image.config)) {
        await this.load(st, src.id);
        return src.id;
      }
      const layerCount = diffs.length + (next.empty_layer ? 0 : 1);
      if (src.layers.length < layerCount) continue;
      const layer = next.empty_layer ? undefined : src.layers[layerCount - 1];
      return this.newImage(st, createdBy, layer, { createdAt: next.created });
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------- image creation

  private async newImage(st: StageState, createdBy: string, layer: LayerRecord | undefined, o: { lease?: string; createdAt?: string; container?: string; stepCmd?: string[] } = {}): Promise<string> {
    const { lease, container } = o;
    const created = o.createdAt ?? new Date().toISOString();
    const cfg = st.image;
    const history: HistoryEntry[] = [...(cfg.history ?? []), { created, created_by: createdBy, ...(layer ? {} : { empty_layer: true }) }];
    const layers = layer ? [...st.layers, layer] : st.layers;
    // ContainerConfig: the step's container config (its Cmd is the step), which API < 1.45 clients read.
    const stepCmd = o.stepCmd ?? ['/bin/sh', '-c', createdBy.replace(/^\/bin\/sh -c /, '')];
    const next: ImageConfig = {
      ...cfg,
      created,
      docker_version: 'berth',
      history,
      ...(st.imageId ? { parent: st.imageId } : {}),
      container_config: { ...(cfg.config ?? {}), Cmd: stepCmd },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
    };
    if (container) next.container = container;
    else delete next.container;
    const img = await this.d.images.createImage(Buffer.from(JSON.stringify(next)), layers, [], {
      ...(st.imageId ? { parent: st.imageId as Digest } : {}),
      ...(lease ? { lease } : {}),
    });
    st.imageId = img.id;
    st.layers = layers;
    st.image = next;
    return img.id;
  }

  /** A config-only step: edit, probe the cache, create an image with an empty layer. `sc` undefined: silent. */
  private async configStep(st: StageState, comment: string, edit: (cfg: ContainerConfig) => void, sc: StepCtx | undefined): Promise<void> {
    st.image.config ??= {};
    edit(st.image.config);
    const createdBy = `/bin/sh -c #(nop)  ${comment}`;
    const key = this.cacheKey(st, createdBy, '');
    if (sc && (await this.probe(st, key, createdBy, sc))) return;
    const id = await this.newImage(st, createdBy, undefined);
    this.cache.set(key, id, { description: sc?.name ?? comment, size: 0 });
    if (sc) st.lane.text(` ---> ${id12(id)}\n`);
  }

  /**
   * A filesystem step: a snapshot on top of the current image is mounted at a temp dir, `fn` edits it, its upper dir
   * becomes the layer (none when nothing changed).
   */
  private async fsStep(st: StageState, comment: string, contentHash: string, sc: StepCtx, fn: (root: string) => Promise<void>): Promise<void> {
    const createdBy = `/bin/sh -c #(nop) ${comment}`;
    const key = this.cacheKey(st, createdBy, contentHash);
    if (await this.probe(st, key, createdBy, sc)) return;
    const snapKey = `build-${Date.now()}-${randomBytes(6).toString('hex')}`;
    const chains = chainIDs(st.layers.map((l) => l.diffID));
    const parentChain = chains[chains.length - 1];
    const mounts = await this.d.images.snapshots.prepare(snapKey, parentChain);
    const lease = await this.d.images.leases.create();
    try {
      const mnt = path.join(this.work, snapKey);
      fs.mkdirSync(mnt, { recursive: true, mode: 0o700 });
      mountAll(mounts, mnt);
      try {
        await fn(mnt);
      } finally {
        unmount(mnt, { detach: true });
      }
      const { id, size } = await this.commitSnapshot(st, snapKey, parentChain, createdBy, lease.id);
      this.cache.set(key, id, { description: sc.name, size });
      st.lane.text(` ---> ${id12(id)}\n`);
    } finally {
      await this.d.images.leases.delete(lease.id).catch(() => {});
      await this.d.images.snapshots.remove(snapKey).catch(() => {});
    }
  }

  /**
   * A filesystem step whose layer is known without looking at a snapshot: `plan` (given a read-only view of the
   * current image, for resolving the destination) says what the layer holds. With the overlay snapshotter the tree is
   * written straight into a new snapshot's upper dir and the plan's tar becomes the blob (ImageWriter.commitActive);
   * otherwise the tar is imported as a layer.
   */
  private async layerStep(st: StageState, comment: string, contentHash: string, sc: StepCtx, plan: (view: string) => Promise<LayerPlan>): Promise<void> {
    const createdBy = `/bin/sh -c #(nop) ${comment}`;
    const key = this.cacheKey(st, createdBy, contentHash);
    if (await this.probe(st, key, createdBy, sc)) return;
    const chains = chainIDs(st.layers.map((l) => l.diffID));
    const parentChain = chains[chains.length - 1];
    const images = this.d.images;
    const direct = !!images.commitActive && images.snapshots.whiteoutMode === 'overlay';
    const lease = await images.leases.create();
    const snapKey = `build-${Date.now()}-${randomBytes(6).toString('hex')}`;
    let prepared = false;
    let unmounted: Promise<void> = Promise.resolve();
    try {
      // The plan reads the current image through the new snapshot's own mount (nothing is written through it), else
      // through a read-only view.
      let p: LayerPlan;
      if (direct) {
        const mounts = await images.snapshots.prepare(snapKey, parentChain);
        prepared = true;
        const mnt = path.join(this.work, snapKey);
        fs.mkdirSync(mnt, { recursive: true, mode: 0o700 });
        mountAll(mounts, mnt);
        try {
          p = await plan(mnt);
        } finally {
          // Unmounting an overlay syncs its upper filesystem (the data root's disk, with whatever else is dirty on it:
          // 0.05–0.15 s per build here): a `umount -l` child waits for that while the layer's tar is made; what comes
          // next waits for it. The second, synchronous call only catches a mount the tool left (it is EINVAL then).
          unmounted = kernel.lazyUnmountTool(mnt).then(() => unmount(mnt, { detach: true }));
        }
      } else {
        const view = await this.viewOf(st.layers);
        try {
          p = await plan(view.root);
        } finally {
          await view.release();
        }
      }
      let layer: { diffID: Digest; blob?: Digest; blobSize?: number; mediaType?: string };
      if (direct && p.materializable) {
        // the tree is written only when this content is not a layer on this parent already
        const upper = await images.snapshots.writableDir(snapKey);
        const fill = async () => {
          await unmounted;
          return p.materialize(upper);
        };
        layer = await images.commitActive!(snapKey, p.tar(), { parentChain, lease: lease.id, signal: this.signal, fill });
      } else layer = await images.importLayer(p.tar(), { parentChain, lease: lease.id, signal: this.signal, syncSmallFiles: true });
      const empty = layer.diffID === EMPTY_TAR_DIFF_ID;
      const id = await this.newImage(st, createdBy, empty ? undefined : { diffID: layer.diffID, blob: layer.blob, blobSize: layer.blobSize, mediaType: layer.mediaType }, { lease: lease.id });
      this.cache.set(key, id, { description: sc.name, size: empty ? 0 : layer.blobSize ?? 0 });
      st.lane.text(` ---> ${id12(id)}\n`);
    } finally {
      await images.leases.delete(lease.id).catch(() => {});
      await unmounted.catch(() => {});
      // committed: the key is gone already; otherwise (failed, or the chain existed) it goes now
      if (prepared) await images.snapshots.remove(snapKey).catch(() => {});
    }
  }

  /**
   * The step's layer from snapshot `snapKey`. A snapshot the builder owns (COPY/ADD/WORKDIR) is committed as the layer
   * itself; a RUN container's snapshot stays the container's, so its diff is imported as a new layer.
   */
  private async commitSnapshot(st: StageState, snapKey: string, parentChain: Digest | undefined, createdBy: string, lease: string, run?: { container: string; stepCmd: string[] }): Promise<{ id: string; size: number }> {
    const upper = await this.d.images.snapshots.writableDir(snapKey);
    const own = !run && this.d.images.commitActive && this.d.images.snapshots.whiteoutMode === 'overlay';
    const layer = own
      ? await this.d.images.commitActive!(snapKey, diffLayer(upper, { signal: this.signal }), { parentChain, lease, signal: this.signal })
      : await this.d.images.importLayer(commitLayer(upper, this.signal), { parentChain, lease, signal: this.signal });
    const empty = layer.diffID === EMPTY_TAR_DIFF_ID;
    const id = await this.newImage(st, createdBy, empty ? undefined : { diffID: layer.diffID, blob: layer.blob, blobSize: layer.blobSize, mediaType: layer.mediaType }, { lease, ...(run ?? {}) });
    return { id, size: empty ? 0 : layer.blobSize ?? 0 };
  }

  // -------------------------------------------------------------------------------------------- RUN

  private async runStep(st: StageState, ins: Instruction, sc: StepCtx): Promise<void> {
    const cfg = st.image.config ?? {};
    const mounts: RunMount[] = [];
    let network: string | undefined;
    for (const f of ins.flags) {
      if (f.name === 'mount') mounts.push(parseRunMount(this.word(st, f.value)));
      else if (f.name === 'network') {
        const v = this.word(st, f.value);
        if (!['none', 'host', 'default'].includes(v)) throw invalidArgument(`unsupported network mode: ${v}`);
        network = v;
      } else if (f.name === 'security') {
        throw invalidArgument(`RUN --security=${f.value} is not supported by berth (it needs the security.insecure entitlement)`);
      } else throw invalidArgument(`dockerfile parse error on line ${ins.line}: unknown flag: ${f.name}`);
    }
    const shell = cfg.Shell ?? DEFAULT_SHELL;
    let cmd: string[];
    /** A heredoc that is the whole command and starts with `#!`: run as a script file. */
    let script: Heredoc | undefined;
    const docs = ins.heredocs ?? [];
    if (docs.length && !ins.json) {
      if (docs.length === 1 && ins.rest.trim() === docs[0]!.word) {
        if (docs[0]!.body.startsWith('#!')) {
          script = docs[0]!;
          cmd = [`/dev/pipes/${script.name}`];
        } else cmd = [...shell, docs[0]!.body];
      } else {
        // The shell reads the heredocs itself (expansion, <<- and quoting by its own rules).
        cmd = [...shell, `${ins.rest}\n${docs.map((d) => d.body + d.name).join('\n')}`];
      }
    } else cmd = ins.json ?? [...shell, ins.rest];
    const envKeys = new Set((cfg.Env ?? []).map((e) => e.split('=')[0]));
    const argEnv = [...st.args].filter(([k, v]) => v !== undefined && !envKeys.has(k)).map(([k, v]) => `${k}=${v}`).sort();
    const createdBy = (argEnv.length ? [`|${argEnv.length}`, ...argEnv, ...cmd] : cmd).join(' ');
    // The key covers the mounts (and the content of context binds), the network and a script's body; never secrets.
    const extra: string[] = [network ?? '', script?.body ?? ''];
    for (const m of mounts) {
      extra.push(mountCacheText(m));
      if (m.type === 'bind' && m.from === undefined) {
        const sources = await collectSources(new ContextTree(this.context), m.source ?? '/', false).catch(() => []);
        extra.push(await hashSources(sources));
      }
    }
    const key = this.cacheKey(st, createdBy, JSON.stringify(extra));
    if (await this.probe(st, key, createdBy, sc)) return;
    if (!st.imageId) throw invalidArgument('Please provide a source image with `from` prior to run');

    const releases: Array<() => Promise<void> | void> = [];
    try {
      const hostMounts: Array<Record<string, unknown>> = [];
      const secretEnv: string[] = [];
      for (const m of mounts) {
        switch (m.type) {
          case 'cache': {
            const { dir, release } = await this.cacheMounts.acquire(m, this.work);
            releases.push(release);
            hostMounts.push({ Type: 'bind', Source: dir, Target: m.target, ReadOnly: m.readonly });
            break;
          }
          case 'bind': {
            let root: string;
            if (m.from === undefined) root = await this.contextDir();
            else {
              const view = await this.mountFrom(m.from);
              releases.push(view.release);
              root = view.root;
            }
            const fsys = new ScopedFS(root);
            let src = fsys.hostPath(await fsys.resolve(m.source ?? '/', true));
            if (!fs.existsSync(src)) throw new BuildError(`failed to compute cache key: "${m.source ?? '/'}" not found`);
            if (!m.readonly) {
              // rw binds write to a throw-away copy, as BuildKit's
              const copy = fs.mkdtempSync(path.join(this.work, 'bind-rw-'));
              const dest = path.join(copy, 'src');
              await fsp.cp(src, dest, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
              releases.push(() => fs.rmSync(copy, { recursive: true, force: true }));
              src = dest;
            }
            hostMounts.push({ Type: 'bind', Source: src, Target: m.target, ReadOnly: m.readonly });
            break;
          }
          case 'tmpfs':
            hostMounts.push({ Type: 'tmpfs', Target: m.target, ...(m.size ? { TmpfsOptions: { SizeBytes: m.size } } : {}) });
            break;
          case 'secret': {
            const value = this.opts.secrets?.get(m.id!);
            if (value === undefined) {
              if (m.required) throw secretMissing(m.id!);
              break;
            }
            if (m.env) secretEnv.push(`${m.env}=${value.toString('utf8')}`);
            if (m.target) hostMounts.push({ Type: 'bind', Source: await secretFile(this.secretDir, m, value), Target: m.target, ReadOnly: true });
            break;
          }
        }
      }
      if (script) {
        const file = path.join(this.work, `script-${randomBytes(6).toString('hex')}`);
        fs.writeFileSync(file, script.body, { mode: 0o755 });
        hostMounts.push({ Type: 'bind', Source: file, Target: `/dev/pipes/${script.name}`, ReadOnly: true });
      }
      const stepCmd = argEnv.length ? [`|${argEnv.length}`, ...argEnv, ...cmd] : cmd;
      await this.runContainer(st, cmd, [...argEnv, ...secretEnv, ...(cfg.Env ?? [])], hostMounts, network, key, createdBy, stepCmd, sc, mounts.filter((m) => m.target).map((m) => m.target));
    } finally {
      for (const r of releases.reverse()) await r();
    }
  }

  private async runContainer(st: StageState, cmd: string[], env: string[], mounts: Array<Record<string, unknown>>, network: string | undefined, key: string, createdBy: string, stepCmd: string[], sc: StepCtx, stubs: string[]): Promise<void> {
    const cfg = st.image.config ?? {};
    const networkMode = network === 'none' || network === 'host' ? network : this.opts.networkMode && this.opts.networkMode !== 'default' ? this.opts.networkMode : undefined;
    const { Id } = await this.d.containers.create(undefined, {
      Image: st.imageId,
      Cmd: cmd,
      Entrypoint: [''],
      Env: env,
      WorkingDir: cfg.WorkingDir ?? '',
      User: cfg.User ?? '',
      AttachStdout: true,
      AttachStderr: true,
      Healthcheck: { Test: ['NONE'] },
      Labels: cfg.Labels ?? {},
      HostConfig: {
        ...(networkMode ? { NetworkMode: networkMode } : {}),
        ...(mounts.length ? { Mounts: mounts } : {}),
        ...(this.opts.extraHosts?.length ? { ExtraHosts: this.opts.extraHosts } : {}),
        ...Object.fromEntries(Object.entries(this.opts.resources ?? {}).filter(([, v]) => v !== undefined && v !== 0 && v !== '')),
      },
    });
    st.lane.text(` ---> Running in ${id12(Id)}\n`);
    let ok = false;
    try {
      const waitAbort = new AbortController();
      const waited = this.d.containers.wait(Id, 'next-exit', waitAbort.signal);
      // The last lines of output, for the error of a failing step.
      let tail = '';
      const sink = new FrameSink((b) => {
        const s = b.toString('utf8');
        tail = (tail + s).slice(-4096);
        st.lane.output(sc.id, s);
      });
      const attached = this.d.containers.attach(Id, sink, { stdin: false, stdout: true, stderr: true, stdinOnce: false });
      const onAbort = () => void this.d.containers.kill(Id, 'KILL').catch(() => {});
      this.signal.addEventListener('abort', onAbort, { once: true });
      try {
        await this.d.containers.start(Id);
        const { StatusCode } = await waited;
        // The attach ends with the process; give its last output a moment to arrive.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([attached, new Promise((r) => (timer = setTimeout(r, 2000)))]);
        clearTimeout(timer);
        sink.flush();
        this.signal.throwIfAborted();
        if (StatusCode !== 0) {
          const err = new BuildError(`The command '${cmd.join(' ')}' returned a non-zero code: ${StatusCode}`, StatusCode) as BuildError & { tail?: string };
          err.tail = tail.split('\n').slice(-11).join('\n');
          throw err;
        }
      } finally {
        this.signal.removeEventListener('abort', onAbort);
        waitAbort.abort();
        waited.catch(() => {});
      }
      if (stubs.length) await removeMountStubs(await this.d.images.snapshots.writableDir(Id), stubs);
      const lease = await this.d.images.leases.create();
      try {
        const chains = chainIDs(st.layers.map((l) => l.diffID));
        const { id, size } = await this.commitSnapshot(st, Id, chains[chains.length - 1], createdBy, lease.id, { container: Id.replace(/^sha256:/, ''), stepCmd });
        this.cache.set(key, id, { description: sc.name, size });
        ok = true;
        if (this.opts.rm !== false || this.opts.forceRm) {
          await this.d.containers.remove(Id, { force: true, volumes: true });
          st.lane.text(`Removing intermediate container ${id12(Id)}\n`);
        }
        st.lane.text(` ---> ${id12(id)}\n`);
      } finally {
        await this.d.images.leases.delete(lease.id).catch(() => {});
      }
    } finally {
      // A failed step's container stays for inspection (as Docker) unless --force-rm; a cancelled one goes. Secret
      // mounts are gone with the run, so what stays holds none.
      if (!ok && (this.opts.forceRm || (this.signal.aborted && this.opts.rm !== false))) {
        await this.d.containers.remove(Id, { force: true, volumes: true }).catch(() => {});
        st.lane.text(`Removing intermediate container ${id12(Id)}\n`);
      }
    }
  }

  // -------------------------------------------------------------------------------------------- COPY / ADD

  private async copyStep(st: StageState, ins: Instruction, sc: StepCtx): Promise<void> {
    const allowed = ins.cmd === 'COPY' ? ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'] : ['chown', 'chmod', 'link', 'checksum', 'exclude', 'keep-git-dir'];
    for (const f of ins.flags) if (!allowed.includes(f.name)) throw invalidArgument(`dockerfile parse error on line ${ins.line}: unknown flag: ${f.name}`);
    const flag = (n: string) => ins.flags.find((f) => f.name === n)?.value;
    const excludes = ins.flags.filter((f) => f.name === 'exclude').map((f) => this.word(st, f.value));
    const parents = flag('parents') !== undefined && flag('parents') !== 'false';
    const checksum = flag('checksum') !== undefined ? this.word(st, flag('checksum')!) : undefined;
    if (checksum !== undefined && !/^sha256:[0-9a-f]{64}$/.test(checksum)) throw invalidArgument(`invalid checksum digest format: ${checksum}`);
    const args = ins.json ? ins.json.map((a) => this.word(st, a)) : this.words(st, ins.rest);
    if (args.length < 2) throw invalidArgument(`${ins.cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
    const rawDest = args[args.length - 1]!;
    const srcs = args.slice(0, -1);
    const chown = flag('chown') !== undefined ? this.word(st, flag('chown')!) : undefined;
    const chmod = flag('chmod') !== undefined ? parseInt(flag('chmod')!, 8) : undefined;
    if (chmod !== undefined && (Number.isNaN(chmod) || chmod > 0o7777 || !/^[0-7]+$/.test(flag('chmod')!))) throw invalidArgument(`invalid chmod parameter: ${flag('chmod')}`);
    const cwd = st.image.config?.WorkingDir || '/';
    let dest = rawDest.startsWith('/') ? rawDest : path.posix.join(cwd, rawDest);
    if ((rawDest.endsWith('/') || rawDest === '.' || rawDest.endsWith('/.')) && !dest.endsWith('/')) dest += '/';
    const fromName = flag('from');
    let tree: SourceTree = new ContextTree(this.context);
    let release: (() => Promise<void>) | undefined;
    const docs = [...(ins.heredocs ?? [])];
    try {
      if (fromName !== undefined) {
        const fromWord = this.word(st, fromName);
        const view = await this.mountFrom(fromWord);
        release = view.release;
        tree = new DiskTree(view.root);
      }
      const sources: Source[] = [];
      for (const s of srcs) {
        const doc = s.startsWith('<<') ? docs.find((d) => s === `<<${d.chomp ? '-' : ''}${d.name}`) : undefined;
        if (doc) {
          docs.splice(docs.indexOf(doc), 1);
          sources.push(await this.heredocSource(st, doc));
          continue;
        }
        if (/^https?:\/\//i.test(s)) {
          if (ins.cmd === 'COPY') throw invalidArgument(`source can't be a URL for COPY`);
          sources.push(await this.urlSource(s, checksum));
          continue;
        }
        if (/^git@|\.git(#.*)?$/.test(s)) throw new EngineError('NotImplemented', 'ADD from a git repository is not supported by berth');
        sources.push(...(await collectSources(tree, s, ins.cmd === 'ADD' && fromName === undefined)));
      }
      if (excludes.length) filterExcluded(sources, excludes);
      if (sources.length === 0) throw new BuildError(`${ins.cmd} failed: no source files were specified`);
      if (sources.length > 1 && !dest.endsWith('/')) throw new BuildError(`When using ${ins.cmd} with more than one source file, the destination must be a directory and end with a /`);
      const hash = await hashSources(sources);
      const kind = sources.length > 1 ? 'multi' : sources[0]!.isDir ? 'dir' : 'file';
      const extra = JSON.stringify([hash, chown ?? '', chmod ?? '', parents, excludes]);
      const comment = `${ins.cmd} ${kind}:${hash} in ${dest} `;
      // The usual COPY: its layer is a tar made from the sources (parent directories as the image has them), stored
      // as the blob and extracted once into the new snapshot — no write through an overlay mount, no walk of it.
      if (!parents && !sources.some((s) => s.archive || s.entries.some((e) => path.posix.basename(e.rel || s.base).startsWith('.wh.')))) {
        await this.layerStep(st, comment, extra, sc, async (root) => {
          const fsys = new ScopedFS(root);
          const owner = chown !== undefined ? await lookupOwner(root, chown) : { uid: 0, gid: 0 };
          const destIsDir = dest.endsWith('/') || sources.length > 1 || sources[0]!.isDir || (await isDirScoped(fsys, dest));
          const dirs = new LayerDirs(fsys);
          const parts: Array<{ entries: SourceEntry[]; name: (rel: string) => string }> = [];
          if (destIsDir) {
            const target = await dirs.ensure(dest, chown !== undefined ? owner : undefined);
            for (const src of sources) {
              const prefix = src.isDir ? '' : src.base;
              parts.push({ entries: src.entries, name: (rel) => joinRel(target, prefix && rel ? `${prefix}/${rel}` : prefix || rel) });
            }
          } else {
            const comps = await fsys.resolve(path.posix.dirname(dest), true);
            const parent = await dirs.ensure('/' + comps.join('/'), undefined);
            const base = path.posix.basename(dest);
            parts.push({ entries: sources[0]!.entries, name: () => joinRel(parent, base) });
          }
          return new LayerPlan(dirs.headers, parts, owner, chmod, fileLinks);
        });
        return;
      }
      await this.fsStep(st, comment, extra, sc, async (root) => {
        const fsys = new ScopedFS(root);
        const owner = chown !== undefined ? await lookupOwner(root, chown) : { uid: 0, gid: 0 };
        const destIsDir = dest.endsWith('/') || sources.length > 1 || sources[0]!.isDir || !!sources[0]!.archive || parents || (await isDirScoped(fsys, dest));
        if (destIsDir) {
          const host = await mkdirScoped(fsys, dest, chown !== undefined ? owner : undefined);
          for (const src of sources) {
            if (src.archive) {
              await applyLayer(src.entries[0]!.stream(), host, { whiteouts: 'none', signal: this.signal });
              continue;
            }
            // --parents keeps the matched path below the source root (`a/b/c.txt` → <dest>/a/b/c.txt).
            const keep = parents && src.rel ? path.posix.dirname(src.rel) : '.';
            let prefix = src.isDir ? (parents ? src.rel ?? '' : '') : keep === '.' ? src.base : path.posix.join(keep, src.base);
            if (prefix === '.' || prefix === '/') prefix = '';
            let target = host;
            if (parents && prefix) {
              // parent directories are created first (owned like the destination)
              const dir = src.isDir ? prefix : path.posix.dirname(prefix);
              if (dir && dir !== '.') target = await mkdirScoped(fsys, path.posix.join(dest, dir), chown !== undefined ? owner : undefined);
              prefix = src.isDir ? '' : src.base;
            }
            await applyLayer(tarOf(src.entries, (rel) => (prefix ? path.posix.join(prefix, rel) : rel), owner, chmod), target, { whiteouts: 'none', signal: this.signal });
          }
        } else {
          const comps = await fsys.resolve(path.posix.dirname(dest), true);
          const parent = await mkdirScoped(fsys, '/' + comps.join('/'), undefined);
          const base = path.posix.basename(dest);
          await applyLayer(tarOf(sources[0]!.entries, () => base, owner, chmod), parent, { whiteouts: 'none', signal: this.signal });
        }
      });
    } finally {
      await release?.();
    }
  }

  /** `COPY <<EOF /dest`: a file named after the delimiter, mode 0644, its body expanded unless the delimiter was quoted. */
  private async heredocSource(st: StageState, doc: Heredoc): Promise<Source> {
    const dir = fs.mkdtempSync(path.join(this.work, 'heredoc-'));
    const file = path.join(dir, doc.name);
    const body = doc.expand ? expandHeredoc(doc.body, this.lookup(st)) : doc.body;
    await fsp.writeFile(file, body, { mode: 0o644 });
    await fsp.chmod(file, 0o644);
    return { base: doc.name, isDir: false, entries: [diskEntry(file, '', await fsp.lstat(file))] };
  }

  /**
   * `ADD <http(s) URL>`: downloaded by the daemon (so `127.0.0.1` is the daemon's host), mode 0600, mtime from
   * Last-Modified, named after the URL's last path component; `--checksum=sha256:…` must match. Never extracted.
   */
  private async urlSource(url: string, checksum: string | undefined): Promise<Source> {
    let res: Response;
    try {
      res = await fetch(url, { signal: this.signal, redirect: 'follow' });
    } catch (e) {
      throw new BuildError(`failed to load ${url}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`);
    }
    if (!res.ok || !res.body) throw new BuildError(`failed to load ${url}: invalid response status ${res.status}`);
    const dir = fs.mkdtempSync(path.join(this.work, 'url-'));
    let name = path.posix.basename(new URL(res.url || url).pathname) || '__unnamed__';
    const cd = /filename="?([^";]+)"?/i.exec(res.headers.get('content-disposition') ?? '');
    if (cd) name = path.posix.basename(cd[1]!);
    const file = path.join(dir, name);
    const h = createHash('sha256');
    const out = fs.createWriteStream(file, { mode: 0o600 });
    for await (const chunk of Readable.fromWeb(res.body as never)) {
      h.update(chunk as Buffer);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    const digest = `sha256:${h.digest('hex')}`;
    if (checksum && checksum !== digest) throw new BuildError(`digest mismatch ${digest}: ${checksum}`);
    await fsp.chmod(file, 0o600);
    const lm = res.headers.get('last-modified');
    if (lm && !Number.isNaN(Date.parse(lm))) await fsp.utimes(file, new Date(lm), new Date(lm));
    return { base: name, isDir: false, entries: [diskEntry(file, '', await fsp.lstat(file))] };
  }

  /** `--from=<stage name|index|image>` (and `RUN --mount=from=`): a read-only view of that image, mounted on the host. */
  private async mountFrom(name: string): Promise<{ root: string; release: () => Promise<void> }> {
    let layers: LayerRecord[];
    const ix = stageIndex(this.df, name, true);
    if (ix !== undefined && this.lanes.has(ix)) {
      layers = (await this.stage(ix)).layers;
    } else {
      if (/^\d+$/.test(name)) throw invalidArgument(`invalid from flag value ${name}: refers to current build stage or a later one`);
      layers = this.d.images.resolve(await this.baseImage(name)).layers;
    }
    return this.viewOf(layers);
  }

  /** A read-only view of `layers`, mounted on the host under the build's work dir (an empty dir for none). */
  private async viewOf(layers: LayerRecord[]): Promise<{ root: string; release: () => Promise<void> }> {
    const key = `build-view-${Date.now()}-${randomBytes(6).toString('hex')}`;
    const root = path.join(this.work, key);
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    if (!layers.length) return { root, release: async () => {} };
    const chains = chainIDs(layers.map((l) => l.diffID));
    const mounts = await this.d.images.snapshots.view(key, chains[chains.length - 1]);
    try {
      mountAll(mounts, root);
    } catch (e) {
      await this.d.images.snapshots.remove(key).catch(() => {});
      throw e;
    }
    return {
      root,
      release: async () => {
        unmount(root, { detach: true });
        await this.d.images.snapshots.remove(key).catch(() => {});
      },
    };
  }
}

// ------------------------------------------------------------------------------------------------ helpers

/** `dir/name` for layer entry names, where `dir` may be the root (''). */
function joinRel(dir: string, name: string): string {
  return dir && name ? `${dir}/${name}` : dir || name;
}

/**
 * The directories a COPY layer needs above its entries, as the current image (`fsys`, a read-only view) has them:
 * `ensure(p)` resolves `p` in the image's scope (symlinks followed, as mkdir -p inside the container would) and records
 * a header per component — an existing directory's own mode, owner, mtime and xattrs, or a new 0755 directory (owned
 * by `owner` when given). Returns the resolved path relative to the root ('' for `/`).
 */
class LayerDirs {
  readonly headers: Array<Partial<TarHeader> & { name: string }> = [];
  private readonly seen = new Set<string>();
  private readonly now = new Date();
  constructor(private readonly fsys: ScopedFS) {}

  async ensure(p: string, owner: { uid: number; gid: number } | undefined): Promise<string> {
    const comps = await this.fsys.resolve(p, true);
    let missing = false;
    for (let i = 1; i <= comps.length; i++) {
      const rel = comps.slice(0, i).join('/');
      if (this.seen.has(rel)) continue;
      this.seen.add(rel);
      let st: fs.Stats | undefined;
      if (!missing) {
        try {
          st = fs.lstatSync(path.join(this.fsys.root, rel));
        } catch {
          missing = true;
        }
      }
      if (st && !st.isDirectory()) throw new BuildError(`mkdir ${p}: not a directory`);
      this.headers.push(
        st
          ? { name: `${rel}/`, type: 'dir', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, xattrs: dirXattrs(path.join(this.fsys.root, rel)) }
          : { name: `${rel}/`, type: 'dir', mode: 0o755, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0, mtime: this.now },
      );
    }
    return comps.join('/');
  }
}

function dirXattrs(p: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  try {
    for (const n of kernel.llistxattr(p)) {
      if (n.startsWith('trusted.overlay.')) continue;
      const v = kernel.lgetxattr(p, n);
      if (v !== undefined) out.set(n, v);
    }
  } catch {
    /* no xattrs here */
  }
  return out;
}

/** `--exclude` patterns (dockerignore rules) against each source's path and the entries below it. */
function filterExcluded(sources: Source[], patterns: string[]): void {
  const rules = parseDockerignore(patterns.join('\n'));
  for (let i = sources.length - 1; i >= 0; i--) {
    const s = sources[i]!;
    const rel = s.rel ?? s.base;
    if (isIgnored(rules, rel) || isIgnored(rules, s.base)) {
      sources.splice(i, 1);
      continue;
    }
    if (s.isDir) s.entries = s.entries.filter((e) => !isIgnored(rules, e.rel) && !isIgnored(rules, `${rel}/${e.rel}`));
  }
}

/** Variable expansion in an unquoted heredoc body: `$X`, `${X}`, `${X:-d}`, `${X:+a}`, `\$` literal; quotes stay. */
export function expandHeredoc(body: string, lookup: (n: string) => string | undefined): string {
  return body.replace(/\\([$\\])|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, esc: string | undefined, name: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
    if (esc) return esc;
    if (bare) return lookup(bare) ?? '';
    const v = lookup(name!);
    switch (op) {
      case ':-':
        return v ? v : word ?? '';
      case '-':
        return v !== undefined ? v : word ?? '';
      case ':+':
        return v ? word ?? '' : '';
      case '+':
        return v !== undefined ? word ?? '' : '';
    }
    return v ?? '';
  });
}

/** Collects the stdcopy frames an attached (non-TTY) container writes, passing payloads on. */
class FrameSink extends Duplex {
  private buf = Buffer.alloc(0);
  constructor(private readonly out: (b: Buffer) => void) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + len) break;
      this.out(this.buf.subarray(8, 8 + len));
      this.buf = this.buf.subarray(8 + len);
    }
    cb();
  }
  flush(): void {
    if (this.buf.length > 8) this.out(this.buf.subarray(8));
    this.buf = Buffer.alloc(0);
  }
}
