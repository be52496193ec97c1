/* Small helpers shared by the monitor and its log drivers (see util.h). */
#define _GNU_SOURCE
#include "util.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void now_ts(struct timespec *ts) { clock_gettime(CLOCK_REALTIME, ts); }
long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Go's time.RFC3339Nano in UTC: fraction with trailing zeros trimmed. */
void fmt_time(const struct timespec *ts, char *out, size_t n) {
    struct tm tm;
    time_t s = ts->tv_sec;
    gmtime_r(&s, &tm);
    char frac[16] = "";
    if (ts->tv_nsec) {
        snprintf(frac, sizeof frac, ".%09ld", ts->tv_nsec);
        size_t l = strlen(frac);
        while (frac[l - 1] == '0') frac[--l] = 0;
    }
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, frac);
}

/* Length of a valid UTF-8 sequence at s (same acceptance as Go's utf8.DecodeRune), 0 if invalid. */
size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0xC2 || c > 0xF4) return 0;
    if (c < 0xE0) return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;
    else if (c == 0xED) hi = 0x9F; /* no surrogates */
    else if (c == 0xF0) lo = 0x90;
    else if (c == 0xF4) hi = 0x8F;
    if (n < 2 || s[1] < lo || s[1] > hi) return 0;
    if (c < 0xF0) return (n >= 3 && (s[2] & 0xC0) == 0x80) ? 3 : 0;
    return (n >= 4 && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80) ? 4 : 0;
}

/* JSON string exactly as moby's jsonlog writes it (Go encoding/json with HTML escaping). */
void json_str(struct buf *b, const char *d, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)d;
    size_t i = 0, start = 0;
    buf_addc(b, '"');
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c >= 0x20 && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&') {
                i++;
                continue;
            }
            buf_add(b, s + start, i - start);
            if (c == '\\' || c == '"') {
                buf_addc(b, '\\');
                buf_addc(b, (char)c);
            } else if (c == '\n') buf_adds(b, "\\n");
            else if (c == '\r') buf_adds(b, "\\r");
            else {
                char e[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                buf_adds(b, e);
            }
            start = ++i;
            continue;
        }
        size_t l = utf8_len(s + i, n - i);
        if (l == 0) {
            buf_add(b, s + start, i - start);
            buf_adds(b, "\\ufffd");
            start = ++i;
            continue;
        }
        if (l == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            buf_add(b, s + start, i - start);
            buf_adds(b, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            start = i + 3;
        }
        i += l;
    }
    buf_add(b, s + start, n - start);
    buf_addc(b, '"');
}

int write_all(int fd, const char *d, size_t n) { /* blocking fds only */
    while (n > 0) {
        ssize_t w = write(fd, d, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        d += w;
        n -= (size_t)w;
    }
    return 0;
}

const char *go_strerror(int e) {
    static char s[128];
    snprintf(s, sizeof s, "%s", strerror(e));
    if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z')) s[0] = (char)(s[0] - 'A' + 'a');
    return s;
}
