/* storefleet-reconcile - the cron program: claim due stores, do their Kubernetes steps, record
 * progress. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "config.h"
#include "cronrun.h"
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
#define RECONCILE_LOCK_KEY INT64_C(0x7378666c65657401) /* a fixed, project-wide key */
#define NOTIFY_CHANNEL	   "storefleet_stores"

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

	log_init("storefleet-reconcile", LOG_INFO);
	gethostname(host, sizeof(host) - 1);
	snprintf(owner, sizeof(owner), "%s:%d", host, (int)getpid());
	ro.owner = owner;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once")) {
			loop = 0;
		} else if (!strcmp(argv[i], "--for") && i + 1 < argc) {
			duration = cronrun_duration(argv[++i], 1);
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
	cronrun_log_level("storefleet-reconcile");
	cronrun_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);

	guard = cronrun_guard("storefleet-reconcile", "reconcile", lock && !ro.dry_run,
			      RECONCILE_LOCK_KEY, loop ? NOTIFY_CHANNEL : NULL, &busy);
	if (busy) {
		log_info("reconcile: another run holds the lock; exiting");
		return EXIT_BUSY;
	}
	if (!guard && ((lock && !ro.dry_run) || loop))
		return 1;
	ro.run_for = loop ? duration : 0;
	r = reconcile_new(&ro, &e);
	if (!r) {
		log_error("reconcile: %s", e.msg);
		PQfinish(guard);
		return 1;
	}
	start = cronrun_now();
	for (;;) {
		err_clear(&e);
		if (reconcile_pass(r, &st, &e) < 0)
			rc = 1;
		else
			rc = 0;
		left = duration - (cronrun_now() - start);
		if (!loop || cronrun_stopping || left <= 0)
			break;
		if (cronrun_wait(guard, "reconcile",
				 left < config.reconcile_interval ? left
								  : config.reconcile_interval))
			log_debug("reconcile: woken by NOTIFY");
		if (cronrun_stopping || duration - (cronrun_now() - start) <= 0)
			break;
	}
	reconcile_free(r);
	db_close();
	PQfinish(guard);
	curl_global_cleanup();
	return rc;
}
