/* reconcile.c - the reconcile pass and the store state machine (docs/design.md section 3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "arena.h"
#include "blueprint.h"
#include "buf.h"
#include "cluster.h"
#include "config.h"
#include "db.h"
#include "lease.h"
#include "lifecycle.h"
#include "log.h"
#include "observe.h"
#include "reconcile_medusa.h"
#include "reconcile_metrics.h"
#include "readiness.h"
#include "reconcile.h"
#include "reconcile_backup.h"
#include "reconcile_capacity.h"
#include "reconcile_domain.h"
#include "reconcile_int.h"
#include "reconcile_webhooks.h"
#include "seal.h"

/*
 * How a pass works, and why:
 *
 * OBSERVE reads the view of every store from PostgreSQL (observe.h): the
 * host owning each kind's watch listed it once and applies the changes its
 * watch brings, so a steady pass costs no Kubernetes request at all, and
 * the next run resumes the watch.  A view not known current (no LIST or
 * BOOKMARK within observe_stale seconds) is never judged: the pass lists
 * the cluster itself.  Pods and events (the details of a failure) are
 * fetched per namespace, and only for stores being provisioned or whose
 * workloads look unhealthy.
 *
 * DECIDE is pure: from (status, observation) each store either needs
 * nothing (a steady ready store: no request, no write) or work, and the
 * stores needing work are claimed in one statement (lease.h).
 *
 * ACT runs the handler of the claimed status (the table `state_act` below).
 * Provisioning is a list of idempotent steps; the last completed one is
 * stores.step, which only moves forward under the lease, so each step's
 * event is written exactly once however many reconcilers run or crash.
 */

#define MANAGED_SELECTOR   "app.kubernetes.io/managed-by=storefleet"
#define STORE_LABEL	   "storefleet.io/store"
#define CREDENTIALS_SECRET "storefleet-credentials"
#define RECONCILE_BODY_MIN ((size_t)32 << 20)
#define JUDGE_CHUNK	   1000 /* stores whose observed summaries are in memory at once */

/*
 * The kinds of a store's observation (observe.h); key = its field.  Jobs
 * are not observed cluster-wide: a running store's setup is done, and a
 * provisioning store's Jobs come with its pods and events (fetch_details).
 */
static const struct obs_kind {
	const char *api_version, *kind, *key;
} obs_kinds[] = {
    {"v1", "Namespace", "namespace"},
    {"v1", "PersistentVolumeClaim", "pvcs"},
    {"apps/v1", "StatefulSet", "statefulsets"},
    {"apps/v1", "Deployment", "deployments"},
};
#define OBS_N (sizeof(obs_kinds) / sizeof(obs_kinds[0]))

/* The paths of the HTTP probe per engine (docs/readiness.md). */
static const struct probe_paths {
	const char *engine, *paths[3];
} probe_paths[] = {
    {"woocommerce", {"/", "/wp-login.php", NULL}},
    {"medusa", {"/health", NULL, NULL}},
};

/* ---- blueprints: loaded once per engine ---------------------------------- */

static void bp_set_if(struct engine_bp *eb, const char *path, const char *a, const char *b,
		      const char *value)
{
	struct err e = ERR_INIT;
	const json_t *v = blueprint_values(eb->bp);

	v = b ? jpath(v, a, b) : json_object_get(v, a);
	if (!v || !value || !*value)
		return;
	if (blueprint_set(eb->bp, path, value, "configuration", &e) < 0)
		log_warn("reconcile: %s blueprint: %s", eb->engine, e.msg);
}

/* A JSON object of every secret name -> value (fake ones when fake is set). */
static json_t *make_secrets(const struct blueprint *bp, int fake)
{
	static const char alnum[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	const json_t *names = blueprint_secret_names(bp), *n;
	json_t *out = json_object();
	char pw[33];
	size_t i;

	json_array_foreach(names, i, n) {
		if (fake) {
			snprintf(pw, sizeof(pw), "placeholder");
		} else {
			/* alphanumerics only: values end up in URLs and config files */
			for (int c = 0; c < 32; c++)
				pw[c] = alnum[randombytes_uniform(sizeof(alnum) - 1)];
			pw[32] = 0;
		}
		json_object_set_new(out, json_string_value(n), json_string(pw));
	}
	return out;
}

struct engine_bp *reconcile_engine_bp(struct reconcile *r, const char *engine)
{
	struct engine_bp *eb;
	struct err e = ERR_INIT;
	struct blueprint_store bs = {"aaaaaaaa", "expected", "expected@example.com",
				     NULL,	 NULL,	     NULL};
	json_t *set, *obj;
	size_t i;

	struct rcluster *c = r->cur;

	for (int k = 0; k < c->nbps; k++)
		if (!strcmp(c->bps[k].engine, engine))
			return &c->bps[k];
	if (c->nbps >= (int)(sizeof(c->bps) / sizeof(c->bps[0])))
		return NULL;
	eb = &c->bps[c->nbps++];
	snprintf(eb->engine, sizeof(eb->engine), "%s", engine);
	/* the cluster's overlay and store domain (its own, or the configuration's) */
	eb->bp = blueprint_load(config.charts_dir, engine, c->overlay, NULL, &e);
	if (!eb->bp) {
		snprintf(eb->error, sizeof(eb->error), "%s", e.msg);
		log_error("reconcile: %s", e.msg);
		return eb;
	}
	bp_set_if(eb, "domain", "domain", NULL, c->domain);
	bp_set_if(eb, "ingress.class", "ingress", "class", config.ingress_class);
	bp_set_if(eb, "tls.secret_name", "tls", "secret_name", config.tls_secret);
	bp_set_if(eb, "tls.cluster_issuer", "tls", "cluster_issuer", config.tls_issuer);
	bp_set_if(eb, "webhooks.base_url", "webhooks", "base_url", config.public_origin);

	/* The objects every store of this engine should have (names do not depend on the id). */
	bs.secrets = arena_json(r->a, make_secrets(eb->bp, 1));
	set = arena_json(r->a, blueprint_render(eb->bp, &bs, &e));
	if (!set) {
		snprintf(eb->error, sizeof(eb->error), "%s", e.msg);
		log_error("reconcile: %s", e.msg);
		return eb;
	}
	eb->expected = json_array();
	eb->running = json_array();
	json_array_foreach(set, i, obj) {
		json_t *x = json_pack("{s:s, s:{s:s}}", "kind", jstr(obj, "kind"), "metadata",
				      "name", jstr(json_object_get(obj, "metadata"), "name"));

		if (strcmp(jstr(obj, "kind"), "Job"))
			json_array_append(eb->running, x);
		json_array_append_new(eb->expected, x);
	}
	return eb;
}

/* The admin user the owner signs in with: the chart's *.admin_user, else the owner's email. */
/*
 * Whether the blueprint's setup Job registers webhooks (webhooks.base_url
 * set, by SF_PUBLIC_ORIGIN or a values file).  Without them there is no
 * delivery to verify and no REST API key in the store for the periodic
 * check, so reconcile keeps neither.
 */
static int webhooks_registered(const struct engine_bp *eb)
{
	const char *url =
	    json_string_value(jpath(blueprint_values(eb->bp), "webhooks", "base_url"));

	return url && *url;
}

static const char *admin_user_of(const struct engine_bp *eb, const struct store *s)
{
	const json_t *v = blueprint_values(eb->bp), *sub;
	const char *key;

	json_object_foreach((json_t *)v, key, sub) {
		const char *u = json_string_value(json_object_get(sub, "admin_user"));

		if (u && *u)
			return u;
	}
	return s->email;
}

/* ---- several clusters ------------------------------------------------------ */

/*
 * Several clusters (docs/design.md section 7).  Every pass reads the
 * clusters table (sql/018_clusters.sql): each row gets a struct rcluster,
 * made once and kept (client, view, charts) while the row stays; a row
 * added while reconcile runs is served from the next pass, one removed is
 * dropped.  'default' is the configuration's cluster: its client is made
 * by reconcile_new (a configuration that cannot reach it stops the program,
 * as before); another's when its row is first read (a sealed kubeconfig
 * that does not open makes that cluster unreachable, with the reason).
 *
 * Each cluster is observed on its own (observe.h: watches, leases and
 * fencing tokens keyed by cluster), and a store is judged and acted on
 * with its own cluster's client and view only: use() sets r->cur and r->k
 * to the store's cluster before anything is decided or done for it.
 *
 * A cluster whose observation fails this pass (a LIST that does not get
 * through within the request timeout: refused, TLS, timeouts, 5xx or 429
 * beyond the retries) is in trouble for the pass: nothing more is asked of
 * it, so the other clusters' stores go on in the same pass, and
 *   - its due provisioning and deleting stores get the trouble said on
 *     them, one attempt of their episode of cluster trouble (section 3);
 *   - once its view is no longer current (observe_stale) its ready and
 *     degraded stores are not vouched for: they become degraded, "cluster
 *     NAME unreachable: ...".  When it answers again its view is current
 *     again and every store is judged from it: the healthy ones are ready
 *     again.
 * clusters.reachable, trouble and checked_at say what the last pass saw.
 */
#define DEFAULT_CLUSTER CLUSTER_DEFAULT

/* clang-format off */
static struct db_stmt st_clusters = DB_STMT(
    "SELECT name, store_domain, overlay, ingress_address,"
    "  md5(coalesce(encode(kubeconfig, 'hex'), '') || '/' || context || '/' || in_cluster::text)"
    " FROM clusters ORDER BY name <> 'default', name", 0);

/* What this pass saw of cluster $1 (checked_at: the last time it was reached). */
static struct db_stmt st_reached = DB_STMT(
    "UPDATE clusters SET reachable = $2::boolean, trouble = $3,"
    "  checked_at = CASE WHEN $2::boolean THEN now() ELSE checked_at END"
    " WHERE name = $1 AND (reachable IS DISTINCT FROM $2::boolean OR trouble <> $3"
    "  OR ($2::boolean AND (checked_at IS NULL OR checked_at < now() - interval '30 seconds')))",
    3);

/* clang-format on */

static double mono_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The client options every cluster's client gets. */
static void cluster_opts(struct k8s_opts *ko)
{
	k8s_opts_from_config(ko);
	/* a LIST page (observe.c: 500 objects, pod templates and all) stays well under it */
	if (ko->body_max < RECONCILE_BODY_MIN)
		ko->body_max = RECONCILE_BODY_MIN;
}

static void cluster_free(struct rcluster *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nbps; i++) {
		blueprint_free(c->bps[i].bp);
		json_decref(c->bps[i].expected);
		json_decref(c->bps[i].running);
	}
	observe_free(c->obs);
	if (c->k8s_ok)
		k8s_release(&c->k);
	free(c);
}

/* Its charts again, rendered with the cluster's new overlay or store domain. */
static void cluster_charts_reset(struct rcluster *c)
{
	for (int i = 0; i < c->nbps; i++) {
		blueprint_free(c->bps[i].bp);
		json_decref(c->bps[i].expected);
		json_decref(c->bps[i].running);
	}
	memset(c->bps, 0, sizeof(c->bps));
	c->nbps = 0;
}

/* Make c's client and view when it has none yet: 0, or -1 with c->why. */
static int cluster_connect(struct reconcile *r, struct rcluster *c, struct err *ce)
{
	struct k8s_opts ko;
	struct err e = ERR_INIT;
	double left = r->o.run_for - (mono_now() - r->started);

	if (c->k8s_ok)
		return 0;
	cluster_opts(&ko);
	if (cluster_k8s_init(r->a, c->name, &c->k, &ko, &e) < 0) {
		snprintf(c->why, sizeof(c->why), "cluster %s unreachable: %.300s", c->name, e.msg);
		*ce = e;
		return -1;
	}
	c->k8s_ok = 1;
	c->obs = observe_new(&c->k, c->name, r->o.owner, left > 0 ? left : 0);
	log_info("reconcile: cluster %s: serving it (%s)", c->name, c->k.kc.server);
	return 0;
}

/*
 * Read the clusters table: new rows get a struct rcluster, removed ones
 * are dropped, changed settings apply.  0, or -1 with e (database).
 */
