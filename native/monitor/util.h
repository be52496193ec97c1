/* Small helpers shared by the monitor and its log drivers. */
#ifndef BERTH_MONITOR_UTIL_H
#define BERTH_MONITOR_UTIL_H
#include <stddef.h>
#include <time.h>
#include "buf.h"

void now_ts(struct timespec *ts);
long long mono_ms(void);
/* Go's time.RFC3339Nano in UTC: fraction with trailing zeros trimmed. */
void fmt_time(const struct timespec *ts, char *out, size_t n);
/* Length of a valid UTF-8 sequence at s (same acceptance as Go's utf8.DecodeRune), 0 if invalid. */
size_t utf8_len(const unsigned char *s, size_t n);
/* A JSON string exactly as Go's encoding/json writes it with HTML escaping (moby's jsonlog). */
void json_str(struct buf *b, const char *d, size_t n);
/* Writes everything to a blocking fd; 0, or -1 with errno (ENOSPC, EPIPE, …) and what was written is gone. */
int write_all(int fd, const char *d, size_t n);
/* errno text as Go's syscall package words it ("connection refused"): dockerd's messages carry it. */
const char *go_strerror(int e);

#endif
