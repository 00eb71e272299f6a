/* page_metrics.c - GET /metrics (Prometheus text format 0.0.4) and the per-request accounting hook. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "pages.h"

/*
 * Counted per host in shared memory (src/web/metrics.h), from the route and the
 * status every request ends with, so no handler has to remember a counter:
 * a failed sign-in is a 401 from a login route (web_account_login answers
 * 401 for exactly that), a rate-limit or guardrail hit is a 429.  Counting
 * them here rather than reading audit_log or rate_limits from PostgreSQL
 * keeps a password-guessing storm from costing an extra write per attempt,
 * and keeps them per host like the request counters they belong with (sum
 * over pods).
 */

static int nroutes;

void page_metrics_init(void)
{
	const char **names;
	struct err e = ERR_INIT;

	while (routes[nroutes].pattern)
		nroutes++;
	names = malloc(sizeof(*names) * (size_t)(nroutes + 1)); /* process lifetime */
	if (!names)
		die_oom();
	for (int i = 0; i < nroutes; i++)
		names[i] = routes[i].name;
	if (metrics_http_init(names, nroutes, &e) < 0)
		log_warn("%s; HTTP metrics are off", e.msg);
}

void page_metrics_observe(struct req *r, double seconds)
{
	int i = -1;

	if (r->route) {
		/* the table is short; a test route outside it counts as "other" */
		for (i = 0; i < nroutes && &routes[i] != r->route; i++)
			;
		if (r->status == 401 &&
		    (!strcmp(r->route->name, "login") || !strcmp(r->route->name, "api_login")))
			metrics_login_failure();
	}
	metrics_http_observe(i, r->status, seconds);
}

/*
 * Unauthenticated like /healthz (routed R_NODB): nginx restricts who may
 * read it (docs/operations.md).  The database part is one query cached in
 * this worker for config.metrics_cache seconds; if it fails, the HTTP part
 * is still served, with storefleet_database_up 0, so a scrape shows both
 * the outage and the web side's view of it.
 */
int page_metrics(struct req *r)
{
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	int st;

	metrics_http_render(&b);
	if (metrics_db_render(r->a, &b, config.metrics_cache, &e) < 0) {
		log_warn("metrics: %s", e.msg);
		buf_adds(&b, "# HELP storefleet_database_up Whether the last metrics query "
			     "succeeded.\n# TYPE storefleet_database_up gauge\n"
			     "storefleet_database_up 0\n");
	}
	if (b.failed) {
		buf_release(&b);
		return req_fail(r, 500, NULL, "metrics: out of memory");
	}
	st = resp_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.s, b.len);
	buf_release(&b);
	return st;
}
