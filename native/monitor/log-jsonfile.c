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

static struct log_file file = {.fd = -1};

static int jf_open(char *err, size_t errlen) {
    file.path = log_opts.path;
    file.max_size = log_opts.max_size;
    file.max_file = log_opts.max_file;
    file.compress = log_opts.compress;
    if (log_file_open(&file) < 0) {
        snprintf(err, errlen, "log %s: %s", file.path, strerror(errno));
        return -1;
    }
    return 0;
}

static void jf_encode(struct buf *lb, const struct log_msg *m) {
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

static void jf_deliver(const char *d, const size_t *ends, size_t nrec) { log_file_write(&file, d, ends, nrec); }
static void jf_close(void) { log_file_close(&file); }

const struct log_driver log_driver_jsonfile = {"json-file", jf_open, jf_encode, jf_deliver, jf_close};
