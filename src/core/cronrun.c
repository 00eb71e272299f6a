/* cronrun.c - the parts storefleet-reconcile and storefleet-mail share (cronrun.h). */
#include "cronrun.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "config.h"
#include "log.h"

volatile sig_atomic_t cronrun_stopping;

static void on_signal(int sig)
{
	(void)sig;
	cronrun_stopping = 1;
}

double cronrun_duration(const char *s, int ms)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		return -1;
	if (!*end || !strcmp(end, "s"))
		return v;
	if (ms && !strcmp(end, "ms"))
		return v / 1000;
	if (!strcmp(end, "m"))
		return v * 60;
	if (!strcmp(end, "h"))
		return v * 3600;
	return -1;
}

double cronrun_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cronrun_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void cronrun_log_level(const char *progname)
{
	if (!strcmp(config.log_level, "debug"))
		log_init(progname, LOG_DEBUG);
	else if (!strcmp(config.log_level, "warn"))
		log_init(progname, LOG_WARN);
	else if (!strcmp(config.log_level, "error"))
		log_init(progname, LOG_ERROR);
}

PGconn *cronrun_guard(const char *progname, const char *prefix, int lock, int64_t lock_key,
		      const char *channel, int *busy)
{
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {config.database_url, "5", progname, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	PGresult *res;
	char key[24], *id, sql[128];
	const char *params[1] = {key};

	*busy = 0;
	if (!c || PQstatus(c) != CONNECTION_OK) {
		log_error("%s: database unavailable: %s", prefix,
			  c ? strtok(PQerrorMessage(c), "\n") : "out of memory");
		PQfinish(c);
		return NULL;
	}
	if (lock) {
		snprintf(key, sizeof(key), "%" PRId64, lock_key);
		res = PQexecParams(c, "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL, params,
				   NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			log_error("%s: lock: %s", prefix, strtok(PQerrorMessage(c), "\n"));
			PQclear(res);
			PQfinish(c);
			return NULL;
		}
		*busy = strcmp(PQgetvalue(res, 0, 0), "t") != 0;
		PQclear(res);
		if (*busy) {
			PQfinish(c);
			return NULL;
		}
	}
	if (channel) {
		/* LISTEN takes no parameter: the channel is quoted as an identifier. */
		id = PQescapeIdentifier(c, channel, strlen(channel));
		snprintf(sql, sizeof(sql), "LISTEN %s", id ? id : "\"\"");
		PQfreemem(id);
		res = PQexec(c, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			log_warn("%s: LISTEN: %s", prefix, strtok(PQerrorMessage(c), "\n"));
		PQclear(res);
	}
	return c;
}

int cronrun_wait(PGconn *c, const char *prefix, double secs)
{
	PGnotify *n;
	int fd = c ? PQsocket(c) : -1, woke = 0;
	fd_set rfds;
	struct timeval tv;

	if (secs <= 0)
		return 0;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	FD_ZERO(&rfds);
	if (fd >= 0)
		FD_SET(fd, &rfds);
	if (select(fd + 1, &rfds, NULL, NULL, &tv) < 0 && errno != EINTR)
		log_warn("%s: select: %s", prefix, strerror(errno));
	if (fd >= 0) {
		PQconsumeInput(c);
		while ((n = PQnotifies(c))) {
			woke = 1;
			PQfreemem(n);
		}
	}
	return woke;
}
