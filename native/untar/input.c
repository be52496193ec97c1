/* berth-untar's input (see input.h). */
#define _GNU_SOURCE
#include "input.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static size_t read_fd(int fd, unsigned char *buf, size_t cap) {
  for (;;) {
    ssize_t n = read(fd, buf, cap);
    if (n >= 0) return (size_t)n;
    if (errno != EINTR) fail_fs(errno, "read", NULL);
  }
}

static void hash(struct input *in, const unsigned char *p, size_t n) {
  if (n && EVP_DigestUpdate(in->sha, p, n) != 1) fail(NULL, "berth-untar: sha256 failed");
  in->total += n;
}

void input_open(struct input *in, int fd) {
  memset(in, 0, sizeof *in);
  in->fd = fd;
  in->raw = xmalloc(INPUT_CHUNK);
  in->out = xmalloc(INPUT_CHUNK);
  in->sha = EVP_MD_CTX_new();
  if (!in->sha || EVP_DigestInit_ex(in->sha, EVP_sha256(), NULL) != 1) fail(NULL, "berth-untar: sha256 unavailable");
  /* the first bytes decide, as compression.ts's detectCompression: up to 6 of them */
  size_t have = 0;
  while (have < 6) {
    size_t n = read_fd(fd, in->raw + have, INPUT_CHUNK - have);
    if (n == 0) {
      in->raw_eof = 1;
      break;
    }
    have += n;
  }
  const unsigned char *h = in->raw;
  if (have >= 2 && h[0] == 0x1f && h[1] == 0x8b) {
    in->gzip = 1;
    if (inflateInit2(&in->z, 15 + 16) != Z_OK) fail(NULL, "berth-untar: zlib init failed");
    in->z.next_in = in->raw;
    in->z.avail_in = (uInt)have;
    in->in_member = 1;
    return;
  }
  if (have >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) fail(NULL, "unsupported layer compression: zstd");
  if (have >= 3 && !memcmp(h, "BZh", 3)) fail(NULL, "unsupported layer compression: bzip2");
  if (have >= 6 && !memcmp(h, "\xfd" "7zXZ\0", 6)) fail(NULL, "unsupported layer compression: xz");
  memcpy(in->out, in->raw, have);
  in->len = have;
  hash(in, in->out, have);
  if (have == 0 && in->raw_eof) in->finished = 1;
}

/* Makes uncompressed bytes available; 0 at the end. */
static int fill(struct input *in) {
  while (in->pos >= in->len) {
    if (in->finished) return 0;
    in->pos = in->len = 0;
    if (!in->gzip) {
      size_t n = read_fd(in->fd, in->out, INPUT_CHUNK);
      if (n == 0) {
        in->finished = 1;
        return 0;
      }
      in->len = n;
      hash(in, in->out, n);
      return 1;
    }
    if (in->z.avail_in == 0 && !in->raw_eof) {
      size_t n = read_fd(in->fd, in->raw, INPUT_CHUNK);
      if (n == 0) in->raw_eof = 1;
      in->z.next_in = in->raw;
      in->z.avail_in = (uInt)n;
    }
    if (in->z.avail_in == 0 && in->raw_eof) {
      if (in->in_member) fail("Z_BUF_ERROR", "unexpected end of file");
      in->finished = 1;
      return 0;
    }
    if (!in->in_member) {
      /* after a member: another one follows, or the rest is not gzip and is ignored */
      if (in->z.next_in[0] != 0x1f) {
        in->finished = 1;
        return 0;
      }
      if (inflateReset(&in->z) != Z_OK) fail(NULL, "berth-untar: zlib reset failed");
      in->in_member = 1;
    }
    in->z.next_out = in->out;
    in->z.avail_out = INPUT_CHUNK;
    int r = inflate(&in->z, Z_NO_FLUSH);
    if (r == Z_STREAM_END) in->in_member = 0;
    else if (r != Z_OK && r != Z_BUF_ERROR) {
      const char *code = r == Z_DATA_ERROR ? "Z_DATA_ERROR" : r == Z_MEM_ERROR ? "Z_MEM_ERROR" : "Z_STREAM_ERROR";
      fail(code, "%s", in->z.msg ? in->z.msg : "zlib error");
    }
    in->len = INPUT_CHUNK - in->z.avail_out;
    hash(in, in->out, in->len);
  }
  return 1;
}

size_t input_some(struct input *in, size_t max, const unsigned char **p) {
  if (!fill(in)) return 0;
  size_t n = in->len - in->pos;
  if (n > max) n = max;
  *p = in->out + in->pos;
  in->pos += n;
  if (in->tap) in->tap(*p, n, in->content);
  return n;
}

int input_exact(struct input *in, void *dst, size_t n) {
  size_t got = 0;
  while (got < n) {
    const unsigned char *p;
    size_t k = input_some(in, n - got, &p);
    if (k == 0) {
      if (got == 0) return 0;
      fail("ETARFORMAT", "unexpected end of tar archive");
    }
    memcpy((char *)dst + got, p, k);
    got += k;
  }
  return 1;
}

uint64_t input_skip(struct input *in, uint64_t n) {
  uint64_t done = 0;
  while (done < n) {
    const unsigned char *p;
    uint64_t want = n - done;
    size_t k = input_some(in, want > INPUT_CHUNK ? INPUT_CHUNK : (size_t)want, &p);
    if (k == 0) break;
    done += k;
  }
  return done;
}

void input_drain(struct input *in) {
  while (fill(in)) {
    if (in->tap) in->tap(in->out + in->pos, in->len - in->pos, 0);
    in->pos = in->len;
  }
}

void input_digest(struct input *in, char out[72]) {
  unsigned char md[32];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(in->sha, md, &n) != 1 || n != 32) fail(NULL, "berth-untar: sha256 failed");
  memcpy(out, "sha256:", 7);
  for (int i = 0; i < 32; i++) sprintf(out + 7 + 2 * i, "%02x", md[i]);
}
