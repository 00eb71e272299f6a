/* storefleet-mail - the cron program that sends the outbox to the SMTP relay (src/mail/sender.h).
 */
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
#include "mail.h"
#include "sender.h"

/*
 * Exit codes: 0 done, 1 error, 75 (EX_TEMPFAIL) another run holds the lock.
 * The lock is a session-level advisory lock on a connection of its own that
 * also LISTENs for storefleet_outbox (mail_enqueue's NOTIFY): holding it
 * means no other sender runs, so every claim left in the outbox belongs to
 * a sender that died and can be released at start (sender_recover).  A
 * kill -9 closes the socket and PostgreSQL drops the lock.  --no-lock
 * leaves recovery to the leases (mail_lease).
 */
#define EXIT_BUSY      75
#define MAIL_LOCK_KEY  "7378666d61696c01" /* hex: "sfmail" + 1, project-wide */
#define NOTIFY_CHANNEL "storefleet_outbox"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: storefleet-mail [--once | --for DURATION] [--no-lock]\n"
	    "  --once          send what is due, then exit (default)\n"
	    "  --for 55s       keep sending until DURATION is over (s, m or h; what cron runs),\n"
	    "                  waking at once on NOTIFY " NOTIFY_CHANNEL "\n"
	    "  --no-lock       skip the single-sender guard (claims stay safe; recovery\n"
	    "                  of a dead sender's claims then waits for mail_lease)\n"
	    "exit: 0 done, 1 error, 75 another run holds the lock\n");
	return f == stdout ? 0 : 2;
}

static double parse_duration(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		return -1;
	if (!*end || !strcmp(end, "s"))
		return v;
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

static PGconn *guard_open(int lock, int *busy)
{
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {config.database_url, "5", "storefleet-mail", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	PGresult *res;

	*busy = 0;
	if (!c || PQstatus(c) != CONNECTION_OK) {
		log_error("mail: database unavailable: %s",
			  c ? strtok(PQerrorMessage(c), "\n") : "out of memory");
		PQfinish(c);
		return NULL;
	}
	if (lock) {
		res = PQexec(c, "SELECT pg_try_advisory_lock(x'" MAIL_LOCK_KEY "'::bigint)");
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			log_error("mail: lock: %s", strtok(PQerrorMessage(c), "\n"));
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
	res = PQexec(c, "LISTEN " NOTIFY_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		log_warn("mail: LISTEN: %s", strtok(PQerrorMessage(c), "\n"));
	PQclear(res);
	return c;
}

/* Sleep until a NOTIFY arrives, a signal, or secs pass. */
static void wait_notify(PGconn *c, double secs)
{
	PGnotify *n;
	int fd = PQsocket(c);
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
		log_warn("mail: select: %s", strerror(errno));
	if (fd >= 0) {
		PQconsumeInput(c);
		while ((n = PQnotifies(c)))
			PQfreemem(n);
	}
}

int main(int argc, char **argv)
{
	struct err e = ERR_INIT;
	struct sender *s;
	double duration = 0, start, left;
	int lock = 1, busy = 0, rc = 0, loop = 0, sent, failed;
	PGconn *guard;
	struct sigaction sa;

	log_init("storefleet-mail", LOG_INFO);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once")) {
			loop = 0;
		} else if (!strcmp(argv[i], "--for") && i + 1 < argc) {
			duration = parse_duration(argv[++i]);
			if (duration < 0) {
				fprintf(stderr, "storefleet-mail: bad duration '%s'\n", argv[i]);
				return 2;
			}
			loop = 1;
		} else if (!strcmp(argv[i], "--no-lock")) {
			lock = 0;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			return usage(stdout);
		} else {
			return usage(stderr);
		}
	}
	if (config_load(&config, &e) < 0) {
		fprintf(stderr, "storefleet-mail: %s\n", e.msg);
		return 1;
	}
	if (!strcmp(config.log_level, "debug"))
		log_init("storefleet-mail", LOG_DEBUG);
	else if (!strcmp(config.log_level, "warn"))
		log_init("storefleet-mail", LOG_WARN);
	else if (!strcmp(config.log_level, "error"))
		log_init("storefleet-mail", LOG_ERROR);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	/* No relay configured: nothing to do, and no failed cron job every minute for it. */
	if (!*config.mail_url) {
		log_warn(
		    "mail: mail_url is not set: nothing sent; messages stay queued until it is");
		curl_global_cleanup();
		return 0;
	}
	s = sender_new(&e);
	if (!s) {
		log_error("mail: %s", e.msg);
		curl_global_cleanup();
		return 1;
	}
	guard = guard_open(lock, &busy);
	if (!guard) {
		sender_free(s);
		curl_global_cleanup();
		if (busy)
			log_info("mail: another sender holds the lock; exiting");
		return busy ? EXIT_BUSY : 1;
	}
	if (sender_recover(s, lock, NULL, NULL, &e) < 0) {
		log_error("mail: %s", e.msg);
		rc = 1;
		goto out;
	}
	start = now_s();
	for (;;) {
		err_clear(&e);
		if (sender_run(s, &stopping, &sent, &failed, &e) < 0) {
			log_error("mail: %s", e.msg);
			rc = 1;
		} else {
			rc = 0;
		}
		if (sent || failed)
			log_info("mail: %d sent, %d not delivered (retried later)", sent, failed);
		left = duration - (now_s() - start);
		if (!loop || stopping || left <= 0)
			break;
		wait_notify(guard, left < config.mail_interval ? left : config.mail_interval);
		if (stopping || duration - (now_s() - start) <= 0)
			break;
		if (!lock && sender_recover(s, 0, NULL, NULL, &e) < 0)
			log_error("mail: %s", e.msg);
	}
out:
	sender_free(s);
	mail_templates_free();
	db_close();
	PQfinish(guard);
	curl_global_cleanup();
	return rc;
}
