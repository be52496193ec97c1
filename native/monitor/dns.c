/* The embedded DNS server (see dns.h for what it answers and where its data comes from). */
#define _GNU_SOURCE
#include "dns.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "util.h"

#define DNS_PORT 53
#define DNS_TTL 600
#define FWD_TIMEOUT_MS 2000
#define TCP_IDLE_MS 10000
#define PENDING_MAX 256
#define MAX_NETS 32
#define MAX_UPSTREAMS 8
#define UDP_MAX 512
#define MSG_MAX 65535

enum { T_A = 1, T_PTR = 12, T_AAAA = 28 };
enum { RC_OK = 0, RC_FORMERR = 1, RC_SERVFAIL = 2, RC_NXDOMAIN = 3, RC_NOTIMP = 4 };

/* ---------- name tables ---------- */

struct entry {
    int has4, has6;
    struct in_addr ip4;
    struct in6_addr ip6;
    int nnames;
    char **names; /* lowercase; names[0] is the container's name */
};

struct table {
    char path[4096];
    struct stat st; /* of the version loaded; st_ino 0 = none */
    char network[256];
    struct entry *e;
    int n;
};

static struct {
    char path[4096];
    struct stat st;
    struct table nets[MAX_NETS];
    int nnets;
    struct sockaddr_in up[MAX_UPSTREAMS];
    int nup;
} cfg;

