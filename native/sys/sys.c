/*
 * berth-sys.node — the few Linux calls Node.js lacks, as a tiny N-API addon (built by scripts/build-native.mjs with
 * the system compiler against Node's own headers). src/sys/linux.ts is its only user and the seam the rest of berth
 * calls.
 *
 * Convention: every function returns a negative errno on failure (the JS side turns it into an error with Node's
 * errno name as `code`); lgetxattr returns a Buffer (or -errno), llistxattr a Buffer of NUL-separated names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <malloc.h>
#include <poll.h>
#include <node_api.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <sys/xattr.h>

#define MAX_ARGS 5

/* A JS string argument as a malloc'd C string; NULL for null/undefined. Sets *ok = 0 on a type error. */
static char *str_arg(napi_env env, napi_value v, int *ok) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) return NULL;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    *ok = 0;
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) {
    *ok = 0;
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static napi_value type_error(napi_env env, const char *what) {
  napi_throw_type_error(env, NULL, what);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, napi_value *argv, size_t want) {
  size_t argc = MAX_ARGS;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc >= want;
}

static int64_t int_arg(napi_env env, napi_value v) {
  int64_t n = 0;
  napi_get_value_int64(env, v, &n);
  return n;
}

/* mount(source|null, target, fstype|null, flags, data|null) */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, argv, 5)) return type_error(env, "mount: 5 arguments");
  int ok = 1;
  char *src = str_arg(env, argv[0], &ok), *target = str_arg(env, argv[1], &ok), *fstype = str_arg(env, argv[2], &ok);
  char *data = str_arg(env, argv[4], &ok);
  int rc = -EINVAL;
  if (ok && target) rc = mount(src, target, fstype, (unsigned long)int_arg(env, argv[3]), data) < 0 ? -errno : 0;
  free(src), free(target), free(fstype), free(data);
  return ok ? num(env, rc) : type_error(env, "mount: string arguments");
}

/* umount2(target, flags) */
static napi_value js_umount2(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, argv, 2)) return type_error(env, "umount2: 2 arguments");
  int ok = 1;
  char *target = str_arg(env, argv[0], &ok);
  int rc = ok && target ? (umount2(target, (int)int_arg(env, argv[1])) < 0 ? -errno : 0) : -EINVAL;
  free(target);
  return num(env, rc);
}

/* mknod(path, mode, major, minor) */
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, argv, 4)) return type_error(env, "mknod: 4 arguments");
  int ok = 1;
  char *p = str_arg(env, argv[0], &ok);
  dev_t dev = makedev((unsigned)int_arg(env, argv[2]), (unsigned)int_arg(env, argv[3]));
  int rc = ok && p ? (mknod(p, (mode_t)int_arg(env, argv[1]), dev) < 0 ? -errno : 0) : -EINVAL;
  free(p);
  return num(env, rc);
}

/* lsetxattr(path, name, Buffer) */
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, argv, 3)) return type_error(env, "lsetxattr: 3 arguments");
  int ok = 1;
  char *p = str_arg(env, argv[0], &ok), *name = str_arg(env, argv[1], &ok);
  void *data = NULL;
  size_t len = 0;
  if (napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok) ok = 0;
  int rc = ok && p && name ? (lsetxattr(p, name, data, len, 0) < 0 ? -errno : 0) : -EINVAL;
  free(p), free(name);
  return num(env, rc);
}

/* Calls a size-probing xattr function until the buffer fits; returns a Buffer or -errno. */
static napi_value xattr_buffer(napi_env env, ssize_t (*probe)(const char *, const char *, void *, size_t), const char *p,
                               const char *name) {
  for (int tries = 0; tries < 8; tries++) {
    ssize_t size = probe(p, name, NULL, 0);
    if (size < 0) return num(env, -errno);
    void *data = NULL;
    napi_value buf;
    if (napi_create_buffer(env, (size_t)size, &data, &buf) != napi_ok) return num(env, -ENOMEM);
    ssize_t got = size ? probe(p, name, data, (size_t)size) : 0;
    if (got >= 0) {
      if (got == size) return buf;
      napi_value sliced;
      void *copy = NULL;
      napi_create_buffer_copy(env, (size_t)got, data, &copy, &sliced);
      return sliced;
    }
    if (errno != ERANGE) return num(env, -errno);
  }
  return num(env, -ERANGE);
}

static ssize_t getxattr_probe(const char *p, const char *name, void *buf, size_t size) { return lgetxattr(p, name, buf, size); }
static ssize_t listxattr_probe(const char *p, const char *name, void *buf, size_t size) {
  (void)name;
  return llistxattr(p, buf, size);
}

/* lgetxattr(path, name) → Buffer | -errno */
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, argv, 2)) return type_error(env, "lgetxattr: 2 arguments");
  int ok = 1;
  char *p = str_arg(env, argv[0], &ok), *name = str_arg(env, argv[1], &ok);
  napi_value r = ok && p && name ? xattr_buffer(env, getxattr_probe, p, name) : num(env, -EINVAL);
  free(p), free(name);
  return r;
}

