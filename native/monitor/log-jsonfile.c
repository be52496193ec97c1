/*
 * Docker's json-file driver: one JSON object per line, to a rotated file (log-file.h):
 *   {"log":"hello\n","stream":"stdout","time":"2026-11-25T12:16:03.123456789Z"}
 *   (with attrs: {"log":…,"stream":…,"attrs":{…},"time":…}, the object written as given; Docker's key order)
 * escaped like moby's jsonlog (util.h json_str). A partial message is a record whose "log" has no trailing "\n".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "log-driver.h"
#include "log-file.h"
#include "log.h"
#include "util.h"

static struct log_file jf_file = {.fd = -1};

static int jf_open(void *st, char *err, size_t errlen) {
    struct log_file *f = st;
    if (log_file_open(f) < 0) {
        snprintf(err, errlen, "log %s: %s", f->path, strerror(errno));
        return -1;
    }
    return 0;
}

static void jf_encode(void *st, struct buf *lb, const struct log_msg *m) {
    (void)st;
    buf_adds(lb, "{\"log\":");
    json_str(lb, m->line, m->len);
    buf_adds(lb, m->stream ? ",\"stream\":\"stderr\"" : ",\"stream\":\"stdout\"");
    if (log_opts.attrs) {
        buf_adds(lb, ",\"attrs\":");
        buf_adds(lb, log_opts.attrs);
    }
    buf_adds(lb, ",\"time\":\"");
    buf_adds(lb, m->ts_text);
    buf_adds(lb, "\"}\n");
}

static void jf_deliver(void *st, const char *d, const size_t *ends, size_t nrec) { log_file_write(st, d, ends, nrec); }
static void jf_close(void *st) { log_file_close(st); }

void log_driver_jsonfile(struct log_driver *d) {
    jf_file.path = log_opts.path;
    jf_file.max_size = log_opts.max_size;
    jf_file.max_file = log_opts.max_file;
    jf_file.compress = log_opts.compress;
    *d = (struct log_driver){"json-file", &jf_file, jf_open, jf_encode, jf_deliver, jf_close};
}
