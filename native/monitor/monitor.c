/*
 * berth-monitor — one small process per container (and per exec) that owns the container's stdio, pty, json-file
 * log and exit status, so that berthd can die (even with SIGKILL) and be restarted without losing anything.
 *
 * COMMAND LINE
 *   berth-monitor --id ID --bundle DIR --runc PATH --runc-root DIR --mode create|run|exec
 *                 [--process FILE]          exec mode: the OCI process.json for `runc exec --process`
 *                 [--tty] [--stdin]         allocate a pty (runc --console-socket); keep stdin open
 *                 [--log FILE]              create mode: append Docker json-file records for stdout/stderr
 *                 [--log-max-size BYTES] [--log-max-file N] [--log-compress]   rotation (log-file.h)
 *                 [--log-attrs JSON]        an object written as "attrs" into every record (labels/env options)
 *                 [--log-driver json-file|local|syslog|none]   (default json-file; local writes --log in its format)
 *                 [--syslog-address URL --syslog-facility N --syslog-format F --log-tag TAG]   syslog
 *                 [--log-cache FILE [--log-cache-max-size B --log-cache-max-file N --log-cache-compress]]
 *                                           a local-format copy `docker logs` reads (syslog; dockerd's dual logging)
 *                 [--log-mode non-blocking --log-max-buffer BYTES]   see log.h "mode"
 *                 [--dns-netns PATH --dns-config FILE]   create mode: serve the embedded DNS (dns.h) in that netns
 *                 --exit-file FILE --socket PATH --pid-file FILE
 *   All paths should be absolute. berthd spawns the monitor detached (own session, stdin /dev/null, stdout a pipe).
 *
 * STARTUP
 *   The monitor ignores SIGPIPE/SIGHUP/SIGINT, makes itself a child subreaper (so the container's init, or the exec'd
 *   process, is reparented to it when runc exits and it can waitpid() the real exit status), binds the attach socket
 *   (mode 0600) and writes its own pid to "<socket>.pid" (removed again when it exits; used for re-adoption).
 *   create mode: runs `runc --root R --log /dev/null create --bundle B --pid-file P [--console-socket S] ID`.
 *   run mode:    the same with `run --detach` instead of `create`: the container runs at once (one runc process
 *                instead of create + start, i.e. one Go runtime start-up less), but its output is HELD: read and
 *                logged as it comes, yet queued for no client until the first start frame, which answers "started"
 *                and then hands the held output to the clients connected by then. So clients that connect between
 *                the report and the start frame (berthd's attach sessions) see every byte, as with create mode.
 *                The exit is recorded only after that start frame too (a client connecting after the exit would
 *                otherwise find no monitor), or HOLD_AFTER_EXIT_MS after the exit without one (berthd died between
 *                the report and the start frame; the container was then killed by the next start or rm).
 *   exec mode:   nothing is run yet; `runc exec -d` only runs on the client's start frame so no output is lost.
 *   It then writes exactly ONE JSON line on its stdout and closes it (write errors ignored: berthd may be gone):
 *     {"pid":N,"monitorPid":M,"features":[…]}   create / run mode: container init pid
 *     {"monitorPid":M,"features":[…]}           exec mode: ready for the start frame
 *   "features" names the client frames beyond the first protocol that this monitor understands ("signal"); a
 *   monitor without it (an older build, still running a container across a berthd upgrade) must be sent none of
 *   them: it would ignore the frame and never answer.
 *     {"error":"<runc's stderr, trimmed>"}   then it cleans up and exits 1 (2 for usage / setup errors)
 *   runc runs with `--log /dev/null` so that on failure its stderr carries exactly its plain error message.
 *
 * ATTACH SOCKET (unix stream, --socket). Frames both ways: 1 byte type, 4 bytes big-endian payload length, payload.
 *   client -> monitor                          monitor -> client
 *     0 stdin data                               1 stdout data (with a tty all output is stdout)
 *     1 close stdin (tty: sends VEOF, ^D)        2 stderr data
 *     2 resize: u16 rows, u16 cols (BE)          3 started: container/exec pid as decimal text
 *     3 start (create: runc start; run: release  4 exit: exit status as decimal text (code, or 128+signal);
 *              the held output; exec: runc exec -d)  the monitor then closes the connection
 *     4 subscribe: u8 flags, 1 stdout |          5 start error: runc's message
 *              2 stderr (0: control only)        6 signal result: empty when delivered, else why not
 *     5 signal: signal number, decimal text        ("container not running", or strerror of kill(2))
 *              (feature "signal": kill(2) of the init / exec process; answered with frame 6, in order)
 *   Several clients may attach; stdin from any client goes to the container (discarded without --stdin). A client
 *   connecting after the exit gets the exit frame at once. A client may half-close its write side and keep receiving
 *   output. A second start frame after a successful start is answered with "started" to that client only.
 *
 *   Signals. The monitor is the process's parent (subreaper), and its pid cannot be reused before the monitor
 *   reaps it; the reap and the state change happen in one step, so a signal frame handled while the process is
 *   created or running reaches that process and no other (one that already exited, a zombie, is still ours). After
 *   the reap the answer is "container not running". Only the process itself is signalled (runc kill without --all):
 *   berthd uses runc for --all, and for SIGKILL to a container that may be paused (runc thaws the freezer for it).
 *
 *   Subscriptions. A new client receives both output streams, from the moment it connected, until it sends a
 *   subscribe frame; frames a client sent before it was accepted are read at accept time, so a subscribe sent right
 *   after connect() applies before any output reaches it. A control client (flags 0: berthd's exit watcher) gets
 *   only started/exit/start-error frames, so its exit frame never queues behind output.
 *
 * BACK-PRESSURE AND BUFFERS (why no byte is lost and nobody waits on a reader that is gone)
 *   container -> pipe/pty -> monitor: the kernel buffer (pipe 64 KiB, pty a few KiB) fills and the container's
 *     write() blocks while the monitor does not read.
 *   monitor -> log: every byte read is appended to the log before anything else happens to it (blocking write),
 *     so the log is complete whether or not anyone is attached.
 *   monitor -> clients: each client has an unbounded queue of frames. While any output subscriber has 1 MiB or more
 *     queued, the monitor stops reading the container's output, so a slow reader slows the container instead of
 *     losing bytes (as an attached `docker run` does with dockerd). A client that goes away (EOF/HUP/error) is
 *     dropped at once and stops counting, so a detached or dead reader never blocks the container. Control clients
 *     never count.
 *   client -> monitor -> container stdin: at most 1 MiB of stdin is held; beyond it clients are not read, so the
 *     sender's socket fills and it waits.
 *   After the process is reaped the monitor reads what is left in the pipe regardless of slow readers (that is at
 *   most the kernel buffer plus whatever a straggler writes within the drain time; queues may grow to 16 MiB), so
 *   the exit is recorded as soon as the output is drained, never after a queue someone never reads.
 *
 * EXIT
 *   When the init (exec: the process) is reaped, the monitor drains the output (until EOF, at most 1 s; a pty's
 *   last bytes arrive asynchronously), flushes partial log lines, writes the exit file atomically (temp + rename):
 *     {"exitCode":N,"signal":S?,"finishedAt":"RFC3339Nano","oomKilled":B,"pid":P}
 *   (oomKilled: the cgroup's memory.oom_control / memory.events "oom_kill" counter grew since start; create mode
 *   only), sends the exit frame to every client, flushes them (at most 2 s), removes the socket and "<socket>.pid"
 *   and exits 0. It never runs `runc delete` (berthd does, also after a restart; exec processes need none).
 *   exec mode: if `runc exec` fails, clients get frame 5, the exit file gets {"exitCode":-1,"startError":"…",…}.
 *   SIGTERM is honoured only before anything was started (exec mode waiting for start); otherwise ignored, because
 *   a container without its monitor would lose its stdout/stderr.
 *
 * LOG (create mode, --log): the output goes to a log driver inside this process (log.h; json-file: log-jsonfile.c,
 *   rotation: log-file.h), so logging and rotation go on while berthd is down. Every byte read is handed to the log
 *   before anything else happens to it. An exec's output is not logged (as Docker).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "dns.h"
#include "log.h"
#include "util.h"

enum { C_STDIN = 0, C_CLOSE_STDIN = 1, C_RESIZE = 2, C_START = 3, C_SUBSCRIBE = 4, C_SIGNAL = 5 };
enum { SUB_STDOUT = 1, SUB_STDERR = 2, SUB_ALL = 3 };
enum { M_STDOUT = 1, M_STDERR = 2, M_STARTED = 3, M_EXIT = 4, M_START_ERROR = 5, M_SIGNAL_RESULT = 6 };
/* what this build understands beyond the first protocol (see STARTUP) */
#define FEATURES "[\"signal\"]"

