/* A rotated log file (see log-file.h). */
#define _GNU_SOURCE
#include "log-file.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "util.h"

int log_file_open(struct log_file *f) {
    f->fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    struct stat st;
    f->size = f->fd >= 0 && fstat(f->fd, &st) == 0 ? (long long)st.st_size : 0;
    return f->fd < 0 ? -1 : 0;
}

void log_file_close(struct log_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}

/* gzip SRC into DST (temp + rename), then remove SRC. On failure SRC stays as it is: nothing is lost. */
static void gzip_file(const char *src, const char *dst) {
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return;
    gzFile gz = gzopen(tmp, "wb1") /* dockerd compresses with gzip.BestSpeed */;
    int ok = gz != NULL;
    static char chunk[65536];
    ssize_t r;
    while (ok && (r = read(in, chunk, sizeof chunk)) > 0)
        if (gzwrite(gz, chunk, (unsigned)r) != (int)r) ok = 0;
    close(in);
    if (gz && gzclose(gz) != Z_OK) ok = 0;
    if (ok && rename(tmp, dst) == 0) unlink(src);
    else unlink(tmp);
}

static void rotate(struct log_file *f) {
    if (f->max_file <= 1) { /* nowhere to keep the old lines: start the file again */
        if (ftruncate(f->fd, 0) == 0) f->size = 0;
        return;
    }
    const char *ext = f->compress ? ".gz" : "";
    char from[4200], to[4200];
    for (int i = f->max_file - 1; i >= 2; i--) {
        snprintf(from, sizeof from, "%s.%d%s", f->path, i - 1, ext);
        snprintf(to, sizeof to, "%s.%d%s", f->path, i, ext);
        rename(from, to); /* ENOENT while there are fewer files yet */
    }
    snprintf(to, sizeof to, "%s.1", f->path);
    if (rename(f->path, to) < 0) return; /* keep writing where we are rather than lose lines */
    close(f->fd);
    log_file_open(f);
    if (f->compress) {
        snprintf(from, sizeof from, "%s.1.gz", f->path);
        gzip_file(to, from);
    }
}

void log_file_write(struct log_file *f, const char *d, const size_t *ends, size_t nrec) {
    if (f->fd < 0 || nrec == 0) return;
    if (f->max_size <= 0) { /* one write per batch: few syscalls */
        write_all(f->fd, d, ends[nrec - 1]);
        f->size += (long long)ends[nrec - 1];
        return;
    }
    size_t start = 0, k = 0;
    while (k < nrec) {
        size_t j = k; /* the longest run of whole records that still fits */
        while (j < nrec && !(f->size + (long long)(ends[j] - start) > f->max_size && (j > k || f->size > 0))) j++;
        if (j == k) { /* the file is full: rotate, then the next record fits (or is alone in its file) */
            rotate(f);
            if (f->fd < 0) return;
            if (f->size > 0) j = k + 1; /* rotation failed: write anyway */
            else continue;
        }
        size_t end = ends[j - 1];
        write_all(f->fd, d + start, end - start);
        f->size += (long long)(end - start);
        start = end;
        k = j;
    }
}