static int clusters_sync(struct reconcile *r, struct err *e)
{
	PGresult *res = db_run(r->a, &st_clusters, NULL, e);
	struct rcluster *keep[CLUSTERS_MAX];
	int n = 0;

	if (!res)
		return -1;
	for (int i = 0; i < r->ncl; i++)
		r->cl[i]->seen = 0;
	for (int i = 0; i < db_rows(res); i++) {
		const char *name = db_get(res, i, 0), *dom = db_get(res, i, 1),
			   *ov = db_get(res, i, 2), *ing = db_get(res, i, 3), *conn = db_get(res, i, 4);
		struct rcluster *c = NULL;
		int dflt = !strcmp(name, DEFAULT_CLUSTER);

		for (int j = 0; j < r->ncl; j++)
			if (!strcmp(r->cl[j]->name, name))
				c = r->cl[j];
		if (c && !dflt && strcmp(c->conn, conn)) {
			log_info("reconcile: cluster %s: its connection changed", name);
			for (int j = 0; j < r->ncl; j++)
				if (r->cl[j] == c)
					r->cl[j] = NULL;
			cluster_free(c);
			c = NULL;
		}
		if (!c) {
			if (!(c = calloc(1, sizeof(*c))))
				die_oom();
			snprintf(c->name, sizeof(c->name), "%s", name);
		}
		snprintf(c->conn, sizeof(c->conn), "%s", conn);
		if (!*dom)
			dom = config.domain;
		if (!*ov)
			ov = config.overlay;
		if (!*ing && dflt)
			ing = config.ingress_address;
		if (strcmp(c->domain, dom) || strcmp(c->overlay, ov))
			cluster_charts_reset(c);
		snprintf(c->domain, sizeof(c->domain), "%s", dom);
		snprintf(c->overlay, sizeof(c->overlay), "%s", ov);
		snprintf(c->ingress, sizeof(c->ingress), "%s", ing);
		c->seen = 1;
		if (n < CLUSTERS_MAX)
			keep[n++] = c;
		else
			log_warn("reconcile: more than %d clusters: %s is not served", CLUSTERS_MAX,
				 name);
	}
	for (int i = 0; i < r->ncl; i++) {
		if (!r->cl[i] || r->cl[i]->seen)
			continue;
		if (!strcmp(r->cl[i]->name, DEFAULT_CLUSTER)) {
			/* never dropped, and always first (r->cl[0]) */
			memmove(keep + 1, keep, sizeof(keep[0]) * (size_t)(n < CLUSTERS_MAX ? n : n - 1));
			keep[0] = r->cl[i];
			n += n < CLUSTERS_MAX;
			continue;
		}
		log_info("reconcile: cluster %s: removed; no longer served", r->cl[i]->name);
		cluster_free(r->cl[i]);
	}
	memcpy(r->cl, keep, sizeof(keep[0]) * (size_t)n);
	r->ncl = n;
	return 0;
}

/* The cluster named name this pass, or NULL. */
static struct rcluster *cluster_named(struct reconcile *r, const char *name)
{
	if (!name)
		return NULL;
	for (int i = 0; i < r->ncl; i++)
		if (!strcmp(r->cl[i]->name, name))
			return r->cl[i];
	return NULL;
}

/* Judge and act with c's client, view and charts from here on. */
static void use(struct reconcile *r, struct rcluster *c)
{
	r->cur = c;
	r->k = &c->k;
}

int reconcile_use(struct reconcile *r, const char *cluster)
{
	struct rcluster *c = cluster_named(r, cluster);

	if (!c || c->trouble || !c->k8s_ok)
		return -1;
	use(r, c);
	return 0;
}

/* What went wrong with the cluster, in a few words (from the client's message). */
static const char *cause_of(const struct k8s_err *ke)
{
	const char *m = ke->err.msg, *p = strstr(m, "': ");

	/* "kubernetes: context 'c' server 'https://h:p': GET '/api/..': what" -> what */
	while (p && strstr(p + 3, "': "))
		p = strstr(p + 3, "': ");
	return p ? p + 3 : m;
}

/*
 * Observe cluster c for this pass: c->by_store, c->trouble, c->stale,
 * c->why; what this host learnt of its reachability goes to its row.
 * Database errors: -1 with e (the pass fails, as before).
 */
static int observe_cluster(struct reconcile *r, struct rcluster *c, struct observe_stats *tot,
			   struct err *e)
{
	struct observe_stats ost = {0};
	struct err oe = ERR_INIT;
	int rc;

	c->by_store = NULL;
	c->trouble = c->stale = 0;
	c->why[0] = 0;
	memset(&c->ke, 0, sizeof(c->ke));
	if (cluster_connect(r, c, &oe) < 0) {
		/* no client: its stores are not vouched for, unless the database was the trouble */
		c->trouble = 1;
		c->stale = oe.status != 503;
		c->ke.klass = K8S_HARD;
		log_warn("reconcile: %s", c->why);
		goto reach;
	}
	rc = observe_view(c->obs, r->a, !r->o.dry_run, &c->by_store, &ost, &c->ke, &oe);
	tot->listed += ost.listed;
	tot->resumed += ost.resumed;
	tot->events += ost.events;
	tot->fallback |= ost.fallback;
	if (rc < 0 && !ost.failed) {
		*e = oe; /* the database */
		return -1;
	}
	if (ost.failed) {
		c->trouble = 1;
		c->stale = rc < 0;
		snprintf(c->why, sizeof(c->why), "cluster %s unreachable: %.300s", c->name,
			 cause_of(&c->ke));
		if (rc < 0) {
			c->by_store = NULL;
			if (!e->status)
				*e = oe; /* the pass says so (exit 1), the other clusters go on */
		}
	}
	r->listed_any |= c->by_store != NULL;
reach:
	if (!r->o.dry_run && (c->trouble || ost.reached)) {
		const char *p[3] = {c->name, c->trouble ? "false" : "true", c->why};
		struct err we = ERR_INIT;

		if (!db_run(r->a, &st_reached, p, &we))
			log_warn("reconcile: cluster %s: %s", c->name, we.msg);
	}
	return 0;
}

/* ---- load ----------------------------------------------------------------- */

/*
 * What a pass judges, and why that is enough.
 *
 * Judging a store (readiness.c over its observed summaries, then decide())
 * costs a read of its summaries from PostgreSQL and some CPU: over the
 * whole fleet, most of a steady pass.  A verdict can only change when its
 * inputs do, so a pass judges (and loads) only the stores that can have a
 * new one:
 *
 *   - marked: a row in observed_changes (sql/016_observed_changes.sql).
 *     observe.c marks a store in the transaction that adds, changes,
 *     relabels or deletes one of its observed objects; a trigger marks it
 *     when a column of its row that decide() reads changes (status,
 *     reason, step, plan, plan_applied, next_attempt_at, trouble_since...;
 *     the web app, storefleetctl and reconcile alike).  A pass removes the
 *     mark only of a store it judged settled (below), and only if the mark
 *     is still the one it loaded (change = the value read, compared for
 *     equality: no cursor, so writes committed in any order by any host
 *     are never skipped; rows locked by a writer are skipped, not waited
 *     for).  The mark is read before the summaries, so a judgment is never
 *     older than the mark it removes.
 *   - busy: every status but ready, suspended and failed (stores_busy_idx):
 *     they act, wait on deadlines (provisioning and deleting timeouts, next
 *     attempts) or read pods and events that are not watched (degraded).
 *   - swept: a slice of the fleet by id, sized so that every store is
 *     judged again within judge_sweep seconds (SF_JUDGE_SWEEP, 600), from
 *     a cursor shared by every host (observed_judged): a mark that went
 *     missing, a chart or setting changed by a new reconcile version, show
 *     within that time.
 *   - all: the dry run, a pass that listed the cluster for itself (the
 *     shared view not current), and the first pass after a kind was
 *     re-listed (observed_kinds.listed grew: the re-list replaces the view
 *     without marks); the pass records the listed count it judged under.
 *
 * Settled is a decision that nothing but a marked change can alter: a
 * ready store judged ready with nothing to do, a suspended store with
 * nothing to do, a failed store.  Not settled - claimed, leased by another
 * run, not due, a verdict still progressing (a volume claim pending for
 * failure_grace, a rollout: time alone moves those), a chart that could
 * not be loaded, details that could not be fetched - keeps its mark, or
 * gets one when it is not busy, so the next pass judges it again.
 */
#define STORE_COLUMNS                                                                              \
	"SELECT s.id, s.engine, s.engine_version, s.name, u.email, s.status, s.status_reason,"    \
	" s.step, s.desired, s.next_attempt_at <= now(),"                                           \
	" " LEASE_HELD("s") ","                                                                     \
	" extract(epoch FROM coalesce(s.delete_requested_at, s.updated_at))::bigint,"               \
	" extract(epoch FROM now())::bigint, s.trouble_since IS NOT NULL,"                          \
	" s.plan, s.plan_applied, c.change, s.cluster,"                                             \
	" CASE WHEN s.final_backup = 'wanted' THEN coalesce((SELECT b.status || ':' || b.reason"    \
	"   FROM backups b WHERE b.id = s.final_backup_id), 'requested:') ELSE '' END"              \
	" FROM stores s JOIN users u ON u.id = s.owner_id"                                          \
	" LEFT JOIN observed_changes c ON c.store_id = s.id"

static struct db_stmt st_load = DB_STMT(
    STORE_COLUMNS " WHERE s.status <> 'deleted' ORDER BY s.next_attempt_at, s.id", 0);

/* the marked, the busy (stores_busy_idx: same predicate) and the swept slice $1 */
static struct db_stmt st_load_some =
    DB_STMT(STORE_COLUMNS
	    " WHERE s.id IN (SELECT store_id FROM observed_changes"
	    "   UNION SELECT id FROM stores"
	    "     WHERE status NOT IN ('ready', 'suspended', 'failed', 'deleted')"
	    "   UNION SELECT unnest($1::text[]))"
	    " AND s.status <> 'deleted' ORDER BY s.next_attempt_at, s.id",
	    1);

/* The listed count now, and the one the last whole pass judged under. */
static struct db_stmt st_scope =
    DB_STMT("SELECT (SELECT sum(listed) FROM observed_kinds)::text, listed::text"
	    " FROM observed_judged",
	    0);

/*
 * The sweep's next slice, taken under the row's lock (hosts take
 * consecutive slices): n * dt / $1 stores after the cursor, n the stores
 * not deleted and dt the seconds since the last slice (at most $1); past
 * the last id the cursor starts again.  OUT: n, the slice as an array.
 */
/* clang-format off */
static struct db_stmt st_sweep = DB_STMT(
    "WITH cur AS (SELECT sweep_after,"
    "   least(greatest(extract(epoch FROM now() - swept_at)::float8, 0), $1::float8) AS dt"
    "   FROM observed_judged FOR UPDATE),"
    " n AS (SELECT count(*) AS n FROM stores WHERE status <> 'deleted'),"
    " k AS (SELECT greatest(1, ceil(n.n * cur.dt / $1::float8))::bigint AS k FROM n, cur),"
    " slice AS (SELECT s.id FROM stores s WHERE s.id > (SELECT sweep_after FROM cur)"
    "   AND s.status <> 'deleted' ORDER BY s.id LIMIT (SELECT k FROM k)),"
    " upd AS (UPDATE observed_judged SET swept_at = now(),"
    "   sweep_after = CASE WHEN (SELECT count(*) FROM slice) < (SELECT k FROM k) THEN ''"
    "     ELSE (SELECT max(id) FROM slice) END)"
    " SELECT (SELECT n FROM n), coalesce((SELECT array_agg(id ORDER BY id) FROM slice), '{}')::text",
    1);

/* Settled: remove the marks still as loaded ($1 ids, $2 changes), skipping any a writer holds. */
static struct db_stmt st_settle = DB_STMT(
    "WITH mine AS (SELECT c.store_id FROM observed_changes c"
    "   JOIN unnest($1::text[], $2::bigint[]) AS x (id, change)"
    "   ON c.store_id = x.id AND c.change = x.change FOR UPDATE OF c SKIP LOCKED)"
    " DELETE FROM observed_changes c USING mine WHERE c.store_id = mine.store_id",
    2);

/* Not settled and not busy: marked, so the next pass judges them again. */
static struct db_stmt st_unsettled = DB_STMT(
    "INSERT INTO observed_changes (store_id) SELECT id FROM unnest($1::text[]) AS x (id)"
    " ORDER BY id ON CONFLICT (store_id) DO NOTHING",
    1);

/* Marks of stores deleted or unknown (objects of no store): nothing to judge. */
static struct db_stmt st_orphans = DB_STMT(
    "WITH mine AS (SELECT c.store_id FROM observed_changes c WHERE NOT EXISTS"
    "   (SELECT 1 FROM stores s WHERE s.id = c.store_id AND s.status <> 'deleted')"
    "   FOR UPDATE OF c SKIP LOCKED)"
    " DELETE FROM observed_changes c USING mine WHERE c.store_id = mine.store_id",
    0);

/* A whole pass judged every store under listed count $1: the sweep starts again. */
static struct db_stmt st_judged_all = DB_STMT(
    "UPDATE observed_judged SET listed = $1::bigint, sweep_after = '', swept_at = now()", 1);
/* clang-format on */

/* The status named s; STORE_STATUS_N for a name lifecycle.h does not know (no handler). */
static enum store_status status_of(const char *s)
{
	int st = store_status_parse(s);

	return st < 0 ? STORE_STATUS_N : (enum store_status)st;
}

/* Judged at every pass (st_load_some, stores_busy_idx): not a steady status. */
static int busy(enum store_status st)
{
	return st != STORE_READY && st != STORE_SUSPENDED && st != STORE_FAILED;
}

/* Load the stores of st (slice: $1 of st_load_some).  0 or -1. */
static int load_stores_of(struct reconcile *r, struct db_stmt *st, const char *slice,
			  struct err *e)
{
	const char *p[1] = {slice};
	PGresult *res = db_run(r->a, st, slice ? p : NULL, e);
	int n;

	if (!res)
		return -1;
	n = db_rows(res);
	r->nstores = n;
	r->stores = arena_zalloc(r->a, sizeof(struct store) * (size_t)(n ? n : 1));
	r->now = r->loaded_at = (long long)time(NULL);
	r->nmarked = 0;
	for (int i = 0; i < n; i++) {
		struct store *s = &r->stores[i];

		s->id = db_get(res, i, 0);
		s->engine = db_get(res, i, 1);
		s->version = db_get(res, i, 2);
		s->name = db_get(res, i, 3);
		s->email = db_get(res, i, 4);
		s->status = status_of(db_get(res, i, 5));
		s->reason = db_get(res, i, 6);
		s->step = db_get(res, i, 7);
		s->desired = db_get(res, i, 8);
		s->due = db_get_bool(res, i, 9);
		s->leased = db_get_bool(res, i, 10);
		s->delete_at = db_get_ll(res, i, 11);
		r->now = db_get_ll(res, i, 12);
		s->trouble = db_get_bool(res, i, 13);
		s->plan = db_get(res, i, 14);
		s->plan_applied = db_get(res, i, 15);
		s->change = db_get(res, i, 16); /* NULL: no mark */
		r->nmarked += s->change != NULL;
		s->c = cluster_named(r, db_get(res, i, 17));
		s->obs = s->c && s->c->by_store ? json_object_get(s->c->by_store, s->id) : NULL;
		s->final = db_get(res, i, 18);
	}
	return 0;
}

