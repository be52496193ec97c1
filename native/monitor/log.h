/*
 * The monitor's logging: the container's stdout/stderr bytes are cut into messages and handed to one log driver,
 * here in the monitor, so logging goes on while berthd is down.
 *
 * Terms (Docker's):
 *   message  one line of output with its "\n", or a LOG_LINE_MAX piece of a longer line (partial: no "\n"; the rest
 *            follows in the next message), with the stream it came from and the time it was read.
 *   driver   encodes messages and delivers them: json-file and local to a rotated file (log-file.h), syslog to a
 *            socket. A driver sees whole records only, so a record is never split between files or datagrams.
 *
 * Lifecycle: the monitor fills log_opts from its command line, calls log_start() before the container is created
 * (a driver that cannot start fails the create with its message), log_feed() with every chunk it reads, and
 * log_finish() once the output is drained (partial lines are flushed as partial messages).
 */
#ifndef BERTH_MONITOR_LOG_H
#define BERTH_MONITOR_LOG_H
#include <stddef.h>

#define LOG_LINE_MAX 16384 /* Docker's copier buffer: longer lines become partial messages */

struct log_options {
    const char *driver;  /* "json-file" (the default when path is set) */
    const char *path;    /* the log file (file drivers); NULL: no logging */
    long long max_size;  /* bytes; 0: no rotation */
    int max_file;        /* files kept in all, the current one included */
    int compress;        /* gzip rotated files */
    const char *attrs;   /* json-file: a JSON object written into every record, or NULL */
};
extern struct log_options log_opts;

/* Opens the driver. 0, or -1 with a message in err. */
int log_start(char *err, size_t errlen);
/* True between a successful log_start() and log_finish(). */
int log_active(void);
/* Output just read from one stream (0 stdout, 1 stderr). */
void log_feed(int stream, const char *d, size_t n);
/* Flushes partial lines and closes the driver. */
void log_finish(void);

#endif
