/* reconcile_int.h - what reconcile.c shares with reconcile_upgrade.c (the pass's own types and
 * helpers). */
#ifndef SF_RECONCILE_INT_H
#define SF_RECONCILE_INT_H

#include <jansson.h>

#include "k8s.h"
#include "lease.h"
#include "lifecycle.h"
#include "readiness.h"
#include "reconcile.h"
#include "storehttp.h"

/*
 * Not a public API: the state handlers live in reconcile.c, except the
 * upgrade and rollback state machine (reconcile_upgrade.c), which needs the
 * same view of a pass.  Everything here is valid for one pass (strings and
 * JSON are arena-owned unless said otherwise).
 */

struct engine_bp {
	char engine[32];
	struct blueprint *bp;
	json_t *expected; /* kind + metadata.name of every object (names are per namespace) */
	json_t *running;  /* the same without Jobs: what a running store must still have */
	char error[256];  /* why the chart cannot be used ("" = fine) */
};

/*
 * One cluster reconcile serves: a row of clusters (sql/018_clusters.sql),
 * read at every pass.  Its own client, its own view (observe.h: watches,
 * leases and fencing tokens of its own), its charts rendered with its
 * overlay and store domain.  A store is judged and acted on only with its
 * cluster's (reconcile.c "several clusters").  Process-lifetime, but for
 * the fields marked "this pass".
 */
#define CLUSTERS_MAX 64

struct rcluster {
	char name[64];
	char domain[256];  /* a store's host is store-<id>.<domain>: store_domain or config.domain */
	char overlay[64];  /* its charts' overlay: the cluster's, or config.overlay */
	char ingress[256]; /* where the HTTP probe connects ("" = no probe) */
	char conn[40];	   /* the connection columns' digest when the client was made */
	struct k8s k;
	int k8s_ok;
	struct observe *obs;
	struct engine_bp bps[4];
	int nbps;
	int seen; /* in this pass's read of clusters (else dropped) */
	/* this pass */
	json_t *by_store; /* the view listed for this pass alone (arena), or NULL: PostgreSQL's */
	int observed;	  /* observe_cluster ran this pass */
	int trouble;	  /* it could not be observed: nothing more is asked of it this pass */
	int stale;	  /* ... and its view is not current: its running stores are not vouched for */
	char why[400];	  /* "cluster eu-2 unreachable: ..." */
	struct k8s_err ke; /* what the observation's failure was */
};

/* One store row that is not deleted, and what was observed of it. */
struct store {
	struct rcluster *c; /* its cluster (stores.cluster), NULL when not served this pass */
	const char *id, *engine, *version, *name, *email, *reason, *step, *desired;
	const char *plan, *plan_applied; /* asked for, applied (sql/013_plans.sql; "" = default) */
	enum store_status status; /* STORE_STATUS_N: a name lifecycle.h does not know */
	int due, leased;
	long long delete_at;
	const json_t *obs;	      /* {namespace, pvcs, ...} of this store, or NULL */
	json_t *pods, *events, *jobs; /* fetched per namespace when needed (arena) */
	struct health_report hr;
	int judged;	    /* hr is valid */
	const char *action; /* the decision, for --dry-run and logs */
	int claim;
	int missing; /* hr: a running store lost an object (repairable) */
	int trouble; /* an episode of cluster trouble is open on the row (trouble_since) */
	const char *change; /* observed_changes.change when loaded (NULL: no row) */
	int settled; /* decided with nothing to do that time alone could change */
	const char *final; /* deleting: the final backup's "<status>:<reason>", "" none awaited */
};

struct reconcile {
	struct reconcile_opts o;
	struct rcluster *cl[CLUSTERS_MAX]; /* cl[0] is 'default' */
	int ncl;
	struct rcluster *cur; /* the cluster of the store being judged or acted on */
	struct k8s *k;	      /* cur's client */
	struct arena *a;      /* per pass */
	struct storehttp *http; /* the probe's and the webhook check's */
	int listed_any;	      /* a cluster's view was listed for this pass alone (judge all) */
	int stale_any;	      /* a cluster in trouble with a view not current (judge all) */
	double started;	      /* monotonic: when the process began (its --for window) */
	struct store *stores;
	int nstores;
	long long now;	     /* database clock when the stores were loaded, unix seconds */
	long long loaded_at; /* the local clock then (time()), to tell how much later it is */
	int transitions;
	int warned_no_key;
	/* what this pass judges (reconcile.c "what a pass judges") */
	int all;	      /* every store (why in all_why); else the marked, busy and swept */
	char all_why[80];
	char listed[24];      /* sum(observed_kinds.listed) when the pass began */
	int fleet;	      /* stores not deleted (stores_seen) */
	int nmarked, nswept;  /* of the stores loaded: with a mark, from the sweep's slice */
	unsigned long count0[K8S_V_N][K8S_R_N]; /* the client's counters when the pass began */
};

