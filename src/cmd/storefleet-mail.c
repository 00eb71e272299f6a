/* storefleet-mail - the cron program that sends the outbox to the SMTP relay (src/mail/sender.h).
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "config.h"
#include "cronrun.h"
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
#define MAIL_LOCK_KEY  INT64_C(0x7378666d61696c01) /* "sfmail" + 1, project-wide */
#define NOTIFY_CHANNEL "storefleet_outbox"

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

int main(int argc, char **argv)
{
	struct err e = ERR_INIT;
	struct sender *s;
	double duration = 0, start, left;
	int lock = 1, busy = 0, rc = 0, loop = 0, sent, failed;
	PGconn *guard;

	log_init("storefleet-mail", LOG_INFO);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once")) {
			loop = 0;
		} else if (!strcmp(argv[i], "--for") && i + 1 < argc) {
			duration = cronrun_duration(argv[++i], 0);
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
	cronrun_log_level("storefleet-mail");
	cronrun_signals();
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
	guard =
	    cronrun_guard("storefleet-mail", "mail", lock, MAIL_LOCK_KEY, NOTIFY_CHANNEL, &busy);
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
	start = cronrun_now();
	for (;;) {
		err_clear(&e);
		if (sender_run(s, &cronrun_stopping, &sent, &failed, &e) < 0) {
			log_error("mail: %s", e.msg);
			rc = 1;
		} else {
			rc = 0;
		}
		if (sent || failed)
			log_info("mail: %d sent, %d not delivered (retried later)", sent, failed);
		left = duration - (cronrun_now() - start);
		if (!loop || cronrun_stopping || left <= 0)
			break;
		cronrun_wait(guard, "mail",
			     left < config.mail_interval ? left : config.mail_interval);
		if (cronrun_stopping || duration - (cronrun_now() - start) <= 0)
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