#define HDR 5
#define CLIENT_OUT_HIGH (1u << 20) /* queued output for one subscriber that pauses reading the container */
#define DRAIN_OUT_MAX (16u << 20)  /* the same while draining after the exit (see BACK-PRESSURE) */
#define FRAME_IN_MAX (1u << 20)   /* largest accepted client frame */
#define STDIN_MAX (1u << 20)      /* pending stdin; beyond it clients are not read (back-pressure) */
#define MAX_CLIENTS 128
#define DRAIN_MS 1000
#define HOLD_AFTER_EXIT_MS 10000 /* run mode: how long an exited container's record waits for the start frame */
#define LINGER_IDLE_MS 30000 /* after the exit: a client that takes no byte for this long is dropped */
#define READ_CHUNK 65536

struct client {
    int fd;
    int rd_eof;  /* peer shut down its write side */
    int closing; /* close once `out` is flushed */
    int subs;    /* SUB_* output streams this client receives */
    long long progress_ms; /* when it last took bytes (or connected) */
    struct buf in, out;
};

static struct {
    const char *id, *bundle, *runc, *runc_root, *process, *exit_file, *socket, *pid_file, *dns_netns, *dns_config;
    int exec_mode, run_mode, tty, stdin_open;
} o; /* the log options are log_opts (log.h) */

static int sigfd = -1, listen_fd = -1;
static int out_fd = -1, err_fd = -1; /* container stdout/stderr read ends, or the pty master as out_fd */
static int in_fd = -1;               /* container stdin write end (the pty master with a tty) */
static int stdin_closing;
static struct buf stdin_buf;
static struct client *clients[MAX_CLIENTS];
static int nclients;
static char monitor_pid_path[4200];
static char oom_path[4200];
static long long oom_base = -1;
static unsigned short win_rows, win_cols;

enum { ST_IDLE, ST_CREATED, ST_RUNNING, ST_DRAINING, ST_DONE } state = ST_IDLE;
static pid_t cpid;       /* container init / exec process */
static int exit_status;  /* Docker semantics */
static int exit_signal;  /* 0 unless killed by a signal */
static struct timespec finished_at;
static struct timespec deadline;
/* run mode until the first start frame: output frames (header + payload, as sent) queued for the clients */
static int held;
static struct buf held_out;
static long long hold_until_ms; /* after the exit: when the exit is recorded even without a start frame */

/* ---------- small helpers (more in util.h) ---------- */

