/* berth-untar's tar split (see split.h). */
#define _GNU_SOURCE
#include "split.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#define FLUSH_AT (64 * 1024)

static int enabled;
static int root = -1;
static int split_fd = -1, blob_fd = -1;
static char *unclean;
/* raw bytes not written as an 'R' record yet */
static unsigned char *raw;
static size_t raw_len, raw_cap;

int split_enabled(void) { return enabled; }
const char *split_unclean(void) { return unclean; }

static void write_all(int fd, const void *p, size_t n) {
  const unsigned char *b = p;
  while (n) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail_fs(errno, "write", NULL);
    }
    b += w;
    n -= (size_t)w;
  }
}

static int create(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fail_fs(errno, "open", path);
  return fd;
}

void split_open(const char *root_path, const char *split_path, const char *blob_path) {
  enabled = 1;
  root = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail_fs(errno, "open", root_path);
  split_fd = create(split_path);
  blob_fd = create(blob_path);
}

static void flush_raw(void) {
  if (!raw_len) return;
  unsigned char h[5] = {'R', (unsigned char)(raw_len >> 24), (unsigned char)(raw_len >> 16), (unsigned char)(raw_len >> 8), (unsigned char)raw_len};
  write_all(split_fd, h, sizeof h);
  write_all(split_fd, raw, raw_len);
  raw_len = 0;
}

void split_bytes(const unsigned char *p, size_t n, int content) {
  if (!enabled || !n) return;
  if (unclean) {
    write_all(blob_fd, p, n);
    return;
  }
  if (content) return; /* recorded by split_file */
  if (raw_len + n > raw_cap) {
    raw_cap = (raw_len + n) * 2;
    raw = xrealloc(raw, raw_cap);
  }
  memcpy(raw + raw_len, p, n);
  raw_len += n;
  if (raw_len >= FLUSH_AT) flush_raw();
}

void split_file(const char *key, uint64_t size) {
  if (!enabled || unclean) return;
  flush_raw();
  size_t kl = strlen(key);
  if (kl > 0xffff) {
    split_taint(key, "has a name too long for a split record");
    return;
  }
  unsigned char h[3 + 8];
  h[0] = 'F';
  h[1] = (unsigned char)(kl >> 8);
  h[2] = (unsigned char)kl;
  write_all(split_fd, h, 3);
  write_all(split_fd, key, kl);
  for (int i = 0; i < 8; i++) h[3 + i] = (unsigned char)(size >> (56 - 8 * i));
  write_all(split_fd, h + 3, 8);
}

/* Exactly n bytes of fd at *off (advanced). */
static void pread_exact(int fd, void *dst, size_t n, off_t *off, const char *what) {
  unsigned char *d = dst;
  while (n) {
    ssize_t r = pread(fd, d, n, *off);
    if (r < 0) {
      if (errno == EINTR) continue;
      fail_fs(errno, "read", what);
    }
    if (r == 0) fail(NULL, "berth-untar: %s is shorter than the split says", what);
    d += r;
    n -= (size_t)r;
    *off += r;
  }
}

/* Copies n bytes of fd from *off to the blob file. */
static void copy_out(int fd, uint64_t n, off_t *off, const char *what) {
  static unsigned char buf[256 * 1024];
  while (n) {
    size_t k = n > sizeof buf ? sizeof buf : (size_t)n;
    pread_exact(fd, buf, k, off, what);
    write_all(blob_fd, buf, k);
    n -= k;
  }
}

/* The tar read so far into the blob file: the split's records, each 'F' from the tree (all still in place). */
static void rebuild_so_far(void) {
  off_t end = lseek(split_fd, 0, SEEK_END);
  if (end < 0) fail_fs(errno, "lseek", NULL);
  off_t off = 0;
  while (off < end) {
    unsigned char t;
    pread_exact(split_fd, &t, 1, &off, "the tar split");
    if (t == 'R') {
      unsigned char l[4];
      pread_exact(split_fd, l, 4, &off, "the tar split");
      copy_out(split_fd, (uint64_t)l[0] << 24 | (uint64_t)l[1] << 16 | (uint64_t)l[2] << 8 | l[3], &off, "the tar split");
    } else {
      unsigned char l[2], s[8];
      pread_exact(split_fd, l, 2, &off, "the tar split");
      size_t kl = (size_t)l[0] << 8 | l[1];
      char *key = xmalloc(kl + 1);
      pread_exact(split_fd, key, kl, &off, "the tar split");
      key[kl] = 0;
      pread_exact(split_fd, s, 8, &off, "the tar split");
      uint64_t size = 0;
      for (int i = 0; i < 8; i++) size = size << 8 | s[i];
      /* keys are symlink-free paths the applier made: nothing on the way may be a link */
      struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
      long fd;
      do fd = syscall(SYS_openat2, root, key, &how, sizeof how);
      while (fd < 0 && (errno == EINTR || errno == EAGAIN));
      if (fd < 0) fail_fs(errno, "open", key);
      off_t foff = 0;
      copy_out((int)fd, size, &foff, key);
      close((int)fd);
      free(key);
    }
  }
}

void split_taint(const char *key, const char *reason) {
  if (!enabled || unclean) return;
  flush_raw();
  rebuild_so_far();
  if (asprintf(&unclean, "%s %s", key, reason) < 0) fail("ENOMEM", "berth-untar: out of memory");
  if (ftruncate(split_fd, 0) < 0) fail_fs(errno, "ftruncate", NULL);
}

void split_finish(void) {
  if (!enabled) return;
  if (!unclean) flush_raw();
  if (close(split_fd) < 0 || close(blob_fd) < 0) fail_fs(errno, "close", NULL);
  split_fd = blob_fd = -1;
}
