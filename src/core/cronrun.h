/* cronrun.h - what a cron program run by `--for DURATION` needs: the duration parser, the
 * single-run guard connection (advisory lock + LISTEN), waiting for a NOTIFY or the deadline. */
#ifndef SF_CRONRUN_H
#define SF_CRONRUN_H

#include <signal.h>
#include <stdint.h>

#include <libpq-fe.h>

/*
 * storefleet-reconcile and storefleet-mail are started by cron every minute
 * with `--for 55s`: they work, then sleep on a connection of their own that
 * holds a session-level advisory lock (one run at a time; a kill -9 closes
 * the socket and PostgreSQL drops the lock) and LISTENs for the NOTIFY that
 * wakes them early.  Each program keeps its own lock key, channel, exit
 * codes and loop; this file holds only the parts they share.
 */

/* Set to 1 by SIGTERM or SIGINT once cronrun_signals ran; the loops stop on it. */
extern volatile sig_atomic_t cronrun_stopping;

/*
 * "55s", "2m", "1h", "90" (seconds) -> seconds; with ms also "250ms".
 * OUT: the seconds, or -1 if malformed or negative.
 */
double cronrun_duration(const char *s, int ms);

/* Seconds on the monotonic clock (for deadlines, not for dates). */
double cronrun_now(void);

/* SIGTERM and SIGINT set cronrun_stopping (no SA_RESTART, so a wait returns); SIGPIPE ignored. */
void cronrun_signals(void);

/* Lower or raise the log level of progname to config.log_level (after config_load). */
void cronrun_log_level(const char *progname);

/*
 * Open the guard connection to config.database_url with application_name
 * progname.  With lock, take pg_try_advisory_lock(lock_key) on it; with
 * channel (non-NULL), LISTEN on it (a failed LISTEN is only a warning).
 * Errors are logged with prefix ("reconcile", "mail").
 * OUT: the connection (the caller PQfinish'es it, which releases the lock);
 * NULL on error, or with *busy = 1 when another session holds the lock.
 */
PGconn *cronrun_guard(const char *progname, const char *prefix, int lock, int64_t lock_key,
		      const char *channel, int *busy);

/*
 * Sleep until a NOTIFY arrives on c, a signal, or secs pass (c may be NULL:
 * only the time and signals wake it).  Notifies are consumed.
 * OUT: 1 if a NOTIFY woke it, else 0.
 */
int cronrun_wait(PGconn *c, const char *prefix, double secs);

#endif
