/* berth-untar's applier (see apply.h for the rules and how they are kept). */
#define _GNU_SOURCE
#include "apply.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "split.h"
#include "util.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define MAX_SYMLINKS 40

static int rootfd = -1;
static const char *root_path;
static enum whiteouts wh_mode;
static int is_root;
static uid_t my_uid;
static gid_t my_gid;
static mode_t umask_bits;
static uint64_t total_size;

/* keys (root-relative, symlink-free) known to be real directories */
static struct strset dirs;
/* keys of everything this layer created: its own whiteouts never delete them */
static struct strset created;

/* directory metadata applied at the end, after their contents are in place */
struct dir_meta {
  char *key;
  unsigned mode;
  int64_t mtime_ms;
  int dropped;
};
static struct dir_meta *metas;
static size_t nmetas, capmetas;

/* the descriptor of the last parent directory used (entries of one directory usually come together) */
static struct {
  char *key;
  int fd;
  int setgid;
} parent_cache = {NULL, -1, 0};

uint64_t apply_size(void) { return total_size; }

static char *abs_of(const char *key) {
  if (!*key) return xstrdup(root_path);
  return path_join(root_path, key);
}

/* /proc/self/fd/<dirfd>/<base>: a path for calls that have no *at form (l*xattr), through the directory's descriptor */
static char *fd_path(int dirfd, const char *base) {
  char *p = NULL;
  if (asprintf(&p, base ? "/proc/self/fd/%d/%s" : "/proc/self/fd/%d", dirfd, base) < 0) fail("ENOMEM", "berth-untar: out of memory");
  return p;
}

/* openat2 below root: symlinks (if any are met) resolve inside root, magic links never */
static int open_in_root(const char *key, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  for (;;) {
    long fd = syscall(SYS_openat2, rootfd, *key ? key : ".", &how, sizeof how);
    if (fd >= 0) return (int)fd;
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

void apply_open(const char *root, enum whiteouts mode) {
  root_path = root;
  wh_mode = mode;
  rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) {
    if (errno == ENOTDIR) fail(NULL, "apply layer: %s is not a directory", root);
    fail_fs(errno, "open", root);
  }
  is_root = geteuid() == 0;
  my_uid = geteuid();
  my_gid = getegid();
  umask_bits = umask(0);
  umask(umask_bits);
}

static struct timespec ts_of(int64_t ms) {
  int64_t s = ms / 1000, r = ms % 1000;
  if (r < 0) r += 1000, s -= 1;
  return (struct timespec){.tv_sec = s, .tv_nsec = r * 1000000};
}

/* ---- names and the walk ---------------------------------------------------------------------------------------- */

static int starts_with(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

/* Splits an entry name into safe components (apply-layer.ts normalizeEntryName). */
static struct strv normalize(const char *name) {
  struct strv parts = {0};
  const char *s = name;
  while (*s) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 0 || (n == 1 && s[0] == '.')) {
    } else if (n == 2 && s[0] == '.' && s[1] == '.') {
      if (!parts.n) fail(NULL, "invalid tar entry: %s escapes the layer root", name);
      free(strv_pop(&parts));
    } else strv_push(&parts, xstrndup(s, n));
    s += n;
    if (*s == '/') s++;
  }
  return parts;
}

static void split_key(const char *key, char **parent, const char **base) {
  const char *slash = strrchr(key, '/');
  *parent = slash ? xstrndup(key, (size_t)(slash - key)) : xstrdup("");
  *base = slash ? slash + 1 : key;
}

/* What the walk found at a symlink-free key: a directory (made if missing) or a symlink's target (returned). */
static char *lookup(const char *key) {
  if (strset_has(&dirs, key)) return NULL;
  char *parent;
  const char *base;
  split_key(key, &parent, &base);
  int pfd = open_in_root(parent, O_PATH | O_DIRECTORY);
  if (pfd < 0) fail_fs(errno, "lstat", abs_of(key));
  struct stat st;
  char *target = NULL;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno != ENOENT) fail_fs(errno, "lstat", abs_of(key));
    if (mkdirat(pfd, base, 0755) < 0) fail_fs(errno, "mkdir", abs_of(key));
    strset_add(&dirs, key);
  } else if (S_ISDIR(st.st_mode)) {
    strset_add(&dirs, key);
  } else if (S_ISLNK(st.st_mode)) {
    size_t cap = (size_t)st.st_size + 1 > 256 ? (size_t)st.st_size + 1 : 256;
    for (;;) {
      target = xmalloc(cap);
      ssize_t n = readlinkat(pfd, base, target, cap);
      if (n < 0) fail_fs(errno, "readlink", abs_of(key));
      if ((size_t)n < cap) {
        target[n] = 0;
        break;
      }
      free(target);
      cap *= 2;
    }
  } else {
    fail(NULL, "apply layer: %s is not a directory", key);
  }
  close(pfd);
  free(parent);
  return target;
}

