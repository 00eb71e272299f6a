/* reconcile_metrics.c - one finished reconcile pass, counted in PostgreSQL for /metrics. */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "reconcile_metrics.h"

/* Labels of enum k8s_verb / enum k8s_result, as seeded in sql/005_metrics.sql. */
_Static_assert(K8S_V_N == 6 && K8S_R_N == 5,
	       "k8s.h changed: update the names here and the seeds in sql/005_metrics.sql");
static const char *const k8s_verb_label[K8S_V_N] = {"get",    "list", "apply",
						    "delete", "post", "other"};
static const char *const k8s_result_label[K8S_R_N] = {"2xx", "4xx", "429", "5xx", "error"};

/*
 * One statement, so the run row and the totals move together or not at all
 * (a data-modifying WITH runs every part once, in one snapshot).  Only a run
 * row that exists is counted (`run` is empty otherwise).
 */
static struct db_stmt st_pass = DB_STMT(
    "WITH run AS ("
    "  UPDATE reconcile_runs SET finished_at = clock_timestamp(), stores_seen = $2::int,"
    "   transitions = $3::int, k8s_requests = $4::int, error = $5::text"
    "  WHERE id = $1::bigint RETURNING id),"
    " counters AS ("
    "  INSERT INTO metric_counters AS m (name, l1, l2, value)"
    "  SELECT 'kubernetes_requests', v, r, n"
    "   FROM run, unnest($6::text[], $7::text[], $8::float8[]) AS k (v, r, n)"
    "  UNION ALL SELECT 'reconcile_passes', CASE WHEN $5::text IS NULL THEN 'ok' ELSE 'error'"
    "   END, '', 1 FROM run"
    "  ON CONFLICT (name, l1, l2) DO UPDATE SET value = m.value + EXCLUDED.value),"
    " buckets AS ("
    "  UPDATE metric_histograms SET count = count + 1"
    "  WHERE name = 'reconcile_pass_seconds' AND le >= $9::float8 AND EXISTS (SELECT FROM run))"
    " UPDATE metric_histogram_sums SET sum = sum + $9::float8"
    " WHERE name = 'reconcile_pass_seconds' AND EXISTS (SELECT FROM run)",
    9);

int reconcile_metrics_record(struct arena *a, const struct reconcile_metrics *p, struct err *e)
{
	struct buf verbs = BUF_INIT, results = BUF_INIT, counts = BUF_INIT;
	char seen[16], tr[16], req[24], secs[32];
	const char *params[9];
	int rc = 0;

	buf_addch(&verbs, '{');
	buf_addch(&results, '{');
	buf_addch(&counts, '{');
	for (int v = 0; v < K8S_V_N; v++)
		for (int r = 0; r < K8S_R_N; r++) {
			if (!p->k8s[v][r])
				continue;
			if (counts.len > 1) {
				buf_addch(&verbs, ',');
				buf_addch(&results, ',');
				buf_addch(&counts, ',');
			}
			buf_adds(&verbs, k8s_verb_label[v]);
			buf_adds(&results, k8s_result_label[r]);
			buf_addf(&counts, "%lu", p->k8s[v][r]);
		}
	buf_addch(&verbs, '}');
	buf_addch(&results, '}');
	buf_addch(&counts, '}');
	snprintf(seen, sizeof(seen), "%d", p->stores_seen);
	snprintf(tr, sizeof(tr), "%d", p->transitions);
	snprintf(req, sizeof(req), "%lu", p->k8s_requests);
	snprintf(secs, sizeof(secs), "%.6f", p->seconds > 0 ? p->seconds : 0.0);
	params[0] = p->run_id;
	params[1] = seen;
	params[2] = tr;
	params[3] = req;
	params[4] = p->error;
	params[5] = verbs.s;
	params[6] = results.s;
	params[7] = counts.s;
	params[8] = secs;
	if (verbs.failed || results.failed || counts.failed)
		rc = err_set(e, 500, "reconcile metrics: out of memory");
	/* Reconcilers running side by side update the same total rows: retry a deadlock. */
	for (int attempt = 0; !rc; attempt++) {
		struct err e2 = ERR_INIT;

		if (db_run(a, &st_pass, params, &e2))
			break;
		if (attempt < 2 && (!strcmp(db_last_sqlstate(), "40P01") ||
				    !strcmp(db_last_sqlstate(), "40001")))
			continue;
		rc = err_set(e, e2.status, "%s", e2.msg);
	}
	buf_release(&verbs);
	buf_release(&results);
	buf_release(&counts);
	return rc;
}
