/* api_stores.c - the JSON API: stores, their events, the OpenAPI document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apitoken.h"
#include "config.h"
#include "log.h"
#include "pages.h"
#include "plan.h"
#include "store_backup.h"
#include "store_domain.h"
#include "store_undelete.h"
#include "web_stores.h"

/*
 * Every answer is built from the same store view the pages render
 * (store_get / store_list), so the HTML and the JSON cannot drift apart.
 */

/* ?limit=: default `def`, at most `max` (larger is capped); -1 for anything but 1.. digits. */
static int limit_parse(struct req *r, int def, int max, int *out)
{
	const char *s = req_query_get(r, "limit");

	*out = def;
	if (!s)
		return 0;
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9 || atoi(s) < 1)
		return -1;
	*out = atoi(s) > max ? max : atoi(s);
	return 0;
}

/* limit_parse, a bad value answered with a 422. */
static int query_limit(struct req *r, int def, int max, int *out)
{
	if (limit_parse(r, def, max, out) < 0)
		return req_invalid(r, "limit", "limit must be a whole number from 1 to %d", max);
	return 0;
}

/* A string member of the body, or NULL; another type is a 422 naming it. */
static int body_str(struct req *r, const char *name, const char **out)
{
	json_t *v = json_object_get(r->json, name);

	*out = NULL;
	if (v && !json_is_string(v))
		return req_invalid(r, name, "%s must be a string", name);
	if (v)
		*out = json_string_value(v);
	return 0;
}

static int store_answer(struct req *r, int status, struct view *store)
{
	struct view *v = view_obj(r->a);

	view_add(v, "store", store);
	return resp_json(r, status, v);
}

int api_stores_create(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct store_create c = {0};
	struct err e = ERR_INIT;
	int st;

	if ((st = body_str(r, "name", &c.name)) || (st = body_str(r, "engine", &c.engine)) ||
	    (st = body_str(r, "plan", &c.plan)) || (st = body_str(r, "region", &c.region)))
		return st;
	c.idem_key = req_header(r, "Idempotency-Key");
	if (store_create(r->a, &who, &c, &e) < 0)
		return web_stores_fail(r, &e, c.field, c.refused ? c.refused : c.code,
				       c.retry_after);
	if (!c.replayed)
		resp_header(r, "Location", "/api/v1/stores/%s", view_get_str(c.store, "id"));
	return store_answer(r, c.replayed ? 200 : 201, c.store);
}

/* ?status= and ?cursor=, NULL when not given. */
static void list_query(struct req *r, const char **status, const char **cursor)
{
	*status = req_query_get(r, "status");
	*cursor = req_query_get(r, "cursor");
	*status = *status && **status ? *status : NULL;
	*cursor = *cursor && **cursor ? *cursor : NULL;
}

static struct view *list_answer(struct req *r, struct view *list, const char *next)
{
	struct view *v = view_obj(r->a);

	view_add(v, "stores", list);
	view_set_str_ref(v, "next_cursor", next);
	return v;
}

/*
 * GET /api/v1/stores is the API's hot path: with a Bearer token the route
 * layer authenticates through this join (route.token_join), so the token
 * lookup and the page are one statement, one round trip, and the handler
 * only sends r->preload.  Arguments the handler will refuse leave the work
 * to the plain lookup, so who is asking still decides 401 or 422 before
 * any argument is judged, as on every R_AUTH route.
 */
int api_stores_token(struct req *r, const char *token, struct session_user *su, struct err *e)
{
	const char *status, *cursor, *next;
	struct view *list;
	int limit, found;

	list_query(r, &status, &cursor);
	if (limit_parse(r, STORE_LIST_DEFAULT, STORE_LIST_MAX, &limit) < 0)
		return apitoken_lookup(r->a, token, su, e);
	found = store_list_token(r->a, token, status, limit, cursor, su, &list, &next, e);
	if (found < 0 && e->status == 422) {
		err_clear(e);
		return apitoken_lookup(r->a, token, su, e);
	}
	if (found > 0)
		r->preload = list_answer(r, list, next);
	return found;
}

int api_stores_list(struct req *r)
{
	struct store_who who = web_stores_who(r);
	const char *status, *cursor, *next;
	struct err e = ERR_INIT;
	struct view *list;
	int limit, st;

	if (r->preload)
		return resp_json(r, 200, r->preload);
	list_query(r, &status, &cursor);
	if ((st = query_limit(r, STORE_LIST_DEFAULT, STORE_LIST_MAX, &limit)))
		return st;
	if (store_list(r->a, &who, status, limit, cursor, &list, &next, &e) < 0)
		return web_stores_fail(r, &e, strstr(e.msg, "cursor") ? "cursor" : "status", NULL,
				       0);
	return resp_json(r, 200, list_answer(r, list, next));
}

int api_store_show(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *s = store_get(r->a, &who, r->params[0], NULL, &e);

	if (!s)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	return store_answer(r, 200, s);
}

