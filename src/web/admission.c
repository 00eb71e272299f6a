/* admission.c - placement of a new store on a cluster, and the reasons a create is refused. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "admission.h"
#include "audit.h"
#include "blueprint.h"
#include "chart.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "plan.h"

#define NOLIMIT LLONG_MAX
#define GI	(1LL << 30)
#define MI	(1LL << 20)
#define REGIONS_TTL 10 /* seconds */

/* clang-format off */
/*
 * Every cluster of the region (all when $1 is ''), draining ones too (to
 * tell "draining" from "no such region"), locked; the capacity reconcile
 * read (NULL: never), the StorageClass names, the stores that are not
 * deleted by (engine, plan, applied plan), and whether a class is the default.
 */
static struct db_stmt st_clusters = DB_STMT(
	"SELECT c.name, c.region, c.overlay, c.state, c.max_stores, c.max_cpu_millis, "
	"c.max_memory_bytes, cap.cpu_millis, cap.memory_bytes, "
	"(SELECT coalesce(json_agg(k.name), '[]') FROM cluster_storage_classes k "
	"  WHERE k.cluster = c.name), "
	"(SELECT coalesce(json_agg(json_build_array(u.engine, u.plan, u.plan_applied, u.n)), '[]') "
	"  FROM (SELECT engine, plan, plan_applied, count(*) AS n FROM stores s "
	"   WHERE s.cluster = c.name AND s.status <> 'deleted' GROUP BY 1, 2, 3) u), "
	"EXISTS (SELECT 1 FROM cluster_storage_classes k WHERE k.cluster = c.name AND k.is_default) "
	"FROM clusters c LEFT JOIN cluster_capacity cap ON cap.cluster = c.name "
	"WHERE $1 = '' OR c.region = $1 ORDER BY c.name FOR NO KEY UPDATE OF c", 1);
static struct db_stmt st_regions = DB_STMT(
	"SELECT DISTINCT region FROM clusters WHERE region <> '' AND state = 'active' ORDER BY 1", 0);
static struct db_stmt st_all_regions = DB_STMT(
	"SELECT coalesce(string_agg(DISTINCT region, ', ' ORDER BY region), '') FROM clusters "
	"WHERE region <> ''", 0);
static struct db_stmt st_count = DB_STMT(
	"INSERT INTO metric_counters AS m (name, l1, l2, value) "
	"VALUES ('admission_refusals', $1, '', 1) "
	"ON CONFLICT (name, l1, l2) DO UPDATE SET value = m.value + 1", 1);
/* clang-format on */

/* --- the plans and charts of an overlay ---------------------------------- */

static int own_overlay(const char *overlay)
{
	return !overlay || !*overlay || !strcmp(overlay, config.overlay);
}

/* The plans of overlay: the process's own, or <charts_dir>/plans-<overlay>.yaml, kept. */
static const struct plans *plans_for(const char *overlay, struct err *e)
{
	static struct {
		char overlay[40];
		struct plans *p;
	} kept[8];
	char path[4096];
	struct plans *p;

	if (own_overlay(overlay))
		return plans_get(e);
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (kept[i].p && !strcmp(kept[i].overlay, overlay))
			return kept[i].p;
	snprintf(path, sizeof(path), "%s/plans-%s.yaml", config.charts_dir, overlay);
	if (!(p = plans_load(path, e)))
		return NULL;
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (!kept[i].p) {
			snprintf(kept[i].overlay, sizeof(kept[i].overlay), "%s", overlay);
			kept[i].p = p;
			return p;
		}
	log_warn("admission: more than 8 overlays; plans-%s.yaml read on each create", overlay);
	plans_free(p);
	return plans_get(e);
}

/* The chart of engine with overlay's values: the process's own (chart.h), or loaded and kept. */
static struct blueprint *chart_for(const char *engine, const char *overlay, struct err *e)
{
	static struct {
		char key[80];
		struct blueprint *bp;
	} kept[16];
	char key[80];
	struct blueprint *bp;

	if (own_overlay(overlay))
		return chart_get(engine, e);
	snprintf(key, sizeof(key), "%s/%s", engine, overlay);
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (kept[i].bp && !strcmp(kept[i].key, key))
			return kept[i].bp;
	if (!(bp = blueprint_load(config.charts_dir, engine, overlay, NULL, e)))
		return NULL;
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (!kept[i].bp) {
			snprintf(kept[i].key, sizeof(kept[i].key), "%s", key);
			kept[i].bp = bp;
			return bp;
		}
	blueprint_free(bp);
	return chart_get(engine, e);
}

