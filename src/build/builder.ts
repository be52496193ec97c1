/**
 * The classic Dockerfile builder (`POST /build`): runs a parsed Dockerfile step by step, each step producing an
 * image, as Docker's classic builder does.
 *
 * - Metadata steps (ENV, CMD, LABEL, ...) create an image with the parent's layers, an edited config and a history
 *   entry with `empty_layer`.
 * - RUN creates a container from the current image (entrypoint cleared, build args in its environment), streams its
 *   output, and commits its writable layer.
 * - COPY/ADD/WORKDIR work on a scratch snapshot on top of the current image, mounted on the host: sources are
 *   streamed as a tar into the scope-resolved destination, then the snapshot's upper dir becomes the new layer.
 * - Cache: a step's key is the parent image ID + the step's history text + the resulting config (+ a content hash of
 *   COPY sources); the key → image ID map lives in `<data-root>/build/cache.json`. A hit reuses the image; after the
 *   first miss no further step is probed (as Docker).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Duplex, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ContainerConfig, HealthConfig, HistoryEntry, ImageConfig, LayerRecord } from '../core/images/types.js';
import type { ImageWriter } from '../core/images/writer.js';
import { mountAll, unmount } from '../core/mount/index.js';
import { EngineError, invalidArgument, isNotFound } from '../errdefs/index.js';
import { applyLayer } from '../pkg/archive/apply-layer.js';
import { decompress } from '../pkg/archive/compression.js';
import { chainIDs, type Digest } from '../pkg/digest/index.js';
import * as ref from '../pkg/reference/index.js';
import { tarFromEntries } from '../pkg/tar/writer.js';
import type { TarHeader } from '../pkg/tar/header.js';
import { commitLayer, EMPTY_TAR_DIFF_ID } from '../daemon/services/containers/commit.js';
import { ScopedFS } from '../pkg/securejoin/scoped.js';
import { expandWord, expandWords, keyValuePairs, parseDockerfile, splitRaw, type Dockerfile, type Instruction } from './dockerfile/parser.js';

// ------------------------------------------------------------------------------------------------ dependencies

/** What the builder writes images through: the one image writer (core/images/writer.ts), shared with commit. */
export type BuildImageStore = ImageWriter;

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
  /** Host architecture in Go's naming, for FROM scratch. */
  arch: string;
}

export interface BuildOptions {
  dockerfile?: string;
  tags?: string[];
  buildArgs?: Record<string, string | null>;
  noCache?: boolean;
  rm?: boolean;
  forceRm?: boolean;
  target?: string;
  labels?: Record<string, string>;
  quiet?: boolean;
  /** HostConfig.NetworkMode of RUN containers (`networkmode`). */
  networkMode?: string;
  signal?: AbortSignal;
}

export type BuildMessage = Record<string, unknown>;

/** A failed step; `code` is a RUN's exit code (the CLI exits with it). */
export class BuildError extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
  }
}

/** Build args every Dockerfile may use without declaring them (Docker's builtinAllowedBuildArgs). */
const BUILTIN_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);
const DEFAULT_SHELL = ['/bin/sh', '-c'];

// ------------------------------------------------------------------------------------------------ cache

export class BuildCache {
  private entries: Record<string, string> | undefined;
  constructor(private readonly file: string) {}

  private load(): Record<string, string> {
    if (!this.entries) {
      try {
        this.entries = (JSON.parse(fs.readFileSync(this.file, 'utf8')) as { entries?: Record<string, string> }).entries ?? {};
      } catch {
        this.entries = {};
      }
    }
    return this.entries;
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ version: 1, entries: this.entries ?? {} }));
    fs.renameSync(tmp, this.file);
  }

  get(key: string): string | undefined {
    return this.load()[key];
  }

  set(key: string, id: string): void {
    this.load()[key] = id;
    this.save();
  }

  /** Forgets every record; returns the forgotten keys. */
  prune(): string[] {
    const keys = Object.keys(this.load());
    this.entries = {};
    this.save();
    return keys;
  }
}

// ------------------------------------------------------------------------------------------------ state

interface StageState {
  name?: string;
  /** Current image; undefined while a `FROM scratch` stage has no step yet. */
  imageId?: string;
  layers: LayerRecord[];
  image: ImageConfig;
  /** Declared ARGs in scope (undefined: declared without a value). */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
}

/** A source entry for COPY: a host path and its name relative to what was named in the instruction. */
interface SourceEntry {
  host: string;
  rel: string;
  st: fs.Stats;
}
interface Source {
  /** The matched path (for error messages) and its base name. */
  base: string;
  isDir: boolean;
  entries: SourceEntry[];
  /** ADD of a local archive: extracted rather than copied. */
  archive?: boolean;
}

const id12 = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const goQuoteList = (a: string[]) => `[${a.map((s) => JSON.stringify(s)).join(' ')}]`;

// ------------------------------------------------------------------------------------------------ builder

export class Builder {
  readonly cache: BuildCache;
  private readonly tmpRoot: string;

