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

/* One store row that is not deleted, and what was observed of it. */
struct store {
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
};

struct reconcile {
	struct reconcile_opts o;
	struct k8s k;
	int k8s_ok;
	struct arena *a; /* per pass */
	struct engine_bp bps[4];
	int nbps;
	struct storehttp *http; /* the probe's and the webhook check's */
	struct observe *obs;	/* the view of the cluster (observe.h) */
	json_t *by_store; /* id -> observation */
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
