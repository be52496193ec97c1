/*
 * berth-untar's tar reader: the same format rules as src/pkg/tar/reader.ts (ustar with name prefix, PAX records
 * path/linkpath/size/uid/gid/uname/gname/mtime/SCHILY.xattr.<name>, LIBARCHIVE.xattr.<name>, GNU long names 'L'/'K', base-256
 * numbers, old-style directories, header-only non-file entries) and the same error wording.
 */
#ifndef BERTH_UNTAR_TAR_H
#define BERTH_UNTAR_TAR_H

#include <stdint.h>

#include "input.h"

enum entry_type { T_FILE, T_DIR, T_SYMLINK, T_HARDLINK, T_CHAR, T_BLOCK, T_FIFO };

struct xattr {
  char *name;
  unsigned char *value;
  size_t len;
};

struct entry {
  char *name;
  char *linkname;
  enum entry_type type;
  unsigned mode; /* permission bits plus setuid/setgid/sticky */
  int64_t uid, gid;
  uint64_t size;
  int64_t mtime_ms;
  unsigned devmajor, devminor;
  struct xattr *xattrs;
  size_t nxattrs;
  uint64_t remaining; /* body bytes not read yet */
  unsigned pad;
};

struct tar {
  struct input *in;
  struct entry cur;
  int pending; /* cur's body and padding still to skip */
};

/* The next entry (into t->cur): 1; 0 at the end of the archive (the input is then drained). */
int tar_next(struct tar *t);
/* Up to the rest of the current body at *p; 0 when it is all read. Fails when the input ends early. */
size_t tar_body(struct tar *t, const unsigned char **p);

#endif