  constructor(private readonly d: BuilderDeps) {
    this.cache = new BuildCache(path.join(d.dataRoot, 'build', 'cache.json'));
    this.tmpRoot = path.join(d.dataRoot, 'build', 'tmp');
  }

  /** `POST /build/prune`. */
  prune(): { CachesDeleted: string[]; SpaceReclaimed: number } {
    return { CachesDeleted: this.cache.prune(), SpaceReclaimed: 0 };
  }

  /** Checks the tags before anything is streamed (bad ones are a 400, as in Docker). */
  static validateTags(tags: string[]): void {
    for (const t of tags) ref.parseNormalized(t);
  }

  async build(context: Readable, opts: BuildOptions, emit: (m: BuildMessage) => void): Promise<string> {
    const say = (s: string) => {
      if (!opts.quiet) emit({ stream: s });
    };
    const tags = opts.tags ?? [];
    Builder.validateTags(tags);
    fs.mkdirSync(this.tmpRoot, { recursive: true, mode: 0o700 });
    const work = fs.mkdtempSync(path.join(this.tmpRoot, 'b-'));
    const ctxDir = path.join(work, 'context');
    fs.mkdirSync(ctxDir);
    try {
      await applyLayer(decompress(context), ctxDir, { whiteouts: 'none', signal: opts.signal });
      const dfName = opts.dockerfile || 'Dockerfile';
      const dfText = await readContextFile(ctxDir, dfName).catch(() => {
        throw invalidArgument(`Cannot locate specified Dockerfile: ${dfName}`);
      });
      await applyDockerignore(ctxDir);
      const df = parseDockerfile(dfText);
      const run = new BuildRun(this.d, this.cache, df, ctxDir, work, opts, say);
      const id = await run.execute();
      emit({ aux: { ID: id } });
      if (opts.quiet) emit({ stream: `${id}\n` });
      say(`Successfully built ${id12(id)}\n`);
      for (const t of tags) {
        const r = ref.withDefaultTag(ref.parseNormalized(t));
        await this.d.images.tag(id, ref.familiarName(r), r.tag);
        say(`Successfully tagged ${ref.familiarString(r)}\n`);
      }
      return id;
    } finally {
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
      if (safe) fs.rmSync(work, { recursive: true, force: true });
    }
  }
}

/** One build: the Dockerfile, its stages' states, the step counter and the cache state. */
class BuildRun {
  private readonly stages: StageState[] = [];
  private readonly metaArgs = new Map<string, string | undefined>();
  private readonly usedArgs = new Set<string>();
  private cacheBusted: boolean;
  private step = 0;
  private total = 0;
  private readonly escape: string;

  constructor(
    private readonly d: BuilderDeps,
    private readonly cache: BuildCache,
    private readonly df: Dockerfile,
    private readonly ctxDir: string,
    private readonly work: string,
    private readonly opts: BuildOptions,
    private readonly say: (s: string) => void,
  ) {
    this.cacheBusted = !!opts.noCache;
    this.escape = df.escape;
  }

  private get buildArgs(): Record<string, string | null> {
    return this.opts.buildArgs ?? {};
  }

  private argValue(name: string, dflt: string | undefined): string | undefined {
    const given = this.buildArgs[name];
    if (given !== undefined && given !== null) return given;
    return dflt;
  }

