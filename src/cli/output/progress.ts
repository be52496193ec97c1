/** docker's jsonmessage display of a progress stream (pull, push, load, build), in its non-terminal form. */
import type { JSONMessage } from '../../api/types/image.js';
import { throwIfError } from '../../client/index.js';

/** Prints each message (progress bars dropped); throws the first in-band error (a ProgressError). */
export async function displayJSONMessages(stream: AsyncIterable<JSONMessage>, out: NodeJS.WritableStream | undefined): Promise<void> {
  for await (const m of stream) {
    throwIfError(m);
    if (!out) continue;
    if (m.progress) continue;
    if (m.stream !== undefined) {
      out.write(m.stream);
      continue;
    }
    if (m.status === undefined) continue;
    out.write(`${m.id ? `${m.id}: ` : ''}${m.status}\n`);
  }
}