/*
 * DELETE /api/v1/stores/{id}[?final_backup=false&confirm={id}]: a final
 * backup first unless final_backup=false, which needs confirm = the
 * store's id (else 422, field confirm).
 */
int api_store_delete(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	const char *fb = req_query_get(r, "final_backup");
	struct store_delete_opts o = {0, req_query_get(r, "confirm")};
	struct view *s;

	if (fb && strcmp(fb, "true") && strcmp(fb, "false"))
		return req_invalid(r, "final_backup", "final_backup must be true or false");
	o.no_final_backup = fb && !strcmp(fb, "false");
	if (!(s = store_delete(r->a, &who, r->params[0], &o, &e)))
		return web_stores_fail(r, &e, "confirm", NULL, 0);
	return store_answer(r, 202, s);
}

/* POST /api/v1/stores/{id}/undelete: 202 {store, restore} (store_undelete.h). */
int api_store_undelete(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *v;

	if (store_undelete(r->a, &who, r->params[0], &v, &e) < 0)
		return web_stores_fail(r, &e, NULL,
				       e.status == 410	 ? "gone"
				       : e.status == 429 ? "quota_exceeded"
							 : NULL,
				       0);
	return resp_json(r, 202, v);
}

/*
 * GET /api/v1/deleted-stores: the asker's deleted stores with their revive
 * window; GET /api/v1/admin/deleted-stores: everyone's (R_ADMIN).
 */
static int deleted_stores(struct req *r, int all)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *list, *v;

	if (store_deleted_list(r->a, &who, all, &list, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = view_obj(r->a);
	view_add(v, "stores", list);
	view_set_int(v, "revive_window_seconds", config.revive_window);
	return resp_json(r, 200, v);
}

int api_deleted_stores(struct req *r)
{
	return deleted_stores(r, 0);
}

int api_admin_deleted_stores(struct req *r)
{
	return deleted_stores(r, 1);
}

int api_store_retry(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *s = store_retry(r->a, &who, r->params[0], &e);

	if (!s)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	return store_answer(r, 202, s);
}

/* POST /api/v1/stores/{id}/suspend and /resume: 202 with the store (store.h says when not). */
int api_store_suspend(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *s = store_suspend(r->a, &who, r->params[0], &e);

	if (!s)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	return store_answer(r, 202, s);
}

int api_store_resume(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *s = store_resume(r->a, &who, r->params[0], &e);

	if (!s)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	return store_answer(r, 202, s);
}

int api_store_events(struct req *r)
{
	struct store_who who = web_stores_who(r);
	const char *b = req_query_get(r, "before");
	struct err e = ERR_INIT;
	struct view *events, *v;
	long long before = 0, next;
	int limit, st;

	if (!store_get(r->a, &who, r->params[0], NULL, &e))
		return web_stores_fail(r, &e, NULL, NULL, 0);
	if ((st = query_limit(r, STORE_EVENTS_MAX, STORE_EVENTS_MAX, &limit)))
		return st;
	if (b) {
		if (!*b || strspn(b, "0123456789") != strlen(b) || strlen(b) > 18)
			return req_invalid(r, "before",
					   "before must be an event cursor from this API");
		before = strtoll(b, NULL, 10);
	}
	if (store_events(r->a, r->params[0], before, limit, 0, &events, &next, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = view_obj(r->a);
	view_add(v, "events", events);
	if (next)
		view_set_str(v, "next_before", arena_printf(r->a, "%lld", next));
	else
		view_add(v, "next_before", view_null(r->a));
	return resp_json(r, 200, v);
}

/*
 * static/openapi.json, read once per worker: the document is part of the
 * release, so a change needs a restart like any other code change.
 */
int api_openapi(struct req *r)
{
	static char *doc;
	static size_t len;

	if (!doc) {
		char *path = arena_printf(r->a, "%s/static/openapi.json", config.root);
		FILE *f = fopen(path, "rb");
		char *s = NULL;
		long n = -1;

		if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
		    fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1)) &&
		    fread(s, 1, (size_t)n, f) == (size_t)n) {
			doc = s;
			len = (size_t)n;
		} else {
			free(s);
			log_error("openapi: cannot read '%s'", path);
		}
		if (f)
			fclose(f);
		if (!doc)
			return req_fail(r, 500, NULL, "the API description is missing");
	}
	resp_header(r, "Cache-Control", "public, max-age=300");
	return resp_text(r, 200, "application/json", doc, len);
}

/* POST /api/v1/stores/{id}/plan and PATCH /api/v1/stores/{id}: {"plan": NAME}. */
int api_store_plan(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *s;
	const char *plan;
	int st;

	if ((st = body_str(r, "plan", &plan)))
		return st;
	if (!plan) {
		if (!store_get(r->a, &who, r->params[0], NULL, &e))
			return web_stores_fail(r, &e, NULL, NULL, 0);
		return req_invalid(r, "plan", "Choose a plan.");
	}
	if (!(s = store_plan_change(r->a, &who, r->params[0], plan, &e)))
		return web_stores_fail(r, &e, "plan", NULL, 0);
	return store_answer(r, 200, s);
}

