/* api_revisions.c - the JSON API of upgrades and rollbacks, and a store's revision list. */
#include <string.h>

#include "pages.h"
#include "revision.h"
#include "web_stores.h"

/*
 * Thin: the rules and their messages live in src/web/revision.c, shared with
 * the store page and storefleetctl.  A request answers 202 with the store
 * (now upgrading); reconcile carries it out.
 */

static int request_answer(struct req *r, int rc, struct revision_req *q, const struct err *e)
{
	struct view *v;

	if (rc < 0)
		return web_stores_fail(r, e, q->field, NULL, 0);
	v = view_obj(r->a);
	view_add(v, "store", q->store);
	view_set_int(v, "revision", q->created);
	return resp_json(r, 202, v);
}

int api_store_upgrade(struct req *r)
{
	struct store_who who = web_stores_who(r);
	json_t *v = json_object_get(r->json, "version");
	struct revision_req q = {0};
	struct err e = ERR_INIT;

	if (v && !json_is_string(v))
		return req_invalid(r, "version", "version must be a string");
	q.version = json_string_value(v);
	return request_answer(r, revision_upgrade(r->a, &who, r->params[0], &q, &e), &q, &e);
}

int api_store_rollback(struct req *r)
{
	struct store_who who = web_stores_who(r);
	json_t *v = json_object_get(r->json, "revision");
	struct revision_req q = {0};
	struct err e = ERR_INIT;

	if (!v)
		return req_invalid(r, "revision", "Choose the revision to roll back to.");
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return req_invalid(r, "revision", "revision must be a whole number from 1");
	q.revision = json_integer_value(v);
	return request_answer(r, revision_rollback(r->a, &who, r->params[0], &q, &e), &q, &e);
}

int api_store_revisions(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct revision_history h;
	struct err e = ERR_INIT;
	struct view *v;

	if (revision_history(r->a, &who, r->params[0], &h, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = view_obj(r->a);
	view_set_str_ref(v, "version", h.version);
	view_set_int(v, "current_revision", h.current);
	if (h.pending)
		view_set_int(v, "pending_revision", h.pending);
	else
		view_add(v, "pending_revision", view_null(r->a));
	view_add(v, "revisions", h.revisions);
	return resp_json(r, 200, v);
}
