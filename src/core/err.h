/* err.h - the caller-owned error record every library function fills. */
#ifndef SF_ERR_H
#define SF_ERR_H

/*
 * Library functions return 0 / -1 (pointers: NULL) and describe the failure
 * in a `struct err` that lives on the caller's stack.  `status` is the HTTP
 * status the web layer should answer with (0 = no error); `msg` is a short
 * lowercase message, subject first, values quoted:  cannot open 'x': ...
 *
 * The first error wins: err_set() on a record that already holds an error
 * keeps the old one, so a low-level cause is not overwritten by a vaguer
 * message from a caller.  Every function accepts e == NULL.
 */
struct err {
	int status;
	char msg[256];
};

#define ERR_INIT {0, {0}}

#if defined(__GNUC__)
#define SF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SF_NORETURN __attribute__((noreturn))
#else
#define SF_PRINTF(f, a)
#define SF_NORETURN
#endif

/* Record an error (unless one is already recorded). Always returns -1. */
int err_set(struct err *e, int status, const char *fmt, ...) SF_PRINTF(3, 4);

/* Like err_set but replaces whatever was there (to add context). Returns -1. */
int err_reset(struct err *e, int status, const char *fmt, ...) SF_PRINTF(3, 4);

/* Forget the recorded error. */
void err_clear(struct err *e);

/* A broken invariant is a bug: print file:line and the message, abort. */
#define BUG(...) bug_at(__FILE__, __LINE__, __VA_ARGS__)
SF_NORETURN void bug_at(const char *file, int line, const char *fmt, ...) SF_PRINTF(3, 4);

/* Out of memory in a place that cannot report it: log and abort. */
SF_NORETURN void die_oom(void);

#endif
