/**
 * JSON state files that survive a crash at any point: a db is replaced whole (unique temp file, fsync, rename), and
 * the copy it replaces stays beside it as `<file>.bak` (a hard link, no copy), so a file torn by a full disk or a
 * failing device still has its predecessor to recover from.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';

/** The parsed content of `file`: null when it does not exist, undefined when it cannot be read or is not JSON. */
export async function readJsonFile(file: string): Promise<unknown | null | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Replaces `file` with `value` as JSON, durably: written and fsync'ed under a unique temp name (two writers never
 * share one), the current file kept as `<file>.bak`, then renamed over it. A crash leaves the old or the new file.
 */
export async function replaceJsonFile(file: string, value: unknown, mode = 0o644): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await fsp.open(tmp, 'w', mode);
  try {
    await fh.writeFile(JSON.stringify(value));
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fsp.rm(`${file}.bak`, { force: true });
  await fsp.link(file, `${file}.bak`).catch(() => {}); // no current file yet: nothing to keep
  await fsp.rename(tmp, file);
}
