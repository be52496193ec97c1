/* A growable byte buffer: valid bytes are p[off .. len). Shared by the monitor and its log drivers. */
#ifndef BERTH_MONITOR_BUF_H
#define BERTH_MONITOR_BUF_H
#include <stdlib.h>
#include <string.h>

struct buf {
    char *p;
    size_t off, len, cap;
};

static inline void buf_reserve(struct buf *b, size_t more) {
    if (b->off > 0 && b->len + more > b->cap) { /* compact before growing */
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) abort();
    b->p = p;
    b->cap = cap;
}
static inline void buf_add(struct buf *b, const void *d, size_t n) {
    buf_reserve(b, n);
    memcpy(b->p + b->len, d, n);
    b->len += n;
}
static inline void buf_addc(struct buf *b, char c) { buf_add(b, &c, 1); }
static inline void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }
static inline size_t buf_size(const struct buf *b) { return b->len - b->off; }
static inline char *buf_data(const struct buf *b) { return b->p + b->off; }
static inline void buf_drop(struct buf *b, size_t n) {
    b->off += n;
    if (b->off >= b->len) b->off = b->len = 0;
}
static inline void buf_clear(struct buf *b) { b->off = b->len = 0; }
static inline void buf_free(struct buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}
static inline const char *buf_cstr(struct buf *b) { /* NUL-terminate without counting it */
    buf_reserve(b, 1);
    b->p[b->len] = 0;
    return buf_data(b);
}

#endif