/* GET /api/v1/plans: the plans a store can be created on or moved to. */
int api_plans(struct req *r)
{
	struct err e = ERR_INIT;
	const struct plans *ps = plans_get(&e);
	struct view *v, *arr;
	const json_t *p;
	size_t i;

	if (!ps)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = view_obj(r->a);
	view_set_str(v, "default", plans_default(ps));
	arr = view_set_arr(v, "plans");
	json_array_foreach(plans_list(ps), i, p) {
		struct view *o = view_push_obj(arr);

		view_set_str(o, "name", json_string_value(json_object_get(p, "name")));
		view_set_str(o, "title", json_string_value(json_object_get(p, "title")));
		view_set_str(o, "storage", json_string_value(json_object_get(p, "storage")));
		view_set_int(o, "backup_retention_days",
			     json_integer_value(json_object_get(p, "backup_retention_days")));
		view_set_int(o, "stores_per_tenant",
			     json_integer_value(json_object_get(p, "stores_per_tenant")));
	}
	return resp_json(r, 200, v);
}

/* GET /api/v1/stores/{id}/domains: {"domains": [...]}, oldest first. */
int api_store_domains(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *list, *v;

	if (store_domain_list(r->a, &who, r->params[0], &list, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = view_obj(r->a);
	view_add(v, "domains", list);
	return resp_json(r, 200, v);
}

/* GET /api/v1/stores/{id}/backups: {"backups": [...]}, newest first (store_backup.h). */
int api_store_backups(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *list, *v;

	if (store_backup_list(r->a, &who, r->params[0], &list, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = view_obj(r->a);
	view_add(v, "backups", list);
	return resp_json(r, 200, v);
}

/* POST /api/v1/stores/{id}/backups: "Back up now", 202 {"backup": {...}}; 409 with the reason. */
int api_store_backup(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *b, *v;

	if (store_backup_request(r->a, &who, r->params[0], &b, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = view_obj(r->a);
	view_add(v, "backup", b);
	return resp_json(r, 202, v);
}

/* POST /api/v1/stores/{id}/backups/{bid}/restore: restore in place, 202 {"restore": {...}}. */
int api_store_restore(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *x, *v;

	if (store_restore_request(r->a, &who, r->params[0], r->params[1], &x, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = view_obj(r->a);
	view_add(v, "restore", x);
	return resp_json(r, 202, v);
}

/*
 * POST /api/v1/stores/{id}/backups/{bid}/clone {"name": NAME}: clone from
 * backup, 202 {"store": the new store, "restore": {...}} with Location;
 * refusals as store_clone says, a create's as a create answers them.
 */
int api_store_clone(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct store_create c = {0};
	struct err e = ERR_INIT;
	struct view *v;
	int st;

	if ((st = body_str(r, "name", &c.name)))
		return st;
	if (store_clone(r->a, &who, r->params[0], r->params[1], &c, &v, &e) < 0)
		return web_stores_fail(r, &e, c.field ? c.field : "name",
				       c.refused ? c.refused : c.code, c.retry_after);
	resp_header(r, "Location", "/api/v1/stores/%s", view_get_str(c.store, "id"));
	return resp_json(r, 202, v);
}

/* GET /api/v1/stores/{id}/restores: {"restores": [...]}, newest first. */
int api_store_restores(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *list, *v;

	if (store_restore_list(r->a, &who, r->params[0], &list, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = view_obj(r->a);
	view_add(v, "restores", list);
	return resp_json(r, 200, v);
}

/* POST /api/v1/stores/{id}/domains {"domain": NAME}: 201 {"domain": {...}}. */
int api_store_domain_add(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *d, *v;
	const char *name;
	int st;

	if ((st = body_str(r, "domain", &name)))
		return st;
	if (store_domain_add(r->a, &who, r->params[0], name, &d, &e) < 0)
		return web_stores_fail(r, &e, "domain", NULL, 0);
	resp_header(r, "Location", "/api/v1/stores/%s/domains/%s", r->params[0],
		    view_get_str(d, "domain"));
	v = view_obj(r->a);
	view_add(v, "domain", d);
	return resp_json(r, 201, v);
}

/* GET /api/v1/stores/{id}/domains/{domain}: the one domain, any spelling of its name. */
int api_store_domain_show(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *d, *v;

	if (store_domain_get(r->a, &who, r->params[0], r->params[1], &d, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = view_obj(r->a);
	view_add(v, "domain", d);
	return resp_json(r, 200, v);
}

/*
 * DELETE /api/v1/stores/{id}/domains/{domain}: 202 {"domain": {... "status":
 * "removing"}} for a verified domain (reconcile takes its host and
 * certificate away), 200 {"domain": null} for a claim removed at once.
 */
int api_store_domain_remove(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *d, *v;

	if (store_domain_remove(r->a, &who, r->params[0], r->params[1], &d, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = view_obj(r->a);
	view_add(v, "domain", d ? d : view_null(r->a));
	return resp_json(r, d ? 202 : 200, v);
}
