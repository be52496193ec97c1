/*
 * Docker's local driver, byte for byte: each record is a protobuf LogEntry (moby's api/types/plugins/logdriver
 * entry.proto) framed by its length as a big-endian uint32 before and after it, so a file can be read forwards
 * and backwards (--tail):
 *   [len][LogEntry][len]   LogEntry { 1 source string ("stdout"/"stderr"), 2 time_nano int64, 3 line bytes
 *                          (without the "\n"), 4 partial bool, 5 partial_log_metadata { 1 last bool, 2 id string,
 *                          3 ordinal int32 } }
 * written to a rotated file (log-file.h). dockerd also uses this format for its "dual logging" cache.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "log-driver.h"
#include "log-file.h"
#include "util.h"

static struct log_file local_files[2];
static int nlocal;

static int lc_open(void *st, char *err, size_t errlen) {
    struct log_file *f = st;
    /* dockerd keeps local logs in their own directory (<container>/local-logs) */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", f->path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        mkdir(dir, 0750);
    }
    if (log_file_open(f) < 0) {
        snprintf(err, errlen, "log %s: %s", f->path, strerror(errno));
        return -1;
    }
    return 0;
}

static void varint(struct buf *b, uint64_t v) {
    while (v >= 0x80) {
        buf_addc(b, (char)(v | 0x80));
        v >>= 7;
    }
    buf_addc(b, (char)v);
}
static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}
static void be32(struct buf *b, uint32_t v) {
    char h[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
    buf_add(b, h, 4);
}

static void lc_encode(void *st, struct buf *out, const struct log_msg *m) {
    (void)st;
    const char *src = m->stream ? "stderr" : "stdout";
    uint64_t tn = (uint64_t)m->ts->tv_sec * 1000000000ull + (uint64_t)m->ts->tv_nsec;
    size_t line = m->len - (!m->partial && m->len && m->line[m->len - 1] == '\n'); /* dockerd stores lines without it */
    int partial = m->partial || m->last; /* dockerd: any piece of a split line is "partial", the final one "last" */
    size_t meta = 0;
    if (m->ordinal > 0)
        meta = (m->last ? 2 : 0) + 1 + varint_len(64) + 64 + 1 + varint_len((uint64_t)m->ordinal);
    size_t n = 1 + varint_len(6) + 6 + 1 + varint_len(tn) + 1 + varint_len(line) + line + (partial ? 2 : 0) +
               (meta ? 1 + varint_len(meta) + meta : 0);
    be32(out, (uint32_t)n);
    buf_addc(out, 0x0a);
    varint(out, 6);
    buf_add(out, src, 6);
    buf_addc(out, 0x10);
    varint(out, tn);
    buf_addc(out, 0x1a);
    varint(out, line);
    buf_add(out, m->line, line);
    if (partial) {
        buf_addc(out, 0x20);
        buf_addc(out, 1);
    }
    if (meta) {
        buf_addc(out, 0x2a);
        varint(out, meta);
        if (m->last) {
            buf_addc(out, 0x08);
            buf_addc(out, 1);
        }
        buf_addc(out, 0x12);
        varint(out, 64);
        buf_add(out, m->partial_id, 64);
        buf_addc(out, 0x18);
        varint(out, (uint64_t)m->ordinal);
    }
    be32(out, (uint32_t)n);
}

static void lc_deliver(void *st, const char *d, const size_t *ends, size_t nrec) { log_file_write(st, d, ends, nrec); }
static void lc_close(void *st) { log_file_close(st); }

void log_driver_local(struct log_driver *d, const char *path, long long max_size, int max_file, int compress) {
    struct log_file *f = &local_files[nlocal++ & 1];
    *f = (struct log_file){.path = path, .max_size = max_size, .max_file = max_file, .compress = compress, .fd = -1};
    *d = (struct log_driver){"local", f, lc_open, lc_encode, lc_deliver, lc_close};
}
