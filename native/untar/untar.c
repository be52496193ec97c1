/*
 * berth-untar: applies one layer tar (plain or gzip) read from stdin to a directory, as berthd's
 * src/pkg/archive/apply-layer.ts does, and reports the layer's diffID.
 *
 *   berth-untar ROOT overlay|none [SPLIT BLOB] < layer
 *
 * ROOT is a real path (no symlinks), overlay|none the whiteouts mode (apply.h). The input is read to its end: the
 * diffID is the sha256 of every uncompressed byte, end-of-archive blocks and anything after them included.
 * Result, one JSON line on stdout: {"diffID":"sha256:…","size":N} and exit 0, or {"error":"…","code":"…"} and exit 1
 * (the message is the JavaScript applier's for the same failure).
 * With SPLIT and BLOB (two paths it creates) it also records the layer's tar split (split.h) and adds
 * "splitClean":true — the split rebuilds the layer, BLOB is empty — or "splitClean":false,"splitWhy":"…" — BLOB holds
 * the whole layer tar.
 *
 * berthd spawns one per layer (pkg/archive/native-untar.ts): the extraction's buffers and work stay out of the
 * daemon, two layers use two cores, and a layer that fails or is cancelled ends with its process.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "input.h"
#include "split.h"
#include "tar.h"
#include "util.h"

int main(int argc, char **argv) {
  if ((argc != 3 && argc != 5) || (strcmp(argv[2], "overlay") && strcmp(argv[2], "none"))) {
    fprintf(stderr, "usage: berth-untar ROOT overlay|none [SPLIT BLOB] < layer\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  apply_open(argv[1], strcmp(argv[2], "overlay") ? WH_NONE : WH_OVERLAY);
  if (argc == 5) split_open(argv[1], argv[3], argv[4]);
  struct input in;
  input_open(&in, 0);
  if (split_enabled()) in.tap = split_bytes;
  struct tar t = {.in = &in};
  while (tar_next(&t)) apply_entry(&t);
  input_drain(&in);
  apply_finish();
  split_finish();
  char digest[72];
  input_digest(&in, digest);
  char *split = NULL, *why = NULL;
  size_t wl = 0;
  if (split_unclean()) json_quote(split_unclean(), strlen(split_unclean()), &why, &wl);
  if (asprintf(&split, !split_enabled() ? "" : why ? ",\"splitClean\":false,\"splitWhy\":%s" : ",\"splitClean\":true", why) < 0) return 1;
  char *line = NULL;
  int n = asprintf(&line, "{\"diffID\":\"%s\",\"size\":%llu%s}\n", digest, (unsigned long long)apply_size(), split);
  if (n < 0 || write(1, line, (size_t)n) != n) return 1;
  return 0;
}
