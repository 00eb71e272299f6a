/* api_admin.c - the admin pages' JSON twins: all stores, users (role, disable), clusters (drain),
 * the audit log. */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "cluster_registry.h"
#include "pages.h"
#include "web_stores.h"

/*
 * The same admin.c functions as the pages (page_admin.c), with the same
 * query parameters, so a filter means one thing in both.  The route flag
 * R_ADMIN has already refused everyone else (401 / 403).
 */

static int admin_fail(struct req *r, const struct err *e, const char *field)
{
	return web_stores_fail(r, e, field, NULL, 0);
}

static int list_answer(struct req *r, const char *key, struct view *list, const char *next)
{
	struct view *v = view_obj(r->a);

	view_add(v, key, list);
	view_set_str_ref(v, "next_cursor", next);
	return resp_json(r, 200, v);
}

int api_admin_stores(struct req *r)
{
	struct admin_stores_query q;
	struct err e = ERR_INIT;
	struct view *list;
	const char *next;

	admin_stores_query_read(r, &q);
	if (admin_stores_list(r->a, &q, &list, &next, &e) < 0)
		return admin_fail(r, &e, q.field);
	return list_answer(r, "stores", list, next);
}

int api_admin_users(struct req *r)
{
	struct admin_users_query q;
	struct err e = ERR_INIT;
	struct view *list;
	const char *next;

	admin_users_query_read(r, &q);
	if (admin_users_list(r->a, &q, &list, &next, &e) < 0)
		return admin_fail(r, &e, q.field);
	return list_answer(r, "users", list, next);
}

/* {id} as a user id, or 0 (a 404 without a query). */
static long long user_id_param(struct req *r)
{
	const char *s = r->nparams > 0 ? r->params[0] : "";

	if (!*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
		return 0;
	return strtoll(s, NULL, 10);
}

/*
 * PATCH /api/v1/admin/users/{id} {"role": "admin"|"tenant", "disabled": bool}:
 * either member or both; any other member is a 422, so a typo ("disable")
 * is not silently ignored.
 */
int api_admin_user_patch(struct req *r)
{
	struct admin_actor who = {r->user->id, r->user->email, r->remote_addr};
	struct admin_change c = {.disable = -1};
	long long id = user_id_param(r);
	struct err e = ERR_INIT;
	struct view *v;
	const char *key;
	json_t *val;

	json_object_foreach(r->json, key, val) {
		if (!strcmp(key, "role")) {
			if (!json_is_string(val))
				return req_invalid(r, "role", "role must be admin or tenant");
			c.role = json_string_value(val);
		} else if (!strcmp(key, "disabled")) {
			if (!json_is_boolean(val))
				return req_invalid(r, "disabled", "disabled must be true or false");
			c.disable = json_is_true(val);
		} else {
			return req_invalid(r, key, "unknown member; send role and/or disabled");
		}
	}
	if (!c.role && c.disable < 0)
		return req_invalid(r, "body", "nothing to change; send role and/or disabled");
	if (!id)
		return req_fail(r, 404, NULL, "there is no such user");
	if (admin_user_change(r->a, &who, id, &c, &e) < 0)
		return admin_fail(r, &e, c.field);
	v = view_obj(r->a);
	view_add(v, "user", c.user);
	return resp_json(r, 200, v);
}

int api_admin_audit(struct req *r)
{
	struct admin_audit_query q;
	struct err e = ERR_INIT;
	struct view *list;
	const char *next;

	admin_audit_query_read(r, &q);
	if (admin_audit_list(r->a, &q, &list, &next, &e) < 0)
		return admin_fail(r, &e, q.field);
	return list_answer(r, "entries", list, next);
}

int api_admin_clusters(struct req *r)
{
	struct err e = ERR_INIT;
	struct view *list, *v;

	if (cluster_registry_list(r->a, &list, &e) < 0)
		return admin_fail(r, &e, NULL);
	v = view_obj(r->a);
	view_add(v, "clusters", list);
	return resp_json(r, 200, v);
}

/*
 * PATCH /api/v1/admin/clusters/{name} {"state": "draining" | "active"}: drain
 * or undrain.  Adding and removing a cluster stay with storefleetctl (the
 * web app cannot check a kubeconfig).
 */
int api_admin_cluster_patch(struct req *r)
{
	struct admin_actor who = {r->user->id, r->user->email, r->remote_addr};
	const char *name = r->nparams > 0 ? r->params[0] : "", *key, *state = NULL;
	struct err e = ERR_INIT;
	struct view *c, *v;
	json_t *val;
	int changed;

	json_object_foreach(r->json, key, val) {
		if (strcmp(key, "state"))
			return req_invalid(r, key, "unknown member; send state");
		state = json_string_value(val);
		if (!state || (strcmp(state, "draining") && strcmp(state, "active")))
			return req_invalid(r, "state", "state must be draining or active");
	}
	if (!state)
		return req_invalid(r, "body", "nothing to change; send state");
	if (cluster_registry_drain(r->a, &who, name, !strcmp(state, "draining"), &c, &changed, &e) <
	    0)
		return admin_fail(r, &e, NULL);
	v = view_obj(r->a);
	view_add(v, "cluster", c);
	view_set_bool(v, "changed", changed);
	return resp_json(r, 200, v);
}