/* Resolves directory components (the first n of parts) to a symlink-free key inside root (pkg/securejoin's walk). */
static char *resolve_dir(const struct strv *parts, size_t n) {
  struct strv todo = {0}, cur = {0};
  for (size_t i = n; i > 0; i--) strv_push(&todo, xstrdup(parts->v[i - 1]));
  int links = 0;
  char *c;
  while ((c = strv_pop(&todo))) {
    if (!strcmp(c, "..")) {
      free(strv_pop(&cur));
      free(c);
      continue;
    }
    strv_push(&cur, c);
    char *key = strv_join(&cur, cur.n);
    char *target = lookup(key);
    if (target) {
      free(strv_pop(&cur));
      if (++links > MAX_SYMLINKS) fail("ELOOP", "apply layer: too many levels of symbolic links at %s", key);
      if (target[0] == '/') strv_free(&cur);
      /* the target's components go first, in order */
      struct strv comps = {0};
      for (char *s = target; *s;) {
        char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len && !(len == 1 && s[0] == '.')) strv_push(&comps, xstrndup(s, len));
        s += len;
        if (*s == '/') s++;
      }
      while (comps.n) strv_push(&todo, strv_pop(&comps));
      strv_free(&comps);
      free(target);
    }
    free(key);
  }
  char *out = strv_join(&cur, cur.n);
  strv_free(&cur);
  strv_free(&todo);
  return out;
}

/* The (cached) descriptor of the directory at a symlink-free key. */
static int parent_fd(const char *key, int *setgid) {
  if (parent_cache.key && !strcmp(parent_cache.key, key)) {
    if (setgid) *setgid = parent_cache.setgid;
    return parent_cache.fd;
  }
  if (parent_cache.key) {
    close(parent_cache.fd);
    free(parent_cache.key);
    parent_cache.key = NULL;
  }
  int fd = open_in_root(key, O_PATH | O_DIRECTORY);
  if (fd < 0) fail_fs(errno, "open", abs_of(key));
  struct stat st;
  if (fstat(fd, &st) < 0) fail_fs(errno, "fstat", abs_of(key));
  parent_cache.key = xstrdup(key);
  parent_cache.fd = fd;
  parent_cache.setgid = (st.st_mode & S_ISGID) != 0;
  if (setgid) *setgid = parent_cache.setgid;
  return fd;
}

/* ---- removing ---------------------------------------------------------------------------------------------------- */

static int below_or_at(const char *k, const char *key) {
  size_t n = strlen(key);
  return !strncmp(k, key, n) && (k[n] == 0 || k[n] == '/');
}

static void remove_tree(int dirfd, const char *name, const char *key) {
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail_fs(errno, "rm", abs_of(key));
  for (int pass = 0;; pass++) {
    int dup_fd = dup(fd);
    DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
    if (!d) fail_fs(errno, "rm", abs_of(key));
    rewinddir(d);
    struct dirent *de;
    while ((de = readdir(d))) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
      int isdir = de->d_type == DT_DIR;
      if (de->d_type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) isdir = S_ISDIR(st.st_mode);
      }
      if (isdir) {
        char *ck = path_join(key, de->d_name);
        remove_tree(fd, de->d_name, ck);
        free(ck);
      } else if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT) {
        char *ck = path_join(key, de->d_name);
        fail_fs(errno, "rm", abs_of(ck));
      }
    }
    closedir(d);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) break;
    if (errno != ENOTEMPTY || pass > 3) fail_fs(errno, "rm", abs_of(key));
  }
  close(fd);
}

/* Removes whatever is at key (recursively, never following symlinks; nothing there is fine). */
static void remove_key(int pfd, const char *base, const char *key) {
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return;
    fail_fs(errno, "rm", abs_of(key));
  }
  split_taint(key, "is removed by a later entry");
  if (S_ISDIR(st.st_mode)) remove_tree(pfd, base, key);
  else if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT) fail_fs(errno, "rm", abs_of(key));
  /* nothing recorded at or below key may be touched later: the path may soon be a symlink */
  strset_clear(&dirs);
  for (size_t i = 0; i < nmetas; i++)
    if (!metas[i].dropped && below_or_at(metas[i].key, key)) metas[i].dropped = 1;
  if (parent_cache.key && below_or_at(parent_cache.key, key)) {
    close(parent_cache.fd);
    free(parent_cache.key);
    parent_cache.key = NULL;
  }
}