/* Every store not deleted. */
static int load_stores(struct reconcile *r, struct err *e)
{
	return load_stores_of(r, &st_load, NULL, e);
}

/*
 * Load what this pass judges (the comment above st_load): every store
 * (r->all) or the marked, busy and swept.  Sets r->fleet.  0 or -1.
 */
static int load_judged(struct reconcile *r, struct err *e)
{
	PGresult *res;
	char secs[16];
	const char *p[1] = {secs};
	int rc;

	r->all = 0;
	r->all_why[0] = r->listed[0] = 0;
	r->nswept = 0;
	if (r->o.dry_run)
		snprintf(r->all_why, sizeof(r->all_why), "dry run");
	else if (r->listed_any)
		snprintf(r->all_why, sizeof(r->all_why), "the view was listed for this pass");
	else if (r->stale_any)
		snprintf(r->all_why, sizeof(r->all_why), "a cluster cannot be observed");
	if (!r->all_why[0]) {
		if (!(res = db_run(r->a, &st_scope, NULL, e)))
			return -1;
		if (db_rows(res) != 1 || !db_get(res, 0, 0) || !db_get(res, 0, 1)) {
			snprintf(r->all_why, sizeof(r->all_why), "observed_judged has no row");
		} else {
			snprintf(r->listed, sizeof(r->listed), "%s", db_get(res, 0, 0));
			if (strcmp(r->listed, db_get(res, 0, 1)))
				snprintf(r->all_why, sizeof(r->all_why), "the view was listed again");
		}
	}
	if (r->all_why[0]) {
		r->all = 1;
		rc = load_stores(r, e);
		r->fleet = r->nstores;
		return rc;
	}
	snprintf(secs, sizeof(secs), "%d", config.judge_sweep);
	if (!(res = db_run(r->a, &st_sweep, p, e)))
		return -1;
	r->fleet = (int)db_get_ll(res, 0, 0);
	if (load_stores_of(r, &st_load_some, arena_strdup(r->a, db_get(res, 0, 1)), e) < 0)
		return -1;
	for (int i = 0; i < r->nstores; i++)
		r->nswept += !r->stores[i].change && !busy(r->stores[i].status);
	return 0;
}

/* A PostgreSQL array literal of ids or integers (no quoting needed: [a-z0-9] and digits). */
static const char *pg_array(struct arena *a, const char *const *v, int n)
{
	struct buf b = BUF_INIT;
	const char *out;

	buf_addch(&b, '{');
	for (int i = 0; i < n; i++) {
		if (i)
			buf_addch(&b, ',');
		buf_adds(&b, v[i]);
	}
	buf_addch(&b, '}');
	if (b.failed)
		die_oom();
	out = arena_strdup(a, b.s);
	buf_release(&b);
	return out;
}

/*
 * After deciding, from the shared view: remove the marks of the settled
 * stores, mark the unsettled ones that no other rule would load again, and
 * record a whole pass.  Failures are only logged: a mark left in place
 * costs one more judgment, never a missed one.
 */
static void settle(struct reconcile *r)
{
	const char **ids = arena_alloc(r->a, sizeof(*ids) * (size_t)(r->nstores + 1));
	const char **chg = arena_alloc(r->a, sizeof(*chg) * (size_t)(r->nstores + 1));
	const char **again = arena_alloc(r->a, sizeof(*again) * (size_t)(r->nstores + 1));
	int n = 0, m = 0;
	struct err e = ERR_INIT;

	if (r->o.dry_run || r->listed_any)
		return;
	for (int i = 0; i < r->nstores; i++) {
		const struct store *s = &r->stores[i];

		if (s->settled && s->change) {
			ids[n] = s->id;
			chg[n++] = s->change;
		} else if (!s->settled && !busy(s->status)) {
			again[m++] = s->id;
		}
	}
	if (n) {
		const char *p[2] = {pg_array(r->a, ids, n), pg_array(r->a, chg, n)};

		if (!db_run(r->a, &st_settle, p, &e))
			goto fail;
	}
	if (m) {
		const char *p[1] = {pg_array(r->a, again, m)};

		if (!db_run(r->a, &st_unsettled, p, &e))
			goto fail;
	}
	if (!db_run(r->a, &st_orphans, NULL, &e))
		goto fail;
	if (r->all && r->listed[0]) {
		const char *p[1] = {r->listed};

		if (!db_run(r->a, &st_judged_all, p, &e))
			goto fail;
	}
	return;
fail:
	log_warn("reconcile: cannot record what was judged: %s", e.msg);
}

/* ---- judging -------------------------------------------------------------- */

static const json_t *obs_ns(const struct store *s)
{
	return json_object_get(s->obs, "namespace");
}

static int ns_terminating(const json_t *ns)
{
	return ns && (jpath(ns, "metadata", "deletionTimestamp") ||
		      !strcmp(jstr(json_object_get(ns, "status"), "phase"), "Terminating"));
}

/* Pods and events of the store's namespace (two requests), kept until the pass ends. */
int reconcile_fetch_details(struct reconcile *r, struct store *s, struct k8s_err *ke)
{
	char ns[64];

	snprintf(ns, sizeof(ns), "store-%s", s->id);
	if (!s->pods && !(s->pods = arena_json(r->a, k8s_pods(r->k, ns, NULL, ke))))
		return -1;
	if (!s->events && !(s->events = arena_json(r->a, k8s_events(r->k, ns, NULL, ke))))
		return -1;
	return 0;
}

/* The Jobs of the store's namespace (one request), for provisioning. */
int reconcile_fetch_jobs(struct reconcile *r, struct store *s, struct k8s_err *ke)
{
	char ns[64];
	struct k8s_list_opts lo = {
	    .api_version = "batch/v1", .kind = "Job", .ns = ns, .label_selector = MANAGED_SELECTOR};
	struct k8s_list l;

	if (s->jobs)
		return 0;
	snprintf(ns, sizeof(ns), "store-%s", s->id);
	if (k8s_list(r->k, &lo, &l, ke) < 0)
		return -1;
	s->jobs = arena_json(r->a, l.items);
	return 0;
}

void reconcile_judge(struct reconcile *r, struct store *s, const json_t *expected, int deleting)
{
	struct observed o = {
	    .expected = expected,
	    .ns = obs_ns(s),
	    .pvcs = json_object_get(s->obs, "pvcs"),
	    .statefulsets = json_object_get(s->obs, "statefulsets"),
	    .deployments = json_object_get(s->obs, "deployments"),
	    .jobs = s->jobs,
	    .pods = s->pods,
	    .events = s->events,
	    .now = r->now,
	    .grace = config.failure_grace,
	    .deleting = deleting,
	};

	readiness_evaluate(&o, &s->hr);
	s->judged = 1;
}

/* ---- the HTTP probe through the ingress ------------------------------------ */

/* 0 when every path of the engine answers 200 with Host: host; else why in why. */
int reconcile_probe(struct reconcile *r, const char *engine, const char *host, char *why, size_t n)
{
	const struct probe_paths *pp = &probe_paths[0];

	for (size_t i = 0; i < sizeof(probe_paths) / sizeof(probe_paths[0]); i++)
		if (!strcmp(probe_paths[i].engine, engine))
			pp = &probe_paths[i];
	for (int i = 0; pp->paths[i]; i++) {
		struct storehttp_req rq = {
		    .host = host, .target = pp->paths[i], .ingress = r->cur->ingress};
		struct storehttp_answer ans;
		struct err e = ERR_INIT;

		if (storehttp_request(r->http, r->a, &rq, &ans, &e) < 0) {
			snprintf(why, n, "waiting for http://%s%s to answer: %s", host,
				 pp->paths[i], e.msg);
			return -1;
		}
		if (ans.status != 200) {
			snprintf(why, n, "waiting for http://%s%s to answer 200 (got %ld)", host,
				 pp->paths[i], ans.status);
			return -1;
		}
	}
	return 0;
}

/* ---- saving results ----------------------------------------------------------- */

/*
 * Cluster trouble.  An episode is the run of consecutive claims of a store
 * that failed on a transient Kubernetes error (429, 5xx, a timeout, a reset,
 * 409 Conflict, 410): the store keeps its status and is retried with
 * backoff, and its tenant reads why in plain words.  The row holds the
 * episode, so several reconcilers and restarts agree on it: trouble_since
 * (sql/009_trouble_since.sql) is when it began, attempts how many claims
 * failed.  Every failed claim rewrites status_reason ("the cluster is busy
 * (429 Too Many Requests): 3 attempts failed in 12 s; retrying in 4 s");
 * only the first writes an event (step TROUBLE_STEP, warn).  The first save
 * that is not one of trouble ends the episode (save() below): one more
 * event (step RESUMED_STEP) unless the store failed, and the reason is
 * whatever that save says, the step's own progress text.  Hard errors and
 * provisioning_timeout fail a store as before.
 */
#define TROUBLE_STEP "cluster"
#define RESUMED_STEP "resumed"

/* The database clock now, as far as the pass can tell without asking. */
static long long db_now(const struct reconcile *r)
{
	return r->now + ((long long)time(NULL) - r->loaded_at);
}

/* "8 s", "3 min", "2 h": secs rounded up to a whole unit, at least 1 s (arena). */
static const char *span(struct arena *a, double secs)
{
	long long s = secs > 1 ? (long long)secs + (secs > (double)(long long)secs) : 1;

	if (s < 120)
		return arena_printf(a, "%lld s", s);
	if (s < 7200)
		return arena_printf(a, "%lld min", (s + 59) / 60);
	return arena_printf(a, "%lld h", (s + 3599) / 3600);
}

/* A failure that passes by itself, retried later: anything but a refusal. */
static int k8s_transient(const struct k8s_err *ke)
{
	return ke->klass != K8S_HARD && ke->klass != K8S_OK;
}

/* What the cluster is doing, in the tenant's words (arena). */
static const char *trouble_what(struct arena *a, const struct k8s_err *ke)
{
	static const struct {
		int code;
		const char *text;
	} phrases[] = {
	    {409, "Conflict"},		{410, "Gone"},
	    {429, "Too Many Requests"}, {500, "Internal Server Error"},
	    {502, "Bad Gateway"},	{503, "Service Unavailable"},
	    {504, "Gateway Timeout"},
	};
	int code = ke->st.code;
	const char *status = arena_printf(a, "HTTP %d", code);

	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].code == code)
			status = arena_printf(a, "%d %s", code, phrases[i].text);
	if (!code && ke->curl_code == CURLE_OPERATION_TIMEDOUT)
		return arena_printf(a, "the cluster is answering slowly (no answer within %d s)",
				    config.kube_timeout);
	if (!code)
		return "the cluster cannot be reached (the connection failed)";
	if (code == 504)
		return arena_printf(a, "the cluster is answering slowly (%s)", status);
	if (code == 429)
		return arena_printf(a, "the cluster is busy (%s)", status);
	if (code >= 500)
		return arena_printf(a, "the cluster answers with errors (%s)", status);
	return arena_printf(a, "the cluster asks to try again (%s)", status);
}

/* reason without its "; retrying in ..." (a store that stops retrying). */
static const char *no_retry(struct arena *a, const char *reason)
{
	const char *p = strstr(reason, "; retrying in ");

	return p ? arena_printf(a, "%.*s", (int)(p - reason), reason) : reason;
}

/*
 * The fenced save of a claim's results.  A save that is not one of trouble
 * (w->trouble keeps it) while an episode is open ends the episode: the
 * store's first event in it is that the cluster answers again (none when
 * the store failed).  w is not changed.
 */
static int save(struct reconcile *r, struct lease *l, const struct lease_save *w)
{
	struct err e = ERR_INIT;
	struct lease_save over;
	int rc;

	if (l->trouble_since && w->trouble == LEASE_TROUBLE_KEEP) {
		const char *again =
		    arena_printf(r->a, "the cluster answers again, after %d failed attempt%s in %s",
				 l->attempts, l->attempts == 1 ? "" : "s",
				 span(r->a, (double)(db_now(r) - l->trouble_since)));

		over = *w;
		over.trouble = LEASE_TROUBLE_OFF;
		over.nev = 0;
		if (w->status != STORE_FAILED)
			lease_event(&over, RESUMED_STEP, "info", again);
		for (int i = 0; i < w->nev; i++)
			lease_event(&over, w->ev_step[i], w->ev_level[i], w->ev_msg[i]);
		w = &over;
	}
	rc = lease_save(r->a, l, w, config.lease_seconds, &e);
	if (rc < 0) {
		log_error("reconcile: store %s: cannot save: %s", l->id, e.msg);
	} else if (rc == 0) {
		log_warn("reconcile: store %s: lease lost (expired, or its status changed); "
			 "leaving it",
			 l->id);
		err_clear(&e);
		lease_release(r->a, l, &e);
		l->token = NULL;
	}
	return rc;
}