/* A store's ResourceQuota requests on plan (NULL = the default) of ps, with bp's defaults. */
static void plan_need(const struct plans *ps, struct blueprint *bp, const char *plan_name,
		      const char *engine, long long *cpu, long long *mem)
{
	const json_t *plan = plans_find(ps, plan_name && *plan_name ? plan_name : NULL);
	const json_t *q, *dq = json_object_get(blueprint_values(bp), "quota");
	const char *c, *m;
	long long v;

	if (!plan)
		plan = plans_find(ps, NULL); /* a plan dropped from the file: the default's */
	q = json_object_get(plan_values(plan, engine), "quota");
	c = json_string_value(json_object_get(q, "requests_cpu"));
	m = json_string_value(json_object_get(q, "requests_memory"));
	if (!c)
		c = json_string_value(json_object_get(dq, "requests_cpu"));
	if (!m)
		m = json_string_value(json_object_get(dq, "requests_memory"));
	*cpu = (v = plan_quantity_milli(c)) < 0 ? 0 : v;
	*mem = (v = plan_quantity_milli(m)) < 0 ? 0 : (v + 999) / 1000;
}

/*
 * The first StorageClass the chart's values (the plan's winning) name that
 * have is missing; "" when a value is "" (the cluster's default class) and
 * the cluster has no default (has_default 0); NULL when nothing is missing.
 */
static const char *class_missing(const json_t *chart, const json_t *plan, const json_t *have,
				 int has_default)
{
	const char *k;
	json_t *cv;

	json_object_foreach((json_t *)chart, k, cv)
	{
		const json_t *pv = json_object_get(plan, k);
		size_t kl = strlen(k);

		if (json_is_object(cv)) {
			const char *m =
			    class_missing(cv, json_is_object(pv) ? pv : NULL, have, has_default);

			if (m)
				return m;
		} else if (kl >= 13 && !strcmp(k + kl - 13, "storage_class")) {
			const char *name = json_string_value(json_is_string(pv) ? pv : cv);
			size_t i;
			json_t *h;
			int found = 0;

			if (!name)
				continue;
			if (!*name) {
				if (!has_default)
					return "";
				continue;
			}
			json_array_foreach(have, i, h) found |= !strcmp(json_string_value(h), name);
			if (!found)
				return name;
		}
	}
	return NULL;
}

/* --- how the figures read ----------------------------------------------- */

static const char *cpu_text(struct arena *a, long long m)
{
	if (m < 0)
		m = 0;
	if (m % 1000 == 0)
		return arena_printf(a, "%lld", m / 1000);
	return arena_printf(a, "%g", (double)m / 1000.0);
}

static const char *mem_text(struct arena *a, long long b)
{
	if (b < 0)
		b = 0;
	if (b >= GI)
		return b % GI ? arena_printf(a, "%.1fGi", (double)(b / (GI / 10)) / 10.0)
			      : arena_printf(a, "%lldGi", b / GI);
	return arena_printf(a, "%lldMi", b / MI);
}

/* --- the decision ------------------------------------------------------- */

enum verdict { FITS, LATER, NEVER, NO_CLASS, DRAINING };

struct cand {
	const char *name, *cls;
	enum verdict v;
	long long cpu, mem, max_stores;	 /* what it can hold (NOLIMIT: no bound) */
	long long lim_cpu, lim_mem;	 /* the operator's max_* alone */
	long long stores, used_cpu, used_mem;
	long long free_cpu, free_mem; /* NOLIMIT: no bound */
};

static long long opt_ll(const PGresult *res, int row, int col)
{
	return db_get(res, row, col) ? db_get_ll(res, row, col) : NOLIMIT;
}

static long long min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

/* Judge one clusters row for a store needing (need_cpu, need_mem) computed in its overlay. */
static int judge(struct arena *a, const PGresult *res, int i, const struct admission *ad,
		 struct cand *c, long long *need_cpu, long long *need_mem, struct err *e)
{
	const char *overlay = db_get(res, i, 2);
	const struct plans *ps;
	struct blueprint *bp;
	json_t *classes, *usage, *u;
	const json_t *plan;
	size_t k;