  async execute(): Promise<string> {
    let stages = this.df.stages;
    if (this.opts.target) {
      const ix = stages.findIndex((s) => s.name === this.opts.target!.toLowerCase());
      if (ix < 0) throw invalidArgument(`failed to reach build target ${this.opts.target} in Dockerfile`);
      stages = stages.slice(0, ix + 1);
    }
    this.total = this.df.metaArgs.length + stages.reduce((n, s) => n + 1 + s.instructions.length, 0);
    for (const ins of this.df.metaArgs) {
      this.header(ins);
      for (const [k, v] of this.argPairs(ins)) {
        const val = this.argValue(k, v === undefined ? undefined : expandWord(v, (n) => this.metaArgs.get(n), this.escape));
        this.metaArgs.set(k, val);
        if (this.buildArgs[k] !== undefined) this.usedArgs.add(k);
      }
    }
    for (const stage of stages) {
      this.opts.signal?.throwIfAborted();
      this.header(stage.from);
      const st = await this.from(stage.base, stage.name);
      this.stages.push(st);
      this.say(` ---> ${st.imageId ? id12(st.imageId) : ''}\n`);
      // The base image's ONBUILD triggers run first, as instructions of this stage; they are not inherited.
      const triggers = st.image.config?.OnBuild ?? [];
      if (st.image.config) st.image.config.OnBuild = null;
      if (triggers.length) {
        this.say(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
        for (const t of triggers) {
          const ins = parseDockerfile(`FROM scratch\n${t}\n`).stages[0]!.instructions[0];
          if (!ins) continue;
          if (ins.cmd === 'ONBUILD' || ins.cmd === 'FROM' || ins.cmd === 'MAINTAINER') throw invalidArgument(`${ins.cmd} isn't allowed as an ONBUILD trigger`);
          await this.dispatch(st, ins);
        }
      }
      for (const ins of stage.instructions) {
        this.opts.signal?.throwIfAborted();
        this.header(ins);
        await this.dispatch(st, ins);
      }
    }
    const last = this.stages[this.stages.length - 1]!;
    if (this.opts.labels && Object.keys(this.opts.labels).length) {
      const labels = this.opts.labels;
      await this.configStep(last, `LABEL ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(' ')}`, (c) => {
        c.Labels = { ...(c.Labels ?? {}), ...labels };
      }, true);
    }
    if (!last.imageId) throw invalidArgument('No image was generated. Is your Dockerfile empty?');
    const unused = Object.keys(this.buildArgs).filter((k) => !this.usedArgs.has(k) && !BUILTIN_ARGS.has(k)).sort();
    if (unused.length) this.say(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    return last.imageId;
  }

  private header(ins: Instruction): void {
    this.step++;
    this.say(`Step ${this.step}/${this.total} : ${ins.original}\n`);
  }

  // -------------------------------------------------------------------------------------------- FROM

  private async from(baseRaw: string, name: string | undefined): Promise<StageState> {
    const base = expandWord(baseRaw, (n) => this.metaArgs.get(n), this.escape);
    if (!base) throw invalidArgument('base name (' + baseRaw + ') should not be blank');
    const st: StageState = {
      name,
      layers: [],
      image: { architecture: this.d.arch, os: 'linux', config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
      args: new Map(),
      cmdSet: false,
    };
    if (base.toLowerCase() === 'scratch') return st;
    const prev = this.stages.find((s) => s.name !== undefined && s.name === base.toLowerCase());
    const id = prev ? prev.imageId : this.d.images.resolve(base).id;
    if (!id) throw invalidArgument(`stage ${base} produced no image`);
    await this.load(st, id);
    return st;
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

  private async dispatch(st: StageState, ins: Instruction): Promise<void> {
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
        });
      }
      case 'LABEL': {
        const look = this.lookup(st);
        const pairs = keyValuePairs('LABEL', ins.rest, this.escape).map(([k, v]) => [expandWord(k, look, this.escape), expandWord(v, look, this.escape)] as const);
        return this.configStep(st, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, (cfg) => {
          cfg.Labels = { ...(cfg.Labels ?? {}) };
          for (const [k, v] of pairs) cfg.Labels[k] = v;
        });
      }
      case 'ARG': {
        const parts: string[] = [];
        for (const [k, raw] of this.argPairs(ins)) {
          const dflt = raw === undefined ? (this.metaArgs.has(k) ? this.metaArgs.get(k) : undefined) : this.word(st, raw);
          st.args.set(k, this.argValue(k, dflt));
          if (this.buildArgs[k] !== undefined) this.usedArgs.add(k);
          parts.push(raw === undefined ? k : `${k}=${dflt}`);
        }
        return this.configStep(st, `ARG ${parts.join(' ')}`, () => {});
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
        });
      }
      case 'SHELL': {
        if (!ins.json || ins.json.length === 0) throw invalidArgument('SHELL requires the arguments to be in JSON form');
        const v = ins.json;
        return this.configStep(st, `SHELL ${goQuoteList(v)}`, (cfg) => {
          cfg.Shell = v;
        });
      }
      case 'EXPOSE': {
        const ports = this.words(st, ins.rest);
        for (const p of ports) if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw invalidArgument(`invalid containerPort: ${p}`);
        return this.configStep(st, `EXPOSE ${ports.map((p) => (p.includes('/') ? p.toLowerCase() : `${p}/tcp`)).join(' ')}`, (cfg) => {
          cfg.ExposedPorts = { ...(cfg.ExposedPorts ?? {}) };
          for (const p of ports) cfg.ExposedPorts[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        });
      }
      case 'VOLUME': {
        const vols = (ins.json ?? this.words(st, ins.rest)).map((v) => this.word(st, v));
        if (vols.some((v) => v.trim() === '')) throw invalidArgument('VOLUME specified can not be an empty string');
        return this.configStep(st, `VOLUME ${goQuoteList(vols)}`, (cfg) => {
          cfg.Volumes = { ...(cfg.Volumes ?? {}) };
          for (const v of vols) cfg.Volumes[v] = {};
        });
      }
      case 'USER': {
        const u = this.word(st, ins.rest);
        return this.configStep(st, `USER ${u}`, (cfg) => {
          cfg.User = u;
        });
      }
      case 'STOPSIGNAL': {
        const s = this.word(st, ins.rest);
        return this.configStep(st, `STOPSIGNAL ${s}`, (cfg) => {
          cfg.StopSignal = s;
        });
      }
      case 'MAINTAINER': {
        const m = ins.rest;
        return this.configStep(st, `MAINTAINER ${m}`, () => {
          st.image.author = m;
        });
      }
      case 'ONBUILD': {
        const trigger = ins.rest.trim();
        const kw = trigger.split(/\s+/)[0]!.toUpperCase();
        if (kw === 'ONBUILD') throw invalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (kw === 'FROM' || kw === 'MAINTAINER') throw invalidArgument(`${kw} isn't allowed as an ONBUILD trigger`);
        return this.configStep(st, `ONBUILD ${trigger}`, (cfg) => {
          cfg.OnBuild = [...(cfg.OnBuild ?? []), trigger];
        });
      }
      case 'HEALTHCHECK': {
        const hc = parseHealthcheck(ins);
        return this.configStep(st, `HEALTHCHECK ${ins.rest}`, (cfg) => {
          cfg.Healthcheck = hc;
        });
      }
      case 'WORKDIR': {
        const w = this.word(st, ins.rest);
        if (!w) throw invalidArgument('WORKDIR requires exactly one argument');
        const dir = path.posix.resolve(c().WorkingDir || '/', w);
        c().WorkingDir = dir;
        return this.fsStep(st, `WORKDIR ${dir}`, '', async (root) => {
          const fsys = new ScopedFS(root);
          await mkdirScoped(fsys, dir, undefined);
        });
      }
      case 'RUN':
        return this.runStep(st, ins);
      case 'COPY':
      case 'ADD':
        return this.copyStep(st, ins);
    }
    throw invalidArgument(`dockerfile parse error on line ${ins.line}: unknown instruction: ${ins.cmd}`);
  }

  // -------------------------------------------------------------------------------------------- cache

  private cacheKey(st: StageState, createdBy: string, extra: string): string {
    return createHash('sha256')
      .update(JSON.stringify([st.imageId ?? 'scratch', createdBy, st.image.config ?? {}, st.image.author ?? '', extra]))
      .digest('hex');
  }

  /** On a hit, moves the stage onto the cached image and says so. */
  private async probe(st: StageState, key: string): Promise<boolean> {
    if (this.cacheBusted) return false;
    const id = this.cache.get(key);
    if (id) {
      try {
        await this.load(st, id);
        this.say(` ---> Using cache\n ---> ${id12(id)}\n`);
        return true;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    this.cacheBusted = true;
    return false;
  }

  // -------------------------------------------------------------------------------------------- image creation

  private async newImage(st: StageState, createdBy: string, layer: LayerRecord | undefined, lease?: string): Promise<string> {
    const created = new Date().toISOString();
    const cfg = st.image;
    const history: HistoryEntry[] = [...(cfg.history ?? []), { created, created_by: createdBy, ...(layer ? {} : { empty_layer: true }) }];
    const layers = layer ? [...st.layers, layer] : st.layers;
    const next: ImageConfig = {
      ...cfg,
      created,
      docker_version: 'berth',
      history,
      ...(st.imageId ? { parent: st.imageId } : {}),
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
    };
    delete next.container;
    delete next.container_config;
    const img = await this.d.images.createImage(Buffer.from(JSON.stringify(next)), layers, [], {
      ...(st.imageId ? { parent: st.imageId as Digest } : {}),
      ...(lease ? { lease } : {}),
    });
    st.imageId = img.id;
    st.layers = layers;
    st.image = next;
    return img.id;
  }

  /** A config-only step: edit, probe the cache, create an image with an empty layer. */
  private async configStep(st: StageState, comment: string, edit: (cfg: ContainerConfig) => void, silent = false): Promise<void> {
    st.image.config ??= {};
    edit(st.image.config);
    const createdBy = `/bin/sh -c #(nop)  ${comment}`;
    const key = this.cacheKey(st, createdBy, '');
    if (!silent && (await this.probe(st, key))) return;
    const id = await this.newImage(st, createdBy, undefined);
    this.cache.set(key, id);
    if (!silent) this.say(` ---> ${id12(id)}\n`);
  }

  /**
   * A filesystem step: a snapshot on top of the current image is mounted at a temp dir, `fn` edits it, its upper dir
   * becomes the layer (none when nothing changed).
   */
  private async fsStep(st: StageState, comment: string, contentHash: string, fn: (root: string) => Promise<void>): Promise<void> {
    const createdBy = `/bin/sh -c #(nop) ${comment}`;
    const key = this.cacheKey(st, createdBy, contentHash);
    if (await this.probe(st, key)) return;
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
      const id = await this.commitSnapshot(st, snapKey, parentChain, createdBy, lease.id);
      this.cache.set(key, id);
      this.say(` ---> ${id12(id)}\n`);
    } finally {
      await this.d.images.leases.delete(lease.id).catch(() => {});
      await this.d.images.snapshots.remove(snapKey).catch(() => {});
    }
  }

  private async commitSnapshot(st: StageState, snapKey: string, parentChain: Digest | undefined, createdBy: string, lease: string): Promise<string> {
    const upper = await this.d.images.snapshots.writableDir(snapKey);
    const layer = await this.d.images.importLayer(commitLayer(upper, this.opts.signal), { parentChain, lease, signal: this.opts.signal });
    const empty = layer.diffID === EMPTY_TAR_DIFF_ID;
    return this.newImage(st, createdBy, empty ? undefined : { diffID: layer.diffID, blob: layer.blob, blobSize: layer.blobSize, mediaType: layer.mediaType }, lease);
  }

  // -------------------------------------------------------------------------------------------- RUN

  private async runStep(st: StageState, ins: Instruction): Promise<void> {
    const cfg = st.image.config ?? {};
    for (const f of ins.flags) throw invalidArgument(`the --${f.name} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
    const cmd = ins.json ?? [...(cfg.Shell ?? DEFAULT_SHELL), ins.rest];
    const envKeys = new Set((cfg.Env ?? []).map((e) => e.split('=')[0]));
    const argEnv = [...st.args].filter(([k, v]) => v !== undefined && !envKeys.has(k)).map(([k, v]) => `${k}=${v}`).sort();
    const createdBy = (argEnv.length ? [`|${argEnv.length}`, ...argEnv, ...cmd] : cmd).join(' ');
    const key = this.cacheKey(st, createdBy, '');
    if (await this.probe(st, key)) return;
    if (!st.imageId) throw invalidArgument('Please provide a source image with `from` prior to run');
    const { Id } = await this.d.containers.create(undefined, {
      Image: st.imageId,
      Cmd: cmd,
      Entrypoint: [''],
      Env: [...argEnv, ...(cfg.Env ?? [])],
      WorkingDir: cfg.WorkingDir ?? '',
      User: cfg.User ?? '',
      AttachStdout: true,
      AttachStderr: true,
      Healthcheck: { Test: ['NONE'] },
      Labels: cfg.Labels ?? {},
      HostConfig: this.opts.networkMode && this.opts.networkMode !== 'default' ? { NetworkMode: this.opts.networkMode } : {},
    });
    this.say(` ---> Running in ${id12(Id)}\n`);
    let ok = false;
    try {
      const waitAbort = new AbortController();
      const waited = this.d.containers.wait(Id, 'next-exit', waitAbort.signal);
      const sink = new FrameSink((b) => this.say(b.toString('utf8')));
      const attached = this.d.containers.attach(Id, sink, { stdin: false, stdout: true, stderr: true, stdinOnce: false });
      const onAbort = () => void this.d.containers.kill(Id, 'KILL').catch(() => {});
      this.opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await this.d.containers.start(Id);
        const { StatusCode } = await waited;
        // The attach ends with the process; give its last output a moment to arrive.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([attached, new Promise((r) => (timer = setTimeout(r, 2000)))]);
        clearTimeout(timer);
        sink.flush();
        this.opts.signal?.throwIfAborted();
        if (StatusCode !== 0) throw new BuildError(`The command '${cmd.join(' ')}' returned a non-zero code: ${StatusCode}`, StatusCode);
      } finally {
        this.opts.signal?.removeEventListener('abort', onAbort);
        waitAbort.abort();
        waited.catch(() => {});
      }
      const lease = await this.d.images.leases.create();
      try {
        const chains = chainIDs(st.layers.map((l) => l.diffID));
        const id = await this.commitSnapshot(st, Id, chains[chains.length - 1], createdBy, lease.id);
        this.cache.set(key, id);
        ok = true;
        if (this.opts.rm !== false || this.opts.forceRm) {
          await this.d.containers.remove(Id, { force: true, volumes: true });
          this.say(`Removing intermediate container ${id12(Id)}\n`);
        }
        this.say(` ---> ${id12(id)}\n`);
      } finally {
        await this.d.images.leases.delete(lease.id).catch(() => {});
      }
    } finally {
      // A failed step's container stays for inspection (as Docker) unless --force-rm; a cancelled one goes.
      if (!ok && (this.opts.forceRm || (this.opts.signal?.aborted && this.opts.rm !== false))) {
        await this.d.containers.remove(Id, { force: true, volumes: true }).catch(() => {});
        this.say(`Removing intermediate container ${id12(Id)}\n`);
      }
    }
  }

  // -------------------------------------------------------------------------------------------- COPY / ADD

  private async copyStep(st: StageState, ins: Instruction): Promise<void> {
    const flag = (n: string) => ins.flags.find((f) => f.name === n)?.value;
    for (const f of ins.flags) if (!['from', 'chown', 'chmod'].includes(f.name) || (ins.cmd === 'ADD' && f.name === 'from')) throw invalidArgument(`dockerfile parse error on line ${ins.line}: unknown flag: ${f.name}`);
    const args = ins.json ? ins.json.map((a) => this.word(st, a)) : this.words(st, ins.rest);
    if (args.length < 2) throw invalidArgument(`${ins.cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
    const rawDest = args[args.length - 1]!;
    const srcs = args.slice(0, -1);
    const chown = flag('chown') !== undefined ? this.word(st, flag('chown')!) : undefined;
    const chmod = flag('chmod') !== undefined ? parseInt(flag('chmod')!, 8) : undefined;
    if (chmod !== undefined && (Number.isNaN(chmod) || chmod > 0o7777)) throw invalidArgument(`invalid chmod parameter: ${flag('chmod')}`);
    const cwd = st.image.config?.WorkingDir || '/';
    let dest = rawDest.startsWith('/') ? rawDest : path.posix.join(cwd, rawDest);
    if ((rawDest.endsWith('/') || rawDest === '.' || rawDest.endsWith('/.')) && !dest.endsWith('/')) dest += '/';
    const fromName = flag('from');
    let fromRoot = this.ctxDir;
    let release: (() => Promise<void>) | undefined;
    try {
      if (fromName !== undefined) {
        const fromWord = this.word(st, fromName);
        ({ root: fromRoot, release } = await this.mountFrom(fromWord));
      }
      const fromFS = new ScopedFS(fromRoot);
      const sources: Source[] = [];
      for (const s of srcs) {
        if (/^https?:\/\//i.test(s)) {
          if (ins.cmd === 'COPY') throw invalidArgument(`source can't be a URL for COPY`);
          throw new EngineError('NotImplemented', 'ADD from a URL is not supported by berth');
        }
        sources.push(...(await collectSources(fromFS, s, ins.cmd === 'ADD' && fromName === undefined)));
      }
      if (sources.length === 0) throw new BuildError(`${ins.cmd} failed: no source files were specified`);
      if (sources.length > 1 && !dest.endsWith('/')) throw new BuildError(`When using ${ins.cmd} with more than one source file, the destination must be a directory and end with a /`);
      const hash = await hashSources(sources);
      const kind = sources.length > 1 ? 'multi' : sources[0]!.isDir ? 'dir' : 'file';
      const extra = JSON.stringify([hash, chown ?? '', chmod ?? '']);
      await this.fsStep(st, `${ins.cmd} ${kind}:${hash} in ${dest} `, extra, async (root) => {
        const fsys = new ScopedFS(root);
        const owner = chown !== undefined ? await lookupOwner(root, chown) : { uid: 0, gid: 0 };
        const destIsDir = dest.endsWith('/') || sources.length > 1 || sources[0]!.isDir || !!sources[0]!.archive || (await isDirScoped(fsys, dest));
        if (destIsDir) {
          const host = await mkdirScoped(fsys, dest, chown !== undefined ? owner : undefined);
          for (const src of sources) {
            if (src.archive) {
              await applyLayer(fs.createReadStream(src.entries[0]!.host), host, { whiteouts: 'none', signal: this.opts.signal });
              continue;
            }
            const prefix = src.isDir ? '' : src.base;
            await applyLayer(tarOf(src.entries, (rel) => (prefix ? path.posix.join(prefix, rel) : rel), owner, chmod), host, { whiteouts: 'none', signal: this.opts.signal });
          }
        } else {
          const comps = await fsys.resolve(path.posix.dirname(dest), true);
          const parent = await mkdirScoped(fsys, '/' + comps.join('/'), undefined);
          const base = path.posix.basename(dest);
          await applyLayer(tarOf(sources[0]!.entries, () => base, owner, chmod), parent, { whiteouts: 'none', signal: this.opts.signal });
        }
      });
    } finally {
      await release?.();
    }
  }

  /** `--from=<stage name|index|image>`: a read-only view of that image, mounted on the host. */
  private async mountFrom(name: string): Promise<{ root: string; release: () => Promise<void> }> {
    let layers: LayerRecord[] = [];
    const byName = this.stages.find((s) => s.name === name.toLowerCase());
    const byIndex = /^\d+$/.test(name) ? this.stages[Number(name)] : undefined;
    const st = byName ?? byIndex;
    if (st) {
      layers = st.layers;
    } else {
      if (/^\d+$/.test(name)) throw invalidArgument(`invalid from flag value ${name}: refers to current build stage or a later one`);
      layers = this.d.images.resolve(name).layers;
    }
    const key = `build-view-${Date.now()}-${randomBytes(6).toString('hex')}`;
    const root = path.join(this.work, key);
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
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

async function readContextFile(ctxDir: string, name: string): Promise<string> {
  const fsys = new ScopedFS(ctxDir);
  const comps = await fsys.resolve('/' + name, true);
  return fsp.readFile(fsys.hostPath(comps), 'utf8');
}

/** Docker's .dockerignore pattern → RegExp (`**` any depth, `*`/`?` within a component). */
export function ignorePatternRegex(pattern: string): RegExp {
  let p = path.posix.normalize(pattern.trim()).replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '.') p = '';
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        i++;
        if (p[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + p.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else if (c === '\\' && i + 1 < p.length) re += '\\' + p[++i];
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Parses .dockerignore text into ordered (regex, exclusion) rules. */
export function parseDockerignore(text: string): Array<{ re: RegExp; negate: boolean }> {
  const out: Array<{ re: RegExp; negate: boolean }> = [];
  for (let line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (!line) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    if (!line) continue;
    out.push({ re: ignorePatternRegex(line), negate });
  }
  return out;
}

/** True when `rel` (or one of its parent directories) is excluded by the rules (last match wins). */
export function isIgnored(rules: Array<{ re: RegExp; negate: boolean }>, rel: string): boolean {
  const comps = rel.split('/').filter(Boolean);
  let ignored = false;
  for (const r of rules) {
    let hit = false;
    for (let n = 1; n <= comps.length && !hit; n++) hit = r.re.test(comps.slice(0, n).join('/'));
    if (hit) ignored = !r.negate;
  }
  return ignored;
}

/** Removes what .dockerignore excludes from the extracted context (the CLI usually did this already). */
async function applyDockerignore(ctxDir: string): Promise<void> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(ctxDir, '.dockerignore'), 'utf8');
  } catch {
    return;
  }
  const rules = parseDockerignore(text);
  if (!rules.length) return;
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fsp.readdir(path.join(ctxDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (isIgnored(rules, r)) {
        // A later `!` rule may re-include something below an ignored directory: keep walking those.
        if (e.isDirectory() && rules.some((x) => x.negate)) await walk(r);
        else await fsp.rm(path.join(ctxDir, r), { recursive: true, force: true });
      } else if (e.isDirectory()) await walk(r);
    }
  };
  await walk('');
}

const hasWildcard = (s: string) => /[*?[]/.test(s);

/** Resolves one COPY/ADD source in `fsys` (wildcards match over the tree). */
async function collectSources(fsys: ScopedFS, src: string, addArchives: boolean): Promise<Source[]> {
  const clean = path.posix.normalize('/' + src);
  const hosts: Array<{ host: string; base: string }> = [];
  if (hasWildcard(clean)) {
    const re = ignorePatternRegex(clean);
    const walk = async (rel: string): Promise<void> => {
      let list: fs.Dirent[];
      try {
        list = await fsp.readdir(path.join(fsys.root, rel), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of list) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        // A matched symlink is followed in the context's scope (moby's FollowSymlinkInScope), never on the host.
        if (re.test(r)) hosts.push({ host: fsys.hostPath(await fsys.resolve('/' + r, true)), base: e.name });
        else if (e.isDirectory()) await walk(r);
      }
    };
    await walk('');
    if (!hosts.length) throw new BuildError(`COPY failed: no source files were specified`);
  } else {
    const comps = await fsys.resolve(clean, true);
    const host = fsys.hostPath(comps);
    try {
      await fsp.lstat(host);
    } catch {
      throw new BuildError(`COPY failed: file not found in build context or excluded by .dockerignore: stat ${src.replace(/^\/+/, '')}: file does not exist`);
    }
    hosts.push({ host, base: path.posix.basename(clean) || '/' });
  }
  const out: Source[] = [];
  for (const h of hosts) {
    const st = await fsp.stat(h.host);
    if (st.isDirectory()) {
      const entries: SourceEntry[] = [];
      const walk = async (dir: string, rel: string): Promise<void> => {
        const names = (await fsp.readdir(dir)).sort();
        for (const n of names) {
          const p = path.join(dir, n);
          const r = rel ? `${rel}/${n}` : n;
          const s = await fsp.lstat(p);
          entries.push({ host: p, rel: r, st: s });
          if (s.isDirectory()) await walk(p, r);
        }
      };
      await walk(h.host, '');
      out.push({ base: h.base, isDir: true, entries });
    } else {
      const archive = addArchives && st.isFile() && (await isTarArchive(h.host));
      out.push({ base: h.base, isDir: false, entries: [{ host: h.host, rel: '', st }], archive });
    }
  }
  return out;
}

/** A local file ADD extracts: a plain tar or a gzip/zstd-compressed one. */
async function isTarArchive(file: string): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const isUstar = (b: Buffer) => b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
  if (isUstar(head)) return true;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const inner = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      let n = 0;
      const gz = createGunzip();
      const rs = fs.createReadStream(file);
      const done = () => {
        rs.destroy();
        gz.destroy();
        resolve(Buffer.concat(chunks));
      };
      gz.on('data', (c: Buffer) => {
        chunks.push(c);
        n += c.length;
        if (n >= 512) done();
      });
      gz.on('end', done);
      gz.on('error', done);
      rs.pipe(gz);
    });
    return isUstar(inner);
  }
  return false;
}

