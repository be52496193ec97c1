/**
 * Keeping berthd small when it is idle (issue 17 item 4).
 *
 * Two things hold memory after work that nothing uses any more:
 * - V8's young generation grows to 2 × 16 MB semi-spaces under a burst of allocation (a pull, 100 runs) and keeps
 *   them; `--semi-space-growth-factor=1` (settable at run time, unlike `--max-semi-space-size`) keeps it at its start
 *   size, 2 × 1 MB (`capMemoryGrowth`). Measured: no difference in CPU time of a 200 MB layer's gunzip + tar parse; young-generation
 *   garbage collections are cheap.
 * - The old generation and glibc's malloc arenas (Buffers, zlib state) keep freed pages resident. `IdleTrimmer`
 *   gives them back once the API has been quiet for `delayMs` after activity: V8's LowMemoryNotification (through
 *   the sys addon: memory-reducing full GCs that compact fragmented old-generation pages and release the empty
 *   ones; ~30–80 ms for berthd's heap), then `malloc_trim(0)`. A plain full GC (`gc()` of --expose-gc, used before)
 *   frees objects but keeps their pages: after 1,000 runs berthd's old space held 18 MB for 11 MB of live objects,
 *   and after 100 runs idle RSS was 69 MB with it against 63 MB with the notification.
 */
import v8 from 'node:v8';
import { hostKernel } from '../../sys/kernel.js';

/** Caps V8's young generation at its start size; call once, early. */
export function capMemoryGrowth(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/** V8's memory-reducing GCs, then malloc_trim(0). */
export function releaseMemory(): void {
  hostKernel.lowMemoryNotification();
  hostKernel.mallocTrim();
}

/**
 * Calls `release` once `delayMs` pass without a `touch()` after one, and, while touches never pause that long, at
 * the first touch after each `maxBusyMs` of activity (a daemon with a run every second is never quiet for 2 s, and
 * its old generation fragments all the same: RSS sampled during 1,000 back-to-back runs grew 6–7 MB).
 */
export class IdleTrimmer {
  private timer: NodeJS.Timeout | undefined;
  private busySince: number | undefined;

  constructor(
    private readonly delayMs = 2000,
    private readonly release: () => void = releaseMemory,
    private readonly maxBusyMs = 60_000,
  ) {}

  /** Something happened (a request began or ended): trim once it has been quiet for `delayMs`. */
  touch(): void {
    const now = Date.now();
    if (this.busySince === undefined) this.busySince = now;
    else if (now - this.busySince >= this.maxBusyMs) {
      this.busySince = now;
      setImmediate(this.release); // after the current request's callbacks, not inside them
    }
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.busySince = undefined;
        this.release();
      }, this.delayMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