	memset(c, 0, sizeof(*c));
	c->name = arena_strdup(a, db_get(res, i, 0));
	if (strcmp(db_get(res, i, 3), "active")) {
		c->v = DRAINING;
		return 0;
	}
	if (!(ps = plans_for(overlay, e)) || !(bp = chart_for(ad->engine, overlay, e)))
		return -1;
	plan_need(ps, bp, ad->plan, ad->engine, need_cpu, need_mem);
	c->max_stores = opt_ll(res, i, 4);
	c->lim_cpu = opt_ll(res, i, 5);
	c->lim_mem = opt_ll(res, i, 6);
	c->cpu = min_ll(opt_ll(res, i, 7), c->lim_cpu);
	c->mem = min_ll(opt_ll(res, i, 8), c->lim_mem);
	usage = json_loads(db_get(res, i, 10), 0, NULL);
	json_array_foreach(usage, k, u)
	{
		const char *eng = json_string_value(json_array_get(u, 0));
		long long n = json_integer_value(json_array_get(u, 3)), c1, m1, c2, m2;
		struct blueprint *ubp = chart_for(eng, overlay, e);

		if (!ubp) {
			json_decref(usage);
			return -1;
		}
		plan_need(ps, ubp, json_string_value(json_array_get(u, 1)), eng, &c1, &m1);
		plan_need(ps, ubp, json_string_value(json_array_get(u, 2)), eng, &c2, &m2);
		c->stores += n;
		c->used_cpu += n * (c1 > c2 ? c1 : c2);
		c->used_mem += n * (m1 > m2 ? m1 : m2);
	}
	json_decref(usage);
	c->free_cpu = c->cpu == NOLIMIT ? NOLIMIT : c->cpu - c->used_cpu;
	c->free_mem = c->mem == NOLIMIT ? NOLIMIT : c->mem - c->used_mem;
	if (db_get(res, i, 7)) { /* observed: its StorageClasses count */
		plan = plans_find(ps, ad->plan && *ad->plan ? ad->plan : NULL);
		classes = json_loads(db_get(res, i, 9), 0, NULL);
		c->cls = arena_strdup(a, class_missing(blueprint_values(bp),
							plan ? plan_values(plan, ad->engine) : NULL,
							classes, db_get_bool(res, i, 11)));
		json_decref(classes);
	}
	/* nodes come and go (cordoned, NotReady, added): only the operator's limits are final */
	if (*need_cpu > c->lim_cpu || *need_mem > c->lim_mem || c->max_stores == 0)
		c->v = NEVER;
	else if (c->stores >= c->max_stores || *need_cpu > c->free_cpu || *need_mem > c->free_mem)
		c->v = LATER;
	else
		c->v = FITS;
	if (c->cls && c->v != NEVER)
		c->v = NO_CLASS;
	return 0;
}

static int better(const struct cand *x, const struct cand *best)
{
	if (!best)
		return 1;
	if (x->free_cpu != best->free_cpu)
		return x->free_cpu > best->free_cpu;
	if (x->free_mem != best->free_mem)
		return x->free_mem > best->free_mem;
	return strcmp(x->name, best->name) < 0;
}