async function hashSources(sources: Source[]): Promise<string> {
  const h = createHash('sha256');
  for (const s of sources) {
    h.update(`source ${s.base} ${s.isDir} ${!!s.archive}\n`);
    for (const e of s.entries) {
      const type = e.st.isDirectory() ? 'd' : e.st.isSymbolicLink() ? 'l' : e.st.isFile() ? 'f' : 'o';
      h.update(`${e.rel}\0${type}\0${e.st.mode & 0o7777}\0${e.st.size}\0`);
      if (type === 'l') h.update(await fsp.readlink(e.host));
      if (type === 'f') {
        for await (const chunk of fs.createReadStream(e.host)) h.update(chunk as Buffer);
      }
    }
  }
  return h.digest('hex');
}

function tarOf(entries: SourceEntry[], name: (rel: string) => string, owner: { uid: number; gid: number }, chmod: number | undefined): Readable {
  async function* gen() {
    for (const e of entries) {
      const st = e.st;
      const header: Partial<TarHeader> & { name: string } = {
        name: name(e.rel),
        mode: chmod ?? st.mode & 0o7777,
        uid: owner.uid,
        gid: owner.gid,
        mtime: st.mtime,
      };
      if (st.isDirectory()) yield { header: { ...header, type: 'dir' as const } };
      else if (st.isSymbolicLink()) yield { header: { ...header, type: 'symlink' as const, linkname: await fsp.readlink(e.host) } };
      else if (st.isFile()) yield { header: { ...header, type: 'file' as const, size: st.size }, body: fs.createReadStream(e.host) as AsyncIterable<Buffer> };
    }
  }
  return tarFromEntries(gen());
}

