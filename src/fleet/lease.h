/* lease.h - reconcile's leases on store rows: start, claim, fenced save, release. */
#ifndef SF_LEASE_H
#define SF_LEASE_H

#include "arena.h"
#include "err.h"
#include "lifecycle.h"

/*
 * A reconciler works on a store only while it holds the row's lease: a
 * random token plus an expiry taken from the database clock, committed
 * before any Kubernetes call.  Every write of results is one statement
 * fenced on (id, token, unexpired, status unchanged): if it updates no row
 * the lease was lost (expired and taken by another run, or the web app
 * changed the status meanwhile) and the caller must stop touching the
 * store at once.  Events go into store_events in that same statement, so
 * they exist exactly when the update happened.
 *
 * Strings in the structs below are arena copies (or borrowed from the
 * caller, as documented), valid until the arena's next reset.
 */

/*
 * A lease is held while its token is set, it has not expired, and its
 * holder (a reconcile process, by the advisory lock its database session
 * holds: sql/008_lease_holder.sql) is alive.  LEASE_HOLDER_ALIVE(s) is the
 * SQL condition on the stores row s; its subquery is uncorrelated, so
 * PostgreSQL reads pg_locks once per statement.  Leases taken before
 * holders were recorded (lease_holder NULL) count as alive until they expire.
 */
#define LEASE_HOLDER_NS 21318 /* "SF": the advisory lock's first key */
#define LEASE_HOLDER_ALIVE(s)                                                                      \
	"(" s ".lease_holder IS NULL OR " s ".lease_holder IN (SELECT objid::bigint::int"          \
	" FROM pg_locks WHERE locktype = 'advisory' AND classid = 21318 AND objsubid = 2"        \
	" AND granted AND database = (SELECT oid FROM pg_database"                               \
	" WHERE datname = current_database())))"
#define LEASE_HELD(s)                                                                              \
	"(" s ".lease_token IS NOT NULL AND " s ".lease_expires_at > now() AND "                 \
	LEASE_HOLDER_ALIVE(s) ")"

/*
 * Take this process's holder lock (once; again after a reconnect lost it):
 * a random holder number whose session-level advisory lock this database
 * session holds.  Call before lease_claim; 0 or -1 (e).
 */
int lease_holder_ensure(struct arena *a, struct err *e);

/* This process's holder number once lease_holder_ensure succeeded (0 before). */
int lease_holder_id(void);

/* One claimed store row, as it was when the lease was taken. */
struct lease {
	const char *id;
	const char *token;	  /* lease_token (uuid text) */
	enum store_status status; /* STORE_STATUS_N: a name lifecycle.h does not know */
	const char *reason;	  /* status_reason */
	const char *step;	  /* last completed step ("" = none) */
	const char *revision;	  /* blueprint_revision */
	int attempts;
	int has_secret;		 /* admin_secret IS NOT NULL */
	long long started_at;	 /* provisioning_started_at, unix s (0 = NULL) */
	long long delete_at;	 /* delete_requested_at (or updated_at), unix s */
	long long now;		 /* database clock at claim time, unix s */
	long long trouble_since; /* the episode of cluster trouble began, unix s (0 = none) */
};

/*
 * Move due 'requested' stores to 'provisioning' while fewer than
 * concurrency stores are provisioning (counted under a transaction-level
 * advisory lock, so several reconcilers never overshoot), with a
 * "provisioning started" event each.  No lease is taken: the stores are
 * claimed like any other provisioning store.  *n = how many started.
 */
int lease_start_requested(struct arena *a, int concurrency, int *n, struct err *e);

/*
 * Claim the stores among ids (n of them) that are due, not leased by
 * anyone, and not requested/failed/deleted, for lease_seconds, owner
 * recorded as owner.  Rows locked by another claim are skipped.  OUT:
 * *out an arena array of *nout leases.
 */
int lease_claim(struct arena *a, const char *const *ids, int n, const char *owner,
		int lease_seconds, struct lease **out, int *nout, struct err *e);

/*
 * Extend a held lease (before more Kubernetes work on the store).
 * Returns 1 while held, 0 when lost, -1 on a database error.
 */
int lease_renew(struct arena *a, const struct lease *l, int lease_seconds, struct err *e);

/*
 * lease_save.status that keeps the store's status.  Reconcile never moves a
 * store back to requested (the web app's retry does), so the zero that
 * `struct lease_save w = {0}` gives means "keep".
 */
#define LEASE_KEEP_STATUS STORE_REQUESTED

/*
 * lease_save.trouble: what a save does to trouble_since, the start of the
 * store's episode of cluster trouble (sql/009_trouble_since.sql).  The zero
 * keeps it; ON sets it to now() unless an episode is already open; OFF ends it.
 */
enum lease_trouble { LEASE_TROUBLE_KEEP = 0, LEASE_TROUBLE_ON = 1, LEASE_TROUBLE_OFF = -1 };

/* What a fenced save writes (NULL strings = keep the column). */
struct lease_save {
	enum store_status status; /* new status (may equal the old one); LEASE_KEEP_STATUS */
	const char *reason;
	const char *step;
	const char *revision;
	const char *admin_user;
	const char *admin_secret; /* bytea text from seal_box */
	int attempts;		  /* new attempt count */
	double delay;		  /* next_attempt_at = now() + delay seconds */
	int release;		  /* 1 = give the lease up in the same statement */
	enum lease_trouble trouble; /* trouble_since: keep (0), ON, OFF */
	const char *plan_applied;   /* the plan now applied (sql/013_plans.sql) */
	const char *plan;	    /* the plan asked for (put back when a change is refused) */
	/* events inserted with the update: step, level, message (borrowed) */
	const char *ev_step[16], *ev_level[16], *ev_msg[16];
	int nev;
};

/* Queue an event on a save (at most 16; more is a bug). */
void lease_event(struct lease_save *w, const char *step, const char *level, const char *msg);

/*
 * The fenced write: update the row and insert the events if and only if
 * id, token, expiry and status still match l.  On success l->status,
 * reason, step, revision, attempts and trouble_since follow the save
 * (l->token is cleared when released).  Returns 1 written, 0 lease lost
 * (nothing written: the caller should lease_release(), which frees the row
 * at once when only the status moved on, e.g. a delete asked meanwhile),
 * -1 database error.
 */
int lease_save(struct arena *a, struct lease *l, const struct lease_save *w, int lease_seconds,
	       struct err *e);

/* Give the lease up (fenced on the token; a lost lease is not an error). */
int lease_release(struct arena *a, struct lease *l, struct err *e);

#endif
