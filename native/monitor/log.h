/*
 * The monitor's logging: the container's stdout/stderr bytes are cut into messages and handed to log drivers, here
 * in the monitor, so logging goes on while berthd is down.
 *
 * Terms (Docker's):
 *   message  one line of output with its "\n", or a LOG_LINE_MAX piece of a longer line (partial: no "\n"; the rest
 *            follows in the next message), with the stream it came from and the time it was read.
 *   driver   encodes messages and delivers them: json-file and local to a rotated file (log-file.h), syslog to a
 *            socket. A driver sees whole records only, so a record is never split between files or datagrams.
 *   cache    dockerd's "dual logging": a driver that cannot be read back (syslog) also writes a local-format file
 *            that `docker logs` reads (log_options.cache_path).
 *   mode     blocking (default): delivery happens in the loop that reads the container, so a slow disk or listener
 *            slows the container and nothing is lost. non-blocking: records go to a queue of at most max_buffer
 *            bytes that a writer thread delivers; when the queue is full new records are dropped (as dockerd's ring
 *            buffer), so the container never waits for the log.
 *
 * Lifecycle: the monitor fills log_opts from its command line, calls log_start() before the container is created
 * (a driver that cannot start fails the create with its message), log_feed() with every chunk it reads, and
 * log_finish() once the output is drained (partial lines are flushed; the non-blocking queue is delivered).
 */
#ifndef BERTH_MONITOR_LOG_H
#define BERTH_MONITOR_LOG_H
#include <stddef.h>

#define LOG_LINE_MAX 16384 /* Docker's copier buffer: longer lines become partial messages */

struct log_options {
    const char *driver;  /* "json-file" (default), "local", "syslog" */
    const char *path;    /* the log file (json-file, local); NULL: no file */
    long long max_size;  /* bytes; 0: no rotation */
    int max_file;        /* files kept in all, the current one included */
    int compress;        /* gzip rotated files */
    const char *attrs;   /* json-file: a JSON object written into every record, or NULL */
    /* syslog */
    const char *syslog_address; /* unix:///p, unixgram:///p, udp://h:p, tcp://h:p */
    int syslog_facility;        /* facility code (daemon: 3) */
    const char *syslog_format;  /* "" (unix), rfc3164, rfc5424, rfc5424micro */
    const char *tag;            /* the rendered tag */
    /* the local-format cache beside a driver that cannot be read back */
    const char *cache_path;
    long long cache_max_size;
    int cache_max_file, cache_compress;
    /* mode */
    int nonblocking;
    long long max_buffer; /* non-blocking queue bound, bytes */
};
extern struct log_options log_opts;

/* Opens the drivers. 0, or -1 with a message (dockerd's wording) in err. */
int log_start(char *err, size_t errlen);
/* Output just read from one stream (0 stdout, 1 stderr). */
void log_feed(int stream, const char *d, size_t n);
/* Flushes partial lines, delivers what is queued and closes the drivers. */
void log_finish(void);

#endif
