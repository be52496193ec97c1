/*
 * berth-untar's applier: one tar entry at a time into the layer root, with the rules of
 * src/pkg/archive/apply-layer.ts (its module comment defines root, whiteouts, the whiteouts modes and the safety
 * rules; the wording of every error is the same).
 *
 * How the rules are kept here:
 * - names are normalised lexically; a '..' above root fails with "invalid tar entry: <name> escapes the layer root";
 * - parent directories are walked one component at a time (as pkg/securejoin): a symlink met on the way is replaced
 *   by its target inside root (absolute targets from root, '..' stops at root, 40 expansions), a missing directory is
 *   created 0755 — so a dangling link's target appears inside root, as with the JS applier. The walk yields a
 *   symlink-free key; the key's directory is then opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so
 *   even a tree changed behind the walk's back cannot lead the open outside root;
 * - the final component is created relative to that directory descriptor and never followed (O_EXCL|O_NOFOLLOW,
 *   *at calls with AT_SYMLINK_NOFOLLOW); an existing entry there is replaced (a directory kept for a directory).
 */
#ifndef BERTH_UNTAR_APPLY_H
#define BERTH_UNTAR_APPLY_H

#include <stdint.h>

#include "tar.h"

enum whiteouts { WH_OVERLAY, WH_NONE };

/* Opens root (already a real path) for applying; fails when it is not a directory. */
void apply_open(const char *root, enum whiteouts mode);
/* Applies t->cur (reading its body from t). */
void apply_entry(struct tar *t);
/* Directory permissions and mtimes, after their contents are in place. */
void apply_finish(void);
/* Bytes of regular-file content (header sizes of file entries). */
uint64_t apply_size(void);

#endif
