/* berth-untar's tar reader (see tar.h). */
#define _GNU_SOURCE
#include "tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define BLOCK 512
#define MAX_META (16u << 20)

static unsigned pad_of(uint64_t size) { return (unsigned)((BLOCK - size % BLOCK) % BLOCK); }

static _Noreturn void format_error(const char *fmt, const char *arg) {
  if (arg) fail("ETARFORMAT", fmt, arg);
  fail("ETARFORMAT", "%s", fmt);
}

/* An octal or base-256 numeric field (header.ts decodeNumeric). */
static int64_t numeric(const unsigned char *b, int off, int len) {
  if (b[off] & 0x80) {
    int negative = (b[off] & 0x40) != 0;
    uint64_t v = 0;
    for (int i = 0; i < len; i++) {
      unsigned byte = b[off + i];
      if (i == 0) byte &= 0x7f;
      if (negative) byte ^= i == 0 ? 0x7f : 0xff;
      if (v >> 53) format_error("tar numeric field out of range", NULL);
      v = (v << 8) | byte;
    }
    if (v > (1ULL << 53) - 1) format_error("tar numeric field out of range", NULL);
    return negative ? -(int64_t)v - 1 : (int64_t)v;
  }
  int i = off, end = off + len;
  while (i < end && (b[i] == ' ' || b[i] == 0)) i++;
  int64_t v = 0;
  for (; i < end; i++) {
    unsigned c = b[i];
    if (c == 0 || c == ' ') break;
    if (c < '0' || c > '7') fail("ETARFORMAT", "invalid octal digit in tar header field at offset %d", off);
    v = v * 8 + (c - '0');
  }
  return v;
}

static int checksum_ok(const unsigned char *b) {
  int64_t stored = numeric(b, 148, 8);
  int64_t u = 0, s = 0;
  for (int i = 0; i < BLOCK; i++) {
    unsigned c = i >= 148 && i < 156 ? 0x20 : b[i];
    u += c;
    s += c > 127 ? (int)c - 256 : (int)c;
  }
  return stored == u || stored == s;
}

static int zero_block(const unsigned char *b) {
  for (int i = 0; i < BLOCK; i++)
    if (b[i]) return 0;
  return 1;
}

static char *field(const unsigned char *b, int off, int len) {
  size_t n = 0;
  while (n < (size_t)len && b[off + n]) n++;
  return xstrndup((const char *)b + off, n);
}

/* PAX records as key/value pairs; a later record of the same key replaces the value */
struct pax {
  char **keys;
  unsigned char **vals;
  size_t *lens;
  size_t n;
};

static void pax_set(struct pax *p, char *key, unsigned char *val, size_t len) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->keys[i], key)) {
      free(key);
      free(p->vals[i]);
      p->vals[i] = val;
      p->lens[i] = len;
      return;
    }
  p->keys = xrealloc(p->keys, (p->n + 1) * sizeof *p->keys);
  p->vals = xrealloc(p->vals, (p->n + 1) * sizeof *p->vals);
  p->lens = xrealloc(p->lens, (p->n + 1) * sizeof *p->lens);
  p->keys[p->n] = key;
  p->vals[p->n] = val;
  p->lens[p->n] = len;
  p->n++;
}

static void pax_free(struct pax *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->keys[i]);
    free(p->vals[i]);
  }
  free(p->keys);
  free(p->vals);
  free(p->lens);
  memset(p, 0, sizeof *p);
}

static void pax_parse(struct pax *p, const unsigned char *body, size_t len) {
  size_t pos = 0;
  while (pos < len) {
    if (body[pos] == 0) break;
    size_t sp = pos;
    while (sp < len && body[sp] != ' ') sp++;
    uint64_t rl = 0;
    int digits = 0;
    for (size_t i = pos; i < sp; i++) {
      if (body[i] < '0' || body[i] > '9' || rl > len) format_error("invalid PAX extended header record", NULL);
      rl = rl * 10 + (body[i] - '0');
      digits++;
    }
    if (!digits || sp >= len || rl == 0 || pos + rl > len || body[pos + rl - 1] != '\n') format_error("invalid PAX extended header record", NULL);
    const unsigned char *rec = body + sp + 1, *recend = body + pos + rl - 1;
    if (rec > recend) format_error("invalid PAX extended header record", NULL);
    const unsigned char *eq = memchr(rec, '=', (size_t)(recend - rec));
    if (!eq) format_error("invalid PAX extended header record", NULL);
    size_t vl = (size_t)(recend - eq - 1);
    unsigned char *v = xmalloc(vl + 1);
    memcpy(v, eq + 1, vl);
    v[vl] = 0;
    pax_set(p, xstrndup((const char *)rec, (size_t)(eq - rec)), v, vl);
    pos += rl;
  }
}