static int write_file_atomic(const char *path, const char *data, size_t n) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    write_all(fd, data, n);
    close(fd);
    return rename(tmp, path);
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void trim(struct buf *b) {
    while (buf_size(b) > 0 && (unsigned char)b->p[b->len - 1] <= ' ') b->len--;
    while (buf_size(b) > 0 && (unsigned char)buf_data(b)[0] <= ' ') b->off++;
}

/* The one startup report; berthd may be gone, so errors are ignored. */
static void report(const char *json) {
    write_all(1, json, strlen(json));
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, 1);
        dup2(devnull, 2);
        close(devnull);
    }
}

/* The files we made, by inode: a restarted container's new monitor may own the same paths by the time we leave. */
static struct stat socket_st, pid_st;

static void unlink_if_ours(const char *path, const struct stat *ours) {
    struct stat st;
    if (ours->st_ino && lstat(path, &st) == 0 && st.st_ino == ours->st_ino && st.st_dev == ours->st_dev) unlink(path);
}

static void cleanup_paths(void) {
    if (o.socket) unlink_if_ours(o.socket, &socket_st);
    if (monitor_pid_path[0]) unlink_if_ours(monitor_pid_path, &pid_st);
}

static void die_report(int code, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct buf b = {0};
    buf_adds(&b, "{\"error\":");
    json_str(&b, msg, strlen(msg));
    buf_adds(&b, "}\n");
    report(buf_cstr(&b));
    cleanup_paths();
    exit(code);
}

/* ---------- runc invocations ---------- */

/*
 * Runs runc synchronously with the given stdio. Safe to block: runc create/start/exec -d never wait for the
 * container's output to be read. SIGCHLD stays blocked; other children stay zombies for the main loop to reap.
 */
static int run_runc(char *const argv[], int fd0, int fd1, int fd2) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        /* ignored dispositions survive exec: give runc and the container the defaults back */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        umask(022);
        if (dup2(fd0, 0) < 0 || dup2(fd1, 1) < 0 || dup2(fd2, 2) < 0) _exit(127);
        execv(o.runc, argv);
        dprintf(2, "exec %s: %s\n", o.runc, strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void read_available(int fd, struct buf *b) {
    char tmp[4096];
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    for (;;) {
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r > 0) {
            if (buf_size(b) < 65536) buf_add(b, tmp, (size_t)r);
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        break;
    }
    fcntl(fd, F_SETFL, fl);
}

static pid_t read_pid_file(const char *path) {
    char tmp[32] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t r = read(fd, tmp, sizeof tmp - 1);
    close(fd);
    return r > 0 ? (pid_t)atoi(tmp) : -1;
}

static int bind_unix(const char *path, int backlog) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    unlink(path);
    mode_t old = umask(0177); /* socket file mode 0600 */
    int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r < 0 || listen(fd, backlog) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* runc connected to the console socket and sent the pty master with SCM_RIGHTS before it exited. */
static int recv_console(int lfd) {
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) return -1;
    char data[512];
    struct iovec iov = {data, sizeof data};
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
    ssize_t r;
    do r = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    close(c);
    if (r < 0) return -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm), sizeof fd);
            return fd;
        }
    }
    errno = EBADMSG;
    return -1;
}

static void apply_winsize(void) {
    if (!o.tty || out_fd < 0 || (!win_rows && !win_cols)) return;
    struct winsize ws = {.ws_row = win_rows, .ws_col = win_cols};
    ioctl(out_fd, TIOCSWINSZ, &ws);
}

/* "oom_kill N" from memory.oom_control (v1) or memory.events (v2), -1 if unknown. */
static long long read_oom_kills(void) {
    if (!oom_path[0]) return -1;
    FILE *f = fopen(oom_path, "re");
    if (!f) return -1;
    char line[256];
    long long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "oom_kill ", 9) == 0) v = atoll(line + 9);
    fclose(f);
    return v;
}

/* base_zero: the counter's value at the container's start is 0 (run mode: it may have run, even exited, already,
 * in the cgroup runc just made for it) */
static void find_oom_counter(pid_t pid, int base_zero) {
    char p[64], line[4096], v2[4096] = "";
    snprintf(p, sizeof p, "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(p, "re");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        const char *ctrls = c1 + 1, *path = c2 + 1;
        if (strcmp(ctrls, "") == 0 && strncmp(line, "0", 1) == 0) snprintf(v2, sizeof v2, "%s", path);
        for (char *t = strtok((char *)ctrls, ","); t; t = strtok(NULL, ","))
            if (strcmp(t, "memory") == 0) {
                snprintf(oom_path, sizeof oom_path, "/sys/fs/cgroup/memory%s/memory.oom_control", path);
                fclose(f);
                oom_base = base_zero ? 0 : read_oom_kills();
                return;
            }
    }
    fclose(f);
    if (v2[0]) {
        snprintf(oom_path, sizeof oom_path, "/sys/fs/cgroup%s/memory.events", v2);
        oom_base = base_zero ? 0 : read_oom_kills();
    }
}

/* ---------- clients ---------- */

static void client_drop(int i) {
    struct client *c = clients[i];
    close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
    clients[i] = clients[--nclients];
}

