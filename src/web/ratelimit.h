/* ratelimit.h - fixed-window counters in PostgreSQL, shared by every worker and host. */
#ifndef SF_RATELIMIT_H
#define SF_RATELIMIT_H

#include "arena.h"
#include "err.h"

/*
 * A counter is keyed by (bucket, key): bucket names the rule ("login.account",
 * "login.address", "store.create"...), key the subject (an email, an
 * address, a user id).  A window starts at the first event and lasts
 * `window` seconds on the database clock; the first event after it ends
 * starts a new window at 1.  Counting in PostgreSQL makes the limits hold
 * across workers and hosts.
 *
 * OUT values: *count is the events in the current window, *retry_after the
 * whole seconds (>= 1) until it ends.  Either pointer may be NULL.
 */
struct ratelimit_state {
	int count;
	int retry_after;
};

/* Read without counting: count 0 / retry_after 0 when no window is open. 0 or -1. */
int ratelimit_peek(struct arena *a, const char *bucket, const char *key, int window,
		   struct ratelimit_state *out, struct err *e);

/* Count one event (always). 0 or -1. */
int ratelimit_hit(struct arena *a, const char *bucket, const char *key, int window,
		  struct ratelimit_state *out, struct err *e);

/*
 * Count one event only if fewer than `limit` are in the window, atomically
 * (for guardrails: two racing requests cannot both take the last slot).
 * Returns 1 taken, 0 refused (out says when to retry), -1 error.  Inside a
 * transaction the row stays locked until it ends.
 */
int ratelimit_take(struct arena *a, const char *bucket, const char *key, int limit, int window,
		   struct ratelimit_state *out, struct err *e);

/* Forget a counter. 0 or -1. */
int ratelimit_clear(struct arena *a, const char *bucket, const char *key, struct err *e);

/* Delete counters whose window started more than max_age seconds ago. 0 or -1. */
int ratelimit_gc(struct arena *a, int max_age, struct err *e);

#endif
