/* reconcile.h - one reconcile pass: observe the cluster, then move each store through its states.
 */
#ifndef SF_RECONCILE_H
#define SF_RECONCILE_H

#include <stdio.h>

#include "err.h"
#include "k8s.h"

/*
 * The state machine of docs/design.md section 3, level-triggered:
 *
 *   requested -> provisioning -> ready <-> degraded
 *        ^            |             ^  |       |
 *        +-(retry)- failed <--+     |  v       v
 *                             +-- upgrading <--+   (snapshot, apply, verify;
 *                                                   automatic rollback with a
 *   any -> deleting -> deleted (GET 404)            restore: reconcile_upgrade.c)
 *
 * A pass (reconcile_pass) records a reconcile_runs row, observes every
 * storefleet object with a handful of cluster-wide LISTs grouped by the
 * storefleet.io/store label, loads the stores that are not deleted, starts
 * requested stores while fewer than provisioning_concurrency provision,
 * claims the stores that need work (lease.h) and runs one handler per
 * status.  Steady ready stores cost no request and no write.  Every result
 * is a fenced save; a lost lease abandons the store for this pass.
 *
 * Safe to run concurrently, twice, or after a kill -9 at any point: every
 * Kubernetes step is idempotent (server-side apply, POST of the credentials
 * Secret adopting 409 AlreadyExists, DELETE with 404 = gone) and progress
 * lives in the store row, written under the lease.
 */

struct reconcile;

struct reconcile_opts {
	const char *owner; /* lease owner (host:pid) */
	int dry_run;	   /* observe and print decisions to out; write and apply nothing */
	FILE *out;	   /* dry-run report (stdout) */
	double run_for;	   /* seconds this process runs passes (--for; 0 = --once): watches' span */
};

/* Set up (Kubernetes client from config, blueprints loaded lazily).  NULL + e on error. */
struct reconcile *reconcile_new(const struct reconcile_opts *o, struct err *e);
void reconcile_free(struct reconcile *r);

/* Figures of the last pass. */
struct reconcile_stats {
	int stores_seen; /* stores not deleted: each judged, or unchanged since it was (the log says how many were judged) */
	int transitions; /* status changes and steps completed */
	unsigned long k8s_requests;
	double seconds;
};

/*
 * One pass.  Returns 0, or -1 with e set when the pass could not observe
 * or reach the database (stores are left as they were: nothing is lost).
 * Per-store Kubernetes failures are not pass errors: they are recorded on
 * the store (retry with backoff, or failed with the reason).
 */
int reconcile_pass(struct reconcile *r, struct reconcile_stats *st, struct err *e);

#endif
