/**
 * Progress of project operations, written as Compose v2 writes it (to stderr). On a TTY: a live block
 * `[+] Running 3/4` with one line per resource (spinner while busy, ✔ when done, ✘ on error, elapsed time),
 * redrawn in place. Otherwise: one plain line per state change, ` Container app-web-1  Started`.
 */

export interface ProgressWriter {
  /** A resource's new state. `done` marks a final state for this operation (Created, Started, Removed, …). */
  event(kind: 'Container' | 'Network' | 'Volume' | 'Image' | 'Service', name: string, status: string, opts?: { done?: boolean; error?: boolean }): void;
  /** A free-text line (warnings) printed above the live block. */
  note(text: string): void;
  /** Ends the operation: final redraw (TTY). */
  stop(): void;
}

interface Entry {
  key: string;
  label: string;
  status: string;
  done: boolean;
  error: boolean;
  started: number;
  ended?: number;
}

export function createProgress(out: NodeJS.WriteStream, opts: { tty?: boolean; title?: string; quiet?: boolean } = {}): ProgressWriter {
  if (opts.quiet) return { event() {}, note(t) { out.write(t + '\n'); }, stop() {} };
  if (opts.tty ?? out.isTTY) return new TtyProgress(out, opts.title ?? 'Running');
  return {
    event(kind, name, status) {
      out.write(` ${kind} ${name}  ${status}\n`);
    },
    note(t) {
      out.write(t + '\n');
    },
    stop() {},
  };
}

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

class TtyProgress implements ProgressWriter {
  private readonly entries: Entry[] = [];
  private lines = 0;
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly title: string,
  ) {
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }

  event(kind: string, name: string, status: string, opts: { done?: boolean; error?: boolean } = {}): void {
    const key = `${kind} ${name}`;
    let e = this.entries.find((x) => x.key === key);
    if (!e) {
      e = { key, label: key, status, done: false, error: false, started: Date.now() };
      this.entries.push(e);
    }
    e.status = status;
    e.done = !!opts.done;
    e.error = !!opts.error;
    if (e.done || e.error) e.ended = Date.now();
    else e.ended = undefined;
    this.draw();
  }

  note(text: string): void {
    this.clear();
    this.out.write(text + '\n');
    this.lines = 0;
    this.draw();
  }

  private clear(): void {
    if (this.lines) this.out.write(`\x1b[${this.lines}A\x1b[0J`);
  }

  private draw(): void {
    if (!this.entries.length) return;
    this.frame++;
    const done = this.entries.filter((e) => e.done).length;
    const width = Math.max(...this.entries.map((e) => e.label.length));
    const sw = Math.max(...this.entries.map((e) => e.status.length));
    const cols = this.out.columns || 80;
    const rows = [`[+] ${this.title} ${done}/${this.entries.length}`];
    for (const e of this.entries) {
      const icon = e.error ? '\x1b[31m✘\x1b[0m' : e.done ? '\x1b[32m✔\x1b[0m' : SPIN[this.frame % SPIN.length];
      const secs = (((e.ended ?? Date.now()) - e.started) / 1000).toFixed(1) + 's';
      const left = ` ${icon} ${e.label.padEnd(width)}  ${e.status.padEnd(sw)}`;
      const pad = Math.max(1, cols - (left.length - (e.error || e.done ? 9 : 0)) - secs.length - 1);
      rows.push(`${left}${' '.repeat(pad)}${secs}`);
    }
    this.clear();
    this.out.write(rows.join('\n') + '\n');
    this.lines = rows.length;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
  }
}
