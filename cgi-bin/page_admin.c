/* page_admin.c - admin pages: all stores, users (role, disable, enable), clusters (drain), the
 * audit log. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "cluster_registry.h"
#include "pages.h"
#include "store_undelete.h"
#include "web_stores.h"

/*
 * Each page reads its filters from the query string, asks admin.c (the
 * same calls as api_admin.c) and renders the list with the filter form
 * filled in.  A bad filter renders the same page with the reason and
 * status 422, so the form stays there to correct it.  "Next page" links
 * carry the filters and the cursor.
 */

/* "4 min", "3 h", "12 d" since an RFC 3339 UTC time (the database's clock made it). */
static const char *age_of(struct arena *a, const char *at)
{
	struct tm tm = {0};
	long long s;

	if (!at || !strptime(at, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return "?";
	s = (long long)(time(NULL) - timegm(&tm));
	if (s < 60)
		return "just now";
	if (s < 3600)
		return arena_printf(a, "%lld min", s / 60);
	if (s < 86400 * 2)
		return arena_printf(a, "%lld h", s / 3600);
	return arena_printf(a, "%lld d", s / 86400);
}

/* The admin sub-navigation: which of the pages this is. */
static struct view *admin_view(struct req *r, const char *title, const char *which)
{
	struct view *v = page_view(r, title);

	view_set_bool(view_set_obj(v, "nav"), "admin", 1);
	view_set_bool(view_set_obj(v, "admin_nav"), which, 1);
	return v;
}

/*
 * path?name=value&...&cursor=next for the filters given (URL-encoded), or
 * NULL when there is no next page.
 */
static const char *next_url(struct req *r, const char *path, const char *const *names,
			    const char *next)
{
	struct buf b = BUF_INIT;
	const char *url;

	if (!next)
		return NULL;
	buf_adds(&b, path);
	buf_adds(&b, "?");
	for (int i = 0; names[i]; i++) {
		const char *val = req_query_get(r, names[i]);

		if (!val || !*val)
			continue;
		buf_adds(&b, names[i]);
		buf_adds(&b, "=");
		buf_add_urlenc(&b, val, strlen(val));
		buf_adds(&b, "&");
	}
	buf_adds(&b, "cursor=");
	buf_add_urlenc(&b, next, strlen(next));
	url = b.failed ? NULL : arena_strndup(r->a, b.s, b.len);
	buf_release(&b);
	return url;
}

/* [{value, selected}] for a <select>, the current value marked. */
static void options(struct view *v, const char *key, const char *const *values, const char *cur)
{
	struct view *opts = view_set_arr(v, key);

	for (int i = 0; values[i]; i++) {
		struct view *o = view_push_obj(opts);

		view_set_str_ref(o, "value", values[i]);
		if (cur && !strcmp(cur, values[i]))
			view_set_bool(o, "selected", 1);
	}
}

/* A failed list: 422 re-renders the page with the reason; anything else is an error page. */
static int list_failed(struct req *r, const struct err *e, const char *field, const char *tpl,
		       struct view *v)
{
	if (e->status != 422)
		return web_stores_fail(r, e, field, NULL, 0);
	view_set_str(v, "error", arena_printf(r->a, "%s: %s", field ? field : "filter", e->msg));
	return resp_html(r, 422, tpl, v);
}

/* --- the query strings, read alike by the pages and their JSON twins (api_admin.c) --- */

void admin_stores_query_read(struct req *r, struct admin_stores_query *q)
{
	*q = (struct admin_stores_query){
	    .status = req_query_get(r, "status"),
	    .engine = req_query_get(r, "engine"),
	    .owner = req_query_get(r, "owner"),
	    .sort = req_query_get(r, "sort"),
	    .limit = req_query_get(r, "limit"),
	    .cursor = req_query_get(r, "cursor"),
	};
}

void admin_users_query_read(struct req *r, struct admin_users_query *q)
{
	*q = (struct admin_users_query){
	    .limit = req_query_get(r, "limit"),
	    .cursor = req_query_get(r, "cursor"),
	};
}

void admin_audit_query_read(struct req *r, struct admin_audit_query *q)
{
	*q = (struct admin_audit_query){
	    .actor = req_query_get(r, "actor"),
	    .action = req_query_get(r, "action"),
	    .target = req_query_get(r, "target"),
	    .from = req_query_get(r, "from"),
	    .to = req_query_get(r, "to"),
	    .limit = req_query_get(r, "limit"),
	    .cursor = req_query_get(r, "cursor"),
	};
}

/* --- /admin/stores ------------------------------------------------------- */

/* /admin/stores?owner=EMAIL, the email URL-encoded ('+' is common in addresses). */
static const char *owner_url(struct req *r, const char *email)
{
	struct buf b = BUF_INIT;
	const char *url;

	buf_adds(&b, "/admin/stores?owner=");
	buf_add_urlenc(&b, email, strlen(email));
	url = b.failed ? "/admin/stores" : arena_strndup(r->a, b.s, b.len);
	buf_release(&b);
	return url;
}

static const char *const store_filter_names[] = {"status", "engine", "owner",
						 "sort",   "limit",  NULL};
static const char *const engines[] = {"woocommerce", "medusa", NULL};
static const char *const sorts[] = {"newest", "oldest", NULL};

int page_admin_stores(struct req *r)
{
	struct admin_stores_query q;
	struct view *v = admin_view(r, "All stores", "stores"), *list;
	struct err e = ERR_INIT;
	const char *next;

	admin_stores_query_read(r, &q);
	options(v, "statuses", store_statuses, q.status);
	options(v, "engines", engines, q.engine);
	options(v, "sorts", sorts, q.sort);
	if (q.owner)
		view_set_str(v, "owner", q.owner);
	if (admin_stores_list(r->a, &q, &list, &next, &e) < 0)
		return list_failed(r, &e, q.field, "admin_stores", v);
	for (struct view_item *it = list->u.list.head; it; it = it->next) {
		int st = store_status_parse(view_get_str(it->val, "status"));

		view_set_str_ref(it->val, "age", age_of(r->a, view_get_str(it->val, "created_at")));
		/* the store page's suspend and resume forms, offered here too */
		view_set_bool(it->val, "can_suspend", store_status_suspendable(st));
		view_set_bool(it->val, "can_resume", store_status_resumable(st));
		view_set_str_ref(it->val, "owner_url",
				 owner_url(r, view_get_str(it->val, "owner")));
	}
	view_add(v, "stores", list);
	view_set_bool(v, "has_stores", list->u.list.n > 0);
	view_set_str_ref(v, "next_url", next_url(r, "/admin/stores", store_filter_names, next));
	{
		/* every owner's deleted stores and their revive window (store_undelete.h) */
		struct store_who who = web_stores_who(r);
		struct view *del;

		if (store_deleted_list(r->a, &who, 1, &del, &e) < 0)
			return list_failed(r, &e, NULL, "admin_stores", v);
		view_add(v, "deleted_stores", del);
		view_set_bool(v, "has_deleted_stores", del->u.list.n > 0);
	}
	return resp_html(r, 200, "admin_stores", v);
}

/* --- /admin/users -------------------------------------------------------- */

static const char *const user_filter_names[] = {"limit", NULL};

/* The users page, with a flash or an error and the given status. */
static int users_page(struct req *r, int status, const char *flash, const char *error)
{
	struct admin_users_query q;
	struct view *v = admin_view(r, "Users", "users"), *list;
	struct err e = ERR_INIT;
	const char *next;

	admin_users_query_read(r, &q);
	if (flash)
		view_set_str(v, "flash", flash);
	if (error)
		view_set_str(v, "error", error);
	if (admin_users_list(r->a, &q, &list, &next, &e) < 0)
		return list_failed(r, &e, q.field, "admin_users", v);
	for (struct view_item *it = list->u.list.head; it; it = it->next) {
		struct view *u = it->val, *id = view_get(u, "id");
		int admin = !strcmp(view_get_str(u, "role"), "admin");

		view_set_bool(u, "is_admin", admin);
		view_set_str_ref(u, "other_role", admin ? "tenant" : "admin");
		view_set_bool(u, "is_self", id && id->type == VIEW_INT && id->u.i == r->user->id);
		view_set_str_ref(u, "stores_url", owner_url(r, view_get_str(u, "email")));
		{
			struct view *n = view_get(u, "store_count");

			view_set_bool(u, "has_stores", n && n->type == VIEW_INT && n->u.i > 0);
		}
	}
	view_add(v, "users", list);
	view_set_str_ref(v, "next_url", next_url(r, "/admin/users", user_filter_names, next));
	return resp_html(r, status, "admin_users", v);
}

int page_admin_users(struct req *r)
{
	const char *done = req_query_get(r, "done"), *flash = NULL;

	if (done && !strcmp(done, "role"))
		flash = "Role changed.";
	else if (done && !strcmp(done, "disable"))
		flash = "Account disabled; its sessions were ended and its API tokens refused.";
	else if (done && !strcmp(done, "enable"))
		flash = "Account enabled; the user can sign in again.";
	else if (done && !strcmp(done, "suspend"))
		flash = "Their stores are being suspended; only an administrator can resume them.";
	else if (done && !strcmp(done, "disable-suspend"))
		flash =
		    "Account disabled, and its stores are being suspended; only an administrator "
		    "can resume them.";
	return users_page(r, 200, flash, NULL);
}

/* One form's change: 303 back to the list, or the list again with the reason. */
static int user_change(struct req *r, const char *role, int disable, const char *done)
{
	struct admin_actor who = {r->user->id, r->user->email, r->remote_addr};
	struct admin_change c = {.role = role, .disable = disable};
	const char *s = r->nparams > 0 ? r->params[0] : "";
	struct err e = ERR_INIT;
	long long id = 0;

	if (*s && strlen(s) <= 18 && strspn(s, "0123456789") == strlen(s))
		id = strtoll(s, NULL, 10);
	if (admin_user_change(r->a, &who, id, &c, &e) < 0) {
		if (e.status == 409 || e.status == 404 || e.status == 422)
			return users_page(r, e.status, NULL, e.msg);
		return web_stores_fail(r, &e, c.field, NULL, 0);
	}
	return resp_redirect(r, arena_printf(r->a, "/admin/users?done=%s", done));
}

int page_admin_user_role(struct req *r)
{
	const char *role = req_form(r, "role");

	if (!role || (strcmp(role, "admin") && strcmp(role, "tenant")))
		return users_page(r, 422, NULL, "role must be admin or tenant");
	return user_change(r, role, -1, "role");
}

/* The user id of /admin/users/{id}/..., 0 when the segment is not a number. */
static long long user_param(struct req *r)
{
	const char *s = r->nparams > 0 ? r->params[0] : "";

	if (*s && strlen(s) <= 18 && strspn(s, "0123456789") == strlen(s))
		return strtoll(s, NULL, 10);
	return 0;
}

/* Every store of the user suspended (store.h: store_suspend_owner): 0, or the page's status. */
static int suspend_all(struct req *r, int *st)
{
	struct store_who who = web_stores_who(r);
	struct err e = ERR_INIT;
	int n;

	*st = 0;
	if (store_suspend_owner(r->a, &who, user_param(r), &n, &e) < 0) {
		*st = e.status == 404 ? users_page(r, 404, NULL, e.msg)
				      : web_stores_fail(r, &e, NULL, NULL, 0);
		return -1;
	}
	return 0;
}

/*
 * Disable, and with suspend_stores=yes (the form's checkbox) suspend every
 * store of the user first (each its own audit row, and one
 * user.suspend_stores); a store the user makes in between is refused by
 * the disable's lock on the account, or caught by pressing "Suspend
 * stores" again.
 */
int page_admin_user_disable(struct req *r)
{
	const char *all = req_form(r, "suspend_stores");
	int st;

	if (!all || strcmp(all, "yes"))
		return user_change(r, NULL, 1, "disable");
	if (suspend_all(r, &st) < 0)
		return st;
	return user_change(r, NULL, 1, "disable-suspend");
}

int page_admin_user_suspend_stores(struct req *r)
{
	int st;

	if (suspend_all(r, &st) < 0)
		return st;
	return resp_redirect(r, "/admin/users?done=suspend");
}

int page_admin_user_enable(struct req *r)
{
	return user_change(r, NULL, 0, "enable");
}

/* --- /admin/clusters ----------------------------------------------------- */

/* "10 stores, 8 CPU, 16Gi" from an object of optional numbers (keys stores, cpu_millis,
 * memory_bytes). */
static const char *quantities(struct arena *a, const struct view *o, const char *none)
{
	const struct view *n = view_get(o, "stores"), *c = view_get(o, "cpu_millis"),
			  *m = view_get(o, "memory_bytes"), *nodes = view_get(o, "nodes");
	struct buf b = BUF_INIT;
	const char *out;

	if (nodes && nodes->type == VIEW_INT)
		buf_addf(&b, "%lld node%s", nodes->u.i, nodes->u.i == 1 ? "" : "s");
	if (n && n->type == VIEW_INT)
		buf_addf(&b, "%s%lld stores", b.len ? ", " : "", n->u.i);
	if (c && c->type == VIEW_INT)
		buf_addf(&b, "%s%s CPU", b.len ? ", " : "", cluster_format_cpu(a, c->u.i));
	if (m && m->type == VIEW_INT)
		buf_addf(&b, "%s%s memory", b.len ? ", " : "", cluster_format_memory(a, m->u.i));
	out = b.failed || !b.len ? none : arena_strndup(a, b.s, b.len);
	buf_release(&b);
	return out;
}

/* The list's views made ready for the page: texts and booleans the template shows. */
static void admin_clusters_decorate(struct arena *a, struct view *list)
{
	for (struct view_item *it = list->u.list.head; it; it = it->next) {
		struct view *c = it->val, *cap = view_get(c, "capacity"),
			    *r = view_get(c, "reachable");
		int known = r && r->type == VIEW_BOOL;

		view_set_bool(c, "draining", !strcmp(view_get_str(c, "state"), "draining"));
		view_set_str_ref(c, "limits_text",
				 quantities(a, view_get(c, "limits"), "no limits"));
		if (cap && cap->type == VIEW_OBJ)
			view_set_str_ref(c, "capacity_text", quantities(a, cap, "none"));
		view_set_bool(c, "reach_unknown", !known);
		view_set_bool(c, "reach_yes", known && r->u.b);
		view_set_bool(c, "reach_no", known && !r->u.b);
	}
}

static int clusters_page(struct req *r, int status, const char *flash, const char *error)
{
	struct view *v = admin_view(r, "Clusters", "clusters"), *list;
	struct err e = ERR_INIT;

	if (flash)
		view_set_str(v, "flash", flash);
	if (error)
		view_set_str(v, "error", error);
	if (cluster_registry_list(r->a, &list, &e) < 0)
		return web_stores_fail(r, &e, NULL, NULL, 0);
	admin_clusters_decorate(r->a, list);
	view_add(v, "clusters", list);
	return resp_html(r, status, "admin_clusters", v);
}

int page_admin_clusters(struct req *r)
{
	const char *done = req_query_get(r, "done"), *flash = NULL;

	if (done && !strcmp(done, "drain"))
		flash = "Cluster draining: no new store is placed there; its stores stay and are "
			"served.";
	else if (done && !strcmp(done, "undrain"))
		flash = "Cluster active: new stores may be placed there again.";
	return clusters_page(r, 200, flash, NULL);
}

static int cluster_drain_form(struct req *r, int drain)
{
	struct admin_actor who = {r->user->id, r->user->email, r->remote_addr};
	const char *name = r->nparams > 0 ? r->params[0] : "";
	struct err e = ERR_INIT;
	struct view *c;
	int changed;

	if (cluster_registry_drain(r->a, &who, name, drain, &c, &changed, &e) < 0) {
		if (e.status == 404)
			return clusters_page(r, 404, NULL, e.msg);
		return web_stores_fail(r, &e, NULL, NULL, 0);
	}
	return resp_redirect(r,
			     drain ? "/admin/clusters?done=drain" : "/admin/clusters?done=undrain");
}

int page_admin_cluster_drain(struct req *r)
{
	return cluster_drain_form(r, 1);
}

int page_admin_cluster_undrain(struct req *r)
{
	return cluster_drain_form(r, 0);
}

/* --- /admin/audit -------------------------------------------------------- */

static const char *const audit_filter_names[] = {"actor", "action", "target", "from",
						 "to",	  "limit",  NULL};

int page_admin_audit(struct req *r)
{
	struct admin_audit_query q;
	struct view *v = admin_view(r, "Audit log", "audit"), *list, *f;
	struct err e = ERR_INIT;
	const char *next;

	admin_audit_query_read(r, &q);
	q.raw_details = 1; /* details_text for the page */
	f = view_set_obj(v, "filter");
	for (int i = 0; audit_filter_names[i]; i++) {
		const char *val = req_query_get(r, audit_filter_names[i]);

		if (val && *val)
			view_set_str(f, audit_filter_names[i], val);
	}
	if (admin_audit_list(r->a, &q, &list, &next, &e) < 0)
		return list_failed(r, &e, q.field, "admin_audit", v);
	view_add(v, "entries", list);
	view_set_bool(v, "has_entries", list->u.list.n > 0);
	view_set_str_ref(v, "next_url", next_url(r, "/admin/audit", audit_filter_names, next));
	return resp_html(r, 200, "admin_audit", v);
}
