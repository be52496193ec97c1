/**
 * The native layer applier: `berth-untar` (native/untar, built by `npm run build`), one process per layer.
 *
 * It reads the layer (plain tar or gzip) on its stdin, applies it to a root with the rules of apply-layer.ts (same
 * terms, same safety rules, same error wording), hashes the uncompressed stream and answers with one JSON line:
 * `{"diffID","size"}` or `{"error","code"}`. A process rather than an addon function: the extraction's buffers,
 * zlib state and page-cache pressure stay out of berthd's RSS, two layers extract on two cores without touching the
 * event loop or libuv's thread pool, and a cancelled pull just kills it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { nativeArtifact } from '../native/artifact.js';
import { drained } from '../stream/drained.js';
import type { ApplyLayerResult } from './apply-layer.js';

let located: string | null | undefined;

/** native/build/berth-untar of this checkout (or $BERTH_UNTAR_BIN), when it is built. */
export function nativeUntarPath(): string | undefined {
  if (located === undefined) {
    const file = process.env.BERTH_UNTAR_BIN || nativeArtifact('berth-untar');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      located = file;
    } catch {
      located = null;
    }
  }
  return located ?? undefined;
}

interface Answer {
  diffID?: string;
  size?: number;
  splitClean?: boolean;
  splitWhy?: string;
  error?: string;
  code?: string;
}

/**
 * Applies the layer bytes `chunks` (read from `input`, destroyed when the apply fails) to `rootReal` (a real path)
 * with berth-untar; with `split`, berth-untar also records the tar split (ApplyLayerOptions.split).
 */
export async function applyNative(
  bin: string,
  chunks: AsyncIterable<Buffer>,
  input: Readable | AsyncIterable<Buffer>,
  rootReal: string,
  whiteouts: 'overlay' | 'none',
  signal?: AbortSignal,
  split?: { split: string; blob: string },
): Promise<ApplyLayerResult> {
  signal?.throwIfAborted();
  const child = spawn(bin, [rootReal, whiteouts, ...(split ? [split.split, split.blob] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  let closed = false;
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (e) => {
      closed = true;
      resolve({ code: null, sig: null, spawnError: e });
    });
    child.once('close', (code, sig) => {
      closed = true;
      resolve({ code, sig });
    });
  });
  // EPIPE when it stops reading early: it failed, and its answer says why
  child.stdin.on('error', () => {});
  const onAbort = () => child.kill('SIGKILL');
  signal?.addEventListener('abort', onAbort, { once: true });

  let inputError: unknown;
  const stdin = child.stdin;
  const pump = (async () => {
    try {
      for await (const chunk of chunks) {
        if (closed || stdin.destroyed) break;
        if (!stdin.write(chunk)) {
          await drained(stdin);
          if (closed || stdin.destroyed) break;
        }
      }
      stdin.end();
    } catch (e) {
      // after it failed, the input is torn down on purpose: its answer is the error
      if (!closed) inputError = e;
      child.kill('SIGKILL');
    }
  })();

  try {
    const { code, sig, spawnError } = await exited;
    if (code !== 0) (input as Readable).destroy?.();
    await pump;
    if (signal?.aborted) throw signal.reason;
    if (inputError) throw inputError;
    if (spawnError) throw new Error(`apply layer: cannot run ${bin}: ${spawnError.message}`);
    let answer: Answer | undefined;
    try {
      answer = JSON.parse(out.trim().split('\n').pop() ?? '') as Answer;
    } catch {
      answer = undefined;
    }
    if (answer?.error !== undefined) throw Object.assign(new Error(answer.error), answer.code ? { code: answer.code } : {});
    if (code === 0 && answer?.diffID) {
      const res: ApplyLayerResult = { diffID: answer.diffID, size: answer.size ?? 0 };
      if (split) res.split = answer.splitClean === true ? { clean: true } : { clean: false, why: answer.splitWhy ?? 'berth-untar gave no split' };
      return res;
    }
    throw new Error(`apply layer: berth-untar ${sig ? `was killed by ${sig}` : `exited with ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
