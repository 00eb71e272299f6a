/* tap.h - minimal TAP producer for compiled unit tests (run by prove). */
#ifndef SF_TAP_H
#define SF_TAP_H

#include <stdio.h>
#include <stdarg.h>
#include <string.h>

/*
 * ok(cond, "name", ...)   one test point
 * is_str(got, want, name) / is_int(got, want, name)  with a diagnostic on failure
 * done_testing()          prints the plan and returns the exit status for main()
 */
static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

#define is_str(got, want, ...)                                                                    \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!ok((g_ && w_ && !strcmp(g_, w_)) || (!g_ && !w_), __VA_ARGS__))               \
			printf("#        got: '%s'\n#   expected: '%s'\n", g_ ? g_ : "(null)",       \
			       w_ ? w_ : "(null)");                                                 \
	} while (0)

#define is_int(got, want, ...)                                                                    \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (!ok(g_ == w_, __VA_ARGS__))                                                    \
			printf("#        got: %lld\n#   expected: %lld\n", g_, w_);                 \
	} while (0)

#define diag(...) (printf("# "), printf(__VA_ARGS__), printf("\n"))

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
