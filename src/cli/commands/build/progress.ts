/**
 * `berth build` progress, BuildKit's two displays over the daemon's per-step events (build/progress.ts):
 *
 * - *plain*: `#3 [app 2/4] RUN make` when a step starts, its output as `#3 0.512 <line>`, then `#3 DONE 1.2s`,
 *   `#3 CACHED` or `#3 ERROR: …` — the lines CI logs keep; steps of parallel stages interleave, each line tagged.
 * - *tty*: a live block redrawn in place (`[+] Building 3.1s (4/7)`, one line per step with its time); a running
 *   step shows its last output lines under it, and collapses to one line once done.
 */
export interface Step {
  id: number;
  name: string;
  started?: number;
  completed?: number;
  cached?: boolean;
  error?: string;
  logs: string[];
  /** Partial last line of output. */
  partial: string;
}

export interface ProgressDisplay {
  step(ev: { id: number; name: string; started?: number; completed?: number; cached?: boolean; error?: string }): void;
  log(id: number, data: string): void;
  /** A line of berth's own (naming, exporting). */
  note(text: string): void;
  /** Ends the display (after success or failure). */
  close(ok: boolean): void;
  steps(): Step[];
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

abstract class Base implements ProgressDisplay {
  protected readonly byId = new Map<number, Step>();
  protected readonly start = Date.now();

  steps(): Step[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  protected upsert(ev: { id: number; name: string; started?: number; completed?: number; cached?: boolean; error?: string }): Step {
    let s = this.byId.get(ev.id);
    if (!s) {
      s = { id: ev.id, name: ev.name, logs: [], partial: '' };
      this.byId.set(ev.id, s);
    }
    if (ev.started !== undefined) s.started = ev.started;
    if (ev.completed !== undefined) s.completed = ev.completed;
    if (ev.cached) s.cached = true;
    if (ev.error !== undefined) s.error = ev.error;
    return s;
  }

  abstract step(ev: { id: number; name: string; started?: number; completed?: number; cached?: boolean; error?: string }): void;
  abstract log(id: number, data: string): void;
  abstract note(text: string): void;
  abstract close(ok: boolean): void;
}

export class PlainProgress extends Base {
  private lastId: number | undefined;
  constructor(private readonly out: NodeJS.WritableStream) {
    super();
  }

  private line(id: number, text: string): void {
    if (this.lastId !== undefined && this.lastId !== id) this.out.write('\n');
    this.lastId = id;
    this.out.write(`#${id} ${text}\n`);
  }

  step(ev: Parameters<ProgressDisplay['step']>[0]): void {
    const known = this.byId.has(ev.id);
    const s = this.upsert(ev);
    if (!known || ev.started !== undefined) {
      if (!known) this.line(s.id, s.name);
    }
    if (ev.completed !== undefined) {
      if (s.partial) {
        this.line(s.id, `${secs(Date.now() - (s.started ?? Date.now()))} ${s.partial}`);
        s.partial = '';
      }
      if (s.error !== undefined) this.line(s.id, `ERROR: ${s.error}`);
      else if (s.cached) this.line(s.id, 'CACHED');
      else this.line(s.id, `DONE ${secs(s.completed! - (s.started ?? s.completed!))}`);
    }
  }

  log(id: number, data: string): void {
    const s = this.byId.get(id);
    if (!s) return;
    const parts = (s.partial + data).split('\n');
    s.partial = parts.pop() ?? '';
    for (const l of parts) {
      s.logs.push(l);
      this.line(id, `${secs(Date.now() - (s.started ?? Date.now()))} ${l}`);
    }
  }

  note(text: string): void {
    if (this.lastId !== undefined) this.out.write('\n');
    this.lastId = undefined;
    this.out.write(text + '\n');
  }

  close(): void {}
}

export class TtyProgress extends Base {
  private drawn = 0;
  private timer: NodeJS.Timeout;
  private readonly notes: string[] = [];
  private finished = false;

  constructor(private readonly out: NodeJS.WriteStream) {
    super();
    this.timer = setInterval(() => this.draw(), 150);
    this.timer.unref();
  }

  step(ev: Parameters<ProgressDisplay['step']>[0]): void {
    this.upsert(ev);
  }

  log(id: number, data: string): void {
    const s = this.byId.get(id);
    if (!s) return;
    const parts = (s.partial + data).split('\n');
    s.partial = parts.pop() ?? '';
    s.logs.push(...parts);
    if (s.logs.length > 200) s.logs.splice(0, s.logs.length - 200);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  private render(): string[] {
    const width = Math.max(40, (this.out.columns || 100) - 1);
    const all = this.steps();
    const done = all.filter((s) => s.completed !== undefined).length;
    const now = Date.now();
    const lines = [`[+] Building ${secs(now - this.start)} (${done}/${all.length})${this.finished ? ' FINISHED' : ''}`];
    for (const s of all) {
      const t = s.cached ? 'CACHED' : s.error !== undefined ? 'ERROR' : secs((s.completed ?? now) - (s.started ?? now));
      const head = ` => ${s.name}`;
      const pad = Math.max(1, width - head.length - t.length);
      lines.push(head.length + t.length + 1 > width ? `${head.slice(0, width - t.length - 2)}… ${t}` : `${head}${' '.repeat(pad)}${t}`);
      if (s.completed === undefined) {
        const tail = [...s.logs, ...(s.partial ? [s.partial] : [])].slice(-6);
        for (const l of tail) lines.push(`\x1b[2m => => # ${l}`.slice(0, width + 4) + '\x1b[0m');
      }
    }
    for (const n of this.notes) lines.push(` => ${n}`);
    return lines;
  }

  private draw(): void {
    const lines = this.render();
    let s = '';
    if (this.drawn) s += `\x1b[${this.drawn}A`;
    for (const l of lines) s += `\x1b[2K${l}\n`;
    // a shorter frame leaves old lines below: clear them
    for (let i = lines.length; i < this.drawn; i++) s += '\x1b[2K\n';
    if (this.drawn > lines.length) s += `\x1b[${this.drawn - lines.length}A`;
    this.out.write(s);
    this.drawn = lines.length;
  }

  close(): void {
    clearInterval(this.timer);
    this.finished = true;
    this.draw();
  }
}