async function isDirScoped(fsys: ScopedFS, p: string): Promise<boolean> {
  try {
    return (await fsp.stat(fsys.hostPath(await fsys.resolve(p, true)))).isDirectory();
  } catch {
    return false;
  }
}

/** mkdir -p inside the scoped root; returns the host path. New directories get `owner` when given. */
async function mkdirScoped(fsys: ScopedFS, p: string, owner: { uid: number; gid: number } | undefined): Promise<string> {
  const comps = await fsys.resolve(p, true);
  let cur = fsys.root;
  for (const c of comps) {
    cur = path.join(cur, c);
    try {
      await fsp.mkdir(cur, { mode: 0o755 });
      if (owner) await fsp.chown(cur, owner.uid, owner.gid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!(await fsp.stat(cur)).isDirectory()) throw new BuildError(`mkdir ${p}: not a directory`);
    }
  }
  return cur;
}

/** `--chown=user[:group]` looked up in the image's /etc/passwd and /etc/group (numbers pass through). */
async function lookupOwner(root: string, spec: string): Promise<{ uid: number; gid: number }> {
  const [user, group] = spec.split(':') as [string, string | undefined];
  const fsys = new ScopedFS(root);
  const read = async (f: string) => {
    try {
      return (await fsys.readFile(f)).split('\n').map((l) => l.split(':'));
    } catch {
      return [];
    }
  };
  let uid: number;
  let gid: number;
  if (/^\d+$/.test(user)) {
    uid = Number(user);
    gid = group === undefined ? uid : NaN;
  } else {
    const pw = (await read('/etc/passwd')).find((f) => f[0] === user);
    if (!pw) throw new BuildError(`unable to convert uid/gid chown string to host mapping: can't find uid for user ${user}: no such user: ${user}`);
    uid = Number(pw[2]);
    gid = Number(pw[3]);
  }
  if (group !== undefined) {
    if (/^\d+$/.test(group)) gid = Number(group);
    else {
      const gr = (await read('/etc/group')).find((f) => f[0] === group);
      if (!gr) throw new BuildError(`unable to convert uid/gid chown string to host mapping: can't find gid for group ${group}: no such group: ${group}`);
      gid = Number(gr[2]);
    }
  }
  return { uid, gid };
}

