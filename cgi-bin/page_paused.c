/* page_paused.c - the branded "this store is paused" page a suspended store's host answers with. */
#include <string.h>

#include "pages.h"
#include "store.h"

/*
 * A suspended store's Ingress points at the platform (docs/stores.md,
 * "Suspend and resume"), so the request arrives here with the store's own
 * Host, whatever its path or method: route_dispatch sends every request
 * whose Host is a store host to this page, before the route table.  The
 * page shows the store's name only, and answers 503 with Retry-After (the
 * store is away for a while, not gone: crawlers keep it, clients retry).
 * A host that is no suspended store answers 404, the same for a store that
 * does not exist and one that is not paused.
 */

#define PAUSED_RETRY_AFTER 3600

int page_paused(struct req *r)
{
	const char *name, *id;
	struct view *v;
	struct err e = ERR_INIT;

	if (store_paused_by_host(r->a, req_header(r, "Host"), &name, &id, &e) < 0) {
		if (e.status == 404)
			return req_fail(r, 404, NULL, "There is no store at this address.");
		return req_fail(r, e.status ? e.status : 500, NULL, "%s", e.msg);
	}
	v = view_obj(r->a);
	view_set_str_ref(v, "name", name);
	view_set_str_ref(v, "id", id);
	resp_header(r, "Retry-After", "%d", PAUSED_RETRY_AFTER);
	resp_header(r, "Cache-Control", "no-store");
	return resp_html(r, 503, "paused", v);
}
