/* page_stores.c - store pages: /stores (list, create), /stores/{id}, retry, delete, reveal. */
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "config.h"
#include "pages.h"
#include "plan.h"
#include "revision.h"
#include "store_backup.h"
#include "store_domain.h"
#include "store_undelete.h"
#include "web_stores.h"

/*
 * Every page here is the store view of store.c plus what only a browser
 * needs (forms, steps, the activity log).  A POST that goes wrong renders
 * the same page again with the error and the right status, so a form never
 * loses what was typed and works without JavaScript.
 */

static const char *const engines[][2] = {
    {"woocommerce", "WooCommerce"},
    {"medusa", "Medusa"},
};

/*
 * The plans as <option>s into arr: "Small: 5Gi of storage, backups kept 7
 * days", selected (NULL = the default) marked, except (may be NULL) left out.
 */
static void plan_options(struct req *r, struct view *arr, const char *selected, const char *except)
{
	struct err e = ERR_INIT;
	const struct plans *ps = plans_get(&e);
	const json_t *p;
	size_t i;

	if (!ps)
		return;
	if (!selected || !*selected)
		selected = plans_default(ps);
	json_array_foreach(plans_list(ps), i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		struct view *o;

		if (except && !strcmp(except, name))
			continue;
		o = view_push_obj(arr);
		view_set_str(o, "value", name);
		view_set_str(o, "label",
			     arena_printf(r->a, "%s: %s of storage, backups kept %lld days",
					  json_string_value(json_object_get(p, "title")),
					  json_string_value(json_object_get(p, "storage")),
					  (long long)json_integer_value(
					      json_object_get(p, "backup_retention_days"))));
		if (!strcmp(selected, name))
			view_set_bool(o, "selected", 1);
	}
}

