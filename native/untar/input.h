/*
 * berth-untar's input: the layer bytes from a file descriptor, gunzipped when they are gzip (several members are
 * read as one stream, as Node's gunzip does), and hashed with sha256 as they come out uncompressed (the diffID).
 */
#ifndef BERTH_UNTAR_INPUT_H
#define BERTH_UNTAR_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#define INPUT_CHUNK (256 * 1024)

struct input {
  int fd;
  int gzip;
  int in_member; /* inside a gzip member (its end not seen yet) */
  int raw_eof;   /* the descriptor reached its end */
  int finished;  /* no more uncompressed bytes */
  z_stream z;
  unsigned char *raw;
  unsigned char *out;
  size_t pos, len; /* unread uncompressed bytes: out[pos..len) */
  void *sha;       /* EVP_MD_CTX */
  uint64_t total;  /* uncompressed bytes hashed */
  /* sees every uncompressed byte once, in order, as it is consumed; content: set by the reader of a file body */
  void (*tap)(const unsigned char *p, size_t n, int content);
  int content;
};

/* Sniffs the compression (plain tar or gzip; others fail with the JS applier's wording) and starts hashing. */
void input_open(struct input *in, int fd);
/* Up to max bytes (at least one) at *p, consumed; 0 at the end of the uncompressed stream. */
size_t input_some(struct input *in, size_t max, const unsigned char **p);
/* Exactly n bytes into dst: 1; 0 when the stream ended before the first byte; fails when it ends in between. */
int input_exact(struct input *in, void *dst, size_t n);
/* Skips up to n bytes; returns how many (fewer only at the end). */
uint64_t input_skip(struct input *in, uint64_t n);
/* Reads (and hashes) everything left. */
void input_drain(struct input *in);
/* "sha256:<hex>" of every uncompressed byte; after input_drain. */
void input_digest(struct input *in, char out[72]);

#endif