static int64_t pax_number(const char *key, const unsigned char *v, size_t len) {
  int64_t n = 0;
  int ok = len > 0;
  for (size_t i = 0; i < len && ok; i++) {
    if (v[i] < '0' || v[i] > '9') ok = 0;
    else if (n > ((1LL << 53) - 1) / 10) {
      fail("ETARFORMAT", "PAX %s out of range", key);
    } else n = n * 10 + (v[i] - '0');
  }
  if (!ok) {
    char *q;
    size_t ql;
    json_quote((const char *)v, len, &q, &ql);
    fail("ETARFORMAT", "invalid PAX %s %s", key, q);
  }
  if (n > (1LL << 53) - 1) fail("ETARFORMAT", "PAX %s out of range", key);
  return n;
}

/* "<secs>[.<fraction>]" with an optional '-', to milliseconds (reader.ts paxTime) */
static int64_t pax_time(const unsigned char *v, size_t len) {
  size_t i = 0;
  int neg = 0, ok = 1;
  if (i < len && v[i] == '-') neg = 1, i++;
  int64_t secs = 0, ms = 0;
  size_t d = 0;
  for (; i < len && v[i] >= '0' && v[i] <= '9'; i++, d++) secs = secs * 10 + (v[i] - '0');
  if (!d) ok = 0;
  if (ok && i < len) {
    if (v[i] != '.') ok = 0;
    i++;
    size_t f = 0;
    for (; i < len && v[i] >= '0' && v[i] <= '9'; i++, f++)
      if (f < 3) ms = ms * 10 + (v[i] - '0');
    if (!f || i < len) ok = 0;
    for (; f < 3; f++) ms *= 10;
  }
  if (!ok) {
    char *q;
    size_t ql;
    json_quote((const char *)v, len, &q, &ql);
    fail("ETARFORMAT", "invalid PAX mtime %s", q);
  }
  int64_t t = secs * 1000 + ms;
  return neg ? -t : t;
}

/* decodeURIComponent of an xattr name */
static char *uri_decode(const unsigned char *s, size_t len) {
  char *o = xmalloc(len + 1);
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '%') {
      o[k++] = (char)s[i];
      continue;
    }
    unsigned v = 0;
    for (int j = 1; j <= 2; j++) {
      unsigned c = i + j < len ? s[i + j] : 0, h;
      if (c >= '0' && c <= '9') h = c - '0';
      else if (c >= 'a' && c <= 'f') h = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') h = c - 'A' + 10;
      else fail(NULL, "URI malformed");
      v = v * 16 + h;
    }
    o[k++] = (char)v;
    i += 2;
  }
  o[k] = 0;
  return o;
}

/* Node's lenient base64 (standard or URL alphabet, padding optional, other characters skipped) */
static unsigned char *base64_decode(const unsigned char *s, size_t len, size_t *outlen) {
  unsigned char *o = xmalloc(len * 3 / 4 + 3);
  size_t k = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned c = s[i], v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=') break;
    else continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      o[k++] = (unsigned char)(acc >> bits);
    }
  }
  *outlen = k;
  return o;
}

static void add_xattr(struct entry *e, char *name, unsigned char *value, size_t len) {
  for (size_t i = 0; i < e->nxattrs; i++)
    if (!strcmp(e->xattrs[i].name, name)) {
      free(name);
      free(e->xattrs[i].value);
      e->xattrs[i].value = value;
      e->xattrs[i].len = len;
      return;
    }
  e->xattrs = xrealloc(e->xattrs, (e->nxattrs + 1) * sizeof *e->xattrs);
  e->xattrs[e->nxattrs++] = (struct xattr){name, value, len};
}

static void entry_free(struct entry *e) {
  free(e->name);
  free(e->linkname);
  for (size_t i = 0; i < e->nxattrs; i++) {
    free(e->xattrs[i].name);
    free(e->xattrs[i].value);
  }
  free(e->xattrs);
  memset(e, 0, sizeof *e);
}

static unsigned char *read_meta(struct input *in, uint64_t size) {
  if (size > MAX_META) fail("ETARFORMAT", "tar extended header of %llu bytes exceeds the limit", (unsigned long long)size);
  unsigned char *data = xmalloc(size + 1);
  if (size && !input_exact(in, data, size)) format_error("unexpected end of tar archive", NULL);
  data[size] = 0;
  if (input_skip(in, pad_of(size)) < pad_of(size)) format_error("unexpected end of tar archive", NULL);
  return data;
}

static char *json_char(char c) {
  char *q;
  size_t ql;
  json_quote(&c, 1, &q, &ql);
  return q;
}

