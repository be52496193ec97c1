/**
 * Keeping berthd small when it is idle (issue 17 item 4).
 *
 * Two things hold memory after work that nothing uses any more:
 * - V8's young generation grows to 2 × 16 MB semi-spaces under a burst of allocation (a pull, 100 runs) and keeps
 *   them; `--semi-space-growth-factor=1` (settable at run time, unlike `--max-semi-space-size`) keeps it at its start
 *   size, 2 × 1 MB (`capMemoryGrowth`). Measured: no difference in CPU time of a 200 MB layer's gunzip + tar parse; young-generation
 *   garbage collections are cheap.
 * - The old generation and glibc's malloc arenas (Buffers, zlib state) keep freed pages resident until a full GC
 *   and a `malloc_trim`. `IdleTrimmer` runs both once the API has been quiet for `delayMs` after activity: a full
 *   collection (~10–30 ms for berthd's heap) and `malloc_trim(0)` through the sys addon.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { hostKernel } from '../../sys/kernel.js';

let fullGc: (() => void) | undefined;

/** A function that runs a full, synchronous garbage collection (V8's `gc`, exposed once at run time). */
function gcFunction(): () => void {
  if (!fullGc) {
    v8.setFlagsFromString('--expose-gc');
    fullGc = vm.runInNewContext('gc') as () => void;
  }
  return fullGc;
}

/** Caps V8's young generation at its start size; call once, early. */
export function capMemoryGrowth(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/** A full GC, then malloc_trim(0). */
export function releaseMemory(): void {
  gcFunction()();
  try {
    hostKernel.mallocTrim();
  } catch {
    /* no addon (unit tests of other modules): the GC alone still helps */
  }
}

/** Calls `release` once `delayMs` pass without a `touch()` after one. */
export class IdleTrimmer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs = 2000,
    private readonly release: () => void = releaseMemory,
  ) {}

  /** Something happened (a request began or ended): trim once it has been quiet for `delayMs`. */
  touch(): void {
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => {
        this.timer = undefined;
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
// Not done: MALLOC_ARENA_MAX. libuv's pool threads each get a malloc arena (~3.5 MB resident each after a pull, even
// after malloc_trim); mallopt(M_ARENA_MAX) at run time comes too late (glibc fixes the limit at the first thread
// arena, V8's platform threads make those at start), and the environment variable would need a wrapper process.
