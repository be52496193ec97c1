/* Cutting output into messages and handing them to the driver (see log.h). */
#define _GNU_SOURCE
#include "log.h"
#include <stdio.h>
#include <string.h>
#include "log-driver.h"
#include "util.h"

struct log_options log_opts = {.max_file = 1};

static const struct log_driver *drv;
static struct buf pend[2]; /* the unterminated line of each stream */
static struct buf batch;   /* records encoded from one read */
static size_t *ends;
static size_t nends, cap_ends;

int log_active(void) { return drv != NULL; }

int log_start(char *err, size_t errlen) {
    if (!log_opts.path) return 0;
    const char *name = log_opts.driver ? log_opts.driver : "json-file";
    const struct log_driver *d = NULL;
    if (strcmp(name, "json-file") == 0) d = &log_driver_jsonfile;
    if (!d) {
        snprintf(err, errlen, "unknown log driver %s", name);
        return -1;
    }
    if (d->open(err, errlen) < 0) return -1;
    drv = d;
    return 0;
}

static void add_record(int stream, const char *d, size_t n, int partial, const struct timespec *ts, const char *tt) {
    struct log_msg m = {stream, d, n, partial, ts, tt};
    drv->encode(&batch, &m);
    if (nends == cap_ends) {
        cap_ends = cap_ends ? cap_ends * 2 : 64;
        ends = realloc(ends, cap_ends * sizeof *ends);
        if (!ends) abort();
    }
    ends[nends++] = buf_size(&batch);
}

static void cut(int stream, const char *d, size_t n, int flush) {
    struct buf *p = &pend[stream];
    struct timespec ts;
    char tt[64];
    now_ts(&ts);
    fmt_time(&ts, tt, sizeof tt);
    while (n > 0) {
        const char *nl = memchr(d, '\n', n);
        size_t take = nl ? (size_t)(nl - d) + 1 : n;
        size_t room = LOG_LINE_MAX - buf_size(p);
        int complete = nl != NULL;
        if (take > room) {
            take = room;
            complete = 0;
        }
        buf_add(p, d, take);
        d += take;
        n -= take;
        if (complete || buf_size(p) == LOG_LINE_MAX) {
            add_record(stream, buf_data(p), buf_size(p), !complete, &ts, tt);
            buf_clear(p);
        }
    }
    if (flush && buf_size(p) > 0) {
        add_record(stream, buf_data(p), buf_size(p), 1, &ts, tt);
        buf_clear(p);
    }
    if (nends > 0) drv->deliver(buf_data(&batch), ends, nends);
    buf_clear(&batch);
    nends = 0;
}

void log_feed(int stream, const char *d, size_t n) {
    if (drv) cut(stream, d, n, 0);
}

void log_finish(void) {
    if (!drv) return;
    cut(0, "", 0, 1);
    cut(1, "", 0, 1);
    drv->close();
    drv = NULL;
}
