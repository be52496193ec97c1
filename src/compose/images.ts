/**
 * A service's `image:` against the Engine's image endpoints: the reference split the way `POST /images/create`
 * takes it, pulls and pushes that fail on the stream's in-band error, and a classic build whose answer is the new
 * image's ID.
 */
import type { Readable } from 'node:stream';
import type { JSONMessage } from '../api/types/image.js';
import { throwIfError, type Client, type ImageBuildOptions } from '../client/index.js';

/** "repo[:tag][@digest]" → query parts for /images/create (a digest goes in `tag`, as docker does). */
export function splitRef(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repo: ref.slice(0, at), tag: ref.slice(at + 1) };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}

/** Pulls `ref`; rejects with the daemon's message when the stream reports an error. */
export async function pullImage(client: Client, ref: string, registryAuth?: string): Promise<void> {
  const { repo, tag } = splitRef(ref);
  await (await client.images.pull(repo, { tag, registryAuth })).done();
}

/** Pushes `ref` (anonymous unless `registryAuth`, the X-Registry-Auth value, is given). */
export async function pushImage(client: Client, ref: string, registryAuth?: string): Promise<void> {
  const { repo, tag } = splitRef(ref);
  await (await client.images.push(repo, { tag, registryAuth })).done();
}

/** Builds through `POST /build`; `onMessage` sees each message; resolves with the image ID the builder reported. */
export async function buildImage(client: Client, context: Readable, opts: ImageBuildOptions, onMessage?: (m: JSONMessage) => void): Promise<string | undefined> {
  let id: string | undefined;
  for await (const m of await client.images.build(context, opts)) {
    throwIfError(m);
    const reported = m.aux?.ID;
    if (typeof reported === 'string' && reported) id = reported;
    onMessage?.(m);
  }
  return id;
}