static void fail(struct reconcile *r, struct lease *l, const char *step, const char *reason)
{
	struct lease_save w = {0};

	w.status = STORE_FAILED;
	w.reason = reason;
	w.attempts = l->attempts;
	w.release = 1;
	lease_event(&w, step, "error", reason);
	if (save(r, l, &w) > 0) {
		r->transitions++;
		log_info("reconcile: store %s failed: %s", l->id, reason);
	}
}

/*
 * A claim failed on a transient Kubernetes error (what it tried: what):
 * one more failed attempt of the store's episode of cluster trouble, said
 * in status_reason, with an event if the episode begins here.  Retried
 * after Retry-After (429) or a capped, jittered backoff that starts over
 * with each episode.
 */
static void trouble_as(struct reconcile *r, struct lease *l, const char *what,
		       const struct k8s_err *ke, const char *situation)
{
	struct lease_save w = {0};
	int first = !l->trouble_since;

	w.trouble = LEASE_TROUBLE_ON;
	w.attempts = first ? 1 : l->attempts + 1;
	if (ke->klass == K8S_WAIT && ke->st.retry_after > 0)
		w.delay = ke->st.retry_after;
	else
		w.delay = (double)k8s_backoff(w.attempts - 1) / 1000.0;
	if (w.attempts == 1)
		w.reason = arena_printf(r->a, "%s; retrying in %s", situation,
					span(r->a, w.delay));
	else
		w.reason = arena_printf(r->a, "%s: %d attempts failed in %s; retrying in %s",
					situation, w.attempts,
					span(r->a, (double)(db_now(r) - l->trouble_since)),
					span(r->a, w.delay));
	w.release = 1;
	if (first)
		lease_event(&w, TROUBLE_STEP, "warn", w.reason);
	log_warn("reconcile: store %s: cannot %s (attempt %d, retry in %.1f s): %s", l->id, what,
		 w.attempts, w.delay, ke->err.msg);
	save(r, l, &w);
}

/* trouble_as in the words of trouble_what; "the cluster" is named unless it is the default. */
static void trouble(struct reconcile *r, struct lease *l, const char *what,
		    const struct k8s_err *ke)
{
	const char *situation = trouble_what(r->a, ke);

	if (r->cur && strcmp(r->cur->name, DEFAULT_CLUSTER) && !strncmp(situation, "the cluster ", 12))
		situation = arena_printf(r->a, "cluster %s %s", r->cur->name, situation + 12);
	trouble_as(r, l, what, ke, situation);
}

/*
 * A Kubernetes call failed: transient classes are cluster trouble (above);
 * anything else fails a provisioning store at once, saying what Kubernetes
 * said, and is retried with backoff in other statuses.
 */
int reconcile_save(struct reconcile *r, struct lease *l, const struct lease_save *w)
{
	return save(r, l, w);
}

void reconcile_trouble(struct reconcile *r, struct lease *l, const char *what,
		       const struct k8s_err *ke)
{
	trouble(r, l, what, ke);
}

int k8s_transient_err(const struct k8s_err *ke)
{
	return k8s_transient(ke);
}

static void k8s_failed(struct reconcile *r, struct lease *l, const char *step, const char *what,
		       const struct k8s_err *ke)
{
	struct lease_save w = {0};
	char reason[512];
	const char *msg = *ke->st.message ? ke->st.message : ke->err.msg;

	if (k8s_transient(ke)) {
		trouble(r, l, what, ke);
		return;
	}
	if (!(ke->st.code == 403 && readiness_quota_words(msg, reason, sizeof(reason))))
		snprintf(reason, sizeof(reason), "kubernetes refused to %s: %.400s", what, msg);
	if (l->status == STORE_PROVISIONING) {
		fail(r, l, step, reason);
		return;
	}
	w.reason = reason;
	w.attempts = l->attempts + 1;
	w.delay = (double)k8s_backoff(l->attempts) / 1000.0;
	w.release = 1;
	log_warn("reconcile: store %s: %s (retry in %.1f s)", l->id, reason, w.delay);
	save(r, l, &w);
}

/* ---- provisioning ------------------------------------------------------------ */

/* The credentials in Secret sec by the blueprint's names: OUT *out (arena).  -1 when one is
 * missing. */
static int decode_secret(struct arena *a, const json_t *sec, const struct blueprint *bp,
			 json_t **out)
{
	const json_t *data = json_object_get(sec, "data"), *n;
	json_t *creds = arena_json(a, json_object());
	size_t i;

	json_array_foreach(blueprint_secret_names(bp), i, n) {
		const char *b64 = json_string_value(json_object_get(data, json_string_value(n)));
		const char *plain =
		    json_string_value(jpath(sec, "stringData", json_string_value(n)));
		unsigned char bin[512];
		size_t len = 0;

		if (!b64 && plain && *plain) { /* a server that kept stringData as sent */
			json_object_set_new(creds, json_string_value(n), json_string(plain));
			continue;
		}
		if (!b64 ||
		    sodium_base642bin(bin, sizeof(bin) - 1, b64, strlen(b64), NULL, &len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) < 0 ||
		    !len)
			return -1;
		json_object_set_new(creds, json_string_value(n), json_stringn((char *)bin, len));
	}
	*out = creds;
	return 0;
}

/* {k: v} -> {k: base64(v)} (a Secret's data), new reference. */
static json_t *base64_values(const json_t *plain)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)plain, k, v) {
		const char *s = json_string_value(v);
		size_t n = strlen(s),
		       cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
		char *b = malloc(cap);

		if (!b)
			die_oom();
		sodium_bin2base64(b, cap, (const unsigned char *)s, n,
				  sodium_base64_VARIANT_ORIGINAL);
		json_object_set_new(out, k, json_string(b));
		free(b);
	}
	return out;
}

/*
 * The store's credentials, generated once: GET the Secret; on 404 generate
 * them and POST it (409 AlreadyExists: another run won, GET theirs).  OUT:
 * *creds (arena).  *generated = 1 when this call made them.
 */
int reconcile_credentials(struct reconcile *r, const struct store *s, const struct engine_bp *eb,
			  int create, json_t **creds, int *generated, struct k8s_err *ke)
{
	char ns[64];
	struct buf path = BUF_INIT, coll = BUF_INIT;
	json_t *sec = NULL, *made, *body;
	int rc = -1, code = 0;

	*creds = NULL;
	*generated = 0;
	snprintf(ns, sizeof(ns), "store-%s", s->id);
	if (k8s_path(&path, "v1", "Secret", ns, CREDENTIALS_SECRET, &ke->err) < 0 ||
	    k8s_path(&coll, "v1", "Secret", ns, NULL, &ke->err) < 0) {
		ke->klass = K8S_HARD;
		goto out;
	}
	for (int round = 0; round < 2 && !sec; round++) {
		sec = arena_json(r->a, k8s_get(r->k, path.s, ke));
		if (sec || ke->st.code != 404 || !create)
			break;
		made = arena_json(r->a, make_secrets(eb->bp, 0));
		body = arena_json(r->a,
				  json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}}, s:s, s:o}",
					    "apiVersion", "v1", "kind", "Secret", "metadata",
					    "name", CREDENTIALS_SECRET, "namespace", ns, "labels",
					    "app.kubernetes.io/managed-by", "storefleet",
					    STORE_LABEL, s->id, "storefleet.io/engine", s->engine,
					    "type", "Opaque", "data", base64_values(made)));
		if (arena_json(r->a, k8s_request(r->k, "POST", coll.s,
						 arena_json_dumps(r->a, body, JSON_COMPACT),
						 "application/json", &code, ke))) {
			*creds = made;
			*generated = 1;
			rc = 0;
			goto out;
		}
		if (ke->klass != K8S_ADOPT)
			goto out;
		/* AlreadyExists: a concurrent run created them first; use theirs */
	}
	if (!sec)
		goto out;
	if (decode_secret(r->a, sec, eb->bp, creds) < 0) {
		memset(ke, 0, sizeof(*ke));
		ke->klass = K8S_HARD;
		err_set(&ke->err, 502, "secret %s/%s lacks a key the %s blueprint needs", ns,
			CREDENTIALS_SECRET, s->engine);
		goto out;
	}
	rc = 0;
out:
	buf_release(&path);
	buf_release(&coll);
	return rc;
}

/* Is every observed-kind object of set present with set's revision? */
static int up_to_date(const struct store *s, const json_t *set, const char *rev)
{
	const json_t *obj;
	size_t i;

	json_array_foreach(set, i, obj) {
		const char *kind = jstr(obj, "kind"),
			   *name = jstr(json_object_get(obj, "metadata"), "name");
		const json_t *found = NULL;

		for (size_t k = 0; k < OBS_N; k++) {
			const json_t *list, *it;
			size_t j;

			if (strcmp(obs_kinds[k].kind, kind))
				continue;
			if (!strcmp(kind, "Namespace")) {
				found = obs_ns(s);
				if (!found)
					return 0;
				break;
			}
			list = json_object_get(s->obs, obs_kinds[k].key);
			json_array_foreach(list, j, it)
				if (!strcmp(jstr(json_object_get(it, "metadata"), "name"), name))
					found = it;
			if (!found)
				return 0;
		}
		if (found && strcmp(jstr(jpath(found, "metadata", "annotations"),
					 BLUEPRINT_REVISION_ANNOTATION),
				    rev))
			return 0;
	}
	return 1;
}

/* Delete the store's Jobs that failed (and forget them in the observation). */
static int drop_failed_jobs(struct reconcile *r, struct store *s, struct k8s_err *ke)
{
	json_t *jobs = s->jobs, *job;
	struct buf path = BUF_INIT;
	size_t i;

	for (i = 0; i < json_array_size(jobs);) {
		const json_t *c, *conds;
		size_t k;
		int failed = 0;

		job = json_array_get(jobs, i);
		conds = jpath(job, "status", "conditions");
		json_array_foreach(conds, k, c)
			if (!strcmp(jstr(c, "type"), "Failed") &&
			    !strcmp(jstr(c, "status"), "True"))
				failed = 1;
		if (!failed) {
			i++;
			continue;
		}
		buf_reset(&path);
		if (k8s_object_path(&path, job, &ke->err) < 0 ||
		    k8s_delete(r->k, path.s, "Background", K8S_DELETE_GONE_OK, ke) < 0) {
			buf_release(&path);
			return -1;
		}
		log_info("reconcile: store %s: deleted failed job %s for the retry", s->id,
			 jstr(json_object_get(job, "metadata"), "name"));
		json_array_remove(jobs, i);
	}
	buf_release(&path);
	return 0;
}

static int ensure_namespace(struct reconcile *r, const struct store *s, const struct engine_bp *eb,
			    struct k8s_err *ke)
{
	struct err e = ERR_INIT;
	struct blueprint_store bs = {s->id,
				     s->name,
				     s->email,
				     *s->version ? s->version : NULL,
				     arena_json(r->a, make_secrets(eb->bp, 1)),
				     NULL};
	json_t *set = arena_json(r->a, blueprint_render(eb->bp, &bs, &e));

	if (!set) {
		memset(ke, 0, sizeof(*ke));
		ke->klass = K8S_HARD;
		ke->err = e;
		return -1;
	}
	/* the Namespace holds no secret: apply it now so the credentials can go in */
	return arena_json(r->a, k8s_apply(r->k, json_array_get(set, 0), NULL, NULL, ke)) ? 0 : -1;
}

/*
 * One claim of a provisioning store walks the steps of lifecycle.h in order
 * (docs/design.md section 3), every step on every claim: each makes sure
 * its step is done, idempotently (a step completed on an earlier claim
 * costs a look, and its event is never written twice), and queues the
 * events of the steps it completes on p->w.  A step answers PROV_NEXT (done: go on), PROV_WAIT
 * (not yet: p->w.reason says what for; the claim saves and stops) or
 * PROV_STOP (the store was failed or requeued, or the lease was lost:
 * nothing more to do).  Strings and JSON here are the pass's arena's.
 */
enum prov_verdict { PROV_NEXT, PROV_WAIT, PROV_STOP };

struct prov {
	struct reconcile *r;
	struct store *s;
	struct lease *l;
	struct engine_bp *eb;
	struct lease_save w; /* what the claim saves at the end */
	json_t *creds, *set; /* the credentials, the set rendered with them */
	const char *rev;     /* the set's blueprint revision ("" when none) */
	int judged;	     /* s->hr holds this claim's readiness verdict */
};

/*
 * Queue the events of every step after the store's last completed one up
 * to `to`; message (may be NULL) replaces `to`'s own.  The store's step
 * becomes `to` when the save goes through.
 */
static void advance(struct prov *p, enum store_step to, const char *message)
{
	struct lease_save *w = &p->w;
	int from = store_step_parse(w->step ? w->step : p->l->step);

	for (int i = from + 1; i <= (int)to; i++) {
		lease_event(w, store_step_table[i].name, "info",
			    i == (int)to && message ? message : store_step_table[i].message);
		p->r->transitions++;
	}
	if ((int)to > from)
		w->step = store_step_table[to].name;
}

static enum prov_verdict prov_fail(struct prov *p, enum store_step step, const char *reason)
{
	fail(p->r, p->l, store_step_table[step].name, reason);
	return PROV_STOP;
}

static enum prov_verdict prov_k8s_failed(struct prov *p, enum store_step step, const char *what,
					 const struct k8s_err *ke)
{
	k8s_failed(p->r, p->l, store_step_table[step].name, what, ke);
	return PROV_STOP;
}

