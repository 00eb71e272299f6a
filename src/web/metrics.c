/* metrics.c - Prometheus text exposition: shared-memory HTTP counters and one PostgreSQL query. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "plan.h"

/*
 * The shared region is zero-filled by mmap, which is a valid initial value
 * for a lock-free atomic; lock-free is also what makes it safe to share
 * between processes and to leave behind when one is killed mid-add.
 */
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "the shared counters need lock-free atomic_ulong");

#define CODE_MIN 100
#define CODE_N	 500 /* 100..599; one more slot for anything else */

static const double http_bounds[METRICS_HTTP_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

struct http_slot {
	atomic_ulong code[CODE_N + 1];
	atomic_ulong bucket[METRICS_HTTP_BUCKETS + 1]; /* per bucket, not cumulative; last = +Inf */
	atomic_ulong sum_us;
};

struct http_shm {
	atomic_ulong login_failures;
	atomic_ulong db_queries; /* metrics queries this host's workers ran (the cache's effect) */
	struct http_slot slot[];
};

static struct http_shm *shm;
static const char *const *shm_names;
static int shm_nroutes; /* slots: the routes, then "unmatched", then "other" */

int metrics_http_init(const char *const *names, int nroutes, struct err *e)
{
	size_t size;
	void *p;

	if (shm)
		BUG("metrics_http_init called twice");
	size = sizeof(struct http_shm) + (size_t)(nroutes + 2) * sizeof(struct http_slot);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return err_set(e, 500, "metrics: cannot map %zu bytes of shared counters", size);
	shm = p;
	shm_names = names;
	shm_nroutes = nroutes;
	return 0;
}

void metrics_http_observe(int route, int status, double seconds)
{
	struct http_slot *s;
	int b = 0;

	if (!shm)
		return;
	if (route < 0)
		route = shm_nroutes;
	else if (route >= shm_nroutes)
		route = shm_nroutes + 1;
	s = &shm->slot[route];
	if (status >= CODE_MIN && status < CODE_MIN + CODE_N)
		atomic_fetch_add_explicit(&s->code[status - CODE_MIN], 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&s->code[CODE_N], 1, memory_order_relaxed);
	while (b < METRICS_HTTP_BUCKETS && seconds > http_bounds[b])
		b++;
	atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
	if (seconds > 0)
		atomic_fetch_add_explicit(&s->sum_us, (unsigned long)(seconds * 1e6 + 0.5),
					  memory_order_relaxed);
}

void metrics_login_failure(void)
{
	if (shm)
		atomic_fetch_add_explicit(&shm->login_failures, 1, memory_order_relaxed);
}

static unsigned long get(atomic_ulong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

void metrics_add_value(struct buf *out, double v)
{
	if (isnan(v))
		buf_adds(out, "NaN");
	else if (isinf(v))
		buf_adds(out, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		buf_addf(out, "%.0f", v);
	else
		buf_addf(out, "%.15g", v);
}

void metrics_add_label(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_addch(out, '\\');
		if (*s == '\n')
			buf_adds(out, "\\n");
		else
			buf_addch(out, *s);
	}
}

static void head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *slot_name(int i)
{
	if (i < shm_nroutes)
		return shm_names[i];
	return i == shm_nroutes ? "unmatched" : "other";
}

static void route_label(struct buf *out, const char *name, int i)
{
	buf_addf(out, "%s{route=\"", name);
	metrics_add_label(out, slot_name(i));
	buf_addch(out, '"');
}

void metrics_http_render(struct buf *out)
{
	const int nslots = shm_nroutes + 2;

	if (!shm)
		return;
	head(out, "storefleet_http_requests_total", "counter",
	     "HTTP requests answered by this host's workers, by route (the route table's name) "
	     "and status code.");
	for (int i = 0; i < nslots; i++)
		for (int c = 0; c <= CODE_N; c++) {
			unsigned long n = get(&shm->slot[i].code[c]);

			if (!n)
				continue;
			route_label(out, "storefleet_http_requests_total", i);
			if (c < CODE_N)
				buf_addf(out, ",code=\"%d\"} %lu\n", c + CODE_MIN, n);
			else
				buf_addf(out, ",code=\"other\"} %lu\n", n);
		}

	head(out, "storefleet_http_request_duration_seconds", "histogram",
	     "Time to answer a request, from reading it to the last byte handed to nginx, by "
	     "route.");
	for (int i = 0; i < nslots; i++) {
		struct http_slot *s = &shm->slot[i];
		unsigned long cum = 0;

		for (int b = 0; b <= METRICS_HTTP_BUCKETS; b++)
			cum += get(&s->bucket[b]);
		if (!cum)
			continue;
		cum = 0;
		for (int b = 0; b <= METRICS_HTTP_BUCKETS; b++) {
			cum += get(&s->bucket[b]);
			route_label(out, "storefleet_http_request_duration_seconds_bucket", i);
			buf_adds(out, ",le=\"");
			if (b < METRICS_HTTP_BUCKETS)
				metrics_add_value(out, http_bounds[b]);
			else
				buf_adds(out, "+Inf");
			buf_addf(out, "\"} %lu\n", cum);
		}
		route_label(out, "storefleet_http_request_duration_seconds_sum", i);
		buf_adds(out, "} ");
		metrics_add_value(out, (double)get(&s->sum_us) / 1e6);
		buf_addch(out, '\n');
		route_label(out, "storefleet_http_request_duration_seconds_count", i);
		buf_addf(out, "} %lu\n", cum);
	}

	head(out, "storefleet_login_failures_total", "counter",
	     "Sign-in attempts refused for a wrong email or password (form and API).");
	buf_addf(out, "storefleet_login_failures_total %lu\n", get(&shm->login_failures));

	head(out, "storefleet_rate_limit_hits_total", "counter",
	     "Requests refused by a rate limit or guardrail (answered 429), by route.");
	for (int i = 0; i < nslots; i++) {
		unsigned long n = get(&shm->slot[i].code[429 - CODE_MIN]);

		if (!n && i != 0)
			continue;
		route_label(out, "storefleet_rate_limit_hits_total", i);
		buf_addf(out, "} %lu\n", n);
	}

	head(out, "storefleet_metrics_database_queries_total", "counter",
	     "Database queries made to answer /metrics (at most one per worker per cache "
	     "window).");
	buf_addf(out, "storefleet_metrics_database_queries_total %lu\n", get(&shm->db_queries));
}

/* --- the database families ------------------------------------------------ */

/*
 * Every figure in one round trip.  Column 1 names the family (key below),
 * 2-3 are label values, 4 the value, 5 orders histogram buckets.  Stores are
 * counted for every known status x engine (zeros included, so a status
 * that empties still reports 0 rather than vanishing) plus any other pair
 * that exists.
 */
static struct db_stmt st_metrics = DB_STMT(
    "SELECT 'stores', status, engine, sum(n)::float8, 0::float8 FROM ("
    "  SELECT status, engine, count(*) AS n FROM stores GROUP BY 1, 2"
    "  UNION ALL SELECT s, e, 0 FROM"
    "   unnest('{requested,provisioning,ready,degraded,upgrading,suspending,suspended,"
    "resuming,failed,deleting,deleted}'::text[]) s,"
    "   unnest('{woocommerce,medusa}'::text[]) e) x GROUP BY 2, 3"
    " UNION ALL SELECT 'plans', CASE WHEN plan_applied = '' THEN $1 ELSE plan_applied END,"
    "  engine, count(*)::float8, 0 FROM stores WHERE status <> 'deleted' GROUP BY 2, 3"
    /* custom domains (sql/015_domains.sql): every status x certificate state, zeros included */
    " UNION ALL SELECT 'domains', st, cs, sum(n)::float8, 0 FROM ("
    "  SELECT status AS st, cert_state AS cs, count(*) AS n FROM store_domains GROUP BY 1, 2"
    "  UNION ALL SELECT s, c, 0 FROM unnest('{pending,verified,removing}'::text[]) s,"
    "   unnest('{none,requested,issued,failed}'::text[]) c) d GROUP BY 2, 3"
    " UNION ALL SELECT 'c:' || name, l1, l2, value, 0 FROM metric_counters"
    " UNION ALL SELECT 'h:' || name, CASE WHEN le = 'Infinity' THEN '+Inf' ELSE le::text END,"
    "  '', count::float8, le FROM metric_histograms"
    " UNION ALL SELECT 's:' || name, '', '', sum, 0 FROM metric_histogram_sums"
    /* every suspension's length, the current ones so far (sql/012_suspend.sql): only grows */
    " UNION ALL SELECT 'suspended_seconds', '', '', coalesce(sum(suspended_seconds"
    "  + coalesce(greatest(0, extract(epoch FROM now() - suspended_at)), 0)), 0)::float8, 0"
    "  FROM stores"
    /* backups (sql/021_backups.sql): the age of each live store's newest complete one */
    " UNION ALL SELECT 'backup_age', b.store_id, '', extract(epoch FROM now() - max(b.finished_at))"
    "  ::float8, 0 FROM backups b JOIN stores s ON s.id = b.store_id"
    "  WHERE b.status = 'complete' AND s.status NOT IN ('deleting', 'deleted') GROUP BY 2"
    " UNION ALL SELECT 'backup_none', '', '', count(*)::float8, 0 FROM stores s"
    "  WHERE s.status IN ('ready', 'degraded') AND NOT EXISTS (SELECT 1 FROM backups b"
    "  WHERE b.store_id = s.id AND b.status = 'complete')"
    " UNION ALL SELECT 'last_pass', '', '', coalesce(extract(epoch FROM max(finished_at)), 0)"
    "  ::float8, 0 FROM reconcile_runs"
    " ORDER BY 1, 5, 2, 3",
    1);

static const struct family {
	const char *key, *name, *type, *help, *l1, *l2;
} db_families[] = {
    {"stores", "storefleet_stores", "gauge",
     "Stores by status and engine (deleted stores included).", "status", "engine"},
    {"plans", "storefleet_stores_by_plan", "gauge",
     "Stores that are not deleted, by the plan applied to them and engine (sql/013_plans.sql).",
     "plan", "engine"},
    {"domains", "storefleet_custom_domains", "gauge",
     "Custom domains of stores by status (pending, verified, removing) and certificate state "
     "(sql/015_domains.sql).",
     "status", "certificate"},
    {"c:domain_checks", "storefleet_domain_checks_total", "counter",
     "DNS look-ups of pending custom domains by reconcile, by result (verified, not_yet, error, "
     "expired, taken).",
     "result", NULL},
    {"c:admission_refusals", "storefleet_admission_refusals_total", "counter",
     "Creates refused at once because they cannot fit, by reason (capacity, storage_class, "
     "region, budget; docs/design.md \"Placement and admission\").",
     "reason", NULL},
    {"c:store_failures", "storefleet_store_failures_total", "counter",
     "Stores that entered status failed, by reason class (sql/005_metrics.sql).", "reason",
     NULL},
    {"store_provisioning_seconds", "storefleet_store_provisioning_duration_seconds",
     "histogram", "Time from a store's request to its first ready status.", NULL, NULL},
    {"c:reconcile_passes", "storefleet_reconcile_passes_total", "counter",
     "Finished reconcile passes, by result (ok, error).", "result", NULL},
    {"reconcile_pass_seconds", "storefleet_reconcile_pass_duration_seconds", "histogram",
     "Time a reconcile pass took.", NULL, NULL},
    {"suspended_seconds", "storefleet_store_suspended_seconds_total", "counter",
     "Seconds stores have spent suspended, all suspensions (the current ones so far) added up.",
     NULL, NULL},
    {"last_pass", "storefleet_reconcile_last_pass_timestamp_seconds", "gauge",
     "When the last reconcile pass finished (Unix time; 0 = never).", NULL, NULL},
    {"backup_age", "storefleet_backup_last_success_age_seconds", "gauge",
     "Seconds since each store's newest complete (verified) backup finished; stores never backed "
     "up have no series (storefleet_stores_without_backup counts them).",
     "store", NULL},
    {"backup_none", "storefleet_stores_without_backup", "gauge",
     "Ready or degraded stores with no complete backup.", NULL, NULL},
    {"c:backup_failures", "storefleet_backup_failures_total", "counter",
     "Backups that ended failed, by reason (job, timeout, manifest, mismatch, storage, deleted).",
     "reason", NULL},
    {"c:kubernetes_requests", "storefleet_kubernetes_requests_total", "counter",
     "Kubernetes API requests made by reconcile (every attempt), by verb and result class.",
     "verb", "result"},
};

static void labels(struct buf *out, const struct family *f, const PGresult *res, int row)
{
	if (!f->l1)
		return;
	buf_addf(out, "{%s=\"", f->l1);
	metrics_add_label(out, db_get(res, row, 1));
	if (f->l2) {
		buf_addf(out, "\",%s=\"", f->l2);
		metrics_add_label(out, db_get(res, row, 2));
	}
	buf_adds(out, "\"}");
}

static double value(const PGresult *res, int row)
{
	return strtod(db_get(res, row, 3), NULL);
}

static void render_histogram(struct buf *out, const struct family *f, const PGresult *res)
{
	char hkey[64], skey[64];
	double count = 0, sum = 0;
	int rows = db_rows(res);

	snprintf(hkey, sizeof(hkey), "h:%s", f->key);
	snprintf(skey, sizeof(skey), "s:%s", f->key);
	for (int i = 0; i < rows; i++) {
		const char *k = db_get(res, i, 0);

		if (!strcmp(k, skey))
			sum = value(res, i);
		if (strcmp(k, hkey))
			continue;
		buf_addf(out, "%s_bucket{le=\"", f->name);
		metrics_add_label(out, db_get(res, i, 1));
		buf_adds(out, "\"} ");
		metrics_add_value(out, value(res, i));
		buf_addch(out, '\n');
		if (!strcmp(db_get(res, i, 1), "+Inf"))
			count = value(res, i);
	}
	buf_addf(out, "%s_sum ", f->name);
	metrics_add_value(out, sum);
	buf_addf(out, "\n%s_count ", f->name);
	metrics_add_value(out, count);
	buf_addch(out, '\n');
}

static void render_db(struct buf *out, const PGresult *res)
{
	int rows = db_rows(res);

	for (size_t fi = 0; fi < sizeof(db_families) / sizeof(db_families[0]); fi++) {
		const struct family *f = &db_families[fi];

		head(out, f->name, f->type, f->help);
		if (!strcmp(f->type, "histogram")) {
			render_histogram(out, f, res);
			continue;
		}
		for (int i = 0; i < rows; i++) {
			if (strcmp(db_get(res, i, 0), f->key))
				continue;
			buf_adds(out, f->name);
			labels(out, f, res, i);
			buf_addch(out, ' ');
			metrics_add_value(out, value(res, i));
			buf_addch(out, '\n');
		}
	}
	buf_adds(out, "# HELP storefleet_database_up Whether the last metrics query succeeded.\n"
		      "# TYPE storefleet_database_up gauge\nstorefleet_database_up 1\n");
}

/* This process's copy of the last rendered text (malloc'd; process lifetime). */
static char *cache;
static size_t cache_len;
static struct timespec cache_at;

void metrics_db_forget(void)
{
	free(cache);
	cache = NULL;
	cache_len = 0;
}

int metrics_db_render(struct arena *a, struct buf *out, int max_age, struct err *e)
{
	struct buf b = BUF_INIT;
	struct timespec now;
	PGresult *res;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (cache && max_age > 0 &&
	    (double)(now.tv_sec - cache_at.tv_sec) +
		    (double)(now.tv_nsec - cache_at.tv_nsec) / 1e9 <
		(double)max_age) {
		buf_add(out, cache, cache_len);
		return 0;
	}
	metrics_db_forget();
	if (shm)
		atomic_fetch_add_explicit(&shm->db_queries, 1, memory_order_relaxed);
	{
		struct err pe = ERR_INIT;
		const struct plans *ps = plans_get(&pe);
		const char *p[1] = {ps ? plans_default(ps) : ""};

		res = db_run(a, &st_metrics, p, e);
	}
	if (!res)
		return -1;
	render_db(&b, res);
	if (b.failed) {
		buf_release(&b);
		return err_set(e, 500, "metrics: out of memory rendering the database figures");
	}
	buf_add(out, b.s, b.len);
	if (max_age > 0) {
		cache = buf_detach(&b, &cache_len);
		cache_at = now;
	}
	buf_release(&b);
	return 0;
}