static int same_file(const struct stat *a, const struct stat *b) {
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The whole file as a NUL-terminated string (NULL when unreadable). */
static char *slurp(const char *path, struct stat *st) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    if (fstat(fd, st) < 0 || st->st_size > (16 << 20)) {
        close(fd);
        return NULL;
    }
    size_t n = (size_t)st->st_size;
    char *d = malloc(n + 1);
    size_t got = 0;
    while (d && got < n) {
        ssize_t r = read(fd, d + got, n - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (d) d[got] = 0;
    return d;
}

static void table_clear(struct table *t) {
    for (int i = 0; i < t->n; i++) {
        for (int k = 0; k < t->e[i].nnames; k++) free(t->e[i].names[k]);
        free(t->e[i].names);
    }
    free(t->e);
    t->e = NULL;
    t->n = 0;
    t->network[0] = 0;
}

static void lower(char *s) {
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

static void table_load(struct table *t) {
    struct stat st;
    if (stat(t->path, &st) < 0) {
        if (t->st.st_ino) table_clear(t);
        memset(&t->st, 0, sizeof t->st);
        return;
    }
    if (t->st.st_ino && same_file(&st, &t->st)) return;
    char *d = slurp(t->path, &st);
    table_clear(t);
    memset(&t->st, 0, sizeof t->st);
    if (!d) return;
    t->st = st;
    int cap = 0;
    for (char *save = NULL, *line = strtok_r(d, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *ls = NULL, *kw = strtok_r(line, " \t", &ls);
        if (!kw) continue;
        if (strcmp(kw, "network") == 0) {
            char *nm = strtok_r(NULL, " \t", &ls);
            if (nm) snprintf(t->network, sizeof t->network, "%s", nm);
            lower(t->network);
            continue;
        }
        if (strcmp(kw, "ep") != 0) continue;
        char *a4 = strtok_r(NULL, " \t", &ls), *a6 = strtok_r(NULL, " \t", &ls);
        if (!a4 || !a6) continue;
        struct entry e = {0};
        e.has4 = strcmp(a4, "-") != 0 && inet_pton(AF_INET, a4, &e.ip4) == 1;
        e.has6 = strcmp(a6, "-") != 0 && inet_pton(AF_INET6, a6, &e.ip6) == 1;
        for (char *nm = strtok_r(NULL, " \t", &ls); nm; nm = strtok_r(NULL, " \t", &ls)) {
            e.names = realloc(e.names, sizeof(char *) * (size_t)(e.nnames + 1));
            e.names[e.nnames] = strdup(nm);
            lower(e.names[e.nnames++]);
        }
        if (!e.nnames) continue;
        if (t->n == cap) {
            cap = cap ? cap * 2 : 16;
            t->e = realloc(t->e, sizeof(struct entry) * (size_t)cap);
        }
        t->e[t->n++] = e;
    }
    free(d);
}

/* Re-reads the config and the tables whose files changed since they were loaded. */
static void refresh(void) {
    struct stat st;
    int have = stat(cfg.path, &st) == 0;
    if (!have) {
        for (int i = 0; i < cfg.nnets; i++) table_clear(&cfg.nets[i]);
        cfg.nnets = cfg.nup = 0;
        memset(&cfg.st, 0, sizeof cfg.st);
        return;
    }
    if (!cfg.st.st_ino || !same_file(&st, &cfg.st)) {
        char *d = slurp(cfg.path, &st);
        if (d) {
            for (int i = 0; i < cfg.nnets; i++) table_clear(&cfg.nets[i]);
            memset(cfg.nets, 0, sizeof cfg.nets);
            cfg.nnets = cfg.nup = 0;
            cfg.st = st;
            for (char *save = NULL, *line = strtok_r(d, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *ls = NULL, *kw = strtok_r(line, " \t", &ls), *arg = kw ? strtok_r(NULL, " \t", &ls) : NULL;
                if (!arg) continue;
                if (strcmp(kw, "net") == 0 && cfg.nnets < MAX_NETS) {
                    snprintf(cfg.nets[cfg.nnets++].path, sizeof cfg.nets[0].path, "%s", arg);
                } else if (strcmp(kw, "upstream") == 0 && cfg.nup < MAX_UPSTREAMS) {
                    struct sockaddr_in *u = &cfg.up[cfg.nup];
                    memset(u, 0, sizeof *u);
                    u->sin_family = AF_INET;
                    u->sin_port = htons(DNS_PORT);
                    if (inet_pton(AF_INET, arg, &u->sin_addr) == 1) cfg.nup++;
                }
            }
            free(d);
        }
    }
    for (int i = 0; i < cfg.nnets; i++) table_load(&cfg.nets[i]);
}

/* ---------- lookups ---------- */

#define ANS_MAX 64
struct answers {
    int n4, n6, found;
    struct in_addr a4[ANS_MAX];
    struct in6_addr a6[ANS_MAX];
};

static int name_is(const char *q, const struct entry *e, const char *network) {
    size_t nl = strlen(network);
    for (int k = 0; k < e->nnames; k++) {
        const char *n = e->names[k];
        if (strcmp(q, n) == 0) return 1;
        size_t l = strlen(n);
        if (nl && strncmp(q, n, l) == 0 && q[l] == '.' && strcmp(q + l + 1, network) == 0) return 1;
    }
    return 0;
}

static void lookup_name(const char *q, struct answers *a) {
    memset(a, 0, sizeof *a);
    for (int i = 0; i < cfg.nnets; i++) {
        const struct table *t = &cfg.nets[i];
        for (int j = 0; j < t->n; j++) {
            const struct entry *e = &t->e[j];
            if (!name_is(q, e, t->network)) continue;
            a->found = 1;
            int dup = 0;
            if (e->has4) {
                for (int k = 0; k < a->n4; k++) dup |= a->a4[k].s_addr == e->ip4.s_addr;
                if (!dup && a->n4 < ANS_MAX) a->a4[a->n4++] = e->ip4;
            }
            dup = 0;
            if (e->has6) {
                for (int k = 0; k < a->n6; k++) dup |= memcmp(&a->a6[k], &e->ip6, 16) == 0;
                if (!dup && a->n6 < ANS_MAX) a->a6[a->n6++] = e->ip6;
            }
        }
    }
}

/* "<container>.<network>" for an address on the container's networks; 0 when unknown. */
static int lookup_addr(int family, const void *addr, char *out, size_t outlen) {
    for (int i = 0; i < cfg.nnets; i++) {
        const struct table *t = &cfg.nets[i];
        for (int j = 0; j < t->n; j++) {
            const struct entry *e = &t->e[j];
            int hit = family == AF_INET ? e->has4 && memcmp(&e->ip4, addr, 4) == 0 : e->has6 && memcmp(&e->ip6, addr, 16) == 0;
            if (!hit) continue;
            if (t->network[0]) snprintf(out, outlen, "%s.%s", e->names[0], t->network);
            else snprintf(out, outlen, "%s", e->names[0]);
            return 1;
        }
    }
    return 0;
}

/* The address a reverse name stands for: 4.3.2.1.in-addr.arpa or the 32 nibbles of ip6.arpa. */
static int parse_reverse(const char *q, int *family, unsigned char *addr) {
    size_t l = strlen(q);
    static const char v4[] = ".in-addr.arpa", v6[] = ".ip6.arpa";
    if (l > sizeof v4 - 1 && strcmp(q + l - (sizeof v4 - 1), v4) == 0) {
        unsigned o[4];
        char tail[16];
        if (sscanf(q, "%u.%u.%u.%u%15s", &o[3], &o[2], &o[1], &o[0], tail) != 5 || strcmp(tail, v4) != 0) return 0;
        for (int i = 0; i < 4; i++) {
            if (o[i] > 255) return 0;
            addr[i] = (unsigned char)o[i];
        }
        *family = AF_INET;
        return 1;
    }
    if (l == 64 + sizeof v6 - 1 && strcmp(q + 64, v6) == 0) {
        memset(addr, 0, 16);
        for (int i = 0; i < 32; i++) {
            char c = q[i * 2];
            if (q[i * 2 + 1] != '.' || !isxdigit((unsigned char)c)) return 0;
            int v = isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
            int nib = 31 - i; /* first label is the lowest nibble */
            addr[nib / 2] |= (unsigned char)(nib % 2 ? v : v << 4);
        }
        *family = AF_INET6;
        return 1;
    }
    return 0;
}

/* ---------- messages ---------- */

struct query {
    uint16_t id, flags, qtype, qclass;
    size_t qend; /* end of the question section */
    char name[256];
};

static int parse_query(const unsigned char *m, size_t n, struct query *q) {
    if (n < 12) return -1;
    q->id = (uint16_t)(m[0] << 8 | m[1]);
    q->flags = (uint16_t)(m[2] << 8 | m[3]);
    if ((m[4] << 8 | m[5]) != 1) return -1;
    size_t p = 12, o = 0;
    for (;;) {
        if (p >= n) return -1;
        unsigned l = m[p++];
        if (l == 0) break;
        if (l > 63 || p + l > n || o + l + 1 >= sizeof q->name) return -1;
        if (o) q->name[o++] = '.';
        for (unsigned i = 0; i < l; i++) q->name[o++] = (char)tolower(m[p + i]);
        p += l;
    }
    q->name[o] = 0;
    if (p + 4 > n) return -1;
    q->qtype = (uint16_t)(m[p] << 8 | m[p + 1]);
    q->qclass = (uint16_t)(m[p + 2] << 8 | m[p + 3]);
    q->qend = p + 4;
    return 0;
}

static void put16(struct buf *b, unsigned v) {
    unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    buf_add(b, x, 2);
}

static void put32(struct buf *b, unsigned long v) {
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    buf_add(b, x, 4);
}

/* Header + the question, as the reply's start; the counts are patched by finish_reply. */
static void start_reply(struct buf *b, const unsigned char *m, const struct query *q, int rcode) {
    put16(b, q->id);
    unsigned flags = 0x8000 | (q->flags & 0x7900) /* opcode, RD */ | 0x0080 /* RA */ | (unsigned)rcode;
    put16(b, flags);
    put16(b, 1);
    put16(b, 0);
    put16(b, 0);
    put16(b, 0);
    buf_add(b, m + 12, q->qend - 12);
}

static void add_rr(struct buf *b, size_t limit, int *count, int *truncated, unsigned type, const void *rdata, size_t rdlen) {
    if (*truncated) return;
    if (buf_size(b) + 12 + rdlen > limit) {
        *truncated = 1;
        return;
    }
    put16(b, 0xC00C); /* the question's name */
    put16(b, type);
    put16(b, 1);
    put32(b, DNS_TTL);
    put16(b, (unsigned)rdlen);
    buf_add(b, rdata, rdlen);
    (*count)++;
}

static void finish_reply(struct buf *b, int ancount, int truncated) {
    unsigned char *h = (unsigned char *)buf_data(b);
    h[6] = (unsigned char)(ancount >> 8);
    h[7] = (unsigned char)ancount;
    if (truncated) h[2] |= 0x02;
}

static void error_reply(struct buf *b, const unsigned char *m, size_t n, int rcode) {
    struct query q = {0};
    if (parse_query(m, n, &q) == 0) {
        start_reply(b, m, &q, rcode);
        return;
    }
    if (n < 2) return;
    put16(b, (unsigned)(m[0] << 8 | m[1]));
    put16(b, 0x8000 | 0x0080 | (unsigned)rcode);
    for (int i = 0; i < 4; i++) put16(b, 0);
}

static unsigned rotation;

/*
 * Answers from the tables when the name is ours (or a single label); returns 1 with the reply in `out`, or 0 when
 * the query is to be forwarded.
 */
static int answer_local(const unsigned char *m, size_t n, size_t limit, struct buf *out) {
    struct query q;
    if (parse_query(m, n, &q) < 0) {
        error_reply(out, m, n, RC_FORMERR);
        return 1;
    }
    if (((q.flags >> 11) & 0xF) != 0) {
        start_reply(out, m, &q, RC_NOTIMP);
        return 1;
    }
    if (q.qclass != 1) return 0;
    refresh();
    int count = 0, trunc = 0;
    if (q.qtype == T_PTR) {
        int fam;
        unsigned char addr[16];
        char target[600];
        if (!parse_reverse(q.name, &fam, addr) || !lookup_addr(fam, addr, target, sizeof target)) return 0;
        struct buf rd = {0};
        for (char *s = target; *s;) {
            char *dot = strchr(s, '.');
            size_t l = dot ? (size_t)(dot - s) : strlen(s);
            if (l > 63) l = 63;
            buf_addc(&rd, (char)l);
            buf_add(&rd, s, l);
            s += dot ? (size_t)(dot - s) + 1 : strlen(s);
        }
        buf_addc(&rd, 0);
        start_reply(out, m, &q, RC_OK);
        add_rr(out, limit, &count, &trunc, T_PTR, buf_data(&rd), buf_size(&rd));
        buf_free(&rd);
        finish_reply(out, count, trunc);
        return 1;
    }
    struct answers a;
    lookup_name(q.name, &a);
    if (!a.found) {
        if (strchr(q.name, '.') || !q.name[0]) return 0;
        start_reply(out, m, &q, RC_NXDOMAIN); /* an unknown single label is nobody's: do not ask the world */
        return 1;
    }
    start_reply(out, m, &q, RC_OK);
    /* rotate only answers that have several records (an empty AAAA beside each A must not cancel the turn) */
    unsigned r = rotation;
    if ((q.qtype == T_A && a.n4 > 1) || (q.qtype == T_AAAA && a.n6 > 1)) rotation++;
    if (q.qtype == T_A)
        for (int i = 0; i < a.n4; i++) add_rr(out, limit, &count, &trunc, T_A, &a.a4[(r + (unsigned)i) % (unsigned)a.n4], 4);
    else if (q.qtype == T_AAAA)
        for (int i = 0; i < a.n6; i++) add_rr(out, limit, &count, &trunc, T_AAAA, &a.a6[(r + (unsigned)i) % (unsigned)a.n6], 16);
    finish_reply(out, count, trunc);
    return 1;
}

/* ---------- sockets and forwarding ---------- */

struct tconn {
    int fd;
    unsigned gen;
    int eof, pending;
    long long last;
    struct buf in, out;
};

struct pending {
    int used;
    uint16_t our_id, orig_id;
    int up;          /* index of the upstream asked last */
    int tcp;         /* index into tconns, or -1 for a UDP client */
    unsigned gen;    /* the TCP connection's generation when asked */
    struct sockaddr_in client;
    long long deadline;
    unsigned char *msg;
    size_t len;
};

static int udp_fd = -1, tcp_fd = -1, fwd_fd = -1;
static struct tconn tconns[DNS_TCP_MAX];
static unsigned tgen;
static struct pending pend[PENDING_MAX];
static uint16_t next_id;


int dns_open(const char *netns_path, const char *config_path, char *err, size_t errlen) {
    snprintf(cfg.path, sizeof cfg.path, "%s", config_path);
    for (int i = 0; i < DNS_TCP_MAX; i++) tconns[i].fd = -1;
    next_id = (uint16_t)(getpid() * 7919u);
    fwd_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); /* host side: upstreams */
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = open(netns_path, O_RDONLY | O_CLOEXEC);
    if (fwd_fd < 0 || self < 0 || target < 0) {
        snprintf(err, errlen, "dns: %s: %s", target < 0 ? netns_path : "socket", strerror(errno));
        goto fail;
    }
    if (setns(target, CLONE_NEWNET) < 0) {
        snprintf(err, errlen, "dns: setns %s: %s", netns_path, strerror(errno));
        goto fail;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(DNS_PORT)};
    inet_pton(AF_INET, "127.0.0.11", &a.sin_addr);
    udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, bad = udp_fd < 0 || tcp_fd < 0;
    if (!bad) setsockopt(tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!bad && (bind(udp_fd, (struct sockaddr *)&a, sizeof a) < 0 || bind(tcp_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
                 listen(tcp_fd, 64) < 0))
        bad = 1;
    if (bad) snprintf(err, errlen, "dns: 127.0.0.11:53 in %s: %s", netns_path, strerror(errno));
    if (setns(self, CLONE_NEWNET) < 0) { /* cannot happen for our own namespace; never stay in the container's */
        snprintf(err, errlen, "dns: setns back: %s", strerror(errno));
        _exit(2);
    }
    close(self);
    close(target);
    if (bad) {
        self = target = -1;
        goto fail;
    }
    refresh();
    return 0;
fail:
    if (self >= 0) close(self);
    if (target >= 0) close(target);
    if (udp_fd >= 0) close(udp_fd);
    if (tcp_fd >= 0) close(tcp_fd);
    if (fwd_fd >= 0) close(fwd_fd);
    udp_fd = tcp_fd = fwd_fd = -1;
    return -1;
}

static void tcp_send(struct tconn *c, const char *d, size_t n) {
    unsigned char l[2] = {(unsigned char)(n >> 8), (unsigned char)n};
    buf_add(&c->out, l, 2);
    buf_add(&c->out, d, n);
}

static void pend_free(struct pending *p) {
    free(p->msg);
    memset(p, 0, sizeof *p);
}

/* Sends the pending query to its next upstream; SERVFAIL to the client when there is none left. */
static void pend_send_or_fail(struct pending *p) {
    while (p->up < cfg.nup) {
        if (sendto(fwd_fd, p->msg, p->len, 0, (struct sockaddr *)&cfg.up[p->up], sizeof cfg.up[0]) >= 0) {
            p->deadline = mono_ms() + FWD_TIMEOUT_MS;
            return;
        }
        p->up++;
    }
    struct buf b = {0};
    p->msg[0] = (unsigned char)(p->orig_id >> 8);
    p->msg[1] = (unsigned char)p->orig_id;
    error_reply(&b, p->msg, p->len, RC_SERVFAIL);
    if (p->tcp < 0) {
        sendto(udp_fd, buf_data(&b), buf_size(&b), 0, (struct sockaddr *)&p->client, sizeof p->client);
    } else if (tconns[p->tcp].fd >= 0 && tconns[p->tcp].gen == p->gen) {
        tcp_send(&tconns[p->tcp], buf_data(&b), buf_size(&b));
        tconns[p->tcp].pending--;
    }
    buf_free(&b);
    pend_free(p);
}

static void forward(const unsigned char *m, size_t n, int tcp, const struct sockaddr_in *client) {
    struct pending *p = NULL;
    for (int i = 0; i < PENDING_MAX && !p; i++)
        if (!pend[i].used) p = &pend[i];
    if (!p) return; /* overloaded: the client retries */
    uint16_t id;
    for (;;) { /* an id no pending query uses */
        id = next_id++;
        int busy = 0;
        for (int i = 0; i < PENDING_MAX; i++) busy |= pend[i].used && pend[i].our_id == id;
        if (!busy) break;
    }
    p->used = 1;
    p->our_id = id;
    p->orig_id = (uint16_t)(m[0] << 8 | m[1]);
    p->tcp = tcp;
    p->gen = tcp >= 0 ? tconns[tcp].gen : 0;
    if (client) p->client = *client;
    p->msg = malloc(n);
    memcpy(p->msg, m, n);
    p->len = n;
    p->msg[0] = (unsigned char)(id >> 8);
    p->msg[1] = (unsigned char)id;
    p->up = 0;
    if (tcp >= 0) tconns[tcp].pending++;
    pend_send_or_fail(p);
}

static void on_upstream(void) {
    unsigned char m[MSG_MAX];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fwd_fd, m, sizeof m, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) return;
        if (n < 12) continue;
        uint16_t id = (uint16_t)(m[0] << 8 | m[1]);
        for (int i = 0; i < PENDING_MAX; i++) {
            struct pending *p = &pend[i];
            if (!p->used || p->our_id != id) continue;
            const struct sockaddr_in *u = &cfg.up[p->up < cfg.nup ? p->up : 0];
            if (from.sin_addr.s_addr != u->sin_addr.s_addr || from.sin_port != u->sin_port) break; /* not who we asked */
            m[0] = (unsigned char)(p->orig_id >> 8);
            m[1] = (unsigned char)p->orig_id;
            if (p->tcp < 0) {
                sendto(udp_fd, m, (size_t)n, 0, (struct sockaddr *)&p->client, sizeof p->client);
            } else if (tconns[p->tcp].fd >= 0 && tconns[p->tcp].gen == p->gen) {
                tcp_send(&tconns[p->tcp], (char *)m, (size_t)n);
                tconns[p->tcp].pending--;
            }
            pend_free(p);
            break;
        }
    }
}

static void on_udp(void) {
    unsigned char m[MSG_MAX];
    for (int k = 0; k < 64; k++) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(udp_fd, m, sizeof m, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) return;
        if (n < 12 || (m[2] & 0x80)) continue; /* too short, or a response */
        struct buf out = {0};
        if (answer_local(m, (size_t)n, UDP_MAX, &out)) {
            if (buf_size(&out)) sendto(udp_fd, buf_data(&out), buf_size(&out), 0, (struct sockaddr *)&from, fl);
        } else {
            forward(m, (size_t)n, -1, &from);
        }
        buf_free(&out);
    }
}

static void tconn_close(struct tconn *c) {
    close(c->fd);
    c->fd = -1;
    buf_free(&c->in);
    buf_free(&c->out);
    memset(&c->in, 0, sizeof c->in);
    memset(&c->out, 0, sizeof c->out);
}

static void on_accept(void) {
    for (;;) {
        int fd = accept4(tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        struct tconn *c = NULL;
        for (int i = 0; i < DNS_TCP_MAX && !c; i++)
            if (tconns[i].fd < 0) c = &tconns[i];
        if (!c) {
            close(fd);
            continue;
        }
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->gen = ++tgen;
        c->last = mono_ms();
    }
}

static void on_tcp(int idx, short rev) {
    struct tconn *c = &tconns[idx];
    if (rev & POLLIN) {
        char tmp[16384];
        ssize_t r = read(c->fd, tmp, sizeof tmp);
        if (r == 0) c->eof = 1;
        else if (r < 0 && errno != EAGAIN && errno != EINTR) return tconn_close(c);
        else if (r > 0) {
            buf_add(&c->in, tmp, (size_t)r);
            c->last = mono_ms();
        }
        while (buf_size(&c->in) >= 2) {
            const unsigned char *d = (const unsigned char *)buf_data(&c->in);
            size_t l = (size_t)(d[0] << 8 | d[1]);
            if (buf_size(&c->in) < 2 + l) break;
            if (l >= 12) {
                struct buf out = {0};
                if (answer_local(d + 2, l, MSG_MAX, &out)) {
                    if (buf_size(&out)) tcp_send(c, buf_data(&out), buf_size(&out));
                } else {
                    forward(d + 2, l, idx, NULL);
                }
                buf_free(&out);
            }
            buf_drop(&c->in, 2 + l);
        }
    }
    if (c->fd >= 0 && buf_size(&c->out)) {
        ssize_t w = write(c->fd, buf_data(&c->out), buf_size(&c->out));
        if (w < 0 && errno != EAGAIN && errno != EINTR) return tconn_close(c);
        if (w > 0) {
            buf_drop(&c->out, (size_t)w);
            c->last = mono_ms();
        }
    }
    if ((rev & (POLLERR | POLLHUP)) && !(rev & POLLIN)) return tconn_close(c);
    if (c->eof && !c->pending && !buf_size(&c->out)) tconn_close(c);
}

static int slot_of[DNS_MAX_FDS]; /* what each descriptor dns_poll_fill added is: -1 udp, -2 tcp listen, -3 fwd, else tconn */

int dns_poll_fill(struct pollfd *pf) {
    int n = 0;
    if (udp_fd < 0) return 0;
    slot_of[n] = -1;
    pf[n++] = (struct pollfd){udp_fd, POLLIN, 0};
    slot_of[n] = -2;
    pf[n++] = (struct pollfd){tcp_fd, POLLIN, 0};
    slot_of[n] = -3;
    pf[n++] = (struct pollfd){fwd_fd, POLLIN, 0};
    for (int i = 0; i < DNS_TCP_MAX; i++) {
        struct tconn *c = &tconns[i];
        if (c->fd < 0) continue;
        short ev = c->eof ? 0 : POLLIN;
        if (buf_size(&c->out)) ev |= POLLOUT;
        slot_of[n] = i;
        pf[n++] = (struct pollfd){c->fd, ev, 0};
    }
    return n;
}

void dns_poll_handle(const struct pollfd *pf, int n) {
    for (int k = 0; k < n; k++) {
        if (!pf[k].revents) continue;
        int s = slot_of[k];
        if (s == -1) on_udp();
        else if (s == -2) on_accept();
        else if (s == -3) on_upstream();
        else if (tconns[s].fd == pf[k].fd) on_tcp(s, pf[k].revents);
    }
    /* a reply queued for a TCP client while handling others goes out next round (POLLOUT); timeouts: */
    long long now = mono_ms();
    for (int i = 0; i < PENDING_MAX; i++) {
        if (!pend[i].used || pend[i].deadline > now) continue;
        pend[i].up++;
        pend_send_or_fail(&pend[i]);
    }
    for (int i = 0; i < DNS_TCP_MAX; i++)
        if (tconns[i].fd >= 0 && !tconns[i].pending && now - tconns[i].last >= TCP_IDLE_MS) tconn_close(&tconns[i]);
}

int dns_timeout_ms(void) {
    if (udp_fd < 0) return -1;
    long long now = mono_ms(), next = -1;
    for (int i = 0; i < PENDING_MAX; i++)
        if (pend[i].used && (next < 0 || pend[i].deadline < next)) next = pend[i].deadline;
    for (int i = 0; i < DNS_TCP_MAX; i++)
        if (tconns[i].fd >= 0 && (next < 0 || tconns[i].last + TCP_IDLE_MS < next)) next = tconns[i].last + TCP_IDLE_MS;
    if (next < 0) return -1;
    return next <= now ? 0 : (int)(next - now);
}