/** Go duration text (`30s`, `1m30s`, `500ms`) → nanoseconds. */
export function parseGoDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    consumed += m[0].length;
  }
  if (s === '0') return 0;
  if (!s || consumed !== s.length) throw invalidArgument(`time: invalid duration "${s}"`);
  return Math.round(total);
}

function parseHealthcheck(ins: Instruction): HealthConfig {
  const rest = ins.rest.trim();
  if (rest.toUpperCase() === 'NONE') {
    if (ins.flags.length) throw invalidArgument('HEALTHCHECK NONE takes no flags');
    return { Test: ['NONE'] };
  }
  const m = /^CMD\s+([\s\S]+)$/i.exec(rest);
  if (!m) throw invalidArgument('Unknown type "' + rest.split(/\s+/)[0] + '" in HEALTHCHECK (try CMD)');
  const json = m[1]!.trim().startsWith('[') ? (() => {
    try {
      const v = JSON.parse(m[1]!) as unknown;
      return Array.isArray(v) ? (v as string[]) : undefined;
    } catch {
      return undefined;
    }
  })() : undefined;
  const hc: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', m[1]!.trim()] };
  for (const f of ins.flags) {
    switch (f.name) {
      case 'interval':
        hc.Interval = parseGoDuration(f.value);
        break;
      case 'timeout':
        hc.Timeout = parseGoDuration(f.value);
        break;
      case 'start-period':
        hc.StartPeriod = parseGoDuration(f.value);
        break;
      case 'start-interval':
        (hc as Record<string, unknown>).StartInterval = parseGoDuration(f.value);
        break;
      case 'retries': {
        const n = Number(f.value);
        if (!Number.isInteger(n) || n < 0) throw invalidArgument(`--retries must be a non-negative integer`);
        hc.Retries = n;
        break;
      }
      default:
        throw invalidArgument(`dockerfile parse error on line ${ins.line}: unknown flag: ${f.name}`);
    }
  }
  return hc;
}

