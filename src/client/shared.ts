/**
 * Pieces every resource client uses: filter encoding, path escaping, and the answer shapes of streaming endpoints
 * (a JSON-lines progress stream; a raw byte stream whose end or error the caller observes).
 */
import type { IncomingMessage } from 'node:http';
import type { JSONMessage } from '../api/types/image.js';
import { isNotFound } from '../errdefs/index.js';
import { Filters } from '../pkg/filters/filters.js';
import { jsonLines, readAll } from './client.js';

/**
 * A filter set for list/prune calls: a Filters value, a map of key → values, or the `--filter k=v` strings a user
 * typed. Sent as the `filters` query parameter (omitted when empty).
 */
export type FilterArg = Filters | Record<string, readonly string[]> | undefined;

export function encodeFilterArg(f: FilterArg): string | undefined {
  if (!f) return undefined;
  const set = f instanceof Filters ? f : new Filters(Object.entries(f));
  return set.size ? set.encode() : undefined;
}

/** One path segment (an ID, a name), escaped. */
export const seg = (s: string): string => encodeURIComponent(s);

/** The answer of an inspect-like call, or undefined when the daemon says there is no such object (404). */
export async function unlessNotFound<T>(answer: Promise<T>): Promise<T | undefined> {
  try {
    return await answer;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Reads a response body as JSON (undefined when empty). */
export async function jsonBody<T>(res: IncomingMessage): Promise<T> {
  const text = await readAll(res);
  return (text.length ? JSON.parse(text.toString('utf8')) : undefined) as T;
}

/** Reads and discards a response body (so a keep-alive socket is free again). */
export async function drain(res: IncomingMessage): Promise<void> {
  res.resume();
  if (res.readableEnded) return;
  await new Promise<void>((resolve, reject) => {
    res.once('end', resolve);
    res.once('error', reject);
    res.once('close', resolve);
  });
}

/**
 * A JSON-lines progress stream (pull, push, load, import, build): iterate it for every message as sent, or call
 * `done()` to consume it and get the messages. Neither throws for an `error` message — `throwIfError` does, with
 * the daemon's text as the EngineError message (the docker CLI prints it as the operation's error).
 */
export class ProgressStream implements AsyncIterable<JSONMessage> {
  constructor(readonly response: IncomingMessage) {}

  [Symbol.asyncIterator](): AsyncIterator<JSONMessage> {
    return jsonLines<JSONMessage>(this.response)[Symbol.asyncIterator]();
  }

  /** Reads the whole stream; resolves with every message, or rejects at the first error message. */
  async done(): Promise<JSONMessage[]> {
    const all: JSONMessage[] = [];
    for await (const m of this) {
      throwIfError(m);
      all.push(m);
    }
    return all;
  }

  /** Stops reading (the daemon sees the connection close and cancels where it can). */
  cancel(): void {
    this.response.destroy();
  }
}

/** The error a progress stream reported in-band (the HTTP status was already 200). */
export class ProgressError extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
    this.name = 'ProgressError';
  }
}

/** Throws the daemon's error carried by a progress message. */
export function throwIfError(m: JSONMessage): void {
  const text = m.errorDetail?.message ?? m.error;
  if (text !== undefined) throw new ProgressError(text, m.errorDetail?.code);
}