/* llistxattr(path) → Buffer of NUL-separated names | -errno */
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, argv, 1)) return type_error(env, "llistxattr: 1 argument");
  int ok = 1;
  char *p = str_arg(env, argv[0], &ok);
  napi_value r = ok && p ? xattr_buffer(env, listxattr_probe, p, NULL) : num(env, -EINVAL);
  free(p);
  return r;
}

/* flock(fd, op) */
static napi_value js_flock(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, argv, 2)) return type_error(env, "flock: 2 arguments");
  return num(env, flock((int)int_arg(env, argv[0]), (int)int_arg(env, argv[1])) < 0 ? -errno : 0);
}

/*
 * peerClosed(fd): 1 when the peer of a connected socket has closed it entirely (POLLHUP), 0 when it is open or only
 * half-closed (it shut down its write side but still reads), -errno on error. A half-close and a close both read
 * as end-of-file; only the poll flags tell them apart (for unix sockets; TCP shows a close only after a write).
 */
static napi_value js_peer_closed(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, argv, 1)) return type_error(env, "peerClosed: 1 argument");
  struct pollfd p = {.fd = (int)int_arg(env, argv[0]), .events = POLLRDHUP};
  int r = poll(&p, 1, 0);
  if (r < 0) return num(env, -errno);
  return num(env, (p.revents & (POLLHUP | POLLERR)) ? 1 : 0);
}

/*
 * mallocTrim(): glibc's malloc_trim(0) — gives the free memory of every malloc arena back to the kernel (Node keeps
 * Buffers and zlib state in malloc'd memory; after a big pull the arenas hold tens of MB that are free but resident).
 * Returns 1 when memory was released, 0 when there was nothing to release.
 */
static napi_value js_malloc_trim(napi_env env, napi_callback_info info) {
  (void)info;
  return num(env, malloc_trim(0));
}

/* heap.cc */
napi_value js_low_memory_notification(napi_env env, napi_callback_info info);

/*
 * connectUnix(path): a connected, non-blocking unix stream socket's fd, or -errno. A path starting with '@' names an
 * abstract socket, its address exactly the name's length as Go writes it (Node pads abstract names to the whole
 * sun_path, so it cannot reach the docker CLI's plugin socket).
 */
static napi_value js_connect_unix(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  int ok = 1;
  if (!get_args(env, info, argv, 1)) return type_error(env, "connectUnix: 1 argument");
  char *p = str_arg(env, argv[0], &ok);
  if (!ok || !p) return type_error(env, "connectUnix: path must be a string");
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  size_t n = strlen(p);
  if (n == 0 || n >= sizeof a.sun_path) {
    free(p);
    return num(env, -ENAMETOOLONG);
  }
  memcpy(a.sun_path, p, n);
  if (p[0] == '@') a.sun_path[0] = 0;
  free(p);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (a.sun_path[0] ? 1 : 0));
  if (connect(fd, (struct sockaddr *)&a, len) < 0) {
    int e = errno;
    close(fd);
    return num(env, -e);
  }
  return num(env, fd);
}

/*
 * setTopDir(path): sets the "top of a directory hierarchy" inode flag (FS_TOPDIR_FL, `chattr +T`) on a directory:
 * ext4's Orlov allocator then places each new subdirectory in a block group of its own with many free inodes, as
 * for directories under /, instead of beside its parent. 0, or -errno (ENOTTY/EOPNOTSUPP/EINVAL where the file
 * system has no such flag).
 */
static napi_value js_set_top_dir(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  int ok = 1;
  if (!get_args(env, info, argv, 1)) return type_error(env, "setTopDir: 1 argument");
  char *p = str_arg(env, argv[0], &ok);
  if (!ok || !p) return type_error(env, "setTopDir: path must be a string");
  int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  free(p);
  if (fd < 0) return num(env, -errno);
  int flags = 0, rc = 0;
  if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0) rc = -errno;
  else if (!(flags & FS_TOPDIR_FL)) {
    flags |= FS_TOPDIR_FL;
    if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0) rc = -errno;
  }
  close(fd);
  return num(env, rc);
}

static napi_value init(napi_env env, napi_value exports) {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"mount", js_mount},           {"umount2", js_umount2},     {"mknod", js_mknod},
      {"lsetxattr", js_lsetxattr},   {"lgetxattr", js_lgetxattr}, {"llistxattr", js_llistxattr},
      {"flock", js_flock},           {"peerClosed", js_peer_closed}, {"mallocTrim", js_malloc_trim},
      {"connectUnix", js_connect_unix}, {"setTopDir", js_set_top_dir}, {"lowMemoryNotification", js_low_memory_notification},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
