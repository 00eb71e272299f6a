/* page_readyz.c - GET /readyz: 200 when the database answers and reconcile ran lately, else 503. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "pages.h"

/*
 * Ready means the installation works end to end: this worker reaches the
 * database, and storefleet-reconcile finished a pass within
 * config.readyz_reconcile_age seconds (180; 0 turns the check off), since
 * without reconcile no store advances however healthy the web side is.
 *
 * ?check=database asks only the first question.  That is what the web
 * pod's own readinessProbe uses (charts/platform): a stalled reconcile
 * CronJob must page an operator, not take every web pod out of the
 * Service, which would hide the pages that show what is wrong.
 *
 * Routed R_NODB (no authentication), so a probe costs one `SELECT 1`, or
 * one indexed max(finished_at) (sql/005_metrics.sql) when reconcile is
 * asked about too.  Plain JSON so both people and probes can read it.
 */
static struct db_stmt st_last_pass =
    DB_STMT("SELECT extract(epoch FROM clock_timestamp() - max(finished_at))::bigint"
	    " FROM reconcile_runs WHERE finished_at IS NOT NULL",
	    0);

int page_readyz(struct req *r)
{
	struct err e = ERR_INIT;
	struct view *v = view_obj(r->a);
	const char *check = req_query_get(r, "check");
	const char *age;
	long long secs;
	PGresult *res;

	if (check && strcmp(check, "database"))
		return req_invalid(r, "check", "check must be 'database' or absent");
	if (check || config.readyz_reconcile_age <= 0) {
		if (db_ping(r->a, &e) < 0)
			return req_fail(r, 503, "unavailable", "database unreachable");
		view_set_str(v, "database", "ok");
		view_set_str(v, "status", "ok");
		return resp_json(r, 200, v);
	}

	res = db_run(r->a, &st_last_pass, NULL, &e);
	if (!res)
		return req_fail(r, 503, "unavailable", "database unreachable");
	view_set_str(v, "database", "ok");
	age = db_get(res, 0, 0);
	if (!age) {
		view_set_str(v, "reconcile", "never");
		view_set_str(v, "status", "unavailable");
		view_set_str(v, "error", "storefleet-reconcile has never finished a pass");
		return resp_json(r, 503, v);
	}
	secs = strtoll(age, NULL, 10);
	view_set_int(v, "reconcile_age_seconds", secs);
	if (secs > config.readyz_reconcile_age) {
		view_set_str(v, "reconcile", "stale");
		view_set_str(v, "status", "unavailable");
		view_set_str(
		    v, "error",
		    arena_printf(r->a,
				 "storefleet-reconcile last finished a pass %s s ago (limit %d s)",
				 age, config.readyz_reconcile_age));
		return resp_json(r, 503, v);
	}
	view_set_str(v, "reconcile", "ok");
	view_set_str(v, "status", "ok");
	return resp_json(r, 200, v);
}
