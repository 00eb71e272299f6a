/* storefleet-reconcile - the cron program: claim due stores, do their Kubernetes steps, record
 * progress. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "reconcile.h"

/*
 * Exit codes (docs/api.md): 0 done, 1 error, 75 (EX_TEMPFAIL) another run
 * holds the lock.  The lock is a session-level pg_try_advisory_lock held on
 * a connection of its own, which also LISTENs for the web app's NOTIFY: a
 * kill -9 closes the socket and PostgreSQL drops the lock at once.  The
 * lock only saves work: leases keep concurrent runs correct (--no-lock).
 */
#define EXIT_BUSY	   75
#define RECONCILE_LOCK_KEY "7378666c65657401" /* hex: a fixed, project-wide key */
#define NOTIFY_CHANNEL	   "storefleet_stores"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int usage(FILE *f)
{
	fprintf(f, "usage: storefleet-reconcile [--once | --for DURATION] [--dry-run] [--no-lock]"
		   " [--owner NAME]\n"
		   "  --once          one pass, then exit (default)\n"
		   "  --for 55s       passes until DURATION is over (s, m or h; what cron runs),\n"
		   "                  waking early on NOTIFY " NOTIFY_CHANNEL "\n"
		   "  --dry-run       observe and print what each store would get; change nothing\n"
		   "  --no-lock       skip the single-run guard (tests of concurrent runs)\n"
		   "  --owner NAME    lease owner recorded on claimed stores (default host:pid)\n"
		   "exit: 0 done, 1 error, 75 another run holds the lock\n");
	return f == stdout ? 0 : 2;
}

/* "55s", "2m", "1h", "90" -> seconds; -1 if malformed. */
static double parse_duration(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		return -1;
	if (!*end || !strcmp(end, "s"))
		return v;
	if (!strcmp(end, "ms"))
		return v / 1000;
	if (!strcmp(end, "m"))
		return v * 60;
	if (!strcmp(end, "h"))
		return v * 3600;
	return -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The lock + LISTEN connection. */
static PGconn *guard_open(int lock, int listen, int *busy)
{
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {config.database_url, "5", "storefleet-reconcile", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	PGresult *res;

	*busy = 0;
	if (!c || PQstatus(c) != CONNECTION_OK) {
		log_error("reconcile: database unavailable: %s",
			  c ? strtok(PQerrorMessage(c), "\n") : "out of memory");
		PQfinish(c);
		return NULL;
	}
	if (lock) {
		res = PQexec(c, "SELECT pg_try_advisory_lock(x'" RECONCILE_LOCK_KEY "'::bigint)");
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			log_error("reconcile: lock: %s", strtok(PQerrorMessage(c), "\n"));
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
	if (listen) {
		res = PQexec(c, "LISTEN " NOTIFY_CHANNEL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			log_warn("reconcile: LISTEN: %s", strtok(PQerrorMessage(c), "\n"));
		PQclear(res);
	}
	return c;
}

/* Sleep until a NOTIFY arrives, a signal, or secs pass. */
static void wait_notify(PGconn *c, double secs)
{
	PGnotify *n;
	int fd = c ? PQsocket(c) : -1, woke = 0;
	fd_set rfds;
	struct timeval tv;

	if (secs <= 0)
		return;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	FD_ZERO(&rfds);
	if (fd >= 0)
		FD_SET(fd, &rfds);
	if (select(fd + 1, &rfds, NULL, NULL, &tv) < 0 && errno != EINTR)
		log_warn("reconcile: select: %s", strerror(errno));
	if (fd >= 0) {
		PQconsumeInput(c);
		while ((n = PQnotifies(c))) {
			woke = 1;
			PQfreemem(n);
		}
	}
	if (woke)
		log_debug("reconcile: woken by NOTIFY");
}

int main(int argc, char **argv)
{
	struct err e = ERR_INIT;
	struct reconcile_opts ro = {0};
	struct reconcile *r;
	struct reconcile_stats st;
	double duration = 0, start, left;
	int lock = 1, busy = 0, rc = 0, loop = 0;
	char owner[300], host[256] = "";
	PGconn *guard;
	struct sigaction sa;

	log_init("storefleet-reconcile", LOG_INFO);
	gethostname(host, sizeof(host) - 1);
	snprintf(owner, sizeof(owner), "%s:%d", host, (int)getpid());
	ro.owner = owner;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once")) {
			loop = 0;
		} else if (!strcmp(argv[i], "--for") && i + 1 < argc) {
			duration = parse_duration(argv[++i]);
			if (duration < 0) {
				fprintf(stderr, "storefleet-reconcile: bad duration '%s'\n",
					argv[i]);
				return 2;
			}
			loop = 1;
		} else if (!strcmp(argv[i], "--dry-run")) {
			ro.dry_run = 1;
		} else if (!strcmp(argv[i], "--no-lock")) {
			lock = 0;
		} else if (!strcmp(argv[i], "--owner") && i + 1 < argc) {
			snprintf(owner, sizeof(owner), "%s", argv[++i]);
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			return usage(stdout);
		} else {
			return usage(stderr);
		}
	}
	if (config_load(&config, &e) < 0) {
		fprintf(stderr, "storefleet-reconcile: %s\n", e.msg);
		return 1;
	}
	if (!strcmp(config.log_level, "debug"))
		log_init("storefleet-reconcile", LOG_DEBUG);
	else if (!strcmp(config.log_level, "warn"))
		log_init("storefleet-reconcile", LOG_WARN);
	else if (!strcmp(config.log_level, "error"))
		log_init("storefleet-reconcile", LOG_ERROR);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	guard = guard_open(lock && !ro.dry_run, loop, &busy);
	if (busy) {
		log_info("reconcile: another run holds the lock; exiting");
		return EXIT_BUSY;
	}
	if (!guard && ((lock && !ro.dry_run) || loop))
		return 1;
	r = reconcile_new(&ro, &e);
	if (!r) {
		log_error("reconcile: %s", e.msg);
		PQfinish(guard);
		return 1;
	}
	start = now_s();
	for (;;) {
		err_clear(&e);
		if (reconcile_pass(r, &st, &e) < 0)
			rc = 1;
		else
			rc = 0;
		left = duration - (now_s() - start);
		if (!loop || stopping || left <= 0)
			break;
		wait_notify(guard,
			    left < config.reconcile_interval ? left : config.reconcile_interval);
		if (stopping || duration - (now_s() - start) <= 0)
			break;
	}
	reconcile_free(r);
	db_close();
	PQfinish(guard);
	curl_global_cleanup();
	return rc;
}