/* ---- creating ---------------------------------------------------------------------------------------------------- */

enum create_op { OP_FILE, OP_DIR, OP_SYMLINK, OP_LINK, OP_MKNOD };

struct create {
  enum create_op op;
  mode_t mode;
  dev_t dev;
  const char *target; /* symlink target */
  int tfd;            /* hard link target: its directory and name */
  const char *tbase;
  int fd; /* OP_FILE: the opened file */
};

static int try_create(int pfd, const char *base, struct create *c) {
  int r;
  switch (c->op) {
    case OP_FILE:
      c->fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, c->mode);
      r = c->fd < 0 ? -1 : 0;
      break;
    case OP_DIR: r = mkdirat(pfd, base, c->mode); break;
    case OP_SYMLINK: r = symlinkat(c->target, pfd, base); break;
    case OP_LINK: r = linkat(c->tfd, c->tbase, pfd, base, 0); break;
    default: r = mknodat(pfd, base, c->mode, c->dev); break;
  }
  return r < 0 ? errno : 0;
}

static _Noreturn void create_failed(int err, const struct create *c, const char *key) {
  static const char *names[] = {"open", "mkdir", "symlink", "link", "mknod"};
  if (c->op == OP_MKNOD) fail_sys(err, "mknod", abs_of(key));
  fail_fs(err, names[c->op], abs_of(key));
}

/* Creates the entry; when the path exists, clears it (keeping a directory if keep_dir) and retries once. 0: kept. */
static int create_at(int pfd, const char *base, const char *key, int keep_dir, struct create *c) {
  int err = try_create(pfd, base, c);
  if (!err) return 1;
  if (err != EEXIST) create_failed(err, c, key);
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) fail_fs(errno, "lstat", abs_of(key));
  if (keep_dir && S_ISDIR(st.st_mode)) return 0;
  split_taint(key, "is replaced by a later entry");
  if (S_ISDIR(st.st_mode)) remove_key(pfd, base, key);
  else if (unlinkat(pfd, base, 0) < 0) fail_fs(errno, "unlink", abs_of(key));
  err = try_create(pfd, base, c);
  if (err) create_failed(err, c, key);
  return 1;
}

/* ---- metadata ---------------------------------------------------------------------------------------------------- */

static void chown_at(int pfd, const char *base, const char *key, const struct entry *e) {
  if (!is_root && e->uid == (int64_t)my_uid && e->gid == (int64_t)my_gid) return;
  if (fchownat(pfd, base, (uid_t)e->uid, (gid_t)e->gid, AT_SYMLINK_NOFOLLOW) < 0) fail_fs(errno, "lchown", abs_of(key));
}

static int skip_xattr(const char *name) { return starts_with(name, "trusted.overlay."); }

static _Noreturn void xattr_failed(int err, const char *key, const char *name) {
  char *abs = abs_of(key), *detail = NULL;
  if (asprintf(&detail, "%s %s", abs, name) < 0) fail("ENOMEM", "berth-untar: out of memory");
  fail_sys(err, "lsetxattr", detail);
}

/* xattrs of the entry base in directory pfd, never following it; a filesystem without xattrs is fine */
static void xattrs_at(int pfd, const char *base, const char *key, const struct entry *e) {
  if (!e->nxattrs) return;
  char *p = fd_path(pfd, base);
  for (size_t i = 0; i < e->nxattrs; i++) {
    const struct xattr *x = &e->xattrs[i];
    if (skip_xattr(x->name)) continue;
    if (lsetxattr(p, x->name, x->value, x->len, 0) < 0 && errno != ENOTSUP && errno != EOPNOTSUPP) xattr_failed(errno, key, x->name);
  }
  free(p);
}

static void xattrs_fd(int fd, const char *key, const struct entry *e) {
  for (size_t i = 0; i < e->nxattrs; i++) {
    const struct xattr *x = &e->xattrs[i];
    if (skip_xattr(x->name)) continue;
    if (fsetxattr(fd, x->name, x->value, x->len, 0) < 0 && errno != ENOTSUP && errno != EOPNOTSUPP) xattr_failed(errno, key, x->name);
  }
}

