/* Cutting output into messages and handing them to the drivers, directly or through the non-blocking queue (log.h). */
#define _GNU_SOURCE
#include "log.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log-driver.h"
#include "util.h"

struct log_options log_opts = {.max_file = 1, .syslog_facility = 3, .max_buffer = 1 << 20};

/* A driver with the records encoded from one read. */
struct sink {
    struct log_driver drv;
    struct buf batch;
    size_t *ends, nends, cap_ends;
};
static struct sink sinks[2];
static int nsinks;

struct split { /* the split line a stream is in the middle of */
    int ordinal;
    char id[65];
};
static struct buf pend[2]; /* the unterminated line of each stream */
static struct split splits[2];

/* ---------- the non-blocking queue ---------- */

struct qitem {
    struct qitem *next;
    int sink;
    size_t nrec, bytes;
    size_t *ends;
    char *data;
};
static pthread_t writer;
static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcv = PTHREAD_COND_INITIALIZER;
static struct qitem *qhead, *qtail;
static long long qbytes;
static pthread_cond_t donecv = PTHREAD_COND_INITIALIZER;
static int qclosed, writer_running, writer_done;
#define FINISH_WAIT_MS 2000

static void *writer_main(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&qmu);
        while (!qhead && !qclosed) pthread_cond_wait(&qcv, &qmu);
        struct qitem *it = qhead;
        if (!it) {
            writer_done = 1;
            pthread_cond_signal(&donecv);
            pthread_mutex_unlock(&qmu);
            return NULL;
        }
        qhead = it->next;
        if (!qhead) qtail = NULL;
        pthread_mutex_unlock(&qmu);
        struct sink *s = &sinks[it->sink];
        s->drv.deliver(s->drv.state, it->data, it->ends, it->nrec);
        pthread_mutex_lock(&qmu);
        qbytes -= (long long)it->bytes; /* counted until delivered: the bound covers what is in flight too */
        pthread_mutex_unlock(&qmu);
        free(it->data);
        free(it->ends);
        free(it);
    }
}

/* Queues the longest run of records that fits under max_buffer; the rest is dropped (dockerd's ring buffer). */
static void enqueue(int si, const char *d, const size_t *ends, size_t nrec) {
    pthread_mutex_lock(&qmu);
    size_t take = 0;
    while (take < nrec && qbytes + (long long)ends[take] <= log_opts.max_buffer) take++;
    if (take == 0) {
        pthread_mutex_unlock(&qmu);
        return;
    }
    struct qitem *it = calloc(1, sizeof *it);
    if (!it) abort();
    it->sink = si;
    it->nrec = take;
    it->bytes = ends[take - 1];
    it->data = malloc(it->bytes);
    it->ends = malloc(take * sizeof *ends);
    if (!it->data || !it->ends) abort();
    memcpy(it->data, d, it->bytes);
    memcpy(it->ends, ends, take * sizeof *ends);
    qbytes += (long long)it->bytes;
    if (qtail) qtail->next = it;
    else qhead = it;
    qtail = it;
    pthread_cond_signal(&qcv);
    pthread_mutex_unlock(&qmu);
}

/* ---------- start / cut / finish ---------- */

int log_start(char *err, size_t errlen) {
    const char *name = log_opts.driver ? log_opts.driver : "json-file";
    struct log_driver d[2];
    int n = 0;
    if (strcmp(name, "json-file") == 0) {
        if (!log_opts.path) return 0;
        log_driver_jsonfile(&d[n++]);
    } else if (strcmp(name, "local") == 0) {
        if (!log_opts.path) return 0;
        log_driver_local(&d[n++], log_opts.path, log_opts.max_size, log_opts.max_file, log_opts.compress);
    } else if (strcmp(name, "syslog") == 0) {
        log_driver_syslog(&d[n++]);
    } else if (strcmp(name, "none") == 0) {
        return 0;
    } else {
        snprintf(err, errlen, "unknown log driver %s", name);
        return -1;
    }
    if (log_opts.cache_path)
        log_driver_local(&d[n++], log_opts.cache_path, log_opts.cache_max_size, log_opts.cache_max_file, log_opts.cache_compress);
    for (int i = 0; i < n; i++) {
        if (d[i].open(d[i].state, err, errlen) < 0) {
            for (int j = 0; j < i; j++) d[j].close(d[j].state);
            return -1;
        }
    }
    for (int i = 0; i < n; i++) sinks[i].drv = d[i];
    nsinks = n;
    if (log_opts.nonblocking) {
        if (pthread_create(&writer, NULL, writer_main, NULL) != 0) {
            snprintf(err, errlen, "log writer thread: %s", strerror(errno));
            return -1;
        }
        writer_running = 1;
    }
    return 0;
}

