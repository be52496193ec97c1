/* berth-untar: failure reporting, growable strings and string sets shared by its modules. */
#ifndef BERTH_UNTAR_UTIL_H
#define BERTH_UNTAR_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Failures end the process: the one result line on stdout is {"error": message, "code": code} and the exit status 1.
 * berthd turns it back into the Error the JavaScript applier would have thrown (same wording).
 */
_Noreturn void fail(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Node's fs error wording: "<CODE>: <description>, <syscall> '<path>'" (path NULL: no path part). */
_Noreturn void fail_fs(int err, const char *syscall, const char *path);
/* The sys addon's wording (src/sys/linux.ts SyscallError): "<syscall> <detail>: <CODE> (<errno>)". */
_Noreturn void fail_sys(int err, const char *syscall, const char *detail);
/* errno's symbolic name, "EACCES". */
const char *errno_name(int err);

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* a newly allocated "<a>/<b>", or b when a is empty */
char *path_join(const char *a, const char *b);

/* JSON string literal of bytes (as JSON.stringify of the string Node would have decoded). */
void json_quote(const char *s, size_t n, char **out, size_t *outlen);

/* An open-addressing set of strings (keys below the layer root). */
struct strset {
  char **slots;
  size_t cap, used;
};
int strset_has(const struct strset *s, const char *key);
void strset_add(struct strset *s, const char *key);
void strset_clear(struct strset *s);

/* A vector of owned strings. */
struct strv {
  char **v;
  size_t n, cap;
};
void strv_push(struct strv *s, char *owned);
char *strv_pop(struct strv *s);
void strv_free(struct strv *s);
/* "a/b/c" of the first n items */
char *strv_join(const struct strv *s, size_t n);

#endif
