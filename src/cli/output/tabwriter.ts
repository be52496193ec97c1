/**
 * Go's text/tabwriter (flags 0, space padding), as the docker CLI configures it for tables:
 * `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
 *
 * Terms (Go's): a *cell* is text terminated by a tab; the text after the last tab of a line is not a cell of any
 * column and is written unpadded. A *column block* is a run of consecutive lines that all have a cell in that
 * column; each block gets its own width = max(minwidth, widest cell + padding). Widths count Unicode code points
 * (Go counts runes), so "…" is one.
 */

export interface TabWriterOptions {
  /** Minimal cell width including padding. */
  minwidth: number;
  /** Width of a tab character, used only when padchar is '\t'. */
  tabwidth: number;
  /** Added to the widest cell of a column block. */
  padding: number;
  /** Padding character. */
  padchar: string;
}

/** The docker CLI's table settings. */
export const DOCKER_TABLE: TabWriterOptions = { minwidth: 10, tabwidth: 1, padding: 3, padchar: ' ' };

interface Cell {
  text: string;
  width: number;
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Buffers written text and aligns it on flush. Like Go's writer, a line without tabs ends all column blocks, and
 * an unterminated last line is kept until more text or flush.
 */
export class TabWriter {
  private readonly opts: TabWriterOptions;
  private buf = '';
  private out = '';

  constructor(opts: Partial<TabWriterOptions> = {}) {
    this.opts = { ...DOCKER_TABLE, ...opts };
  }

  write(text: string): this {
    this.buf += text;
    return this;
  }

  /** Formats everything written so far and returns it (the writer is empty afterwards). */
  flush(): string {
    const text = this.buf;
    this.buf = '';
    const out = this.out + formatTabbed(text, this.opts);
    this.out = '';
    return out;
  }
}

/** Aligns tab-separated `text` in one go; see TabWriter. */
export function formatTabbed(text: string, opts: Partial<TabWriterOptions> = {}): string {
  const o: TabWriterOptions = { ...DOCKER_TABLE, ...opts };
  const lines: Cell[][] = text.split('\n').map((l) => l.split('\t').map((t) => ({ text: t, width: runeCount(t) })));
  const widths: number[] = [];
  let out = '';

  const pad = (textw: number, cellw: number): string => {
    if (o.padchar === '\t') {
      // Go rounds the cell width up to a multiple of tabwidth and emits tabs.
      const tw = o.tabwidth;
      if (tw === 0) return '';
      cellw = Math.ceil(cellw / tw) * tw;
      return '\t'.repeat(Math.ceil((cellw - textw) / tw));
    }
    return o.padchar.repeat(Math.max(cellw - textw, 0));
  };

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i]!;
      line.forEach((c, j) => {
        out += c.text;
        // Cells in a known column are padded; the trailing text of a line is not.
        if (j < widths.length && j < line.length - 1) out += pad(c.width, widths[j]!);
      });
      if (i + 1 < lines.length) out += '\n';
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i]!.length - 1) continue;
      // Line i starts a block for this column: print the lines before it, then size the block.
      writeLines(line0, i);
      line0 = i;
      let width = o.minwidth;
      for (; i < line1; i++) {
        const line = lines[i]!;
        if (column >= line.length - 1) break;
        width = Math.max(width, line[column]!.width + o.padding);
      }
      widths.push(width);
      format(line0, i);
      widths.pop();
      line0 = i;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out;
}