static void add_record(int stream, const char *d, size_t n, int partial, int last, const struct timespec *ts,
                       const char *tt) {
    struct split *sp = &splits[stream];
    if (partial || last) {
        if (sp->ordinal == 0) { /* a new split line: its id, as dockerd's copier gives one */
            static const char hex[] = "0123456789abcdef";
            unsigned char rnd[32];
            int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
            if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd)
                for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (unsigned char)(rand() & 0xff);
            if (fd >= 0) close(fd);
            for (size_t i = 0; i < sizeof rnd; i++) {
                sp->id[2 * i] = hex[rnd[i] >> 4];
                sp->id[2 * i + 1] = hex[rnd[i] & 15];
            }
            sp->id[64] = 0;
        }
        sp->ordinal++;
    }
    struct log_msg m = {stream, d, n, partial, sp->ordinal, last, sp->ordinal ? sp->id : NULL, ts, tt};
    for (int i = 0; i < nsinks; i++) {
        struct sink *s = &sinks[i];
        s->drv.encode(s->drv.state, &s->batch, &m);
        if (s->nends == s->cap_ends) {
            s->cap_ends = s->cap_ends ? s->cap_ends * 2 : 64;
            s->ends = realloc(s->ends, s->cap_ends * sizeof *s->ends);
            if (!s->ends) abort();
        }
        s->ends[s->nends++] = buf_size(&s->batch);
    }
    if (!partial) sp->ordinal = 0;
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
            add_record(stream, buf_data(p), buf_size(p), !complete, complete && splits[stream].ordinal > 0, &ts, tt);
            buf_clear(p);
        }
    }
    if (flush && buf_size(p) > 0) {
        add_record(stream, buf_data(p), buf_size(p), 1, 0, &ts, tt);
        buf_clear(p);
    }
    for (int i = 0; i < nsinks; i++) {
        struct sink *s = &sinks[i];
        if (s->nends == 0) continue;
        if (writer_running) enqueue(i, buf_data(&s->batch), s->ends, s->nends);
        else s->drv.deliver(s->drv.state, buf_data(&s->batch), s->ends, s->nends);
        buf_clear(&s->batch);
        s->nends = 0;
    }
}

void log_feed(int stream, const char *d, size_t n) {
    if (nsinks) cut(stream, d, n, 0);
}

void log_finish(void) {
    if (!nsinks) return;
    cut(0, "", 0, 1);
    cut(1, "", 0, 1);
    if (writer_running) {
        /* what was queued is delivered before the exit is recorded, but a stalled listener may not hold the exit
         * back (that is what non-blocking promises): after FINISH_WAIT_MS the rest is dropped, and the thread,
         * perhaps stuck in a send, ends with the process */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += FINISH_WAIT_MS / 1000;
        pthread_mutex_lock(&qmu);
        qclosed = 1;
        pthread_cond_signal(&qcv);
        while (!writer_done && pthread_cond_timedwait(&donecv, &qmu, &until) == 0) {
        }
        int done = writer_done;
        pthread_mutex_unlock(&qmu);
        writer_running = 0;
        if (!done) {
            nsinks = 0;
            return;
        }
        pthread_join(writer, NULL);
    }
    for (int i = 0; i < nsinks; i++) sinks[i].drv.close(sinks[i].drv.state);
    nsinks = 0;
}