/* render: the engine's blueprint loads (the set itself needs the credentials: see secrets). */
static enum prov_verdict prov_render(struct prov *p)
{
	if (p->eb && p->eb->bp && p->eb->expected)
		return PROV_NEXT;
	return prov_fail(p, STEP_RENDER,
			 arena_printf(p->r->a, "the %s blueprint cannot be rendered: %s",
				      p->s->engine, p->eb ? p->eb->error : "too many engines"));
}

/* namespace: applied alone when not observed (it holds no secret), so the credentials can go in. */
static enum prov_verdict prov_namespace(struct prov *p)
{
	struct k8s_err ke;

	memset(&ke, 0, sizeof(ke));
	if (!obs_ns(p->s) && ensure_namespace(p->r, p->s, p->eb, &ke) < 0)
		return prov_k8s_failed(p, STEP_NAMESPACE, "create the namespace", &ke);
	return PROV_NEXT;
}

/*
 * The set rendered with the credentials, applied in the blueprint's order
 * when this is the first pass of an attempt (a retry repairs drift), the
 * revision changed, or an observed object lacks it.  A Job that failed
 * never runs again: the first pass of an attempt deletes it so the apply
 * makes a fresh one.  Applying the whole set completes render, namespace,
 * isolation and secrets.
 */
static enum prov_verdict apply_set(struct prov *p)
{
	struct store *s = p->s;
	struct lease *l = p->l;
	struct blueprint_store bs = {s->id,    s->name, s->email, *s->version ? s->version : NULL,
				     p->creds, NULL};
	struct k8s_err ke;
	struct err e = ERR_INIT;
	char why[400];

	memset(&ke, 0, sizeof(ke));
	/* provisioning applies the plan asked for (at create, plan_applied is the same) */
	if (!(bs.values = reconcile_values(p->r, s, s->plan, NULL, why, sizeof(why))))
		return prov_fail(p, STEP_RENDER,
				 arena_printf(p->r->a, "the %s blueprint cannot be rendered: %s",
					      s->engine, why));
	p->set = arena_json(p->r->a, blueprint_render(p->eb->bp, &bs, &e));
	if (!p->set)
		return prov_fail(p, STEP_RENDER,
				 arena_printf(p->r->a, "the %s blueprint cannot be rendered: %s",
					      s->engine, e.msg));
	p->rev = blueprint_revision(p->set);
	if (!p->rev)
		p->rev = "";
	if (reconcile_fetch_jobs(p->r, s, &ke) < 0)
		return prov_k8s_failed(p, STEP_SETUP, "list the store's jobs", &ke);
	if (!*l->step && drop_failed_jobs(p->r, s, &ke) < 0)
		return prov_k8s_failed(p, STEP_SETUP, "delete the failed setup job", &ke);
	if (*l->step && !strcmp(p->rev, l->revision) && up_to_date(s, p->set, p->rev))
		return PROV_NEXT;
	if (reconcile_keep_claim_templates(p->r, s, p->set, &ke) < 0)
		return prov_k8s_failed(p, STEP_APP, "read the store's StatefulSets", &ke);
	if (k8s_apply_all(p->r->k, p->set, NULL, NULL, NULL, &ke) < 0)
		return prov_k8s_failed(p, STEP_APP, "apply the store's objects", &ke);
	reconcile_revision_applied(p->r, s, p->eb);
	/*
	 * rev lives in the set, which the arena keeps to the end of the pass:
	 * past "secrets" nothing is saved before the claim's last save (no new
	 * event), so w carries the revision there (a433ba8 saved a freed copy
	 * when the set was freed by hand).
	 */
	p->w.revision = p->rev;
	advance(p, STEP_RENDER,
		arena_printf(p->r->a, "rendered the %s blueprint: %zu objects (revision %s)",
			     s->engine, json_array_size(p->set), p->rev));
	advance(p, STEP_SECRETS, NULL);
	return PROV_NEXT;
}

/* The admin password sealed into the row once (secret_key set), for the owner's page. */
static void seal_admin(struct prov *p)
{
	struct reconcile *r = p->r;
	struct buf sealed = BUF_INIT;
	struct err e = ERR_INIT;
	const char *pw;

	if (!*config.secret_key) {
		if (!r->warned_no_key)
			log_warn("reconcile: secret_key is not set: admin passwords stay in the "
				 "cluster only");
		r->warned_no_key = 1;
		return;
	}
	if (p->l->has_secret)
		return;
	pw = json_string_value(json_object_get(p->creds, "admin_password"));
	if (!pw)
		return;
	if (seal_box(config.secret_key, pw, &sealed, &e) == 0) {
		p->w.admin_secret = arena_strdup(r->a, sealed.s);
		p->w.admin_user = admin_user_of(p->eb, p->s);
	} else {
		log_error("reconcile: store %s: %s", p->s->id, e.msg);
	}
	buf_release(&sealed);
}

/*
 * secrets: the credentials, generated once and kept in the cluster (and
 * the webhook secret sealed for the web app); then the set goes in
 * (apply_set) and what it completed is saved before readiness is judged.
 */
static enum prov_verdict prov_secrets(struct prov *p)
{
	struct k8s_err ke;
	int generated = 0;
	enum prov_verdict v;

	memset(&ke, 0, sizeof(ke));
	if (reconcile_credentials(p->r, p->s, p->eb, 1, &p->creds, &generated, &ke) < 0)
		return prov_k8s_failed(p, STEP_SECRETS, "store the credentials", &ke);
	if (webhooks_registered(p->eb)) {
		struct err we = ERR_INIT; /* the web app checks webhook signatures with it */

		if (reconcile_webhooks_keep(p->r->a, p->s->id, p->s->engine, p->creds, &we) < 0)
			log_error("reconcile: store %s: webhook secret: %s", p->s->id, we.msg);
	}
	if ((v = apply_set(p)) != PROV_NEXT)
		return v;
	seal_admin(p);
	if (p->w.nev || p->w.admin_secret) {
		p->w.reason = "applied; waiting for the workloads";
		if (save(p->r, p->l, &p->w) <= 0)
			return PROV_STOP;
		memset(&p->w, 0, sizeof(p->w));
		p->w.attempts = p->l->attempts;
	}
	return PROV_NEXT;
}

/*
 * database, app, setup: readiness (docs/readiness.md) over the objects and
 * the namespace's pods and events, judged once a claim.  A failure fails
 * the store at the step readiness names; step k is done once readiness
 * waits at a later step (or at none).
 */
static enum prov_verdict readiness_past(struct prov *p, enum store_step k)
{
	struct store *s = p->s;
	struct k8s_err ke;

	if (!p->judged) {
		memset(&ke, 0, sizeof(ke));
		if (reconcile_fetch_details(p->r, s, &ke) < 0)
			return prov_k8s_failed(p, STEP_READINESS,
					       "list the store's pods and events", &ke);
		reconcile_judge(p->r, s, p->eb->expected, 0);
		p->judged = 1;
	}
	if (s->hr.health == HEALTH_FAILED) {
		fail(p->r, p->l, *s->hr.step ? s->hr.step : store_step_table[STEP_READINESS].name,
		     s->hr.reason);
		return PROV_STOP;
	}
	if (s->hr.health != HEALTH_READY && store_step_parse(s->hr.step) <= (int)k) {
		p->w.reason = s->hr.reason;
		return PROV_WAIT;
	}
	advance(p, k, NULL);
	return PROV_NEXT;
}

static enum prov_verdict prov_database(struct prov *p)
{
	return readiness_past(p, STEP_DATABASE);
}

static enum prov_verdict prov_app(struct prov *p)
{
	return readiness_past(p, STEP_APP);
}

static enum prov_verdict prov_setup(struct prov *p)
{
	return readiness_past(p, STEP_SETUP);
}

/* ingress: every workload healthy, the store answers 200 through the ingress (when configured). */
static enum prov_verdict prov_ingress(struct prov *p)
{
	struct store *s = p->s;
	char host[300], why[512];

	if (s->hr.health != HEALTH_READY) {
		p->w.reason = s->hr.reason;
		return PROV_WAIT;
	}
	if (!*p->r->cur->ingress) {
		advance(p, STEP_INGRESS,
			"ingress applied (no ingress_address configured: HTTP probe skipped)");
		return PROV_NEXT;
	}
	snprintf(host, sizeof(host), "store-%s.%s", s->id, p->r->cur->domain);
	if (reconcile_probe(p->r, s->engine, host, why, sizeof(why)) < 0) {
		p->w.reason = arena_strdup(p->r->a, why);
		return PROV_WAIT;
	}
	advance(p, STEP_INGRESS,
		arena_printf(p->r->a, "the store answers at http://%.120s/", host));
	return PROV_NEXT;
}

/* readiness: every check above passed. */
static enum prov_verdict prov_readiness(struct prov *p)
{
	advance(p, STEP_READINESS, NULL);
	return PROV_NEXT;
}

/*
 * ready: the status moves with the last step - unless the store is a clone
 * from backup (sql/025_clones.sql) whose restore is live (it waits here,
 * every check passed, while reconcile_backup.c restores into it) or failed
 * (the store fails with the reason).
 */
static enum prov_verdict prov_ready(struct prov *p)
{
	const char *why;
	int clone = reconcile_clone_state(p->r, p->s->id, &why);

	if (clone > 0) {
		p->w.reason = why;
		return PROV_WAIT;
	}
	if (clone < 0) {
		fail(p->r, p->l, store_step_table[STEP_READY].name, why);
		return PROV_STOP;
	}
	advance(p, STEP_READY, NULL);
	p->w.status = STORE_READY;
	p->w.reason = "";
	p->w.attempts = 0;
	p->r->transitions++;
	return PROV_NEXT;
}

/*
 * The steps by enum store_step.  isolation has no function: its quota,
 * limit range and network policies are objects of the set, which needs the
 * credentials, so they go in with it (secrets), first in the blueprint's
 * order, before any workload.
 */
static enum prov_verdict (*const step_run[STEP_N])(struct prov *p) = {
    [STEP_RENDER] = prov_render,       [STEP_NAMESPACE] = prov_namespace,
    [STEP_ISOLATION] = NULL,	       [STEP_SECRETS] = prov_secrets,
    [STEP_DATABASE] = prov_database,   [STEP_APP] = prov_app,
    [STEP_SETUP] = prov_setup,	       [STEP_INGRESS] = prov_ingress,
    [STEP_READINESS] = prov_readiness, [STEP_READY] = prov_ready,
};

/*
 * Fail the store if provisioning_timeout has passed since it started
 * provisioning; 1 when it did.  The reason keeps the last one, less a
 * promise to retry.
 */
static int prov_timed_out(struct reconcile *r, struct lease *l)
{
	const char *last = no_retry(r->a, l->reason), *why;
	int t = config.provisioning_timeout;

	if (!l->started_at || l->now - l->started_at <= t)
		return 0;
	/* a clone's restore (prov_ready) has its own deadline, backup_timeout */
	if (!strcmp(l->step, store_step_table[STEP_READINESS].name) &&
	    reconcile_clone_state(r, l->id, &why) > 0)
		return 0;
	fail(r, l, store_step_table[STEP_READINESS].name,
	     t % 60 == 0 ? arena_printf(r->a, "timed out after %d min: %s", t / 60, last)
			 : arena_printf(r->a, "timed out after %d s: %s", t, last));
	return 1;
}

static void st_provisioning(struct reconcile *r, struct store *s, struct lease *l)
{
	struct prov p = {.r = r, .s = s, .l = l, .eb = reconcile_engine_bp(r, s->engine)};
	enum prov_verdict v = PROV_NEXT;
	struct err e = ERR_INIT;

	if (prov_timed_out(r, l))
		return;
	/* attempts counts failed claims in a row: a claim that gets through starts it over */
	p.w.attempts = 0;
	for (int k = 0; k < STEP_N && v == PROV_NEXT; k++)
		if (step_run[k])
			v = step_run[k](&p);
	if (v == PROV_STOP)
		return;
	p.w.release = 1;
	if (!p.w.nev && !strcmp(p.w.reason, l->reason) && !l->trouble_since && !l->attempts) {
		lease_release(r->a, l, &e);
		return;
	}
	if (save(r, l, &p.w) > 0 && p.w.status == STORE_READY) {
		reconcile_revision_ready(r, s, l->revision);
		log_info("reconcile: store %s is ready", l->id);
	}
}

/* ---- ready and degraded --------------------------------------------------- */

/*
 * Put back what vanished from a running store: render with its credentials
 * (read, never made anew: new ones would not match its database) and apply.
 * 0, or -1 with why filled.
 */
static int repair(struct reconcile *r, struct store *s, char *why, size_t n)
{
	struct engine_bp *eb = reconcile_engine_bp(r, s->engine);
	struct k8s_err ke;
	struct err e = ERR_INIT;
	json_t *creds = NULL, *set;
	int generated = 0, rc;

	memset(&ke, 0, sizeof(ke));
	if (!eb || !eb->bp) {
		snprintf(why, n, "the %s blueprint cannot be loaded", s->engine);
		return -1;
	}
	if (reconcile_credentials(r, s, eb, 0, &creds, &generated, &ke) < 0) {
		snprintf(why, n, "%s",
			 ke.st.code == 404 ? "its credentials Secret is gone too" : ke.err.msg);
		return -1;
	}
	{
		struct blueprint_store bs = {
		    s->id, s->name, s->email, *s->version ? s->version : NULL, creds, NULL};

		if (!(bs.values = reconcile_values(r, s, NULL, NULL, why, n)))
			return -1;
		set = arena_json(r->a, blueprint_render(eb->bp, &bs, &e));
	}
	if (!set) {
		snprintf(why, n, "%s", e.msg);
		return -1;
	}
	rc = reconcile_keep_claim_templates(r, s, set, &ke);
	if (rc == 0)
		rc = k8s_apply_all(r->k, set, NULL, NULL, NULL, &ke);
	if (rc < 0) {
		snprintf(why, n, "%.390s", *ke.st.message ? ke.st.message : ke.err.msg);
		return -1;
	}
	log_info("reconcile: store %s: re-applied its objects", s->id);
	return 0;
}

