/* berth-untar: failure reporting and small containers (see util.h). */
#define _GNU_SOURCE
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *errno_name(int err) {
  const char *n = strerrorname_np(err);
  static char buf[16];
  if (n) return n;
  snprintf(buf, sizeof buf, "E%d", err);
  return buf;
}

/* libuv's descriptions, which Node's fs errors carry; strerror's (lower-cased) for the rest */
static const char *uv_description(int err) {
  switch (err) {
    case EACCES: return "permission denied";
    case EPERM: return "operation not permitted";
    case ENOENT: return "no such file or directory";
    case EEXIST: return "file already exists";
    case ENOTDIR: return "not a directory";
    case EISDIR: return "illegal operation on a directory";
    case ELOOP: return "too many symbolic links encountered";
    case ENOSPC: return "no space left on device";
    case EROFS: return "read-only file system";
    case EINVAL: return "invalid argument";
    case ENAMETOOLONG: return "name too long";
    case EMLINK: return "too many links";
    case EXDEV: return "cross-device link not permitted";
    case ENOTEMPTY: return "directory not empty";
    case EIO: return "i/o error";
    case EBUSY: return "resource busy or locked";
    case EBADF: return "bad file descriptor";
    case EDQUOT: return "disk quota exceeded";
    case EFBIG: return "file too large";
    case ENOTSUP: return "operation not supported on socket";
    default: return NULL;
  }
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

_Noreturn static void fail_msg(const char *code, const char *msg) {
  char *qm, *qc = NULL;
  size_t lm, lc = 0;
  json_quote(msg, strlen(msg), &qm, &lm);
  if (code) json_quote(code, strlen(code), &qc, &lc);
  size_t cap = lm + lc + 32;
  char *line = xmalloc(cap);
  int n = snprintf(line, cap, "{\"error\":%s%s%s}\n", qm, qc ? ",\"code\":" : "", qc ? qc : "");
  write_all(1, line, (size_t)n);
  _exit(1);
}

void fail(const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0) msg = (char *)"berth-untar: out of memory";
  va_end(ap);
  fail_msg(code, msg);
}

void fail_fs(int err, const char *syscall, const char *path) {
  const char *d = uv_description(err);
  char low[128];
  if (!d) {
    snprintf(low, sizeof low, "%s", strerror(err));
    for (char *c = low; *c; c++) *c = (char)tolower((unsigned char)*c);
    d = low;
  }
  if (path) fail(errno_name(err), "%s: %s, %s '%s'", errno_name(err), d, syscall, path);
  fail(errno_name(err), "%s: %s, %s", errno_name(err), d, syscall);
}

void fail_sys(int err, const char *syscall, const char *detail) {
  fail(errno_name(err), "%s%s%s: %s (%d)", syscall, detail ? " " : "", detail ? detail : "", errno_name(err), err);
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) fail("ENOMEM", "berth-untar: out of memory");
  return p;
}

void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) fail("ENOMEM", "berth-untar: out of memory");
  return p;
}

char *xstrndup(const char *s, size_t n) {
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *path_join(const char *a, const char *b) {
  if (!*a) return xstrdup(b);
  size_t la = strlen(a), lb = strlen(b);
  char *p = xmalloc(la + lb + 2);
  memcpy(p, a, la);
  p[la] = '/';
  memcpy(p + la + 1, b, lb + 1);
  return p;
}

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, or 0 when it is not valid UTF-8. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned c = s[0];
  size_t len;
  uint32_t v, min;
  if (c < 0x80) { *cp = c; return 1; }
  if ((c & 0xe0) == 0xc0) { len = 2; v = c & 0x1f; min = 0x80; }
  else if ((c & 0xf0) == 0xe0) { len = 3; v = c & 0x0f; min = 0x800; }
  else if ((c & 0xf8) == 0xf0) { len = 4; v = c & 0x07; min = 0x10000; }
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return len;
}

void json_quote(const char *s, size_t n, char **out, size_t *outlen) {
  char *o = xmalloc(n * 6 + 3);
  size_t k = 0;
  o[k++] = '"';
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    uint32_t cp;
    size_t len = utf8_seq((const unsigned char *)s + i, n - i, &cp);
    if (len == 0) { /* Node decodes an invalid byte as U+FFFD */
      memcpy(o + k, "\xef\xbf\xbd", 3);
      k += 3;
      i++;
      continue;
    }
    if (len > 1) {
      memcpy(o + k, s + i, len);
      k += len;
      i += len;
      continue;
    }
    i++;
    switch (c) {
      case '"': o[k++] = '\\'; o[k++] = '"'; break;
      case '\\': o[k++] = '\\'; o[k++] = '\\'; break;
      case '\n': o[k++] = '\\'; o[k++] = 'n'; break;
      case '\r': o[k++] = '\\'; o[k++] = 'r'; break;
      case '\t': o[k++] = '\\'; o[k++] = 't'; break;
      case '\b': o[k++] = '\\'; o[k++] = 'b'; break;
      case '\f': o[k++] = '\\'; o[k++] = 'f'; break;
      default:
        if (c < 0x20) k += (size_t)sprintf(o + k, "\\u%04x", c);
        else o[k++] = (char)c;
    }
  }
  o[k++] = '"';
  o[k] = 0;
  *out = o;
  *outlen = k;
}

/* FNV-1a: keys are short paths, any spread will do */
static size_t hash_str(const char *s) {
  size_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

int strset_has(const struct strset *s, const char *key) {
  if (!s->cap) return 0;
  for (size_t i = hash_str(key) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    if (!s->slots[i]) return 0;
    if (!strcmp(s->slots[i], key)) return 1;
  }
}

static void strset_insert(struct strset *s, char *owned) {
  for (size_t i = hash_str(owned) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    if (!s->slots[i]) {
      s->slots[i] = owned;
      s->used++;
      return;
    }
  }
}

void strset_add(struct strset *s, const char *key) {
  if (strset_has(s, key)) return;
  if ((s->used + 1) * 2 > s->cap) {
    struct strset bigger = {.cap = s->cap ? s->cap * 2 : 256};
    bigger.slots = calloc(bigger.cap, sizeof(char *));
    if (!bigger.slots) fail("ENOMEM", "berth-untar: out of memory");
    for (size_t i = 0; i < s->cap; i++)
      if (s->slots[i]) strset_insert(&bigger, s->slots[i]);
    free(s->slots);
    *s = bigger;
  }
  strset_insert(s, xstrdup(key));
}

void strset_clear(struct strset *s) {
  for (size_t i = 0; i < s->cap; i++) free(s->slots[i]);
  free(s->slots);
  s->slots = NULL;
  s->cap = s->used = 0;
}

void strv_push(struct strv *s, char *owned) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->v = xrealloc(s->v, s->cap * sizeof(char *));
  }
  s->v[s->n++] = owned;
}

char *strv_pop(struct strv *s) { return s->n ? s->v[--s->n] : NULL; }

void strv_free(struct strv *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

char *strv_join(const struct strv *s, size_t n) {
  size_t len = 0;
  for (size_t i = 0; i < n; i++) len += strlen(s->v[i]) + 1;
  char *p = xmalloc(len + 1), *o = p;
  for (size_t i = 0; i < n; i++) {
    if (i) *o++ = '/';
    size_t l = strlen(s->v[i]);
    memcpy(o, s->v[i], l);
    o += l;
  }
  *o = 0;
  return p;
}
