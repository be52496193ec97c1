/*
 * berth-untar's tar split: while a layer is applied, everything of its tar stream except the contents of the regular
 * files it writes goes to a *split file*, in the records src/pkg/tar/split.ts reads ('R' + u32 length + raw bytes;
 * 'F' + u16 key length + key + u64 size: that many bytes of the file at <root>/<key>), so the exact tar comes back
 * later from the split and the extracted tree (joinTar) without the tar itself being kept.
 *
 * The split is *clean* while every recorded file still holds its content at its key. Files are only ever written
 * once (created O_EXCL), so only a removal can break that: the first time the applier is about to remove or replace
 * something of this layer (a duplicate path, a whiteout or opaque marker over its own entries, a directory replaced
 * by a file), the split becomes unclean. At that moment — before the removal — the tar read so far is rebuilt from
 * the split and the tree into the *blob file*, and every later byte goes there too: the caller always gets one of
 * the two, a clean split (the blob file empty) or the whole layer tar byte for byte in the blob file.
 */
#ifndef BERTH_UNTAR_SPLIT_H
#define BERTH_UNTAR_SPLIT_H

#include <stddef.h>
#include <stdint.h>

/* Starts splitting into split_path and (if it turns unclean) blob_path, both created; root: the applier's (real). */
void split_open(const char *root, const char *split_path, const char *blob_path);
/* Whether split_open was called. */
int split_enabled(void);
/* The input's tap: n bytes of the uncompressed stream, in order; content: a recorded file's body. */
void split_bytes(const unsigned char *p, size_t n, int content);
/* The next size bytes of content are the body of the file just created at key. */
void split_file(const char *key, uint64_t size);
/* What the layer wrote at key is about to be removed or replaced, or cannot be recorded (reason says which). */
void split_taint(const char *key, const char *reason);
/* Writes what is left and closes both files. */
void split_finish(void);
/* NULL while clean; else why not. */
const char *split_unclean(void);

#endif
