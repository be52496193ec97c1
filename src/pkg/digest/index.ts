/**
 * Content digests: the `<algorithm>:<hex>` strings that name blobs, layers (diffIDs) and images (config digests).
 *
 * berth only produces and accepts sha256. A *digest* is `sha256:` followed by exactly 64 lowercase hex characters;
 * the *encoded* part is the hex alone (the name of a blob file on disk).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import { invalidArgument } from '../../errdefs/index.js';

/** A validated `sha256:<64 hex>` string. */
export type Digest = string;

export const SHA256_RE = /^sha256:[0-9a-f]{64}$/;
export const HEX64_RE = /^[0-9a-f]{64}$/;

/** Whether `s` is a well-formed sha256 digest. */
export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && SHA256_RE.test(s);
}

/** Throws InvalidArgument unless `s` is a well-formed sha256 digest; returns it typed. */
export function validateDigest(s: string): Digest {
  if (!SHA256_RE.test(s)) {
    if (s.includes(':') && !s.startsWith('sha256:')) {
      throw invalidArgument(`unsupported digest algorithm: ${s}`);
    }
    throw invalidArgument(`invalid checksum digest format: ${s}`);
  }
  return s;
}

/** The hex part of a digest. */
export function encoded(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** Makes a digest from 64 hex characters. */
export function fromHex(hex: string): Digest {
  return `sha256:${hex}`;
}

/** The digest of a buffer or string. */
export function digestOf(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Hashes a whole stream; resolves with its digest and byte count. */
export async function digestStream(input: Readable): Promise<{ digest: Digest; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of input) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

/**
 * A pass-through stream that hashes what flows through it. `digest()` and `size` are valid once the stream ended.
 */
export class DigestingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private result: string | undefined;
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    this.result = `sha256:${this.hash.digest('hex')}`;
    cb();
  }
  /** The digest of everything that passed; throws if the stream has not ended. */
  digest(): Digest {
    if (!this.result) throw new Error('digest requested before the stream ended');
    return this.result;
  }
}

/** Chain ID of a layer stack (OCI image spec): chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). */
export function chainID(diffIDs: readonly Digest[]): Digest {
  if (diffIDs.length === 0) throw new Error('chainID of an empty layer list');
  let chain = diffIDs[0]!;
  for (let i = 1; i < diffIDs.length; i++) chain = digestOf(`${chain} ${diffIDs[i]}`);
  return chain;
}

/** All chain IDs of a stack, one per layer (the i-th is chainID(diffIDs[0..i])). */
export function chainIDs(diffIDs: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  let chain: Digest | undefined;
  for (const d of diffIDs) {
    chain = chain === undefined ? d : digestOf(`${chain} ${d}`);
    out.push(chain);
  }
  return out;
}