static void st_running(struct reconcile *r, struct store *s, struct lease *l)
{
	char reason[800], why[400];

	struct lease_save w = {0};
	struct err e = ERR_INIT;

	if (!s->judged) { /* claimed with a status we did not decide on: next pass */
		lease_release(r->a, l, &e);
		return;
	}
	if (s->hr.health != HEALTH_FAILED && strcmp(s->plan, s->plan_applied)) {
		reconcile_plan_change(r, s, l);
		return;
	}
	w.attempts = 0;
	w.release = 1;
	if (s->hr.health == HEALTH_FAILED) {
		if (l->status == STORE_DEGRADED && !strcmp(l->reason, s->hr.reason)) {
			lease_release(r->a, l, &e);
			return;
		}
		w.status = STORE_DEGRADED;
		w.reason = s->hr.reason;
		if (s->missing) {
			if (repair(r, s, why, sizeof(why)) == 0)
				snprintf(reason, sizeof(reason), "%s: put back", s->hr.reason);
			else
				snprintf(reason, sizeof(reason), "%s; cannot put it back: %.300s",
					 s->hr.reason, why);
			w.reason = reason;
			if (l->status == STORE_DEGRADED && !strcmp(l->reason, reason)) {
				lease_release(r->a, l, &e);
				return;
			}
		}
		lease_event(&w, s->hr.step, "warn", w.reason);
	} else if (s->hr.health == HEALTH_READY && l->status == STORE_DEGRADED) {
		w.status = STORE_READY;
		w.reason = "";
		lease_event(&w, store_step_table[STEP_READY].name, "info",
			    "store is healthy again");
	} else {
		lease_release(r->a, l, &e);
		return;
	}
	if (save(r, l, &w) > 0) {
		r->transitions++;
		log_info("reconcile: store %s is %s%s%s", l->id, store_status_name(w.status),
			 *w.reason ? ": " : "", w.reason);
	}
}

/* ---- suspending, suspended, resuming ------------------------------------------ */

/*
 * Suspend and resume (docs/design.md section 3; sql/012_suspend.sql).  A
 * suspended store keeps its namespace, volumes, Secrets and credentials;
 * its Deployments and StatefulSets run 0 replicas and its Ingress sends
 * the host to the Service PAUSED_SERVICE of its chart (65-paused.yaml: an
 * ExternalName for the platform's web Service), which answers with the
 * store's paused page (cgi-bin/page_paused.c).  Both directions are one
 * server-side apply of rendered objects (the same manager, so only the
 * fields changed move), repeated until the observation agrees, so a run
 * killed at any point is finished by the next claim:
 *
 *   suspending: apply the paused set (workloads at 0 replicas, the Ingress
 *     switched, the paused Service) unless this attempt already did
 *     (step 'suspend') and every observed workload asks for 0; then wait
 *     until no workload has a replica left -> suspended.
 *   suspended: claimed only when a workload asks for replicas again (someone
 *     scaled it by hand): the paused set is applied again.
 *   resuming: apply the whole set (replicas and Ingress as the chart says)
 *     until step 'resume' is saved and no observed workload asks for 0;
 *     then readiness and the HTTP probe, as provisioning's last steps ->
 *     ready (or degraded with the reason readiness gives).
 */
#define PAUSED_SERVICE "storefleet-paused"

/* Does any observed Deployment or StatefulSet of s ask for (want) or still have (!want) pods? */
static int workloads_up(const struct store *s, int want)
{
	static const char *const keys[] = {"deployments", "statefulsets"};

	for (size_t k = 0; k < 2; k++) {
		const json_t *it;
		size_t i;

		json_array_foreach(json_object_get(s->obs, keys[k]), i, it) {
			const json_t *n =
			    want ? jpath(it, "spec", "replicas") : jpath(it, "status", "replicas");

			/* spec.replicas unset is 1 (the API's default) */
			if (want ? (!n || json_integer_value(n) > 0) : json_integer_value(n) > 0)
				return 1;
		}
	}
	return 0;
}

