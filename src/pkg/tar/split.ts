/**
 * Tar split: a layer tar without its file contents, and the tar again from that plus the extracted files.
 *
 * dockerd keeps a loaded layer only unpacked; `docker save` and `docker push` get the exact tar back from the files
 * and a record of everything else in the stream (headers, pax records, padding, the end blocks). berth does the same
 * (issue 11 item 8: a 200 MB `docker load` kept 404 MB). The split is recorded by the applier itself, berth-untar
 * (native/untar/split.h), while it extracts, so each file record names the key the file was really written at and a
 * split is only called clean when nothing the layer wrote was removed or replaced afterwards.
 *
 * Records: `R` + u32 length + raw bytes, or `F` + u16 name length + a root-relative, symlink-free key + u64 size (that
 * many bytes of the file at the key: a regular file's content, left out of the split).
 *
 * `joinTar(records, root)` yields the tar again, reading each `F` from `<root>/<name>` (never following a symlink:
 * O_NOFOLLOW, and each directory on the way is checked to be a real directory inside root). The caller checks the
 * result's digest (the diffID) — a changed file fails the stream rather than giving a different tar.
 */
import fs, { constants as fsc, promises as fsp } from 'node:fs';

/** Reads split records from a stream of bytes (as berth-untar writes them). */
async function* records(input: AsyncIterable<Buffer>): AsyncGenerator<{ raw: Buffer } | { name: string; size: number }> {
  let buf: Buffer = Buffer.alloc(0);
  const it = input[Symbol.asyncIterator]();
  const need = async (n: number): Promise<boolean> => {
    while (buf.length < n) {
      const r = await it.next();
      if (r.done) return false;
      buf = buf.length ? Buffer.concat([buf, r.value as Buffer]) : (r.value as Buffer);
    }
    return true;
  };
  for (;;) {
    if (!(await need(1))) return;
    if (buf[0] === 0x52) {
      if (!(await need(5))) throw new Error('tar split: truncated record');
      const len = buf.readUInt32BE(1);
      buf = buf.subarray(5);
      let left = len;
      while (left) {
        if (!buf.length && !(await need(1))) throw new Error('tar split: truncated record');
        const part = buf.subarray(0, Math.min(left, buf.length));
        buf = buf.subarray(part.length);
        left -= part.length;
        yield { raw: part };
      }
    } else if (buf[0] === 0x46) {
      if (!(await need(3))) throw new Error('tar split: truncated record');
      const n = buf.readUInt16BE(1);
      if (!(await need(3 + n + 8))) throw new Error('tar split: truncated record');
      const name = buf.toString('utf8', 3, 3 + n);
      const size = Number(buf.readBigUInt64BE(3 + n));
      buf = buf.subarray(3 + n + 8);
      yield { name, size };
    } else throw new Error(`tar split: bad record type ${buf[0]}`);
  }
}

/**
 * The tar again: raw records as they are, each file's content read from `<root>/<name>` (exactly `size` bytes, or the
 * stream fails). Never leaves root: directories on the way must be real directories, the file is opened O_NOFOLLOW.
 */
export async function* joinTar(split: AsyncIterable<Buffer>, root: string): AsyncGenerator<Buffer> {
  const okDirs = new Set<string>(['']);
  const checkDir = async (dir: string): Promise<void> => {
    if (okDirs.has(dir)) return;
    const i = dir.lastIndexOf('/');
    await checkDir(i < 0 ? '' : dir.slice(0, i));
    const st = await fsp.lstat(`${root}/${dir}`);
    if (!st.isDirectory()) throw new Error(`tar split: ${dir} is no longer a directory`);
    okDirs.add(dir);
  };
  const chunk = Buffer.allocUnsafe(1 << 20);
  for await (const r of records(split)) {
    if ('raw' in r) {
      yield r.raw;
      continue;
    }
    const slash = r.name.lastIndexOf('/');
    await checkDir(slash < 0 ? '' : r.name.slice(0, slash));
    const fd = await new Promise<number>((res, rej) => fs.open(`${root}/${r.name}`, fsc.O_RDONLY | fsc.O_NOFOLLOW, (e, f) => (e ? rej(e) : res(f))));
    try {
      let left = r.size;
      while (left) {
        const n = await new Promise<number>((res, rej) => fs.read(fd, chunk, 0, Math.min(left, chunk.length), null, (e, k) => (e ? rej(e) : res(k))));
        if (!n) throw new Error(`tar split: ${r.name} is shorter than its tar entry`);
        left -= n;
        yield Buffer.from(chunk.subarray(0, n));
      }
    } finally {
      fs.close(fd, () => {});
    }
  }
}