static void mtime_at(int pfd, const char *base, const char *key, int64_t ms) {
  struct timespec ts[2] = {ts_of(ms), ts_of(ms)};
  if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0) fail_fs(errno, "lutime", abs_of(key));
}

/* New files are owned by us, or by a setgid parent's group: chown only when that differs from the header. */
static int needs_chown(const struct entry *e, int parent_setgid) {
  if (!is_root) return e->uid != (int64_t)my_uid || e->gid != (int64_t)my_gid;
  return e->uid != 0 || e->gid != 0 || parent_setgid;
}

/* ---- entries ----------------------------------------------------------------------------------------------------- */

static void write_file(struct tar *t, int pfd, int parent_setgid, const char *base, const char *key) {
  const struct entry *e = &t->cur;
  unsigned perm = e->mode & 07777;
  struct create c = {.op = OP_FILE, .mode = perm & 0777, .fd = -1};
  create_at(pfd, base, key, 0, &c);
  if (e->size) split_file(key, e->size);
  t->in->content = 1;
  const unsigned char *p;
  size_t n;
  while ((n = tar_body(t, &p))) {
    while (n) {
      ssize_t w = write(c.fd, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail_fs(errno, "write", NULL);
      }
      p += w;
      n -= (size_t)w;
    }
  }
  t->in->content = 0;
  /* order matters: chown clears setuid/setgid and file capabilities, so chmod and xattrs come after it */
  int chowned = needs_chown(e, parent_setgid);
  if (chowned && fchown(c.fd, (uid_t)e->uid, (gid_t)e->gid) < 0) fail_fs(errno, "fchown", NULL);
  /* open() applied the umask and cannot set setuid/setgid/sticky; fix the mode only when that changed it */
  if ((chowned || perm != (perm & 0777 & ~umask_bits)) && fchmod(c.fd, perm) < 0) fail_fs(errno, "fchmod", NULL);
  xattrs_fd(c.fd, key, e);
  struct timespec ts[2] = {ts_of(e->mtime_ms), ts_of(e->mtime_ms)};
  if (futimens(c.fd, ts) < 0) fail_fs(errno, "futime", NULL);
  if (close(c.fd) < 0) fail_fs(errno, "close", NULL);
}

static void add_meta(const char *key, const struct entry *e) {
  if (nmetas == capmetas) {
    capmetas = capmetas ? capmetas * 2 : 256;
    metas = xrealloc(metas, capmetas * sizeof *metas);
  }
  metas[nmetas++] = (struct dir_meta){xstrdup(key), e->mode & 07777, e->mtime_ms, 0};
}

static void hardlink(const struct entry *e, int pfd, const char *parent, const char *base, const char *key) {
  struct strv tparts = normalize(e->linkname);
  if (!tparts.n) fail(NULL, "invalid tar entry: hardlink %s points at the layer root", e->name);
  char *tparent = resolve_dir(&tparts, tparts.n - 1);
  const char *tbase = tparts.v[tparts.n - 1];
  char *tkey = path_join(tparent, tbase);
  if (strcmp(tkey, key)) {
    int own = strcmp(tparent, parent) != 0;
    int tfd = own ? open_in_root(tparent, O_PATH | O_DIRECTORY) : pfd;
    struct stat st;
    if (tfd < 0 || fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
      fail(NULL, "invalid tar entry: hardlink %s -> %s: target not found in the layer root", e->name, e->linkname);
    struct create c = {.op = OP_LINK, .tfd = tfd, .tbase = tbase};
    create_at(pfd, base, key, 0, &c);
    if (own) close(tfd);
  }
  free(tkey);
  free(tparent);
  strv_free(&tparts);
}

static void whiteout(const char *name, struct strv *parts) {
  const char *base = parts->v[parts->n - 1];
  char *dir = resolve_dir(parts, parts->n - 1);
  if (!strcmp(base, WH_OPAQUE)) {
    if (wh_mode == WH_OVERLAY) {
      int fd = open_in_root(dir, O_PATH | O_DIRECTORY);
      if (fd < 0) fail_fs(errno, "open", abs_of(dir));
      char *p = fd_path(fd, NULL);
      if (setxattr(p, "trusted.overlay.opaque", "y", 1, 0) < 0) xattr_failed(errno, dir, "trusted.overlay.opaque");
      free(p);
      close(fd);
    } else {
      int fd = open_in_root(dir, O_RDONLY | O_DIRECTORY);
      DIR *d = fd < 0 ? NULL : fdopendir(fd);
      if (!d) fail_fs(errno, "scandir", abs_of(dir));
      struct strv children = {0};
      struct dirent *de;
      while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) strv_push(&children, xstrdup(de->d_name));
      closedir(d);
      for (size_t i = 0; i < children.n; i++) {
        char *ck = path_join(dir, children.v[i]);
        if (!strset_has(&created, ck)) remove_key(parent_fd(dir, NULL), children.v[i], ck);
        free(ck);
      }
      strv_free(&children);
    }
    free(dir);
    return;
  }
  if (starts_with(base, WH_PREFIX WH_PREFIX)) { /* other aufs metadata (.wh..wh.plnk etc.) */
    free(dir);
    return;
  }
  const char *victim = base + strlen(WH_PREFIX);
  if (!*victim || !strcmp(victim, ".") || !strcmp(victim, "..")) fail(NULL, "invalid tar entry: whiteout %s", name);
  char *key = path_join(dir, victim);
  if (!strset_has(&created, key)) { /* a layer's whiteouts only hide lower layers */
    int pfd = parent_fd(dir, NULL);
    remove_key(pfd, victim, key);
    pfd = parent_fd(dir, NULL);
    if (wh_mode == WH_OVERLAY && mknodat(pfd, victim, S_IFCHR, 0) < 0) fail_sys(errno, "mknod", abs_of(key));
  }
  free(key);
  free(dir);
}