static int client_flush(struct client *c) { /* 0 ok, -1 drop */
    while (buf_size(&c->out) > 0) {
        ssize_t w = send(c->fd, buf_data(&c->out), buf_size(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        }
        buf_drop(&c->out, (size_t)w);
        c->progress_ms = mono_ms();
    }
    return 0;
}

/* Queues a frame (never drops: back-pressure bounds the queues, see output_paused). -1 when the client is gone. */
static int client_send(struct client *c, int type, const void *d, size_t n) {
    unsigned char h[HDR] = {(unsigned char)type, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    int was_empty = buf_size(&c->out) == 0;
    buf_add(&c->out, h, HDR);
    buf_add(&c->out, d, n);
    return was_empty ? client_flush(c) : 0; /* write at once when nothing is queued: lower latency */
}

static void broadcast(int type, const void *d, size_t n) {
    int need = type == M_STDOUT ? SUB_STDOUT : type == M_STDERR ? SUB_STDERR : 0;
    for (int i = nclients - 1; i >= 0; i--) {
        struct client *c = clients[i];
        if (c->closing || (need && !(c->subs & need))) continue;
        if (client_send(c, type, d, n) < 0) client_drop(i);
    }
}

/* True while some output subscriber has too much queued: the container's output is then not read. */
static int output_paused(void) {
    size_t high = state == ST_DRAINING ? DRAIN_OUT_MAX : CLIENT_OUT_HIGH;
    if (held && buf_size(&held_out) >= high) return 1;
    for (int i = 0; i < nclients; i++)
        if (clients[i]->subs && !clients[i]->closing && buf_size(&clients[i]->out) >= high) return 1;
    return 0;
}

static void send_exit(struct client *c) {
    char s[16];
    int n = snprintf(s, sizeof s, "%d", exit_status);
    client_send(c, M_EXIT, s, (size_t)n);
    c->closing = 1;
}

/* Returns 0 when the fd hit EOF (and was closed), 1 otherwise. */
static int pump_output(int *fdp, int stream) {
    static char chunk[READ_CHUNK];
    for (int rounds = 0; rounds < 16; rounds++) { /* bounded so other fds get their turn */
        if (output_paused()) return 1;
        ssize_t r = read(*fdp, chunk, sizeof chunk);
        if (r > 0) {
            log_feed(stream, chunk, (size_t)r);
            int type = stream ? M_STDERR : M_STDOUT;
            if (held) {
                unsigned char h[HDR] = {(unsigned char)type, (unsigned char)(r >> 24), (unsigned char)(r >> 16),
                                        (unsigned char)(r >> 8), (unsigned char)r};
                buf_add(&held_out, h, HDR);
                buf_add(&held_out, chunk, (size_t)r);
            } else {
                broadcast(type, chunk, (size_t)r);
            }
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
        /* EOF, or EIO from a pty master whose slave side is closed */
        if (*fdp == in_fd) in_fd = -1;
        close(*fdp);
        *fdp = -1;
        return 0;
    }
    return 1;
}

static void stdin_close_now(void) {
    buf_clear(&stdin_buf);
    stdin_closing = 0;
    if (in_fd < 0) return;
    if (o.tty) {
        /* a pty has no half-close: deliver end-of-file the way a terminal does */
        struct termios t;
        char eof = 4;
        if (tcgetattr(in_fd, &t) == 0 && t.c_cc[VEOF]) eof = (char)t.c_cc[VEOF];
        (void)!write(in_fd, &eof, 1);
    } else {
        close(in_fd);
    }
    in_fd = -1;
}

static void pump_stdin(void) {
    while (in_fd >= 0 && buf_size(&stdin_buf) > 0) {
        ssize_t w = write(in_fd, buf_data(&stdin_buf), buf_size(&stdin_buf));
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            /* EPIPE: the container closed its stdin */
            buf_clear(&stdin_buf);
            if (!o.tty) close(in_fd);
            in_fd = -1;
            return;
        }
        buf_drop(&stdin_buf, (size_t)w);
    }
    /* before an exec's launch there is nothing to close yet: the close waits for it */
    if (stdin_closing && buf_size(&stdin_buf) == 0 && in_fd >= 0) stdin_close_now();
}

/* ---------- exit ---------- */

static void on_container_exit(int st) {
    now_ts(&finished_at);
    if (WIFSIGNALED(st)) {
        exit_signal = WTERMSIG(st);
        exit_status = 128 + exit_signal;
    } else {
        exit_status = WEXITSTATUS(st);
    }
    state = ST_DRAINING;
    hold_until_ms = mono_ms() + HOLD_AFTER_EXIT_MS;
    long long d = mono_ms() + DRAIN_MS;
    deadline.tv_sec = d / 1000;
    deadline.tv_nsec = (d % 1000) * 1000000;
}

static void write_exit_file(const char *start_error) {
    char ts[64];
    fmt_time(&finished_at, ts, sizeof ts);
    struct buf b = {0};
    char num[96];
    snprintf(num, sizeof num, "{\"exitCode\":%d", start_error ? -1 : exit_status);
    buf_adds(&b, num);
    if (exit_signal) {
        snprintf(num, sizeof num, ",\"signal\":%d", exit_signal);
        buf_adds(&b, num);
    }
    buf_adds(&b, ",\"finishedAt\":\"");
    buf_adds(&b, ts);
    buf_adds(&b, "\"");
    long long oom = read_oom_kills();
    buf_adds(&b, oom_base >= 0 && oom > oom_base ? ",\"oomKilled\":true" : ",\"oomKilled\":false");
    snprintf(num, sizeof num, ",\"pid\":%d", (int)cpid);
    buf_adds(&b, num);
    if (start_error) {
        buf_adds(&b, ",\"startError\":");
        json_str(&b, start_error, strlen(start_error));
    }
    buf_adds(&b, "}\n");
    write_file_atomic(o.exit_file, buf_data(&b), buf_size(&b));
    buf_free(&b);
}

/* Exit file, exit frames, then linger until clients are flushed (new clients still get the exit frame). */
static void finish(const char *start_error) {
    log_finish();
    if (in_fd >= 0 && in_fd != out_fd) close(in_fd);
    in_fd = -1;
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    out_fd = err_fd = -1;
    if (!finished_at.tv_sec) now_ts(&finished_at);
    write_exit_file(start_error);
    if (start_error) broadcast(M_START_ERROR, start_error, strlen(start_error));
    for (int i = 0; i < nclients; i++) {
        if (start_error) clients[i]->closing = 1;
        else send_exit(clients[i]);
    }
    state = ST_DONE;
}

/* After the exit: ms until the stalest client's idle time runs out (it is then dropped), -1 with no clients. */
static int linger_ms(void) {
    long long now = mono_ms(), next = -1;
    for (int i = 0; i < nclients; i++) {
        long long left = clients[i]->progress_ms + LINGER_IDLE_MS - now;
        if (left < 0) left = 0;
        if (next < 0 || left < next) next = left;
    }
    return (int)next;
}

/* ---------- start ---------- */

static void make_pipe(int p[2]) {
    if (pipe2(p, O_CLOEXEC) < 0) die_report(2, "pipe: %s", strerror(errno));
}

/*
 * Runs `runc create` (create mode) or `runc exec -d` (exec mode) with the container's stdio. On failure returns -1
 * and puts runc's message into errmsg; on success sets cpid and the stdio fds.
 */
static int launch(struct buf *errmsg) {
    char console_path[4200] = "";
    int console_fd = -1;
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int child_in = devnull, child_out, child_err;
    int inp[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};

    if (o.tty) {
        snprintf(console_path, sizeof console_path, "%s.tty", o.socket);
        console_fd = bind_unix(console_path, 1);
        if (console_fd < 0) {
            buf_adds(errmsg, "console socket ");
            buf_adds(errmsg, console_path);
            buf_adds(errmsg, ": ");
            buf_adds(errmsg, strerror(errno));
            close(devnull);
            return -1;
        }
        make_pipe(errp); /* runc's own messages only: the container's output comes through the pty */
        child_out = child_err = errp[1];
    } else {
        if (o.stdin_open) {
            make_pipe(inp);
            child_in = inp[0];
        }
        make_pipe(outp);
        make_pipe(errp);
        child_out = outp[1];
        child_err = errp[1];
    }

    char *argv[24];
    int a = 0;
    argv[a++] = (char *)o.runc;
    argv[a++] = "--root";
    argv[a++] = (char *)o.runc_root;
    argv[a++] = "--log"; /* keeps logrus off stderr so stderr holds only the plain error message */
    argv[a++] = "/dev/null";
    if (o.exec_mode) {
        argv[a++] = "exec";
        argv[a++] = "-d";
        argv[a++] = "--process";
        argv[a++] = (char *)o.process;
    } else {
        argv[a++] = o.run_mode ? "run" : "create";
        if (o.run_mode) argv[a++] = "--detach";
        argv[a++] = "--bundle";
        argv[a++] = (char *)o.bundle;
    }
    argv[a++] = "--pid-file";
    argv[a++] = (char *)o.pid_file;
    if (o.tty) {
        argv[a++] = "--console-socket";
        argv[a++] = console_path;
    }
    argv[a++] = (char *)o.id;
    argv[a] = NULL;

    unlink(o.pid_file);
    int rc = run_runc(argv, child_in, child_out, child_err);
    close(devnull);
    if (inp[0] >= 0) close(inp[0]);
    if (outp[1] >= 0) close(outp[1]);
    close(errp[1]);

    int ok = rc == 0;
    pid_t pid = ok ? read_pid_file(o.pid_file) : -1;
    if (ok && pid <= 0) {
        ok = 0;
        buf_adds(errmsg, "runc did not write the pid file");
    }
    int master = -1;
    if (ok && o.tty) {
        master = recv_console(console_fd);
        if (master < 0) {
            ok = 0;
            buf_adds(errmsg, "runc did not send the console: ");
            buf_adds(errmsg, strerror(errno));
        }
    }
    if (console_fd >= 0) {
        close(console_fd);
        unlink(console_path);
    }
    if (!ok) {
        if (buf_size(errmsg) == 0) {
            read_available(errp[0], errmsg);
            trim(errmsg);
        }
        if (buf_size(errmsg) == 0) {
            char m[64];
            snprintf(m, sizeof m, "runc exited with status %d", rc);
            buf_adds(errmsg, m);
        }
        close(errp[0]);
        if (outp[0] >= 0) close(outp[0]);
        if (inp[1] >= 0) close(inp[1]);
        if (master >= 0) close(master);
        return -1;
    }

    cpid = pid;
    if (o.tty) {
        close(errp[0]);
        out_fd = master;
        set_nonblock(out_fd);
        if (o.stdin_open) in_fd = out_fd;
        apply_winsize();
    } else {
        if (!o.exec_mode && !o.run_mode) {
            /* the container has not run yet: anything here came from runc itself, not the container */
            struct buf junk = {0};
            read_available(errp[0], &junk);
            buf_free(&junk);
        }
        out_fd = outp[0];
        err_fd = errp[0];
        set_nonblock(out_fd);
        set_nonblock(err_fd);
        if (inp[1] >= 0) {
            in_fd = inp[1];
            set_nonblock(in_fd);
        }
    }
    return 0;
}

static void accept_clients(void);

/*
 * run mode, the first start frame (or the hold's end): "started", then the output held so far, in order, to every
 * client that connected before the frame was sent — those still in the listen backlog are accepted first (create
 * mode gets that from its poll loop, which accepts before it reads any output).
 */
static void release(void) {
    held = 0;
    accept_clients();
    char pidtxt[16];
    int n = snprintf(pidtxt, sizeof pidtxt, "%d", (int)cpid);
    broadcast(M_STARTED, pidtxt, (size_t)n);
    while (buf_size(&held_out) >= HDR) {
        const unsigned char *h = (const unsigned char *)buf_data(&held_out);
        size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
        broadcast(h[0], h + HDR, len);
        buf_drop(&held_out, HDR + len);
    }
    buf_free(&held_out);
}

static void start(struct client *req) {
    char pidtxt[16];
    if (held) {
        release();
        return;
    }
    if (state == ST_RUNNING) { /* idempotent */
        int n = snprintf(pidtxt, sizeof pidtxt, "%d", (int)cpid);
        if (req) client_send(req, M_STARTED, pidtxt, (size_t)n);
        return;
    }
    if (state != ST_IDLE && state != ST_CREATED) return; /* exiting: the exit frame follows */
    struct buf err = {0};
    if (o.exec_mode) {
        if (launch(&err) < 0) {
            finish(buf_cstr(&err));
            buf_free(&err);
            return;
        }
        pump_stdin(); /* stdin (and a close-stdin) that came before start */
    } else {
        char *argv[] = {(char *)o.runc, "--root", (char *)o.runc_root, "--log", "/dev/null",
                        "start",        (char *)o.id, NULL};
        int p[2];
        make_pipe(p);
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        int rc = run_runc(argv, devnull, p[1], p[1]);
        close(devnull);
        close(p[1]);
        if (rc != 0) {
            read_available(p[0], &err);
            trim(&err);
            if (buf_size(&err) == 0) buf_adds(&err, "runc start failed");
            close(p[0]);
            broadcast(M_START_ERROR, buf_data(&err), buf_size(&err));
            buf_free(&err);
            return;
        }
        close(p[0]);
    }
    state = ST_RUNNING;
    int n = snprintf(pidtxt, sizeof pidtxt, "%d", (int)cpid);
    broadcast(M_STARTED, pidtxt, (size_t)n);
    buf_free(&err);
}

/* The signal frame: kill(2) of our own child while it is ours (see "Signals"), answered to the sender. */
static void deliver_signal(struct client *c, const unsigned char *p, size_t n) {
    char text[16];
    const char *why = NULL;
    if (n == 0 || n >= sizeof text) why = "invalid signal";
    else {
        memcpy(text, p, n);
        text[n] = 0;
        char *end;
        long sig = strtol(text, &end, 10);
        if (*end || sig <= 0 || sig > 64) why = "invalid signal";
        else if (cpid <= 0 || (state != ST_CREATED && state != ST_RUNNING)) why = "container not running";
        else if (kill(cpid, (int)sig) < 0) why = errno == ESRCH ? "container not running" : strerror(errno);
    }
    client_send(c, M_SIGNAL_RESULT, why ? why : "", why ? strlen(why) : 0);
}

static void handle_frame(struct client *c, int type, const unsigned char *p, size_t n) {
    switch (type) {
    case C_STDIN:
        /* an exec's process does not exist before start: hold what a client sends early (as runc exec would
         * find it in its stdin pipe), with the close-stdin that may follow it */
        if (o.stdin_open && (in_fd >= 0 || state == ST_IDLE) && !stdin_closing) {
            buf_add(&stdin_buf, p, n);
            pump_stdin();
        }
        break;
    case C_CLOSE_STDIN:
        stdin_closing = 1;
        pump_stdin();
        break;
    case C_RESIZE:
        if (n >= 4) {
            win_rows = (unsigned short)(p[0] << 8 | p[1]);
            win_cols = (unsigned short)(p[2] << 8 | p[3]);
            apply_winsize();
        }
        break;
    case C_START:
        start(c);
        break;
    case C_SUBSCRIBE:
        if (n >= 1) c->subs = p[0] & SUB_ALL;
        break;
    case C_SIGNAL:
        deliver_signal(c, p, n);
        break;
    default:
        break; /* unknown frames are ignored so the protocol can grow */
    }
}

/* Returns -1 when the client must be dropped. */
static int client_read(struct client *c) {
    char tmp[65536];
    ssize_t r = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
    if (r < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    if (r == 0) {
        c->rd_eof = 1; /* half-close: keep sending output */
        return 0;
    }
    buf_add(&c->in, tmp, (size_t)r);
    while (buf_size(&c->in) >= HDR) {
        const unsigned char *h = (const unsigned char *)buf_data(&c->in);
        size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
        if (len > FRAME_IN_MAX) return -1;
        if (buf_size(&c->in) < HDR + len) break;
        handle_frame(c, h[0], h + HDR, len);
        buf_drop(&c->in, HDR + len);
        if (state == ST_DONE) break; /* start failed in exec mode: nothing more to do */
    }
    return 0;
}

static void accept_clients(void) {
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) return;
        if (nclients == MAX_CLIENTS) {
            close(fd);
            continue;
        }
        struct client *c = calloc(1, sizeof *c);
        if (!c) abort();
        c->fd = fd;
        c->subs = SUB_ALL;
        c->progress_ms = mono_ms();
        clients[nclients++] = c;
        if (state == ST_DONE) {
            send_exit(c);
            continue;
        }
        /* a subscribe frame sent right after connect() must apply before any output is broadcast */
        if (client_read(c) < 0) /* reading may have dropped others (a failed start): find it again */
            for (int i = 0; i < nclients; i++)
                if (clients[i] == c) {
                    client_drop(i);
                    break;
                }
    }
}

static void reap(void) {
    struct signalfd_siginfo si;
    int term = 0;
    while (read(sigfd, &si, sizeof si) == sizeof si)
        if (si.ssi_signo == SIGTERM) term = 1;
    if (term && o.exec_mode && state == ST_IDLE) {
        cleanup_paths();
        exit(0);
    }
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p <= 0) return;
        if (p == cpid && cpid > 0 && (state == ST_CREATED || state == ST_RUNNING)) on_container_exit(st);
        /* anything else (runc's intermediate processes, orphans) is just reaped */
    }
}

