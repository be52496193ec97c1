/*
 * Docker's syslog driver, written here in the monitor so it goes on while berthd is down. One message per line of
 * output (the "\n" removed, empty lines skipped, as dockerd), priority facility*8 + 6 (info) for stdout, + 3 (err)
 * for stderr, formatted as dockerd's syslog-format (srslog's formatters; PID is this monitor's, dockerd writes its
 * own):
 *   ""            <PRI>Jan _2 15:04:05 TAG[PID]: MSG
 *   rfc3164       <PRI>Jan _2 15:04:05 HOSTNAME TAG[PID]: MSG
 *   rfc5424       <PRI>1 2006-01-02T15:04:05Z07:00 HOSTNAME TAG PID TAG - MSG
 *   rfc5424micro  the same with microseconds
 * each ended by "\n". Datagram transports (udp, unixgram) send one message per datagram; stream transports (tcp,
 * unix) write them one after another. A stream that breaks is dialled again once per delivery; messages that still
 * cannot be sent are dropped, as dockerd does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "log-driver.h"
#include "log.h"
#include "util.h"

static struct {
    int fd, dgram;
    char proto[16], addr[4096];
    char hostname[256];
    int pid;
} sl = {.fd = -1};

/* Connects sl.fd; 0, or -1 with dockerd's message ("dial tcp 127.0.0.1:1: connect: connection refused"). */
static int sl_dial(char *err, size_t errlen) {
    int stream = strcmp(sl.proto, "tcp") == 0 || strcmp(sl.proto, "unix") == 0;
    sl.dgram = !stream;
    if (strncmp(sl.proto, "unix", 4) == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(sl.addr) >= sizeof sa.sun_path) {
            snprintf(err, errlen, "dial %s %s: path too long", sl.proto, sl.addr);
            return -1;
        }
        strcpy(sa.sun_path, sl.addr);
        int fd = socket(AF_UNIX, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            snprintf(err, errlen, "failed to initialize logging driver: dial %s %s: connect: %s", sl.proto, sl.addr,
                     go_strerror(errno));
            if (fd >= 0) close(fd);
            return -1;
        }
        sl.fd = fd;
        return 0;
    }
    /* host:port, [v6]:port */
    char host[4096], port[32] = "514";
    snprintf(host, sizeof host, "%s", sl.addr);
    char *colon = strrchr(host, ':');
    if (colon && (host[0] != '[' || colon > strchr(host, ']'))) {
        *colon = 0;
        snprintf(port, sizeof port, "%s", colon + 1);
    }
    if (host[0] == '[') {
        memmove(host, host + 1, strlen(host));
        char *rb = strchr(host, ']');
        if (rb) *rb = 0;
    }
    struct addrinfo hints = {.ai_socktype = stream ? SOCK_STREAM : SOCK_DGRAM}, *ai = NULL;
    int gr = getaddrinfo(host, port, &hints, &ai);
    if (gr != 0) {
        snprintf(err, errlen, "failed to initialize logging driver: dial %s %s: lookup %s: %s", sl.proto, sl.addr, host,
                 gai_strerror(gr));
        return -1;
    }
    int e = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            sl.fd = fd;
            freeaddrinfo(ai);
            return 0;
        }
        e = errno;
        close(fd);
    }
    freeaddrinfo(ai);
    snprintf(err, errlen, "failed to initialize logging driver: dial %s %s: connect: %s", sl.proto, sl.addr,
             go_strerror(e ? e : ECONNREFUSED));
    return -1;
}

static int sl_open(void *st, char *err, size_t errlen) {
    (void)st;
    const char *a = log_opts.syslog_address;
    const char *sep = a ? strstr(a, "://") : NULL;
    if (!sep || (size_t)(sep - a) >= sizeof sl.proto) {
        snprintf(err, errlen, "syslog-address should be in form proto://address, got %s", a ? a : "");
        return -1;
    }
    memcpy(sl.proto, a, (size_t)(sep - a));
    sl.proto[sep - a] = 0;
    snprintf(sl.addr, sizeof sl.addr, "%s", sep + 3);
    if (strncmp(sl.proto, "unix", 4) == 0) {
        struct stat s;
        if (stat(sl.addr, &s) < 0) { /* dockerd's check, in its words */
            snprintf(err, errlen, "stat %s: %s", sl.addr, go_strerror(errno));
            return -1;
        }
    }
    gethostname(sl.hostname, sizeof sl.hostname - 1);
    sl.pid = getpid();
    return sl_dial(err, errlen);
}