/* GET /stores and the answer to a failed POST /stores. */
static int stores_page(struct req *r, int status, const char *name, const char *engine,
		       const char *plan, const char *region, const char *field, const char *error)
{
	struct store_who who = web_stores_who(r);
	struct view *v = page_view(r, "Stores"), *list, *opts, *form;
	const char *next;
	struct err e = ERR_INIT;

	if (r->preload)
		list = r->preload; /* loaded with the session (page_stores_session) */
	else if (store_list(r->a, &who, NULL, STORE_LIST_MAX, NULL, &list, &next, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	view_set_bool(view_set_obj(v, "nav"), "stores", 1);
	view_add(v, "stores", list);
	view_set_bool(v, "has_stores", list->u.list.n > 0);
	form = view_set_obj(v, "form");
	if (name)
		view_set_str(form, "name", name);
	opts = view_set_arr(v, "engines");
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
		struct view *o = view_push_obj(opts);

		view_set_str_ref(o, "value", engines[i][0]);
		view_set_str_ref(o, "label", engines[i][1]);
		if (engine && !strcmp(engine, engines[i][0]))
			view_set_bool(o, "selected", 1);
	}
	plan_options(r, view_set_arr(v, "plans"), plan, NULL);
	{
		/* a region to choose only when the clusters have more than one (admission.h) */
		struct view *regions = view_arr(r->a);
		struct err re = ERR_INIT;

		if (admission_regions(r->a, regions, region, &re) > 1) {
			view_add(v, "regions", regions);
			view_set_bool(v, "has_regions", 1);
		} else if (field && !strcmp(field, "region")) {
			field = NULL; /* no region field to show it under */
		}
	}
	if (field)
		view_set_str(view_set_obj(v, "errors"), field, error);
	else if (error)
		view_set_str(v, "error", error);
	if (!error && req_query_get(r, "deleted"))
		view_set_str(v, "flash", "Delete requested; the store is being removed.");
	{
		/* Deleted stores: undelete within the revive window (store_undelete.h) */
		struct view *del;

		if (store_deleted_list(r->a, &who, 0, &del, &e) < 0)
			return web_stores_fail(r, &e, NULL, NULL, 0);
		view_add(v, "deleted_stores", del);
		view_set_bool(v, "has_deleted_stores", del->u.list.n > 0);
	}
	return resp_html(r, status, "stores", v);
}

/*
 * GET /stores is the pages' hot path: the route layer authenticates the
 * cookie through this join (route.session_join), so the session lookup
 * and the list are one statement and one round trip; its rows carry what
 * the list shows (store_list_session), not every field of a store.
 */
int page_stores_session(struct req *r, const char *token, struct session_user *su,
			struct err *e)
{
	struct view *list;
	int found = store_list_session(r->a, token, config.session_idle, STORE_LIST_MAX, su,
				       &list, e);

	if (found > 0)
		r->preload = list;
	return found;
}

int page_stores(struct req *r)
{
	return stores_page(r, 200, NULL, NULL, NULL, NULL, NULL, NULL);
}

int page_stores_create(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct store_create c = {0};
	struct err e = ERR_INIT;

	c.name = req_form(r, "name");
	c.engine = req_form(r, "engine");
	c.plan = req_form(r, "plan");
	c.region = req_form(r, "region");
	if (store_create(r->a, &who, &c, &e) < 0) {
		const char *plan = req_form(r, "plan"), *region = req_form(r, "region");

		if (e.status == 422)
			return stores_page(r, 422, c.name, c.engine, plan, region, c.field, e.msg);
		if (e.status == 429) {
			if (c.retry_after > 0)
				resp_header(r, "Retry-After", "%d", c.retry_after);
			return stores_page(r, 429, c.name, c.engine, plan, region, NULL, e.msg);
		}
		if (e.status == 503 && c.refused) /* admission: the form again, with why */
			return stores_page(r, 503, c.name, c.engine, plan, region, NULL, e.msg);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	return resp_redirect(r, arena_printf(r->a, "/stores/%s", view_get_str(c.store, "id")));
}

/* The custom-domain form's answer: what was typed and why it was refused (NULL = none). */
struct domain_form {
	const char *typed, *error;
};

/*
 * GET /stores/{id} and the answers to its forms.  user/password: revealed
 * credentials (the owner asked just now), else NULL; df: the domain form
 * to show again, or NULL.
 */
static int store_page_df(struct req *r, int status, const char *error, const char *user,
			 const char *password, const struct domain_form *df)
{
	struct store_who who = web_stores_who(r);
	struct store_meta m;
	struct err e = ERR_INIT;
	struct view *s = store_get(r->a, &who, r->params[0], &m, &e), *v, *steps, *events;
	struct view *domains;
	struct revision_history hist;
	long long older;
	int state;

	if (!s)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	if (store_steps(r->a, &m, &steps, &e) < 0 ||
	    store_events(r->a, m.id, 0, 50, 1, &events, &older, &e) < 0 ||
	    revision_history(r->a, &who, m.id, &hist, &e) < 0 ||
	    store_domain_list(r->a, &who, m.id, &domains, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	v = page_view(r, view_get_str(s, "name"));
	view_set_bool(view_set_obj(v, "nav"), "stores", 1);
	view_add(v, "store", s);
	view_add(v, "steps", steps);
	view_add(v, "events", events);
	view_set_bool(v, "has_events", events->u.list.n > 0);
	view_set_bool(v, "more_events", older > 0);
	state = store_status_parse(m.status);
	if (store_status_busy(m.status)) {
		/* Without JS the page reloads itself; app.js polls the JSON faster. */
		view_set_int(v, "refresh", 3);
		view_set_bool(v, "busy", 1);
	}
	if (state == STORE_FAILED)
		view_set_bool(v, "can_retry", 1);
	/* WooCommerce stores report orders and products through webhooks (hook_woocommerce.c) */
	if (!strcmp(m.engine, "woocommerce"))
		view_set_bool(v, "webhooks", 1);
	/* a store kept deleting because its final backup failed: delete again (store.h) */
	if ((state != STORE_DELETING && state != STORE_DELETED) ||
	    (state == STORE_DELETING &&
	     !strncmp(view_get_str(s, "status_reason") ? view_get_str(s, "status_reason") : "",
		      "the final backup failed", 23))) {
		view_set_bool(v, "can_delete", 1);
		view_set_int(v, "revive_days", config.revive_window / 86400);
	}
	/* suspend and resume (store.h): an owner cannot lift an administrator's suspension */
	{
		const struct view *secs = view_get(s, "suspended_seconds");

		view_set_bool(v, "was_suspended",
			      view_get_str(s, "suspended_at") ||
				  (secs && secs->type == VIEW_INT && secs->u.i > 0));
	}
	if (store_status_suspendable(state))
		view_set_bool(v, "can_suspend", 1);
	if (store_status_resumable(state)) {
		int held = m.suspended_by && !strcmp(m.suspended_by, STORE_SUSPENDED_BY_ADMIN);

		view_set_bool(v, held && !r->user->is_admin ? "admin_suspended" : "can_resume", 1);
	}
	if (m.owner_id != r->user->id)
		view_set_str_ref(v, "owner", m.owner_email);
	/* Upgrades and rollbacks: the history, the form, the phase (revision.c decides). */
	view_set_str_ref(v, "store_id", m.id);
	view_add(v, "revisions", hist.revisions);
	view_set_bool(v, "has_revisions", hist.revisions->u.list.n > 0);
	view_set_bool(v, "has_revision", hist.current > 0);
	if (hist.upgrades->u.list.n > 0)
		view_add(view_set_obj(v, "upgrade"), "versions", hist.upgrades);
	if (hist.pending_view)
		view_add(v, "upgrading", hist.pending_view);
	/* a plan change: ready, and no change still being applied (store_plan.c) */
	if (state == STORE_READY && !view_get_str(s, "plan_pending")) {
		struct view *pf = view_set_obj(v, "plan_form"), *opts = view_set_arr(pf, "options");

		plan_options(r, opts, NULL, view_get_str(s, "plan"));
		if (opts->u.list.n == 0)
			view_set(v, "plan_form", view_null(r->a));
	}
	if (m.owner_id == r->user->id && state != STORE_DELETED) {
		struct view *c = view_set_obj(v, "credentials");

		if (m.has_secret)
			view_set_bool(c, "available", 1);
		if (*m.admin_user)
			view_set_str_ref(c, "user", m.admin_user);
		if (password) {
			view_set_str(c, "user", user);
			view_set_str(c, "password", password);
			view_set_bool(c, "revealed", 1);
		}
	}
	/* backups (store_backup.c): the list, and "Back up now" for the owner of a ready store */
	{
		struct view *bk = view_set_obj(v, "backups"), *list;

		if (store_backup_list(r->a, &who, m.id, &list, &e) < 0)
			return web_stores_fail(r, &e, NULL, NULL, 0);
		view_add(bk, "list", list);
		view_set_bool(bk, "has_backups", list->u.list.n > 0);
		if (m.owner_id == r->user->id && (state == STORE_READY || state == STORE_DEGRADED))
			view_set_bool(bk, "can_backup", 1);
		if (req_query_get(r, "backup_requested"))
			view_set_bool(bk, "requested", 1);
		/* restores: the list, the live one's step, and Restore per complete backup */
		{
			struct view *rl;
			const struct view_item *it;

			if (store_restore_list(r->a, &who, m.id, &rl, &e) < 0)
				return web_stores_fail(r, &e, NULL, NULL, 0);
			view_add(bk, "restores", rl);
			view_set_bool(bk, "has_restores", rl->u.list.n > 0);
			it = rl->u.list.head;
			if (it && view_truthy(view_get(it->val, "live")))
				view_add(bk, "restoring", it->val);
			else if (m.owner_id == r->user->id &&
				 (state == STORE_READY || state == STORE_DEGRADED))
				view_set_bool(bk, "can_restore", 1);
		}
		if (req_query_get(r, "restore_requested"))
			view_set_bool(bk, "restore_requested", 1);
		if (req_query_get(r, "cloned"))
			view_set_bool(bk, "clone_requested", 1);
		/* Clone into a new store: the owner's form, on each complete backup */
		if (m.owner_id == r->user->id)
			view_set_bool(bk, "can_clone", 1);
	}
	/* custom domains (store_domain.c): the list, and the form while the store lives */
	{
		struct view *dv = view_set_obj(v, "domains");

		view_add(dv, "list", domains);
		view_set_bool(dv, "has_domains", domains->u.list.n > 0);
		if (state != STORE_DELETING && state != STORE_DELETED)
			view_set_bool(dv, "can_add", 1);
		if (df) {
			view_set_str(dv, "typed", df->typed);
			view_set_str(dv, "error", df->error);
		}
	}
	if (error)
		view_set_str(v, "error", error);
	else if (req_query_get(r, "domain_added"))
		view_set_str(v, "flash",
			     "Domain added; create the DNS records below, and the domain is "
			     "verified once they can be seen.");
	else if (req_query_get(r, "domain_removed"))
		view_set_str(v, "flash", "Domain removed.");
	else if (req_query_get(r, "retried"))
		view_set_str(v, "flash", "Retry requested; provisioning starts again.");
	else if (req_query_get(r, "deleted"))
		view_set_str(v, "flash", "Delete requested; the store is being removed.");
	else if (req_query_get(r, "undeleted"))
		view_set_str(v, "flash",
			     "Undelete requested; the store is made again, then its final backup is "
			     "restored.");
	else if (req_query_get(r, "upgrade"))
		view_set_str(v, "flash",
			     "Upgrade requested; a snapshot of the database is taken first.");
	else if (req_query_get(r, "suspended"))
		view_set_str(v, "flash",
			     "Suspend requested; the store's host shows its paused page while its "
			     "data stays.");
	else if (req_query_get(r, "resumed"))
		view_set_str(v, "flash", "Resume requested; the store is back once it is ready.");
	else if (req_query_get(r, "plan"))
		view_set_str(v, "flash",
			     "Plan change requested; the new quota and limits are being applied.");
	else if (req_query_get(r, "rollback"))
		view_set_str(v, "flash",
			     "Rollback requested; the store's data is restored from its snapshot.");
	return resp_html(r, status, "store", v);
}

static int store_page(struct req *r, int status, const char *error, const char *user,
		      const char *password)
{
	return store_page_df(r, status, error, user, password, NULL);
}

int page_store(struct req *r)
{
	return store_page(r, 200, NULL, NULL, NULL);
}

int page_store_retry(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;

	if (!store_retry(r->a, &who, r->params[0], &e)) {
		if (e.status == 409)
			return store_page(r, 409, e.msg, NULL, NULL);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	return resp_redirect(r, arena_printf(r->a, "/stores/%s?retried=1", r->params[0]));
}

int page_store_delete(struct req *r)
{
	struct store_who who = web_stores_who(r);
	const char *confirm = req_form(r, "confirm");
	const char *skip = req_form(r, "no_final_backup");
	struct store_delete_opts o = {skip && !strcmp(skip, "yes"), req_form(r, "confirm_id")};
	struct err e = ERR_INIT;

	/* The checkbox is the confirmation that works without JavaScript. */
	if (!confirm || strcmp(confirm, "yes")) {
		if (!store_get(r->a, &who, r->params[0], NULL, &e))
			return web_stores_fail(r, &e, NULL, NULL, 0);
		return store_page(r, 422, "Tick the box to confirm the delete.", NULL, NULL);
	}
	if (!store_delete(r->a, &who, r->params[0], &o, &e)) {
		if (e.status == 422) /* the opt-out not confirmed: the page again, with why */
			return store_page(r, 422, e.msg, NULL, NULL);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	return resp_redirect(r, arena_printf(r->a, "/stores/%s?deleted=1", r->params[0]));
}

/* POST /stores/{id}/undelete: the Deleted stores list's button. */
int page_store_undelete(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *v;

	if (store_undelete(r->a, &who, r->params[0], &v, &e) < 0) {
		if (e.status == 404 || e.status >= 500)
			return web_stores_fail(r, &e, NULL, NULL, 0);
		return stores_page(r, e.status, NULL, NULL, NULL, NULL, NULL, e.msg);
	}
	return resp_redirect(r, arena_printf(r->a, "/stores/%s?undeleted=1", r->params[0]));
}

int page_store_credentials(struct req *r)
{
	struct store_who who = web_stores_who(r);
	const char *user, *password;
	struct err e = ERR_INIT;

	if (store_reveal(r->a, &who, r->params[0], &user, &password, &e) < 0) {
		if (e.status == 409)
			return store_page(r, 409, e.msg, NULL, NULL);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	/* A secret on the page: never cached, never in a URL. */
	resp_header(r, "Cache-Control", "no-store");
	return store_page(r, 200, NULL, user, password);
}

/*
 * The upgrade and rollback forms.  A refusal (409, 422) renders the store
 * page again with the reason and that status; the history on it says the
 * same thing next to each revision.
 */
static int revision_form_done(struct req *r, int rc, const struct err *e, const char *flash)
{
	if (rc == 0)
		return resp_redirect(r, arena_printf(r->a, "/stores/%s?%s=1", r->params[0], flash));
	if (e->status == 409 || e->status == 422)
		return store_page(r, e->status, e->msg, NULL, NULL);
	return web_stores_fail(r, e, NULL, NULL, 0);
}

int page_store_upgrade(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct revision_req q = {0};
	struct err e = ERR_INIT;

	q.version = req_form(r, "version");
	return revision_form_done(r, revision_upgrade(r->a, &who, r->params[0], &q, &e), &e,
				  "upgrade");
}

int page_store_rollback(struct req *r)
{
	struct store_who who = web_stores_who(r);
	const char *k = req_form(r, "revision");
	struct revision_req q = {0};
	struct err e = ERR_INIT;

	if (!k || !*k || strspn(k, "0123456789") != strlen(k) || strlen(k) > 9 || atoi(k) < 1) {
		/* Still a 404 for a store the user cannot see, before judging the input. */
		if (!store_get(r->a, &who, r->params[0], NULL, &e))
			return web_stores_fail(r, &e, NULL, NULL, 0);
		return store_page(r, 422, "Choose the revision to roll back to.", NULL, NULL);
	}
	q.revision = atoi(k);
	return revision_form_done(r, revision_rollback(r->a, &who, r->params[0], &q, &e), &e,
				  "rollback");
}

/* Suspend and resume: a refusal (403, 409) renders the store page again with the reason. */
static int suspend_form(struct req *r, int resume)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;

	if (!(resume ? store_resume : store_suspend)(r->a, &who, r->params[0], &e)) {
		if (e.status == 409 || e.status == 403)
			return store_page(r, e.status, e.msg, NULL, NULL);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	return resp_redirect(r, arena_printf(r->a, "/stores/%s?%s=1", r->params[0],
					     resume ? "resumed" : "suspended"));
}

int page_store_suspend(struct req *r)
{
	return suspend_form(r, 0);
}

int page_store_resume(struct req *r)
{
	return suspend_form(r, 1);
}

int page_store_plan(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;

	if (!store_plan_change(r->a, &who, r->params[0], req_form(r, "plan"), &e)) {
		if (e.status == 409 || e.status == 422)
			return store_page(r, e.status, e.msg, NULL, NULL);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	return resp_redirect(r, arena_printf(r->a, "/stores/%s?plan=1", r->params[0]));
}

/* POST /stores/{id}/domains: a refusal shows the page again with the reason by the field. */
int page_store_domain_add(struct req *r)
{
	struct store_who who = web_stores_who(r);
	const char *typed = req_form(r, "domain");
	struct err e = ERR_INIT;
	struct view *d;

	if (store_domain_add(r->a, &who, r->params[0], typed, &d, &e) < 0) {
		struct domain_form df = {typed && http_valid_text(typed, strlen(typed)) ? typed : "",
					 e.msg};

		if (e.status == 409 || e.status == 422)
			return store_page_df(r, e.status, NULL, NULL, NULL, &df);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	return resp_redirect(r,
			     arena_printf(r->a, "/stores/%s?domain_added=1#domains", r->params[0]));
}

/* POST /stores/{id}/backups: "Back up now" (store_backup.c); a refusal shows on the page (409). */
int page_store_backup(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct store_meta m;
	struct view *b;

	if (!store_get(r->a, &who, r->params[0], &m, &e))
		return web_stores_fail(r, &e, NULL, NULL, 0);
	if (m.owner_id != r->user->id) /* the owner's button only */
		return web_stores_fail(r, &(struct err){404, STORE_NOT_FOUND}, NULL, NULL, 0);
	if (store_backup_request(r->a, &who, r->params[0], &b, &e) < 0) {
		if (e.status == 409)
			return store_page(r, 409, e.msg, NULL, NULL);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	return resp_redirect(
	    r, arena_printf(r->a, "/stores/%s?backup_requested=1#backups", r->params[0]));
}

/* POST /stores/{id}/backups/{bid}/restore: restore in place (store_backup.c), owner only. */
int page_store_restore(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct store_meta m;
	struct view *x;

	if (!store_get(r->a, &who, r->params[0], &m, &e))
		return web_stores_fail(r, &e, NULL, NULL, 0);
	if (m.owner_id != r->user->id) /* the owner's button only */
		return web_stores_fail(r, &(struct err){404, STORE_NOT_FOUND}, NULL, NULL, 0);
	if (store_restore_request(r->a, &who, r->params[0], r->params[1], &x, &e) < 0) {
		if (e.status == 409)
			return store_page(r, 409, e.msg, NULL, NULL);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	return resp_redirect(
	    r, arena_printf(r->a, "/stores/%s?restore_requested=1#backups", r->params[0]));
}

/*
 * POST /stores/{id}/backups/{bid}/clone (name): clone from backup into a new
 * store (store_backup.c), owner only; 303 to the new store's page.  A
 * refusal (409, or a create's 422/429/503) shows on this store's page.
 */
int page_store_clone(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct store_create c = {0};
	struct err e = ERR_INIT;
	struct store_meta m;
	struct view *x;

	if (!store_get(r->a, &who, r->params[0], &m, &e))
		return web_stores_fail(r, &e, NULL, NULL, 0);
	if (m.owner_id != r->user->id) /* the owner's form only */
		return web_stores_fail(r, &(struct err){404, STORE_NOT_FOUND}, NULL, NULL, 0);
	c.name = req_form(r, "name");
	if (store_clone(r->a, &who, r->params[0], r->params[1], &c, &x, &e) < 0) {
		if (e.status == 429 && c.retry_after > 0)
			resp_header(r, "Retry-After", "%d", c.retry_after);
		if (e.status == 409 || e.status == 422 || e.status == 429 || e.status == 503)
			return store_page(r, e.status, e.msg, NULL, NULL);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	return resp_redirect(
	    r, arena_printf(r->a, "/stores/%s?cloned=1#backups", view_get_str(c.store, "id")));
}

/* POST /stores/{id}/domains/{domain}/remove */
int page_store_domain_remove(struct req *r)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	struct view *d;

	if (store_domain_remove(r->a, &who, r->params[0], r->params[1], &d, &e) < 0) {
		if (e.status == 409)
			return store_page(r, 409, e.msg, NULL, NULL);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	return resp_redirect(
	    r, arena_printf(r->a, "/stores/%s?domain_removed=1#domains", r->params[0]));
}