/* Any observed workload asking for 0 replicas (a resume not yet applied)? */
static int workloads_zero(const struct store *s)
{
	static const char *const keys[] = {"deployments", "statefulsets"};

	for (size_t k = 0; k < 2; k++) {
		const json_t *it;
		size_t i;

		json_array_foreach(json_object_get(s->obs, keys[k]), i, it) {
			const json_t *n = jpath(it, "spec", "replicas");

			if (n && json_integer_value(n) == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * The store's set rendered with its credentials (read, never made: new
 * ones would not match its database).  paused: only what suspending
 * changes - workloads at 0 replicas, Ingresses sent to PAUSED_SERVICE -
 * and PAUSED_SERVICE itself.  OUT: *set (arena).  0, or -1 with ke (the
 * class says whether to retry).
 */
static int render_for(struct reconcile *r, const struct store *s, int paused, json_t **set,
		      struct k8s_err *ke)
{
	struct engine_bp *eb = reconcile_engine_bp(r, s->engine);
	struct err e = ERR_INIT;
	json_t *creds = NULL, *all, *out, *obj;
	int generated = 0, found = 0;
	size_t i;

	*set = NULL;
	memset(ke, 0, sizeof(*ke));
	if (!eb || !eb->bp) {
		ke->klass = K8S_HARD;
		return err_set(&ke->err, 500, "the %s blueprint cannot be loaded: %s", s->engine,
			       eb ? eb->error : "too many engines");
	}
	if (reconcile_credentials(r, s, eb, 0, &creds, &generated, ke) < 0)
		return -1;
	{
		struct blueprint_store bs = {
		    s->id, s->name, s->email, *s->version ? s->version : NULL, creds, NULL};

		all = arena_json(r->a, blueprint_render(eb->bp, &bs, &e));
	}
	if (!all) {
		ke->klass = K8S_HARD;
		ke->err = e;
		return -1;
	}
	if (!paused) {
		*set = all;
		return 0;
	}
	out = arena_json(r->a, json_array());
	json_array_foreach(all, i, obj) {
		const char *kind = jstr(obj, "kind");
		const json_t *rule;
		size_t k;

		if (!strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet")) {
			json_object_set_new(json_object_get(obj, "spec"), "replicas",
					    json_integer(0));
		} else if (!strcmp(kind, "Ingress")) {
			json_array_foreach(jpath(obj, "spec", "rules"), k, rule) {
				const json_t *path;
				size_t m;

				json_array_foreach(jpath(rule, "http", "paths"), m, path) {
					json_t *svc = (json_t *)jpath(path, "backend", "service");

					if (svc)
						json_object_set_new(svc, "name",
								    json_string(PAUSED_SERVICE));
				}
			}
		} else if (!strcmp(kind, "Service") &&
			   !strcmp(jstr(json_object_get(obj, "metadata"), "name"),
				   PAUSED_SERVICE)) {
			found = 1;
		} else {
			continue;
		}
		json_array_append(out, obj);
	}
	if (!found) {
		ke->klass = K8S_HARD;
		return err_set(&ke->err, 500, "the %s blueprint has no Service %s", s->engine,
			       PAUSED_SERVICE);
	}
	*set = out;
	return 0;
}

/* Render (paused or whole) and apply: 0, or -1 with ke. */
static int apply_for(struct reconcile *r, const struct store *s, int paused, struct k8s_err *ke)
{
	json_t *set;

	if (render_for(r, s, paused, &set, ke) < 0)
		return -1;
	return k8s_apply_all(r->k, set, NULL, NULL, NULL, ke) < 0 ? -1 : 0;
}

/* Save w unless it changes nothing (then just let the lease go). */
static int save_if_news(struct reconcile *r, struct lease *l, struct lease_save *w)
{
	struct err e = ERR_INIT;

	w->release = 1;
	if (!w->nev && w->status == LEASE_KEEP_STATUS && (!w->step || !strcmp(w->step, l->step)) &&
	    (!w->reason || !strcmp(w->reason, l->reason)) && !l->trouble_since && !l->attempts) {
		lease_release(r->a, l, &e);
		return 0;
	}
	return save(r, l, w);
}

/* suspending and suspended (a workload scaled up by hand): see above. */
static void st_suspending(struct reconcile *r, struct store *s, struct lease *l)
{
	struct lease_save w = {0};
	struct k8s_err ke;
	int again = l->status == STORE_SUSPENDED;

	if (again && !workloads_up(s, 1)) { /* claimed to end an episode of cluster trouble */
		w.reason = "";
		save_if_news(r, l, &w);
		return;
	}
	if (again || strcmp(l->step, "suspend") || workloads_up(s, 1)) {
		if (apply_for(r, s, 1, &ke) < 0) {
			k8s_failed(r, l, "suspend", "scale the store to zero", &ke);
			return;
		}
		w.step = "suspend";
		w.reason = again ? "" : "scaling the workloads to zero";
		lease_event(&w, "suspend", again ? "warn" : "info",
			    again ? "a workload was scaled up while the store is suspended: "
				    "scaled back to zero"
				  : "workloads scaled to zero replicas (volumes and credentials "
				    "kept); the store's host shows its paused page");
		r->transitions++;
		if (save_if_news(r, l, &w) > 0)
			log_info("reconcile: store %s: scaled to zero", l->id);
		return;
	}
	if (workloads_up(s, 0)) {
		w.reason = "waiting for the store's pods to stop";
		save_if_news(r, l, &w);
		return;
	}
	w.status = STORE_SUSPENDED;
	w.reason = "";
	lease_event(&w, "suspended", "info", "store is suspended: no pod runs, its data is kept");
	r->transitions++;
	if (save_if_news(r, l, &w) > 0)
		log_info("reconcile: store %s is suspended", l->id);
}

static void st_resuming(struct reconcile *r, struct store *s, struct lease *l)
{
	struct engine_bp *eb = reconcile_engine_bp(r, s->engine);
	struct lease_save w = {0};
	struct k8s_err ke;
	char host[300], why[512];

	if (strcmp(l->step, "resume") || workloads_zero(s)) {
		if (apply_for(r, s, 0, &ke) < 0) {
			k8s_failed(r, l, "resume", "restore the store's workloads", &ke);
			return;
		}
		w.step = "resume";
		w.reason = "replicas restored; waiting for the workloads";
		lease_event(&w, "resume", "info",
			    "replicas restored and the ingress sends the host to the store again");
		r->transitions++;
		save_if_news(r, l, &w);
		return;
	}
	memset(&ke, 0, sizeof(ke));
	if (!eb || !eb->running || reconcile_fetch_details(r, s, &ke) < 0) {
		k8s_failed(r, l, "resume", "list the store's pods and events", &ke);
		return;
	}
	reconcile_judge(r, s, eb->running, 0);
	if (s->hr.health == HEALTH_FAILED) {
		w.status = STORE_DEGRADED;
		w.reason = s->hr.reason;
		lease_event(&w, *s->hr.step ? s->hr.step : "resume", "warn", s->hr.reason);
		r->transitions++;
		save_if_news(r, l, &w);
		return;
	}
	if (s->hr.health != HEALTH_READY) {
		w.reason = s->hr.reason;
		save_if_news(r, l, &w);
		return;
	}
	snprintf(host, sizeof(host), "store-%s.%s", s->id, r->cur->domain);
	if (*r->cur->ingress && reconcile_probe(r, s->engine, host, why, sizeof(why)) < 0) {
		w.reason = arena_strdup(r->a, why);
		save_if_news(r, l, &w);
		return;
	}
	w.status = STORE_READY;
	w.step = store_step_table[STEP_READY].name;
	w.reason = "";
	lease_event(&w, store_step_table[STEP_READY].name, "info",
		    "store is ready again: every readiness check passed after the resume");
	r->transitions++;
	if (save_if_news(r, l, &w) > 0)
		log_info("reconcile: store %s resumed and ready", l->id);
}

/* ---- deleting ------------------------------------------------------------- */

static void deleted(struct reconcile *r, struct lease *l)
{
	struct lease_save w = {0};

	w.status = STORE_DELETED;
	w.reason = "";
	w.step = "deleted";
	w.attempts = 0;
	w.release = 1;
	lease_event(&w, "deleted", "info", "namespace deleted; the store is gone");
	if (save(r, l, &w) > 0) {
		r->transitions++;
		log_info("reconcile: store %s deleted", l->id);
	}
}

/* "NamespaceFinalizersRemaining: ..." for every condition that holds. */
static void ns_conditions(const json_t *ns, char *out, size_t n)
{
	const json_t *c;
	size_t i, len = 0;

	out[0] = 0;
	json_array_foreach(jpath(ns, "status", "conditions"), i, c) {
		if (strcmp(jstr(c, "status"), "True") || len >= n)
			continue;
		len += (size_t)snprintf(out + len, n - len, "%s%s: %s", len ? "; " : "",
					jstr(c, "type"), jstr(c, "message"));
	}
	if (!out[0])
		snprintf(out, n, "no condition reported");
}

/*
 * The final backup the delete asked for (sql/024_undelete.sql), from
 * s->final ("<status>:<reason>", "" when none is awaited): 1 while it is
 * requested or running (the namespace stays: reconcile_backup.c takes it),
 * -1 when it failed, or backups are no longer configured so none can be
 * taken (the store stays deleting with the reason until the owner deletes
 * again, with or without one), 0 when it is complete or none is wanted.
 */
static int final_backup_pending(const struct store *s)
{
	if (!s->final || !*s->final || !strncmp(s->final, "complete:", 9))
		return 0;
	return strncmp(s->final, "failed:", 7) && reconcile_backup_enabled() ? 1 : -1;
}

/* The reason a store whose final backup failed keeps. */
static const char *final_backup_failed(struct arena *a, const struct store *s)
{
	return arena_printf(a,
			    "the final backup failed: %s; the store is kept: delete it again to "
			    "retry the backup, or to delete it without one (confirmed)",
			    !strncmp(s->final, "failed:", 7)
				? s->final + 7
				: "backups are no longer configured (backup_endpoint, backup_bucket)");
}

static void st_deleting(struct reconcile *r, struct store *s, struct lease *l)
{
	struct lease_save w = {0};
	struct k8s_err ke;
	struct buf path = BUF_INIT;
	struct err e = ERR_INIT;
	char ns[64], conds[400], reason[600];
	const json_t *nsobj = obs_ns(s), *got;
	int rc;

	if (final_backup_pending(s) < 0) {
		w.attempts = 0;
		w.release = 1;
		w.reason = final_backup_failed(r->a, s);
		if (strcmp(l->reason, w.reason)) {
			lease_event(&w, "delete", "error", w.reason);
			r->transitions++;
		}
		save(r, l, &w);
		return;
	}
	if (final_backup_pending(s) > 0) {
		lease_release(r->a, l, &e);
		return;
	}
	snprintf(ns, sizeof(ns), "store-%s", s->id);
	if (k8s_path(&path, "v1", "Namespace", NULL, ns, &e) < 0)
		BUG("namespace path: %s", e.msg);
	for (int round = 0; round < 2; round++) {
		if (!nsobj || round) {
			/* only a 404 from a GET proves the namespace is gone */
			got = arena_json(r->a, k8s_get(r->k, path.s, &ke));
			if (!got && ke.st.code == 404) {
				deleted(r, l);
				goto out;
			}
			if (!got) {
				k8s_failed(r, l, "delete", "read the namespace", &ke);
				goto out;
			}
			nsobj = got;
		}
		if (ns_terminating(nsobj))
			break;
		rc = k8s_delete(r->k, path.s, "Background", K8S_DELETE_GONE_OK, &ke);
		if (rc < 0) {
			k8s_failed(r, l, "delete", "delete the namespace", &ke);
			goto out;
		}
		if (rc == 0) {
			w.attempts = 0;
			w.release = 1;
			w.reason = "deleting the namespace";
			if (strcmp(l->step, "delete")) {
				w.step = "delete";
				snprintf(reason, sizeof(reason), "deleting namespace %s", ns);
				lease_event(&w, "delete", "info", reason);
				r->transitions++;
			}
			save(r, l, &w);
			goto out;
		}
		nsobj = NULL; /* already gone: confirm with a GET */
	}
	/* terminating: only a deadline passed is worth a word */
	if (r->now - l->delete_at > config.delete_timeout) {
		ns_conditions(nsobj, conds, sizeof(conds));
		snprintf(reason, sizeof(reason),
			 "namespace %s is stuck terminating after %lld s: %s", ns,
			 r->now - l->delete_at, conds);
		w.attempts = 0;
		w.release = 1;
		w.reason = reason;
		if (!strstr(l->reason, "stuck terminating")) {
			lease_event(&w, "delete", "warn", reason);
			r->transitions++;
		}
		save(r, l, &w);
	} else if (l->trouble_since || l->attempts) {
		w.attempts = 0; /* the cluster answers again: say so, back to the progress */
		w.release = 1;
		w.reason = "deleting the namespace";
		save(r, l, &w);
	} else {
		lease_release(r->a, l, &e);
	}
out:
	buf_release(&path);
}

/* ---- the state table -------------------------------------------------------- */

/*
 * The handler of each status a claimed store can have.  None for requested
 * (lease_start_requested starts those, under the cap), failed (waits for a
 * retry from the web app) and deleted (done).  Suspended stores are not
 * provisioning, so they never take a provisioning slot (lease.c counts
 * 'provisioning' only).
 */
static void (*const state_act[STORE_STATUS_N])(struct reconcile *r, struct store *s,
					       struct lease *l) = {
    [STORE_PROVISIONING] = st_provisioning,
    [STORE_READY] = st_running,
    [STORE_DEGRADED] = st_running,
    [STORE_UPGRADING] = reconcile_upgrading, /* reconcile_upgrade.c */
    [STORE_SUSPENDING] = st_suspending,
    [STORE_SUSPENDED] = st_suspending,
    [STORE_RESUMING] = st_resuming,
    [STORE_DELETING] = st_deleting,
};

/* ---- decide ---------------------------------------------------------------- */

/*
 * A running store whose namespace, volume or workload has vanished is
 * degraded, not "waiting for it to be created" (a finished setup Job may
 * be cleaned up by anyone: that is fine).
 */
static void missing_is_failure(struct store *s)
{
	static const char pre[] = "waiting for ", post[] = " to be created";
	char what[200];
	size_t n = strlen(s->hr.reason);

	if (s->hr.health != HEALTH_PROGRESSING || store_step_parse(s->hr.step) == STEP_SETUP ||
	    strncmp(s->hr.reason, pre, sizeof(pre) - 1) || n < sizeof(pre) + sizeof(post) ||
	    strcmp(s->hr.reason + n - (sizeof(post) - 1), post))
		return;
	snprintf(what, sizeof(what), "%.*s", (int)(n - (sizeof(pre) - 1) - (sizeof(post) - 1)),
		 s->hr.reason + sizeof(pre) - 1);
	s->hr.health = HEALTH_FAILED;
	s->missing = 1;
	snprintf(s->hr.reason, sizeof(s->hr.reason), "%s is missing", what);
}

/* A deleting store: claimed to delete the namespace, confirm it gone, or report it stuck. */
static void decide_deleting(struct reconcile *r, struct store *s)
{
	const json_t *ns = obs_ns(s);
	int final = final_backup_pending(s);

	if (final > 0) {
		s->action = "waiting for the final backup";
	} else if (final < 0) {
		if (strstr(s->reason, "the final backup failed")) {
			s->action = "kept: the final backup failed";
			s->settled = 1;
		} else {
			s->action = "report the final backup failed";
			s->claim = 1;
		}
	} else if (!ns || !ns_terminating(ns)) {
		s->action = ns ? "delete the namespace" : "confirm the namespace is gone";
		s->claim = 1;
	} else if (r->now - s->delete_at > config.delete_timeout &&
		   !strstr(s->reason, "stuck terminating")) {
		s->action = "report the namespace stuck terminating";
		s->claim = 1;
	} else if (s->trouble) {
		s->action = "say the cluster answers again";
		s->claim = 1;
	} else {
		s->action = "waiting for the namespace to terminate";
	}
}

/* A ready or degraded store: claimed only when its verdict changes. */
static void decide_running(struct reconcile *r, struct store *s)
{
	struct engine_bp *eb = reconcile_engine_bp(r, s->engine);
	struct k8s_err ke;
	int degraded = s->status == STORE_DEGRADED;

	if (!eb || !eb->expected)
		return;
	reconcile_judge(r, s, eb->running, 0);
	/* a healthy-looking ready store costs nothing; anything else gets a closer look */
	if (s->hr.health != HEALTH_READY || degraded) {
		if (reconcile_fetch_details(r, s, &ke) < 0) {
			log_warn("reconcile: store %s: %s", s->id, ke.err.msg);
			return;
		}
		reconcile_judge(r, s, eb->running, 0);
	}
	missing_is_failure(s);
	if (s->hr.health == HEALTH_FAILED &&
	    (!degraded || strncmp(s->reason, s->hr.reason, strlen(s->hr.reason)) ||
	     (s->missing && strstr(s->reason, ": put back")))) {
		s->action = "mark degraded";
		s->claim = 1;
	} else if (s->hr.health == HEALTH_READY && degraded) {
		s->action = "mark ready again";
		s->claim = 1;
	} else if (s->hr.health != HEALTH_FAILED && strcmp(s->plan, s->plan_applied)) {
		s->action = "apply the plan asked for";
		s->claim = 1;
	}
	/* ready and nothing to do: only an observed or a row change can alter that */
	s->settled = !s->claim && !degraded && s->hr.health == HEALTH_READY;
}

static void decide_unreachable(struct store *s);

static void decide(struct reconcile *r, struct store *s)
{
	s->action = "nothing to do";
	if (!s->c) {
		s->action = "its cluster is not served by this pass";
		return;
	}
	use(r, s->c);
	if (s->status == STORE_REQUESTED) {
		s->action = "start provisioning when a slot is free";
		return;
	}
	if (s->status == STORE_FAILED) {
		s->settled = 1;
		return;
	}
	if (s->leased) {
		s->action = "leased by another run";
		return;
	}
	if (!s->due) {
		s->action = "waiting for its next attempt";
		return;
	}
	if (s->c->trouble) {
		decide_unreachable(s);
		return;
	}
	switch (s->status) {
	case STORE_PROVISIONING:
		s->action = "continue provisioning";
		s->claim = 1;
		break;
	case STORE_UPGRADING:
		s->action = "carry out the upgrade or rollback";
		s->claim = 1;
		break;
	case STORE_SUSPENDING:
		s->action = "scale to zero and show the paused page";
		s->claim = 1;
		break;
	case STORE_SUSPENDED:
		/* nothing runs; only a workload scaled up by hand (or trouble to clear) is news */
		if (workloads_up(s, 1) || s->trouble) {
			s->action = "scale back to zero";
			s->claim = 1;
		}
		s->settled = !s->claim;
		break;
	case STORE_RESUMING:
		s->action = "restore the workloads and wait for readiness";
		s->claim = 1;
		break;
	case STORE_DELETING:
		decide_deleting(r, s);
		break;
	case STORE_READY:
	case STORE_DEGRADED:
		decide_running(r, s);
		break;
	default:
		break;
	}
}

/*
 * A store of a cluster in trouble this pass (see "several clusters"):
 * nothing is asked of its cluster.  The stores waiting on reconcile
 * (provisioning, deleting) that are due get the trouble said on them, as a
 * failed attempt of their own (the provisioning timeout still applies);
 * running stores keep serving and are left alone while the cluster's view
 * is current, then are degraded: nobody can vouch for them.
 */
static void decide_unreachable(struct store *s)
{
	const struct rcluster *c = s->c;

	s->action = "waiting for its cluster to answer";
	if (s->status == STORE_PROVISIONING || s->status == STORE_DELETING) {
		s->action = "say its cluster cannot be observed";
		s->claim = 1;
	} else if ((s->status == STORE_READY || s->status == STORE_DEGRADED) && c->stale &&
		   strcmp(s->reason, c->why)) {
		s->action = "mark degraded: its cluster is unreachable";
		s->claim = 1;
	}
}

/* The handler of a claimed store of a cluster in trouble (decide_unreachable). */
static void act_unreachable(struct reconcile *r, struct store *s, struct lease *l)
{
	const struct rcluster *c = s->c;
	struct lease_save w = {0};
	struct err e = ERR_INIT;

	if (l->status == STORE_PROVISIONING || l->status == STORE_DELETING) {
		if (l->status == STORE_PROVISIONING && prov_timed_out(r, l))
			return;
		if (!strcmp(c->name, DEFAULT_CLUSTER) && k8s_transient(&c->ke))
			/* the one cluster of before: its words as they were */
			k8s_failed(r, l,
				   l->status == STORE_DELETING
				       ? "delete"
				       : store_step_table[STEP_READINESS].name,
				   "observe the cluster", &c->ke);
		else
			trouble_as(r, l, "observe the cluster", &c->ke, c->why);
		return;
	}
	if ((l->status == STORE_READY || l->status == STORE_DEGRADED) && c->stale &&
	    strcmp(l->reason, c->why)) {
		w.status = STORE_DEGRADED;
		w.reason = c->why;
		w.attempts = 0;
		w.release = 1;
		lease_event(&w, TROUBLE_STEP, "warn", c->why);
		if (save(r, l, &w) > 0) {
			r->transitions++;
			log_info("reconcile: store %s is degraded: %s", l->id, c->why);
		}
		return;
	}
	lease_release(r->a, l, &e);
}

/*
 * Decide every loaded store, JUDGE_CHUNK at a time: with the shared view
 * current (r->by_store NULL), each chunk's summaries are read from
 * PostgreSQL, judged, and freed, but for the stores to claim, whose
 * observation the handlers still need: memory holds a chunk, not the
 * fleet.  OUT: the ids to claim in ids (room for every store), *n.
 */
static int decide_all(struct reconcile *r, const char **ids, int *n, struct err *e)
{
	json_t *kept = arena_json(r->a, json_object());
	const char **cids = arena_alloc(r->a, sizeof(*cids) * JUDGE_CHUNK);
	const char **ccls = arena_alloc(r->a, sizeof(*ccls) * JUDGE_CHUNK);

	for (int i = 0; i < r->nstores; i += JUDGE_CHUNK) {
		int m = r->nstores - i < JUDGE_CHUNK ? r->nstores - i : JUDGE_CHUNK;
		json_t *chunk = NULL;

		int nc = 0;

		/* the stores of clusters whose shared view is current: read from PostgreSQL */
		for (int j = 0; j < m; j++) {
			const struct store *s = &r->stores[i + j];

			if (s->c && !s->c->trouble && !s->c->by_store) {
				cids[nc] = s->id;
				ccls[nc++] = s->c->name;
			}
		}
		if (nc && observe_load(cids, ccls, nc, &chunk, e) < 0)
			return -1;
		for (int j = i; j < i + m; j++) {
			struct store *s = &r->stores[j];

			if (chunk && s->c && !s->c->by_store)
				s->obs = json_object_get(chunk, s->id);
			decide(r, s);
			if (r->o.dry_run)
				fprintf(r->o.out, "%s %s: %s%s%s\n", s->id,
					store_status_name(s->status), s->action,
					s->judged ? " - " : "", s->judged ? s->hr.reason : "");
			if (s->claim)
				ids[(*n)++] = s->id;
			if (chunk && s->claim && s->obs) {
				json_object_set(kept, s->id, (json_t *)s->obs);
				s->obs = json_object_get(kept, s->id);
			} else if (chunk && s->c && !s->c->by_store) {
				s->obs = NULL;
			}
		}
		json_decref(chunk);
	}
	return 0;
}

/* ---- the pass -------------------------------------------------------------- */

struct reconcile *reconcile_new(const struct reconcile_opts *o, struct err *e)
{
	struct reconcile *r = calloc(1, sizeof(*r));
	struct rcluster *c = calloc(1, sizeof(*c));
	struct k8s_opts ko;

	if (!r || !c)
		die_oom();
	r->o = *o;
	if (!r->o.out)
		r->o.out = stdout;
	r->started = mono_now();
	/* the configuration's own cluster: a client that cannot be made stops the program */
	cluster_opts(&ko);
	if (k8s_init(&c->k, &ko, e) < 0) {
		free(c);
		free(r);
		return NULL;
	}
	c->k8s_ok = 1;
	snprintf(c->name, sizeof(c->name), "%s", DEFAULT_CLUSTER);
	snprintf(c->domain, sizeof(c->domain), "%s", config.domain);
	snprintf(c->overlay, sizeof(c->overlay), "%s", config.overlay);
	snprintf(c->ingress, sizeof(c->ingress), "%s", config.ingress_address);
	c->obs = observe_new(&c->k, c->name, r->o.owner, r->o.run_for);
	r->cl[r->ncl++] = c;
	use(r, c);
	r->a = arena_new();
	r->http = storehttp_new();
	return r;
}

void reconcile_free(struct reconcile *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->ncl; i++)
		cluster_free(r->cl[i]);
	storehttp_free(r->http);
	arena_free(r->a);
	free(r);
}

/* Every cluster's client's counters, summed (OUT: count). */
static void k8s_counts(const struct reconcile *r, unsigned long count[K8S_V_N][K8S_R_N])
{
	memset(count, 0, sizeof(unsigned long) * K8S_V_N * K8S_R_N);
	for (int i = 0; i < r->ncl; i++)
		for (int v = 0; v < K8S_V_N; v++)
			for (int x = 0; x < K8S_R_N; x++)
				count[v][x] += r->cl[i]->k.count[v][x];
}

static unsigned long k8s_total(const struct reconcile *r)
{
	unsigned long n = 0, count[K8S_V_N][K8S_R_N];

	k8s_counts(r, count);
	for (int v = 0; v < K8S_V_N; v++)
		for (int res = 0; res < K8S_R_N; res++)
			n += count[v][res];
	return n;
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* "LIST 4 2xx, APPLY 20 2xx, GET 1 5xx..." - this pass's requests by verb and result. */
static void k8s_breakdown(unsigned long count[K8S_V_N][K8S_R_N],
			  unsigned long count0[K8S_V_N][K8S_R_N], char *out, size_t n)
{
	static const char *const verb[K8S_V_N] = {"GET",    "LIST", "APPLY",
						  "DELETE", "POST", "OTHER"};
	static const char *const res[K8S_R_N] = {"2xx", "4xx", "429", "5xx", "error"};
	size_t len = 0;

	out[0] = 0;
	for (int v = 0; v < K8S_V_N; v++)
		for (int x = 0; x < K8S_R_N; x++) {
			unsigned long d = count[v][x] - count0[v][x];

			if (d && len < n)
				len += (size_t)snprintf(out + len, n - len, "%s%s %lu %s",
							len ? ", " : "", verb[v], d, res[x]);
		}
	if (!out[0])
		snprintf(out, n, "none");
}

static struct db_stmt st_run_start =
    DB_STMT("INSERT INTO reconcile_runs (host) VALUES ($1) RETURNING id", 1);
static void act_on_claimed(struct reconcile *r, struct lease *ls, int n)
{
	json_t *index = arena_json(r->a, json_object());

	for (int i = 0; i < r->nstores; i++)
		json_object_set_new(index, r->stores[i].id, json_integer(i));
	for (int i = 0; i < n; i++) {
		struct lease *l = &ls[i];
		const json_t *ix = json_object_get(index, l->id);
		struct store *s = ix ? &r->stores[json_integer_value(ix)] : NULL;
		void (*act)(struct reconcile *, struct store *, struct lease *) =
		    l->status < STORE_STATUS_N ? state_act[l->status] : NULL;
		struct err e = ERR_INIT;

		/* the row may have moved on since we loaded it: act on its current status */
		if (s && s->status != l->status) {
			s->status = l->status;
			s->reason = l->reason;
			s->judged = 0;
		}
		if (!s || !s->c || !act || lease_renew(r->a, l, config.lease_seconds, &e) != 1) {
			lease_release(r->a, l, &e);
			continue;
		}
		use(r, s->c); /* its own cluster's client, view and charts only */
		if (s->c->trouble)
			act_unreachable(r, s, l);
		else
			act(r, s, l);
	}
}

int reconcile_pass(struct reconcile *r, struct reconcile_stats *st, struct err *e)
{
	struct timespec t0, t1;
	unsigned long req0, count[K8S_V_N][K8S_R_N];
	const char *run_id = NULL, **ids;
	char host[256] = "", owner_host[300], verbs[256], judged[120];
	struct lease *ls = NULL;
	struct observe_stats ost = {0};
	struct err ce = ERR_INIT; /* the first cluster that could not be observed */
	int nids = 0, nls = 0, started = 0, rc = -1;
	PGresult *res;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(st, 0, sizeof(*st));
	arena_reset(r->a);
	r->listed_any = r->stale_any = 0;
	/* the clusters as the table has them now: added ones served, removed ones dropped */
	if (clusters_sync(r, e) < 0)
		return -1;
	use(r, r->cl[0]);
	for (int i = 0; i < r->ncl; i++)
		r->cl[i]->observed = 0;
	k8s_counts(r, r->count0);
	req0 = k8s_total(r);
	r->transitions = 0;
	r->stores = NULL;
	r->nstores = r->fleet = r->nmarked = r->nswept = r->all = 0;
	r->all_why[0] = 0;
	gethostname(host, sizeof(host) - 1);

	if (!r->o.dry_run) {
		const char *p[] = {host};

		res = db_run(r->a, &st_run_start, p, e);
		if (!res)
			return -1;
		run_id = arena_strdup(r->a, db_get(res, 0, 0));
		if (lease_start_requested(r->a, config.provisioning_concurrency, &started, e) < 0)
			goto finish;
		r->transitions += started;
	}
	/*
	 * Every cluster on its own; one that cannot be observed holds up no
	 * other.  Those in trouble at the last pass are observed first: the
	 * time one of them costs (up to a request timeout) passes before the
	 * healthy clusters' views are brought up to date, not between that
	 * and the judging of their stores.
	 */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < r->ncl; i++) {
			struct rcluster *c = r->cl[i];

			if (c->trouble != !round || c->observed)
				continue;
			c->observed = 1;
			if (observe_cluster(r, c, &ost, &ce) < 0) {
				*e = ce;
				goto finish;
			}
			r->stale_any |= c->stale;
		}
	log_debug("reconcile: observed in %.3f s", elapsed(&t0));
	if (load_judged(r, e) < 0)
		goto finish;
	if (!r->o.dry_run) {
		use(r, r->cl[0]);
		reconcile_revisions_backfill(r);
	}
	log_debug("reconcile: %d stores loaded at %.3f s", r->nstores, elapsed(&t0));

	ids = arena_alloc(r->a, sizeof(*ids) * (size_t)(r->nstores ? r->nstores : 1));
	if (decide_all(r, ids, &nids, e) < 0)
		goto finish;
	settle(r);
	log_debug("reconcile: decided at %.3f s: %d to claim", elapsed(&t0), nids);
	if (!r->o.dry_run && nids) {
		snprintf(owner_host, sizeof(owner_host), "%s", r->o.owner);
		if (lease_holder_ensure(r->a, e) < 0 ||
		    lease_claim(r->a, ids, nids, owner_host, config.lease_seconds, &ls, &nls, e) <
			0)
			goto finish;
		act_on_claimed(r, ls, nls);
	}
	if (!r->o.dry_run) {
		struct err we = ERR_INIT, me = ERR_INIT;
		int nw = 0;

		/* webhooks WooCommerce disabled (reconcile_webhooks.c): never a pass error */
		if (reconcile_webhooks_check(r->a, r->http, &nw, &we) < 0)
			log_warn("reconcile: webhook check: %s", we.msg);
		/* Medusa's publishable keys (reconcile_medusa.c): never a pass error either */
		if (reconcile_medusa_keys(r->a, r->http, &nw, &me) < 0)
			log_warn("reconcile: publishable keys: %s", me.msg);
		/* custom domains (reconcile_domain.c): never a pass error */
		{
			struct err de = ERR_INIT;
			int nd = 0;

			if (reconcile_domains(r, &nd, &de) < 0)
				log_warn("reconcile: custom domains: %s", de.msg);
			r->transitions += nd;
		}
		/* stores' backups (reconcile_backup.c): never a pass error */
		{
			struct err be = ERR_INIT;
			int nb = 0;

			if (reconcile_backups(r, &nb, &be) < 0)
				log_warn("reconcile: backups: %s", be.msg);
			r->transitions += nb;
		}
		/*
		 * each cluster's capacity for admission (reconcile_capacity.h), with
		 * its own client; one in trouble this pass is asked nothing.  Never a
		 * pass error.
		 */
		for (int i = 0; i < r->ncl; i++) {
			struct rcluster *c = r->cl[i];
			struct err pe = ERR_INIT;
			int seen = 0;

			if (c->trouble || !c->k8s_ok)
				continue;
			if (capacity_observe(&c->k, r->a, c->name, config.capacity_interval, &seen,
					     &pe) < 0)
				log_warn("reconcile: cluster %s: capacity: %s", c->name, pe.msg);
		}
		if (reconcile_webhooks_prune(r->a, &nw, &we) < 0)
			log_warn("reconcile: webhook deliveries: %s", we.msg);
		else if (nw)
			log_info("reconcile: %d webhook deliveries older than %d days forgotten",
				 nw, WEBHOOK_KEEP_DAYS);
	}
	rc = 0;
	if (ce.status) {
		/* a cluster could not be observed: the pass says so (exit 1), the others went on */
		*e = ce;
		rc = -1;
	}
finish:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* the fleet the pass answered for: each store judged, or known unchanged since it was */
	st->stores_seen = r->fleet;
	st->transitions = r->transitions;
	st->k8s_requests = k8s_total(r) - req0;
	k8s_counts(r, count);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (run_id) {
		/* the run row and the /metrics totals in one statement (reconcile_metrics.h) */
		struct reconcile_metrics mp = {.run_id = run_id,
					  .stores_seen = st->stores_seen,
					  .transitions = st->transitions,
					  .k8s_requests = st->k8s_requests,
					  .error = rc < 0 ? e->msg : NULL,
					  .seconds = st->seconds};
		struct err e2 = ERR_INIT;

		for (int v = 0; v < K8S_V_N; v++)
			for (int x = 0; x < K8S_R_N; x++)
				mp.k8s[v][x] = count[v][x] - r->count0[v][x];
		if (db_in_tx())
			db_rollback();
		if (reconcile_metrics_record(r->a, &mp, &e2) < 0)
			log_warn("reconcile: cannot record the run: %s", e2.msg);
	}
	k8s_breakdown(count, r->count0, verbs, sizeof(verbs));
	if (r->all)
		snprintf(judged, sizeof(judged), "every store: %s", r->all_why);
	else
		snprintf(judged, sizeof(judged), "%d marked, %d busy, %d swept", r->nmarked,
			 r->nstores - r->nmarked - r->nswept, r->nswept);
	log_info("reconcile: pass: %d stores, %d transitions, %lu kubernetes requests (%s), %.3f s,"
		 " view %s (%d listed, %d resumed, %d changes), %d judged (%s)%s%s",
		 st->stores_seen, st->transitions, st->k8s_requests, verbs, st->seconds,
		 ost.fallback ? "listed for this pass" : "from PostgreSQL", ost.listed,
		 ost.resumed, ost.events, r->nstores, judged, rc < 0 ? ": " : "",
		 rc < 0 ? e->msg : "");
	return rc;
}
