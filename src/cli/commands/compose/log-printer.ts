/**
 * Container output with Compose's `web-1  | ` prefixes: the prefix padded to the longest name, a colour per
 * container on a terminal, and the Engine's multiplexed stream (8-byte frame headers) cut into whole lines so lines
 * from different containers never interleave mid-line.
 */
import type { Readable } from 'node:stream';
import { nameOf, type ProjectContainer } from '../../../compose/containers.js';
import { L } from '../../../compose/labels.js';

const COLORS = ['36', '33', '32', '35', '34', '96', '93', '92', '95', '94'];

/** The name Compose shows for a container: `<service>-<n>` for replicas, the container name otherwise. */
export function displayName(c: ProjectContainer, project: string): string {
  const name = nameOf(c);
  const prefix = `${project}-`;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

export class LogPrinter {
  private width = 0;
  private readonly colors = new Map<string, string>();

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly opts: { color: boolean; prefix: boolean; timestamps?: boolean },
  ) {}

  register(name: string): void {
    this.width = Math.max(this.width, name.length);
    if (!this.colors.has(name)) this.colors.set(name, COLORS[this.colors.size % COLORS.length]);
  }

  line(name: string, text: string): void {
    if (!this.opts.prefix) {
      this.out.write(text + '\n');
      return;
    }
    const p = `${name.padEnd(this.width)}  | `;
    this.out.write(this.opts.color ? `\x1b[${this.colors.get(name) ?? '0'}m${p}\x1b[0m${text}\n` : `${p}${text}\n`);
  }

  /** Reads one container's log stream (multiplexed unless `tty`) and prints it line by line. */
  async pump(name: string, stream: Readable, tty: boolean): Promise<void> {
    this.register(name);
    const partial: Record<number, string> = { 1: '', 2: '' };
    const emit = (fd: number, text: string) => {
      const all = partial[fd] + text;
      const lines = all.split('\n');
      partial[fd] = lines.pop() ?? '';
      for (const l of lines) this.line(name, l.replace(/\r$/, ''));
    };
    let buf = Buffer.alloc(0);
    for await (const chunk of stream) {
      if (tty) {
        emit(1, (chunk as Buffer).toString('utf8'));
        continue;
      }
      buf = Buffer.concat([buf, chunk as Buffer]);
      while (buf.length >= 8) {
        const size = buf.readUInt32BE(4);
        if (buf.length < 8 + size) break;
        emit(buf[0] === 2 ? 2 : 1, buf.subarray(8, 8 + size).toString('utf8'));
        buf = buf.subarray(8 + size);
      }
    }
    for (const fd of [1, 2]) if (partial[fd]) this.line(name, partial[fd]);
  }
}

export function isOneOff(c: ProjectContainer): boolean {
  return c.Labels[L.oneoff] === 'True';
}
