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
    int partial;                /* no "\n": a piece of a longer line, or the unterminated end of the output */
    int ordinal;                /* the piece's number within a split line (1, 2, …); 0 for a whole line */
    int last;                   /* the final piece of a split line (it has the "\n") */
    const char *partial_id;     /* the split line's id (64 hex digits) when ordinal > 0 */
    const struct timespec *ts;  /* when it was read */
    const char *ts_text;        /* ts as RFC3339Nano */
};

/*
 * A driver instance. open() is called once before the container runs; encode() in the reading loop; deliver()
 * in the reading loop (blocking mode) or in the writer thread (non-blocking), never both; close() at the end.
 */
struct log_driver {
    const char *name;
    void *state;
    int (*open)(void *state, char *err, size_t errlen);
    /* Appends the encoded record for m to out. */
    void (*encode)(void *state, struct buf *out, const struct log_msg *m);
    /* Delivers nrec whole records: record i ends at offset ends[i] of d. */
    void (*deliver)(void *state, const char *d, const size_t *ends, size_t nrec);
    void (*close)(void *state);
};

/* Each fills in *d for log_opts (log.h); the file ones take the path and rotation to use. */
void log_driver_jsonfile(struct log_driver *d);
void log_driver_local(struct log_driver *d, const char *path, long long max_size, int max_file, int compress);
void log_driver_syslog(struct log_driver *d);

#endif
