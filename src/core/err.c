/* err.c - struct err helpers and the BUG()/OOM aborts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static void err_vset(struct err *e, int status, const char *fmt, va_list ap)
{
	e->status = status ? status : 500;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	/* Messages end up in headers and log lines: no CR/LF. */
	for (char *p = e->msg; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
}

int err_set(struct err *e, int status, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->status)
		return -1;
	va_start(ap, fmt);
	err_vset(e, status, fmt, ap);
	va_end(ap);
	return -1;
}

int err_reset(struct err *e, int status, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	err_vset(e, status, fmt, ap);
	va_end(ap);
	return -1;
}

void err_clear(struct err *e)
{
	if (e) {
		e->status = 0;
		e->msg[0] = '\0';
	}
}

void bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void die_oom(void)
{
	static const char msg[] = "fatal: out of memory\n";

	/* No stdio: it may itself need memory. */
	if (fwrite(msg, 1, sizeof(msg) - 1, stderr)) {
	}
	abort();
}