static int deadline_ms(void) {
    long long d = (long long)deadline.tv_sec * 1000 + deadline.tv_nsec / 1000000 - mono_ms();
    return d < 0 ? 0 : (int)d;
}

static void usage(void) {
    fprintf(stderr, "usage: berth-monitor --id ID --bundle DIR --runc PATH --runc-root DIR --mode create|run|exec "
                    "[--process FILE] [--tty] [--stdin] [--log FILE] --exit-file FILE --socket PATH --pid-file FILE\n");
}

int main(int argc, char **argv) {
    static const struct option lo[] = {
        {"id", 1, 0, 'i'},        {"bundle", 1, 0, 'b'},    {"runc", 1, 0, 'r'}, {"runc-root", 1, 0, 'R'},
        {"mode", 1, 0, 'm'},      {"process", 1, 0, 'p'},   {"tty", 0, 0, 't'},  {"stdin", 0, 0, 's'},
        {"log", 1, 0, 'l'},       {"exit-file", 1, 0, 'e'}, {"socket", 1, 0, 'S'}, {"pid-file", 1, 0, 'P'},
        {"log-max-size", 1, 0, 'M'}, {"log-max-file", 1, 0, 'F'}, {"log-compress", 0, 0, 'z'}, {"log-attrs", 1, 0, 'A'},
        {"log-driver", 1, 0, 'D'}, {"log-tag", 1, 0, 'T'}, {"log-mode", 1, 0, 'O'}, {"log-max-buffer", 1, 0, 'B'},
        {"syslog-address", 1, 0, 'Y'}, {"syslog-facility", 1, 0, 'Q'}, {"syslog-format", 1, 0, 'W'},
        {"log-cache", 1, 0, 'c'}, {"log-cache-max-size", 1, 0, 'x'}, {"log-cache-max-file", 1, 0, 'X'},
        {"log-cache-compress", 0, 0, 'Z'},
        {"dns-netns", 1, 0, 'N'}, {"dns-config", 1, 0, 'K'},
        {"help", 0, 0, 'h'},      {0, 0, 0, 0}};
    const char *mode = "create";
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'i': o.id = optarg; break;
        case 'b': o.bundle = optarg; break;
        case 'r': o.runc = optarg; break;
        case 'R': o.runc_root = optarg; break;
        case 'm': mode = optarg; break;
        case 'p': o.process = optarg; break;
        case 't': o.tty = 1; break;
        case 's': o.stdin_open = 1; break;
        case 'l': log_opts.path = optarg; break;
        case 'M': log_opts.max_size = atoll(optarg); break;
        case 'F': log_opts.max_file = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'z': log_opts.compress = 1; break;
        case 'A': log_opts.attrs = optarg[0] ? optarg : NULL; break;
        case 'D': log_opts.driver = optarg; break;
        case 'T': log_opts.tag = optarg; break;
        case 'O': log_opts.nonblocking = strcmp(optarg, "non-blocking") == 0; break;
        case 'B': log_opts.max_buffer = atoll(optarg) > 0 ? atoll(optarg) : 1 << 20; break;
        case 'Y': log_opts.syslog_address = optarg; break;
        case 'Q': log_opts.syslog_facility = atoi(optarg); break;
        case 'W': log_opts.syslog_format = optarg; break;
        case 'c': log_opts.cache_path = optarg; break;
        case 'x': log_opts.cache_max_size = atoll(optarg); break;
        case 'X': log_opts.cache_max_file = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'Z': log_opts.cache_compress = 1; break;
        case 'e': o.exit_file = optarg; break;
        case 'S': o.socket = optarg; break;
        case 'P': o.pid_file = optarg; break;
        case 'N': o.dns_netns = optarg; break;
        case 'K': o.dns_config = optarg; break;
        case 'h': usage(); return 0;
        default: usage(); die_report(2, "invalid arguments");
        }
    }
    o.exec_mode = strcmp(mode, "exec") == 0;
    o.run_mode = strcmp(mode, "run") == 0;
    if (!o.exec_mode && !o.run_mode && strcmp(mode, "create") != 0) die_report(2, "--mode must be create, run or exec");
    if (!o.id || !o.runc || !o.runc_root || !o.exit_file || !o.socket || !o.pid_file ||
        (o.exec_mode ? !o.process : !o.bundle))
        die_report(2, "missing required arguments (--id --runc --runc-root --exit-file --socket --pid-file and "
                      "--bundle for create / --process for exec)");

    /* nothing from berthd's fd table may keep pipes or sockets alive */
    close_range(3, ~0U, 0);

    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    if (getsid(0) != getpid()) setsid(); /* berthd spawns us detached already; be safe when run by hand */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) die_report(2, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0) die_report(2, "signalfd: %s", strerror(errno));

    listen_fd = bind_unix(o.socket, 16);
    if (listen_fd < 0) die_report(2, "attach socket %s: %s", o.socket, strerror(errno));
    lstat(o.socket, &socket_st);
    snprintf(monitor_pid_path, sizeof monitor_pid_path, "%s.pid", o.socket);
    char pidtxt[32];
    int pl = snprintf(pidtxt, sizeof pidtxt, "%d\n", (int)getpid());
    if (write_file_atomic(monitor_pid_path, pidtxt, (size_t)pl) < 0) {
        monitor_pid_path[0] = 0;
        die_report(2, "%s.pid: %s", o.socket, strerror(errno));
    }
    lstat(monitor_pid_path, &pid_st);

    if (o.exec_mode) log_opts.driver = "none"; /* an exec's output is not logged (as Docker) */
    char log_err[1024];
    /* "log driver: " tells berthd the message is the driver's own (dockerd's wording), not runc's */
    if (log_start(log_err, sizeof log_err) < 0) die_report(2, "log driver: %s", log_err);

    char line[128];
    if (o.exec_mode) {
        snprintf(line, sizeof line, "{\"monitorPid\":%d,\"features\":" FEATURES "}\n", (int)getpid());
    } else {
        struct buf err = {0};
        /* before the container exists, so its first query finds the server; without it the container still runs */
        char dns_err[512];
        if (o.dns_netns && o.dns_config && dns_open(o.dns_netns, o.dns_config, dns_err, sizeof dns_err) < 0)
            fprintf(stderr, "berth-monitor: %s\n", dns_err);
        if (launch(&err) < 0) die_report(1, "%s", buf_cstr(&err));
        state = o.run_mode ? ST_RUNNING : ST_CREATED;
        held = o.run_mode;
        find_oom_counter(cpid, o.run_mode);
        snprintf(line, sizeof line, "{\"pid\":%d,\"monitorPid\":%d,\"features\":" FEATURES "}\n", (int)cpid,
                 (int)getpid());
    }
    report(line);

    struct pollfd pf[MAX_CLIENTS + 8 + DNS_MAX_FDS];
    for (;;) {
        int drained = state == ST_DRAINING && ((out_fd < 0 && err_fd < 0) || deadline_ms() == 0);
        if (drained && held && mono_ms() >= hold_until_ms) release();
        if (drained && !held) finish(NULL);
        for (int i = nclients - 1; i >= 0; i--) /* finished clients: their exit frame is out */
            if (clients[i]->closing && buf_size(&clients[i]->out) == 0) client_drop(i);
        if (state == ST_DONE) {
            for (int i = nclients - 1; i >= 0; i--) /* a reader that stopped reading does not keep us forever */
                if (mono_ms() - clients[i]->progress_ms >= LINGER_IDLE_MS) client_drop(i);
            if (nclients == 0) break;
        }

        int n = 0, i_sig, i_lis, i_out = -1, i_err = -1, i_in = -1, i_cl = 0;
        pf[i_sig = n++] = (struct pollfd){sigfd, POLLIN, 0};
        pf[i_lis = n++] = (struct pollfd){listen_fd, POLLIN, 0};
        int paused = output_paused();
        if (out_fd >= 0 && !paused) pf[i_out = n++] = (struct pollfd){out_fd, POLLIN, 0};
        if (err_fd >= 0 && !paused) pf[i_err = n++] = (struct pollfd){err_fd, POLLIN, 0};
        if (in_fd >= 0 && buf_size(&stdin_buf) > 0) pf[i_in = n++] = (struct pollfd){in_fd, POLLOUT, 0};
        i_cl = n;
        int stdin_full = buf_size(&stdin_buf) >= STDIN_MAX;
        for (int i = 0; i < nclients; i++) {
            struct client *c = clients[i];
            short ev = 0;
            if (!c->rd_eof && !c->closing && !stdin_full) ev |= POLLIN;
            if (buf_size(&c->out) > 0) ev |= POLLOUT;
            pf[n++] = (struct pollfd){c->fd, ev, 0};
        }
        int i_dns = n;
        n += dns_poll_fill(pf + n);
        int timeout = state == ST_DRAINING ? deadline_ms() : state == ST_DONE ? linger_ms() : -1;
        if (drained && held) { /* waiting for the start frame */
            long long left = hold_until_ms - mono_ms();
            timeout = left < 0 ? 0 : (int)left;
        }
        int dns_t = dns_timeout_ms();
        if (dns_t >= 0 && (timeout < 0 || dns_t < timeout)) timeout = dns_t;
        int r = poll(pf, (nfds_t)n, timeout);
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (pf[i_sig].revents) reap();
        /* new clients first: their subscriptions must be in place before this round's output is broadcast */
        if (pf[i_lis].revents) accept_clients();
        if (i_out >= 0 && pf[i_out].revents && out_fd >= 0) pump_output(&out_fd, 0);
        if (i_err >= 0 && pf[i_err].revents && err_fd >= 0) pump_output(&err_fd, 1);
        if (i_in >= 0 && pf[i_in].revents && in_fd >= 0) pump_stdin();
        /* clients: walk backwards over the snapshot so drops (which move the last entry) stay consistent */
        dns_poll_handle(pf + i_dns, n - i_dns);
        int snap = i_dns - i_cl;
        for (int k = snap - 1; k >= 0; k--) {
            struct pollfd *p = &pf[i_cl + k];
            if (!p->revents || k >= nclients || clients[k]->fd != p->fd) continue;
            struct client *c = clients[k];
            int drop = 0;
            if ((p->revents & POLLIN) && !c->closing && client_read(c) < 0) drop = 1;
            if (!drop && (p->revents & (POLLOUT | POLLERR | POLLHUP)) && client_flush(c) < 0) drop = 1;
            if (!drop && (p->revents & (POLLERR | POLLHUP)) && !(p->revents & POLLIN)) drop = 1;
            if (!drop && c->closing && buf_size(&c->out) == 0) drop = 1;
            if (drop) client_drop(k);
        }
    }
    cleanup_paths();
    return 0;
}
