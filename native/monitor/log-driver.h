/* The interface between log.c (cutting output into messages) and one log driver (see log.h for the terms). */
#ifndef BERTH_MONITOR_LOG_DRIVER_H
#define BERTH_MONITOR_LOG_DRIVER_H
#include <stddef.h>
#include <time.h>
#include "buf.h"

struct log_msg {
    int stream;                 /* 0 stdout, 1 stderr */
    const char *line;           /* the bytes, with the "\n" unless partial */
    size_t len;
    int partial;                /* a piece of a longer line, or the unterminated end of the output */
    const struct timespec *ts;  /* when it was read */
    const char *ts_text;        /* ts as RFC3339Nano */
};

struct log_driver {
    const char *name;
    int (*open)(char *err, size_t errlen);
    /* Appends the encoded record for m to out. */
    void (*encode)(struct buf *out, const struct log_msg *m);
    /* Delivers nrec whole records: record i ends at offset ends[i] of d. */
    void (*deliver)(const char *d, const size_t *ends, size_t nrec);
    void (*close)(void);
};

extern const struct log_driver log_driver_jsonfile;

#endif