static void stamp(struct buf *b, const struct timespec *ts, int style) {
    struct tm tm;
    time_t s = ts->tv_sec;
    localtime_r(&s, &tm);
    char t[64];
    if (style == 0) { /* Go's time.Stamp: "Jan _2 15:04:05" */
        strftime(t, sizeof t, "%b %e %H:%M:%S", &tm);
        buf_adds(b, t);
        return;
    }
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    buf_adds(b, t);
    if (style == 2) { /* .999999: trailing zeros trimmed, none at all when zero */
        char f[32];
        snprintf(f, sizeof f, ".%06ld", (long)(ts->tv_nsec / 1000) % 1000000);
        size_t l = strlen(f);
        while (l > 1 && f[l - 1] == '0') f[--l] = 0;
        if (l > 1) buf_adds(b, f);
    }
    long off = tm.tm_gmtoff;
    if (off == 0) buf_addc(b, 'Z');
    else {
        snprintf(t, sizeof t, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600, labs(off) % 3600 / 60);
        buf_adds(b, t);
    }
}

static void sl_encode(void *st, struct buf *out, const struct log_msg *m) {
    (void)st;
    size_t n = m->len;
    if (!m->partial && n && m->line[n - 1] == '\n') n--;
    if (n == 0) return; /* an empty record: the driver skips it (deliver sees a zero-length record) */
    const char *fmt = log_opts.syslog_format ? log_opts.syslog_format : "";
    const char *tag = log_opts.tag ? log_opts.tag : "";
    char pri[16], pid[16];
    snprintf(pri, sizeof pri, "<%d>", log_opts.syslog_facility * 8 + (m->stream ? 3 : 6));
    snprintf(pid, sizeof pid, "%d", sl.pid);
    buf_adds(out, pri);
    if (strncmp(fmt, "rfc5424", 7) == 0) {
        buf_adds(out, "1 ");
        stamp(out, m->ts, strcmp(fmt, "rfc5424micro") == 0 ? 2 : 1);
        buf_addc(out, ' ');
        buf_adds(out, sl.hostname);
        buf_addc(out, ' ');
        buf_adds(out, tag);
        buf_addc(out, ' ');
        buf_adds(out, pid);
        buf_addc(out, ' ');
        buf_adds(out, tag);
        buf_adds(out, " - ");
    } else {
        stamp(out, m->ts, 0);
        buf_addc(out, ' ');
        if (strcmp(fmt, "rfc3164") == 0) {
            buf_adds(out, sl.hostname);
            buf_addc(out, ' ');
        }
        buf_adds(out, tag);
        buf_addc(out, '[');
        buf_adds(out, pid);
        buf_adds(out, "]: ");
    }
    buf_add(out, m->line, n);
    buf_addc(out, '\n');
}

static void sl_deliver(void *st, const char *d, const size_t *ends, size_t nrec) {
    (void)st;
    if (sl.dgram) {
        size_t start = 0;
        for (size_t i = 0; i < nrec; i++) {
            if (ends[i] > start && sl.fd >= 0) (void)!send(sl.fd, d + start, ends[i] - start, MSG_NOSIGNAL);
            start = ends[i];
        }
        return;
    }
    size_t total = nrec ? ends[nrec - 1] : 0;
    if (total == 0) return;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (sl.fd < 0) {
            char err[256];
            if (sl_dial(err, sizeof err) < 0) return; /* the listener is gone: these are dropped */
        }
        size_t off = 0;
        while (off < total) {
            ssize_t w = send(sl.fd, d + off, total - off, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += (size_t)w;
        }
        if (off == total) return;
        close(sl.fd);
        sl.fd = -1;
        d += off;
        total -= off;
    }
}

static void sl_close(void *st) {
    (void)st;
    if (sl.fd >= 0) close(sl.fd);
    sl.fd = -1;
}

void log_driver_syslog(struct log_driver *d) { *d = (struct log_driver){"syslog", NULL, sl_open, sl_encode, sl_deliver, sl_close}; }
