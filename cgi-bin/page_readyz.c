/* page_readyz.c - GET /readyz: 200 when this worker can reach the database, else 503. */
#include "db.h"
#include "pages.h"

/*
 * Routed R_NODB (no authentication) so a load balancer's probe costs one
 * `SELECT 1` and nothing else.  Plain JSON so both people and probes can
 * read it.
 */
int page_readyz(struct req *r)
{
	struct err e = ERR_INIT;
	struct view *v = view_obj(r->a);

	if (db_ping(r->a, &e) < 0)
		return req_fail(r, 503, "unavailable", "database unreachable");
	view_set_str(v, "database", "ok");

	/*
	 * READINESS HOOK (issue 5): also require that storefleet-reconcile
	 * finished a pass within the last 3 minutes (e.g. a reconcile_runs row
	 * with finished_at > now() - interval '3 minutes'); answer 503 with
	 * "reconcile": "stale" otherwise.
	 */

	view_set_str(v, "status", "ok");
	return resp_json(r, 200, v);
}
