/* app.h - the process-wide state of a storefleet.fcgi worker, shared by every request. */
#ifndef SF_APP_H
#define SF_APP_H

#include <sys/types.h>
#include <time.h>

struct tpl_set;

/*
 * One per process, made by main.c before the first request and never freed
 * while requests run.  Everything here outlives the request arena; handlers
 * reach it as r->app.
 */
struct app {
	struct tpl_set *tpl;	/* compiled templates (NULL: built-in error pages only) */
	time_t started;		/* when the worker started (UTC) */
	pid_t pid;		/* this worker's pid */
	int cgi;		/* 1 when answering a single plain-CGI request */
	unsigned long requests; /* requests answered by this process */
};

#endif
