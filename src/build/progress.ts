/**
 * Build progress on the `POST /build` stream, in one of two forms:
 *
 * - *classic* (what the docker CLI reads): `{"stream": "Step 2/5 : RUN …\n"}` text, as dockerd's classic builder
 *   writes it. Stages run in parallel, but their text is written one stage after the other, in Dockerfile order:
 *   a stage's lines are held back while an earlier stage is still writing, so the output reads as a classic build.
 * - *steps* (what `berth build` asks for with `berthprogress=1`): one `{"berthStep": {...}}` message when a step
 *   starts and one when it ends (with `cached`, `error`, times in ms since the epoch), and `{"berthLog": {id, data}}`
 *   for a RUN's output, as they happen — the data BuildKit's progress display needs.
 *
 * A *step* is one instruction of one stage; its `id` is the step number the classic text shows (`Step id/total`).
 */
export type BuildMessage = Record<string, unknown>;

export interface StepEvent {
  id: number;
  /** `[stage 2/4] RUN make` (BuildKit's vertex name). */
  name: string;
  started?: number;
  completed?: number;
  cached?: boolean;
  error?: string;
}

export class BuildProgress {
  private readonly lanes: Lane[] = [];
  private active = 0;

  constructor(
    private readonly emit: (m: BuildMessage) => void,
    readonly structured: boolean,
    private readonly quiet: boolean,
  ) {}

  /** Text outside any stage (meta ARGs, the final lines). */
  text(s: string): void {
    if (!this.quiet && !this.structured) this.emit({ stream: s });
  }

  /** Lanes for the stages about to run, in Dockerfile order. */
  openLanes(n: number): Lane[] {
    for (let i = 0; i < n; i++) this.lanes.push(new Lane(this, i));
    return this.lanes;
  }

  /** @internal */
  write(lane: Lane, m: BuildMessage): void {
    if (this.structured) {
      this.emit(m);
      return;
    }
    if (this.quiet) return;
    if (lane.index === this.active) this.emit(m);
    else lane.held.push(m);
  }

  /** Writes every held line now (a failed build: the failing stage's output must be seen). */
  flushAll(): void {
    for (const l of this.lanes) for (const m of l.held.splice(0)) this.emit(m);
    this.active = this.lanes.length;
  }

  /** @internal */
  finished(lane: Lane): void {
    lane.done = true;
    while (this.active < this.lanes.length) {
      const cur = this.lanes[this.active]!;
      for (const m of cur.held.splice(0)) this.emit(m);
      if (!cur.done) break;
      this.active++;
    }
  }
}

/** One stage's share of the progress stream. */
export class Lane {
  held: BuildMessage[] = [];
  done = false;
  constructor(private readonly p: BuildProgress, readonly index: number) {}

  /** Classic-only chatter (` ---> Running in …`). */
  text(s: string): void {
    if (!this.p.structured) this.p.write(this, { stream: s });
  }

  /** A step starts: classic `Step n/m : …`, or a berthStep message. */
  start(ev: StepEvent, classicHeader: string): void {
    if (this.p.structured) this.p.write(this, { berthStep: { ...ev, started: ev.started ?? Date.now() } });
    else this.p.write(this, { stream: classicHeader });
  }

  end(ev: StepEvent): void {
    if (this.p.structured) this.p.write(this, { berthStep: { ...ev, completed: ev.completed ?? Date.now() } });
  }

  /** A RUN's output. */
  output(id: number, data: string): void {
    if (this.p.structured) this.p.write(this, { berthLog: { id, data } });
    else this.p.write(this, { stream: data });
  }

  finish(): void {
    if (!this.done) this.p.finished(this);
  }
}