void apply_entry(struct tar *t) {
  const struct entry *e = &t->cur;
  struct strv parts = normalize(e->name);
  if (!parts.n) return; /* the root itself ('./'): its metadata belongs to the snapshot, not the layer */
  const char *base = parts.v[parts.n - 1];
  if (starts_with(base, WH_PREFIX)) {
    whiteout(e->name, &parts);
    strv_free(&parts);
    return;
  }
  char *parent = resolve_dir(&parts, parts.n - 1);
  char *key = path_join(parent, base);
  int setgid = 0;
  int pfd = parent_fd(parent, &setgid);
  switch (e->type) {
    case T_DIR: {
      struct create c = {.op = OP_DIR, .mode = 0700};
      create_at(pfd, base, key, 1, &c);
      strset_add(&dirs, key);
      chown_at(pfd, base, key, e);
      xattrs_at(pfd, base, key, e);
      add_meta(key, e);
      break;
    }
    case T_FILE:
      total_size += e->size;
      write_file(t, pfd, setgid, base, key);
      break;
    case T_SYMLINK: {
      struct create c = {.op = OP_SYMLINK, .target = e->linkname};
      create_at(pfd, base, key, 0, &c);
      chown_at(pfd, base, key, e);
      xattrs_at(pfd, base, key, e);
      mtime_at(pfd, base, key, e->mtime_ms);
      break;
    }
    case T_HARDLINK:
      hardlink(e, pfd, parent, base, key);
      break;
    case T_CHAR:
    case T_BLOCK:
    case T_FIFO: {
      mode_t kind = e->type == T_CHAR ? S_IFCHR : e->type == T_BLOCK ? S_IFBLK : S_IFIFO;
      struct create c = {.op = OP_MKNOD, .mode = kind | (e->mode & 0777), .dev = e->type == T_FIFO ? 0 : makedev(e->devmajor, e->devminor)};
      create_at(pfd, base, key, 0, &c);
      chown_at(pfd, base, key, e);
      if (fchmodat(pfd, base, e->mode & 07777, 0) < 0) fail_fs(errno, "chmod", abs_of(key));
      xattrs_at(pfd, base, key, e);
      mtime_at(pfd, base, key, e->mtime_ms);
      break;
    }
  }
  if (e->type != T_DIR && strset_has(&dirs, key)) strset_clear(&dirs);
  strset_add(&created, key);
  free(key);
  free(parent);
  strv_free(&parts);
}

void apply_finish(void) {
  for (size_t i = 0; i < nmetas; i++) {
    const struct dir_meta *m = &metas[i];
    if (m->dropped) continue;
    int fd = open_in_root(m->key, O_PATH);
    if (fd < 0) fail_fs(errno, "chmod", abs_of(m->key));
    char *p = fd_path(fd, NULL);
    if (chmod(p, m->mode) < 0) fail_fs(errno, "chmod", abs_of(m->key));
    struct timespec ts[2] = {ts_of(m->mtime_ms), ts_of(m->mtime_ms)};
    if (utimensat(AT_FDCWD, p, ts, 0) < 0) fail_fs(errno, "utime", abs_of(m->key));
    free(p);
    close(fd);
  }
}