int admission_place(struct arena *a, struct admission *ad, struct err *e)
{
	const char *region = ad->region ? ad->region : "";
	const char *in = *region ? arena_printf(a, " in %s", region) : "";
	const char *what;
	const char *p[1] = {region};
	PGresult *res;
	struct cand *cs, *best = NULL, *later = NULL;
	long long need_cpu = 0, need_mem = 0, nc, nm;
	int n, nlater = 0, short_cpu = 0, short_mem = 0, short_n = 0;

	ad->cluster = NULL;
	ad->reason = NULL;
	ad->field = NULL;
	what = arena_printf(a, "%s store on plan %s",
			    strcmp(ad->engine, "medusa") ? "WooCommerce" : "Medusa",
			    ad->plan && *ad->plan ? ad->plan : "(default)");
	if (!(res = db_run(a, &st_clusters, p, e)))
		return -1;
	n = db_rows(res);
	if (n == 0) {
		PGresult *r2 = db_run(a, &st_all_regions, NULL, e);

		if (!r2)
			return -1;
		ad->reason = "region";
		ad->field = "region";
		if (!*db_get(r2, 0, 0))
			return err_set(e, 422, "There is no region '%.40s'; the clusters have no "
					       "region: leave it empty.",
				       region);
		return err_set(e, 422, "There is no region '%.40s'; the regions are %s.", region,
			       db_get(r2, 0, 0));
	}
	cs = arena_alloc(a, sizeof(*cs) * (size_t)n);
	for (int i = 0; i < n; i++) {
		if (judge(a, res, i, ad, &cs[i], &nc, &nm, e) < 0)
			return -1;
		if (ad->only && strcmp(db_get(res, i, 0), ad->only))
			cs[i].v = DRAINING; /* not a candidate */
		if (cs[i].v == DRAINING)
			continue;
		if (!need_cpu && !need_mem) { /* for the messages: the first active cluster's */
			need_cpu = nc;
			need_mem = nm;
		}
		if (cs[i].v == FITS && better(&cs[i], best))
			best = &cs[i];
		if (cs[i].v == LATER) {
			nlater++;
			short_cpu += nc > cs[i].free_cpu;
			short_mem += nm > cs[i].free_mem;
			short_n += cs[i].stores >= cs[i].max_stores;
			if (better(&cs[i], later))
				later = &cs[i];
		}
	}
	if (best) {
		ad->cluster = best->name;
		return 0;
	}
	ad->reason = "capacity";
	if (later) {
		long long most_mem = 0;

		for (int i = 0; i < n; i++)
			if (cs[i].v == LATER && cs[i].free_mem > most_mem)
				most_mem = cs[i].free_mem;
		if (short_cpu == nlater)
			return err_set(e, 503, "No cluster%s has %s CPU free for a %s; the largest has %s.",
				       in, cpu_text(a, need_cpu), what,
				       cpu_text(a, later->free_cpu));
		if (short_mem == nlater)
			return err_set(e, 503,
				       "No cluster%s has %s of memory free for a %s; the largest has %s.",
				       in, mem_text(a, need_mem), what, mem_text(a, most_mem));
		if (short_n == nlater)
			return err_set(e, 503,
				       "No cluster%s has room for another store: %s holds %lld stores, "
				       "its limit.",
				       in, later->name, later->stores);
		return err_set(e, 503,
			       "No cluster%s has %s CPU and %s of memory free for a %s; the largest "
			       "has %s CPU and %s.",
			       in, cpu_text(a, need_cpu), mem_text(a, need_mem), what,
			       cpu_text(a, later->free_cpu), mem_text(a, later->free_mem));
	}
	for (int i = 0; i < n; i++)
		if (cs[i].v == NO_CLASS) {
			ad->reason = "storage_class";
			if (!*cs[i].cls)
				return err_set(e, 422,
					       "Cluster %s has no default StorageClass, and its overlay "
					       "leaves the class to the default (storage_class is empty): "
					       "the store's volumes would never be bound.",
					       cs[i].name);
			return err_set(e, 422,
				       "Cluster %s's overlay needs StorageClass %s, which the cluster "
				       "does not have.",
				       cs[i].name, cs[i].cls);
		}
	for (int i = 0; i < n; i++)
		if (cs[i].v == NEVER) {
			struct cand *big = &cs[i];

			for (int j = i + 1; j < n; j++)
				if (cs[j].v == NEVER && cs[j].lim_cpu > big->lim_cpu)
					big = &cs[j];
			if (big->max_stores == 0)
				return err_set(e, 422, "No cluster%s takes stores: %s allows none.",
					       in, big->name);
			return err_set(e, 422,
				       "A %s needs %s CPU and %s of memory; no cluster%s may hold that "
				       "much (the largest limit: %s CPU and %s).",
				       what, cpu_text(a, need_cpu), mem_text(a, need_mem), in,
				       big->lim_cpu == NOLIMIT ? "any" : cpu_text(a, big->lim_cpu),
				       big->lim_mem == NOLIMIT ? "any memory" : mem_text(a, big->lim_mem));
		}
	return err_set(e, 503, "No cluster%s takes new stores: %s draining.", in,
		       n == 1 ? "it is" : "every one is");
}

void admission_refused(struct arena *a, long long actor, const char *email, const char *ip,
		       const char *action, const char *target, struct view *details,
		       const char *reason, const char *message)
{
	struct err e = ERR_INIT;
	const char *p[1] = {reason};

	if (!details)
		details = view_obj(a);
	view_set_str(details, "reason", reason);
	view_set_str(details, "message", message);
	if (audit_record(a, actor, email, ip, action, target, details, &e) < 0 ||
	    !db_run(a, &st_count, p, &e))
		log_warn("admission: cannot record the refusal (%s): %s", reason, e.msg);
}

int admission_regions(struct arena *a, struct view *arr, const char *selected, struct err *e)
{
	/* the create form's list, read at most every REGIONS_TTL seconds per process */
	static char kept[2048];
	static time_t kept_at;
	static int kept_ok;
	time_t now = time(NULL);
	char *save = NULL, *tok, *list;
	int n = 0;

	if (!kept_ok || now - kept_at >= REGIONS_TTL || now < kept_at) {
		PGresult *res = db_run(a, &st_regions, NULL, e);
		size_t len = 0;

		if (!res)
			return -1;
		kept[0] = 0;
		for (int i = 0; i < db_rows(res); i++) {
			const char *r = db_get(res, i, 0);
			size_t rl = strlen(r);

			if (len + rl + 2 > sizeof(kept))
				break;
			memcpy(kept + len, r, rl);
			len += rl;
			kept[len++] = ',';
			kept[len] = 0;
		}
		kept_at = now;
		kept_ok = 1;
	}
	list = arena_strdup(a, kept);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct view *o = view_push_obj(arr);

		view_set_str_ref(o, "value", tok);
		view_set_str_ref(o, "label", tok);
		if (selected && !strcmp(selected, tok))
			view_set_bool(o, "selected", 1);
		n++;
	}
	return n;
}