/* The string member key of o, "" when absent or not a string (borrowed from o). */
static inline const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* o.a.b, or NULL (borrowed). */
static inline const json_t *jpath(const json_t *o, const char *a, const char *b)
{
	return json_object_get(json_object_get(o, a), b);
}

/* The chart of engine, loaded on first use (NULL when too many engines; eb->bp NULL when broken).
 */
struct engine_bp *reconcile_engine_bp(struct reconcile *r, const char *engine);

/*
 * The store's credentials Secret decoded (OUT *creds, owned by the pass's
 * arena); create = 1 generates and stores them when missing.  0, or -1
 * with ke.
 */
int reconcile_credentials(struct reconcile *r, const struct store *s, const struct engine_bp *eb,
			  int create, json_t **creds, int *generated, struct k8s_err *ke);

/* The pods and events (details), or the Jobs, of the store's namespace, once per pass. */
int reconcile_fetch_details(struct reconcile *r, struct store *s, struct k8s_err *ke);
int reconcile_fetch_jobs(struct reconcile *r, struct store *s, struct k8s_err *ke);

/* readiness_evaluate over what the pass saw of s, into s->hr. */
void reconcile_judge(struct reconcile *r, struct store *s, const json_t *expected, int deleting);

/* The HTTP probe through the ingress: 0 when the engine's paths answer 200, else why. */
int reconcile_probe(struct reconcile *r, const char *engine, const char *host, char *why, size_t n);

/* The fenced save of a claim's results (reconcile.c save): 1, 0 lease lost, -1. */
int reconcile_save(struct reconcile *r, struct lease *l, const struct lease_save *w);

/* A claim failed on a transient Kubernetes error: the store's episode of cluster trouble. */
void reconcile_trouble(struct reconcile *r, struct lease *l, const char *what,
		       const struct k8s_err *ke);

/*
 * Act with cluster's client, view and charts (r->cur, r->k) from here on:
 * 0, or -1 when it is not served this pass or in trouble (ask it nothing).
 */
int reconcile_use(struct reconcile *r, const char *cluster);

/* Is ke a transient failure (retry later) rather than a refusal? */
int k8s_transient_err(const struct k8s_err *ke);

/* --- reconcile_plan.c */

/*
 * The per-store values of a render of s on plan (NULL = the plan applied),
 * with more (may be NULL) merged over them; arena-owned.  NULL with why
 * when the plan is not in the plans file.
 */
json_t *reconcile_values(struct reconcile *r, const struct store *s, const char *plan,
			 const json_t *more, char *why, size_t n);

/*
 * Before applying a set to an existing store: each StatefulSet keeps the
 * claim templates' storage it has (the API server forbids changing them;
 * a plan's bigger volume is asked of the claims).  0, or -1 with ke.
 */
int reconcile_keep_claim_templates(struct reconcile *r, const struct store *s, json_t *set,
				   struct k8s_err *ke);

/* The plan change of a ready store whose plan is not the one applied (one claim). */
void reconcile_plan_change(struct reconcile *r, struct store *s, struct lease *l);

/* --- reconcile_upgrade.c */

/* The handler of status 'upgrading': one step of the store's pending revision. */
void reconcile_upgrading(struct reconcile *r, struct store *s, struct lease *l);

/*
 * Provisioning's revision 1: recorded (kind provision, actor the owner,
 * the version applied, values without secrets) at the first apply when the
 * store has no revision yet, and marked ready with its blueprint revision
 * when the store becomes ready.  Idempotent; errors are logged, never fatal
 * to provisioning (the pass-start backfill repairs a missed write).
 */
void reconcile_revision_applied(struct reconcile *r, const struct store *s,
				const struct engine_bp *eb);
void reconcile_revision_ready(struct reconcile *r, const struct store *s, const char *rev);

/*
 * Once per pass: ready and degraded stores with no revision (made before
 * revisions existed, or whose first write was lost) get revision 1.
 */
void reconcile_revisions_backfill(struct reconcile *r);

#endif