int tar_next(struct tar *t) {
  struct input *in = t->in;
  struct pax pax = {0};
  int have_pax = 0;
  char *long_name = NULL, *long_link = NULL;
  unsigned char block[BLOCK];
  for (;;) {
    if (t->pending) {
      t->pending = 0;
      if (t->cur.remaining && input_skip(in, t->cur.remaining) < t->cur.remaining) format_error("unexpected end of tar archive", NULL);
      unsigned pad = t->cur.pad;
      entry_free(&t->cur);
      /* the last entry's padding may be missing (Go's writers behind `docker build -f -`): that is the end */
      if (input_skip(in, pad) < pad) return 0;
    }
    if (!input_exact(in, block, BLOCK)) {
      if (have_pax || long_name || long_link) format_error("unexpected end of tar archive", NULL);
      return 0;
    }
    if (zero_block(block)) {
      input_drain(in);
      return 0;
    }
    if (!checksum_ok(block)) format_error("invalid tar header checksum", NULL);
    char flag = (char)block[156];
    int64_t size = numeric(block, 124, 12);
    if (size < 0) format_error("negative tar entry size", NULL);

    if (flag == 'x') {
      unsigned char *body = read_meta(in, (uint64_t)size);
      pax_parse(&pax, body, (size_t)size);
      free(body);
      have_pax = 1;
      continue;
    }
    if (flag == 'g' || flag == 'V') {
      uint64_t n = (uint64_t)size + pad_of((uint64_t)size);
      if (input_skip(in, n) < n) format_error("unexpected end of tar archive", NULL);
      continue;
    }
    if (flag == 'L' || flag == 'K') {
      unsigned char *data = read_meta(in, (uint64_t)size);
      char *s = xstrndup((const char *)data, strnlen((const char *)data, (size_t)size));
      free(data);
      if (flag == 'L') free(long_name), long_name = s;
      else free(long_link), long_link = s;
      continue;
    }

    struct entry *e = &t->cur;
    memset(e, 0, sizeof *e);
    int ustar = !memcmp(block + 257, "ustar\0", 6);
    e->name = field(block, 0, 100);
    if (ustar && block[345]) {
      char *prefix = field(block, 345, 155);
      char *joined = xmalloc(strlen(prefix) + strlen(e->name) + 2);
      sprintf(joined, "%s/%s", prefix, e->name);
      free(prefix);
      free(e->name);
      e->name = joined;
    }
    if (long_name) free(e->name), e->name = long_name, long_name = NULL;
    if (long_link) e->linkname = long_link, long_link = NULL;
    else e->linkname = field(block, 157, 100);
    e->mode = (unsigned)(numeric(block, 100, 8) & 07777);
    e->uid = numeric(block, 108, 8);
    e->gid = numeric(block, 116, 8);
    e->size = (uint64_t)size;
    e->mtime_ms = numeric(block, 136, 12) * 1000;
    e->devmajor = (unsigned)numeric(block, 329, 8);
    e->devminor = (unsigned)numeric(block, 337, 8);

    for (size_t i = 0; i < pax.n; i++) {
      const char *k = pax.keys[i];
      unsigned char *v = pax.vals[i];
      size_t vl = pax.lens[i];
      if (!strcmp(k, "path")) free(e->name), e->name = xstrndup((char *)v, vl);
      else if (!strcmp(k, "linkpath")) free(e->linkname), e->linkname = xstrndup((char *)v, vl);
      else if (!strcmp(k, "size")) e->size = (uint64_t)pax_number(k, v, vl);
      else if (!strcmp(k, "uid")) e->uid = pax_number(k, v, vl);
      else if (!strcmp(k, "gid")) e->gid = pax_number(k, v, vl);
      else if (!strcmp(k, "mtime")) e->mtime_ms = pax_time(v, vl);
      else if (!strncmp(k, "SCHILY.xattr.", 13)) {
        unsigned char *copy = xmalloc(vl + 1);
        memcpy(copy, v, vl);
        add_xattr(e, xstrdup(k + 13), copy, vl);
      } else if (!strncmp(k, "LIBARCHIVE.xattr.", 17)) {
        size_t n;
        unsigned char *val = base64_decode(v, vl, &n);
        add_xattr(e, uri_decode((const unsigned char *)k + 17, strlen(k + 17)), val, n);
      }
    }
    pax_free(&pax);
    have_pax = 0;

    size_t nl = strlen(e->name);
    switch (flag) {
      case '0': case '\0': case '7': e->type = nl && e->name[nl - 1] == '/' ? T_DIR : T_FILE; break;
      case '1': e->type = T_HARDLINK; break;
      case '2': e->type = T_SYMLINK; break;
      case '3': e->type = T_CHAR; break;
      case '4': e->type = T_BLOCK; break;
      case '5': e->type = T_DIR; break;
      case '6': e->type = T_FIFO; break;
      case 'S': fail("ETARFORMAT", "GNU sparse tar entries are not supported: %s", e->name);
      default: fail("ETARFORMAT", "unsupported tar entry type %s: %s", json_char(flag), e->name);
    }
    /* as Go's archive/tar: only regular files have a body, whatever another entry's size field says */
    if (e->type != T_FILE) e->size = 0;
    e->remaining = e->size;
    e->pad = pad_of(e->size);
    t->pending = 1;
    return 1;
  }
}

size_t tar_body(struct tar *t, const unsigned char **p) {
  struct entry *e = &t->cur;
  if (!e->remaining) return 0;
  size_t n = input_some(t->in, e->remaining > INPUT_CHUNK ? INPUT_CHUNK : (size_t)e->remaining, p);
  if (n == 0) format_error("unexpected end of tar archive", NULL);
  e->remaining -= n;
  return n;
}
