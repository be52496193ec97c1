/*
 * A log file with Docker's rotation (max-size / max-file / compress), shared by the file drivers.
 *
 * Before a write that would take the file past max_size (and the file is not empty), PATH is rotated: with
 * max_file 1 it is truncated; otherwise PATH.(N-2) … PATH.1 move up one (the oldest, PATH.(N-1), is replaced),
 * PATH becomes PATH.1 by rename (atomic: readers holding it open keep reading it to its end) and a new PATH is
 * created. Writes are whole records, so no record is ever split between files. With compress, PATH.1 is gzip'd
 * into PATH.1.gz (temp file + rename) right after the rotation and the rotated names carry .gz.
 */
#ifndef BERTH_MONITOR_LOG_FILE_H
#define BERTH_MONITOR_LOG_FILE_H
#include <stddef.h>

struct log_file {
    const char *path;
    long long max_size; /* 0: one growing file */
    int max_file, compress;
    int fd;
    long long size; /* bytes in the current file */
};

/* Opens (appends to) path. 0, or -1 with errno. */
int log_file_open(struct log_file *f);
/* Appends nrec whole records (record i ends at ends[i]), rotating between records. */
void log_file_write(struct log_file *f, const char *d, const size_t *ends, size_t nrec);
void log_file_close(struct log_file *f);

#endif
