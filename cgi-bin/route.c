/* route.c - THE route table, one line per route, and the dispatcher that checks its flags once. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pages.h"
#include "store.h"
#include "web_auth.h"

/*
 * cgit's cmd.c idea: what a route needs (a signed-in user, an admin, a CSRF
 * token, a form or JSON body) is a flag here, checked in route_dispatch
 * before the handler runs, so no handler can forget a check.  GET routes
 * also answer HEAD.  To add a page: a line in its group below and the
 * handler's prototype in pages.h.
 *
 *   method  pattern ({name} = one segment)  flags  handler  name (logs/metrics)
 *   token_join (NULL, or the Bearer-token lookup that also loads the handler's data)
 *   session_join (NULL, or the same for a session cookie)
 */
/* clang-format off */
const struct route routes[] = {
	/* --- health: no database, no authentication --- */
	{"GET", "/healthz", R_HTML | R_NODB, page_healthz, "healthz", NULL, NULL},
	{"GET", "/metrics", R_HTML | R_NODB, page_metrics, "metrics", NULL, NULL},
	{"GET", "/readyz", R_JSON | R_NODB, page_readyz, "readyz", NULL, NULL},

	/* --- accounts: pages --- */
	{"GET", "/", R_HTML, page_root, "root", NULL, NULL},
	{"GET", "/login", R_HTML, page_login_form, "login_form", NULL, NULL},
	{"POST", "/login", R_HTML | R_FORM | R_CSRF, page_login, "login", NULL, NULL},
	{"GET", "/register", R_HTML, page_register_form, "register_form", NULL, NULL},
	{"POST", "/register", R_HTML | R_FORM | R_CSRF, page_register, "register", NULL, NULL},
	{"POST", "/logout", R_HTML | R_AUTH | R_FORM | R_CSRF, page_logout, "logout", NULL, NULL},
	{"GET", "/password/forgot", R_HTML, page_password_forgot_form, "password_forgot_form", NULL, NULL},
	{"POST", "/password/forgot", R_HTML | R_FORM | R_CSRF, page_password_forgot, "password_forgot", NULL, NULL},
	{"GET", "/password/reset", R_HTML, page_password_reset_form, "password_reset_form", NULL, NULL},
	{"POST", "/password/reset", R_HTML | R_FORM | R_CSRF, page_password_reset, "password_reset", NULL, NULL},
	{"GET", "/verify", R_HTML, page_verify, "verify", NULL, NULL},
	{"GET", "/account", R_HTML | R_AUTH, page_account, "account", NULL, NULL},
	{"POST", "/account/tokens", R_HTML | R_AUTH | R_FORM | R_CSRF, page_account_token_create, "token_create", NULL, NULL},
	{"POST", "/account/tokens/{id}/revoke", R_HTML | R_AUTH | R_FORM | R_CSRF, page_account_token_revoke, "token_revoke", NULL, NULL},
	{"POST", "/account/password", R_HTML | R_AUTH | R_FORM | R_CSRF, page_account_password, "account_password", NULL, NULL},
	{"POST", "/account/email", R_HTML | R_AUTH | R_FORM | R_CSRF, page_account_email, "account_email", NULL, NULL},
	{"POST", "/account/notifications", R_HTML | R_AUTH | R_FORM | R_CSRF, page_account_notices, "account_notices", NULL, NULL},

	/* --- accounts: JSON API --- */
	{"POST", "/api/v1/auth/register", R_JSON | R_JSONBODY, api_auth_register, "api_register", NULL, NULL},
	{"POST", "/api/v1/auth/login", R_JSON | R_JSONBODY, api_auth_login, "api_login", NULL, NULL},
	{"GET", "/api/v1/auth/me", R_JSON | R_AUTH, api_auth_me, "api_me", NULL, NULL},
	{"POST", "/api/v1/auth/forgot", R_JSON | R_JSONBODY, api_auth_forgot, "api_forgot", NULL, NULL},
	{"POST", "/api/v1/auth/reset", R_JSON | R_JSONBODY, api_auth_reset, "api_reset", NULL, NULL},

	/* --- stores: pages (page_stores.c) --- */
	{"GET", "/stores", R_HTML | R_AUTH, page_stores, "stores", NULL, page_stores_session},
	{"POST", "/stores", R_HTML | R_AUTH | R_FORM | R_CSRF, page_stores_create, "store_create", NULL, NULL},
	{"GET", "/stores/{id}", R_HTML | R_AUTH, page_store, "store_show", NULL, NULL},
	{"POST", "/stores/{id}/retry", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_retry, "store_retry", NULL, NULL},
	{"POST", "/stores/{id}/delete", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_delete, "store_delete", NULL, NULL},
	{"POST", "/stores/{id}/undelete", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_undelete, "store_undelete", NULL, NULL},
	{"POST", "/stores/{id}/credentials", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_credentials, "store_credentials", NULL, NULL},
	{"POST", "/stores/{id}/upgrade", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_upgrade, "store_upgrade", NULL, NULL},
	{"POST", "/stores/{id}/rollback", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_rollback, "store_rollback", NULL, NULL},
	{"POST", "/stores/{id}/suspend", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_suspend, "store_suspend", NULL, NULL},
	{"POST", "/stores/{id}/resume", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_resume, "store_resume", NULL, NULL},
	/* every request whose Host is a store's lands here (dispatch below): its paused page */
	{"GET", "/paused", R_HTML, page_paused, "store_paused", NULL, NULL},
	{"POST", "/stores/{id}/plan", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_plan, "store_plan", NULL, NULL},
	/* backups (page_stores.c, store_backup.c) */
	{"POST", "/stores/{id}/backups", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_backup, "store_backup", NULL, NULL},
	{"POST", "/stores/{id}/backups/{bid}/restore", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_restore, "store_restore", NULL, NULL},
	{"POST", "/stores/{id}/backups/{bid}/clone", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_clone, "store_clone", NULL, NULL},
	/* custom domains (page_stores.c, store_domain.c) */
	{"POST", "/stores/{id}/domains", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_domain_add, "store_domain_add", NULL, NULL},
	{"POST", "/stores/{id}/domains/{domain}/remove", R_HTML | R_AUTH | R_FORM | R_CSRF, page_store_domain_remove, "store_domain_remove", NULL, NULL},

	/* --- stores: JSON API (api_stores.c) --- */
	{"POST", "/api/v1/stores", R_JSON | R_AUTH | R_JSONBODY, api_stores_create, "api_store_create", NULL, NULL},
	/* with a Bearer token, the token lookup and the page in one statement (api_stores_token) */
	{"GET", "/api/v1/stores", R_JSON | R_AUTH, api_stores_list, "api_stores", api_stores_token, NULL},
	{"GET", "/api/v1/stores/{id}", R_JSON | R_AUTH, api_store_show, "api_store_show", NULL, NULL},
	{"DELETE", "/api/v1/stores/{id}", R_JSON | R_AUTH, api_store_delete, "api_store_delete", NULL, NULL},
	{"POST", "/api/v1/stores/{id}/undelete", R_JSON | R_AUTH, api_store_undelete, "api_store_undelete", NULL, NULL},
	{"GET", "/api/v1/deleted-stores", R_JSON | R_AUTH, api_deleted_stores, "api_deleted_stores", NULL, NULL},
	{"POST", "/api/v1/stores/{id}/retry", R_JSON | R_AUTH, api_store_retry, "api_store_retry", NULL, NULL},
	{"POST", "/api/v1/stores/{id}/suspend", R_JSON | R_AUTH, api_store_suspend, "api_store_suspend", NULL, NULL},
	{"POST", "/api/v1/stores/{id}/resume", R_JSON | R_AUTH, api_store_resume, "api_store_resume", NULL, NULL},
	{"POST", "/api/v1/stores/{id}/plan", R_JSON | R_AUTH | R_JSONBODY, api_store_plan, "api_store_plan", NULL, NULL},
	{"PATCH", "/api/v1/stores/{id}", R_JSON | R_AUTH | R_JSONBODY, api_store_plan, "api_store_patch", NULL, NULL},
	{"GET", "/api/v1/plans", R_JSON | R_AUTH, api_plans, "api_plans", NULL, NULL},
	{"GET", "/api/v1/stores/{id}/events", R_JSON | R_AUTH, api_store_events, "api_store_events", NULL, NULL},
	/* backups (api_stores.c, store_backup.c) */
	{"GET", "/api/v1/stores/{id}/backups", R_JSON | R_AUTH, api_store_backups, "api_store_backups", NULL, NULL},
	{"POST", "/api/v1/stores/{id}/backups", R_JSON | R_AUTH, api_store_backup, "api_store_backup", NULL, NULL},
	{"POST", "/api/v1/stores/{id}/backups/{bid}/restore", R_JSON | R_AUTH, api_store_restore, "api_store_restore", NULL, NULL},
	{"POST", "/api/v1/stores/{id}/backups/{bid}/clone", R_JSON | R_AUTH | R_JSONBODY, api_store_clone, "api_store_clone", NULL, NULL},
	{"GET", "/api/v1/stores/{id}/restores", R_JSON | R_AUTH, api_store_restores, "api_store_restores", NULL, NULL},
	/* custom domains (api_stores.c) */
	{"GET", "/api/v1/stores/{id}/domains", R_JSON | R_AUTH, api_store_domains, "api_store_domains", NULL, NULL},
	{"POST", "/api/v1/stores/{id}/domains", R_JSON | R_AUTH | R_JSONBODY, api_store_domain_add, "api_store_domain_add", NULL, NULL},
	{"GET", "/api/v1/stores/{id}/domains/{domain}", R_JSON | R_AUTH, api_store_domain_show, "api_store_domain_show", NULL, NULL},
	{"DELETE", "/api/v1/stores/{id}/domains/{domain}", R_JSON | R_AUTH, api_store_domain_remove, "api_store_domain_remove", NULL, NULL},
	/* upgrades and rollbacks (api_revisions.c) */
	{"POST", "/api/v1/stores/{id}/upgrade", R_JSON | R_AUTH | R_JSONBODY, api_store_upgrade, "api_store_upgrade", NULL, NULL},
	{"POST", "/api/v1/stores/{id}/rollback", R_JSON | R_AUTH | R_JSONBODY, api_store_rollback, "api_store_rollback", NULL, NULL},
	{"GET", "/api/v1/stores/{id}/revisions", R_JSON | R_AUTH, api_store_revisions, "api_store_revisions", NULL, NULL},
	{"GET", "/api/v1/openapi.json", R_JSON | R_NODB, api_openapi, "api_openapi", NULL, NULL},

	/* --- machine endpoints: authenticated by a signature, not a session (hook_*.c) --- */
	{"POST", "/hooks/woocommerce/{id}", R_JSON | R_RAWBODY, hook_woocommerce, "hook_woocommerce", NULL, NULL},

	/* --- admin --- */
	{"GET", "/admin/stores", R_HTML | R_ADMIN, page_admin_stores, "admin_stores", NULL, NULL},
	{"GET", "/admin/users", R_HTML | R_ADMIN, page_admin_users, "admin_users", NULL, NULL},
	{"POST", "/admin/users/{id}/role", R_HTML | R_ADMIN | R_FORM | R_CSRF, page_admin_user_role, "admin_user_role", NULL, NULL},
	{"POST", "/admin/users/{id}/disable", R_HTML | R_ADMIN | R_FORM | R_CSRF, page_admin_user_disable, "admin_user_disable", NULL, NULL},
	{"POST", "/admin/users/{id}/enable", R_HTML | R_ADMIN | R_FORM | R_CSRF, page_admin_user_enable, "admin_user_enable", NULL, NULL},
	{"POST", "/admin/users/{id}/suspend-stores", R_HTML | R_ADMIN | R_FORM | R_CSRF, page_admin_user_suspend_stores, "admin_user_suspend_stores", NULL, NULL},
	{"GET", "/admin/audit", R_HTML | R_ADMIN, page_admin_audit, "admin_audit", NULL, NULL},
	{"GET", "/admin/clusters", R_HTML | R_ADMIN, page_admin_clusters, "admin_clusters", NULL, NULL},
	{"POST", "/admin/clusters/{name}/drain", R_HTML | R_ADMIN | R_FORM | R_CSRF, page_admin_cluster_drain, "admin_cluster_drain", NULL, NULL},
	{"POST", "/admin/clusters/{name}/undrain", R_HTML | R_ADMIN | R_FORM | R_CSRF, page_admin_cluster_undrain, "admin_cluster_undrain", NULL, NULL},
	{"GET", "/api/v1/admin/stores", R_JSON | R_ADMIN, api_admin_stores, "api_admin_stores", NULL, NULL},
	{"GET", "/api/v1/admin/deleted-stores", R_JSON | R_ADMIN, api_admin_deleted_stores, "api_admin_deleted_stores", NULL, NULL},
	{"GET", "/api/v1/admin/users", R_JSON | R_ADMIN, api_admin_users, "api_admin_users", NULL, NULL},
	{"PATCH", "/api/v1/admin/users/{id}", R_JSON | R_ADMIN | R_JSONBODY, api_admin_user_patch, "api_admin_user_patch", NULL, NULL},
	{"GET", "/api/v1/audit", R_JSON | R_ADMIN, api_admin_audit, "api_audit", NULL, NULL},
	{"GET", "/api/v1/admin/clusters", R_JSON | R_ADMIN, api_admin_clusters, "api_admin_clusters", NULL, NULL},
	{"PATCH", "/api/v1/admin/clusters/{name}", R_JSON | R_ADMIN | R_JSONBODY, api_admin_cluster_patch, "api_admin_cluster_patch", NULL, NULL},

	{NULL, NULL, 0, NULL, NULL, NULL, NULL}
};
/* clang-format on */

struct capture {
	const char *s;
	size_t n;
};

/* Does path match pattern?  {name} matches one non-empty segment, captured in order. */
static int match(const char *pat, const char *path, struct capture *caps, int *ncaps)
{
	int n = 0;

	while (*pat && *path) {
		if (*pat == '{') {
			const char *end = strchr(pat, '}'), *seg = path;

			if (!end)
				BUG("route pattern '%s': unterminated {", pat);
			while (*path && *path != '/')
				path++;
			if (path == seg)
				return 0;
			if (n == REQ_MAX_PARAMS)
				BUG("route pattern has more than %d parameters", REQ_MAX_PARAMS);
			caps[n].s = seg;
			caps[n].n = (size_t)(path - seg);
			n++;
			pat = end + 1;
		} else if (*pat++ != *path++) {
			return 0;
		}
	}
	if (*pat || *path)
		return 0;
	*ncaps = n;
	return 1;
}

/* Append method to the Allow list unless present (GET brings HEAD). */
static void allow_add(char *allow, size_t size, const char *method)
{
	const char *p = allow;
	size_t n = strlen(method);

	while ((p = strstr(p, method))) {
		if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return;
		p += n;
	}
	if (*allow)
		strncat(allow, ", ", size - strlen(allow) - 1);
	strncat(allow, method, size - strlen(allow) - 1);
	if (!strcmp(method, "GET"))
		allow_add(allow, size, "HEAD");
}

/* The route tables: the program's, and in the test build the debug routes of page_test.c. */
static const struct route *const tables[] = {
    routes,
#ifdef SF_TEST_ROUTES
    page_test_routes,
#endif
};

static const struct route *find_route(struct req *r, char *allow, size_t size,
				      const struct route **path_match)
{
	int head = !strcmp(r->method, "HEAD");

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		for (const struct route *rt = tables[t]; rt->pattern; rt++) {
			struct capture caps[REQ_MAX_PARAMS];
			int n = 0;

			if (!match(rt->pattern, r->path, caps, &n))
				continue;
			if (!*path_match)
				*path_match = rt;
			if (strcmp(rt->method, r->method) &&
			    !(head && !strcmp(rt->method, "GET"))) {
				allow_add(allow, size, rt->method);
				continue;
			}
			for (int i = 0; i < n; i++)
				r->params[i] = arena_strndup(r->a, caps[i].s, caps[i].n);
			r->nparams = n;
			return rt;
		}
	}
	return NULL;
}

/* A parser's error: 422 gets its "fields", everything else is already in r->err. */
static int parse_failed(struct req *r, const char *field)
{
	if (r->err.status == 422) {
		char msg[sizeof(r->err.msg)];

		memcpy(msg, r->err.msg, sizeof(msg));
		return req_invalid(r, field ? field : "body", "%s", msg);
	}
	return r->err.status ? r->err.status : 400;
}

/*
 * Where /login sends the user back to: this page, query included, URL-encoded.
 * Only for GET: after signing in, the browser would GET a POST-only "next".
 */
static const char *login_location(struct req *r)
{
	struct buf b = BUF_INIT;
	const char *loc;

	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		return "/login";
	buf_adds(&b, "/login?next=");
	buf_add_urlenc(&b, r->path, strlen(r->path));
	if (*r->query) {
		buf_add_urlenc(&b, "?", 1);
		buf_add_urlenc(&b, r->query, strlen(r->query));
	}
	loc = arena_strndup(r->a, b.s, b.len);
	buf_release(&b);
	return loc;
}

/* Find the route, check its flags, run its handler: the status it returns. */
static int dispatch(struct req *r)
{
	const struct route *rt, *path_match = NULL;
	const char *field = NULL, *cl;
	char allow[64] = "";
	unsigned flags;
	int st;

	if (r->err.status) /* req_init could not read the request line */
		return r->err.status;

	/*
	 * A suspended store's Ingress sends its host here (page_paused.c): any
	 * path, any method, is its paused page, with no session and no body.
	 */
	if (store_host_routed(r->a, req_header(r, "Host"))) {
		static const struct route *paused;

		for (const struct route *p = routes; !paused && p->pattern; p++)
			if (p->handler == page_paused)
				paused = p;
		r->route = paused;
		return page_paused(r);
	}

	rt = find_route(r, allow, sizeof(allow), &path_match);
	if (!rt) {
		if (!path_match)
			return req_fail(r, 404, NULL, "There is no page at '%s'.", r->path);
		r->route = path_match; /* errors in the style of the path's routes */
		resp_header(r, "Allow", "%s", allow);
		return req_fail(r, 405, NULL, "method %s is not allowed here (allowed: %s)",
				r->method, allow);
	}
	r->route = rt;
	flags = rt->flags;

	if (http_parse_form_ex(r->a, "query", r->query, strlen(r->query), &r->qs, &field, &r->err) <
	    0)
		return parse_failed(r, field);

	if (flags & (R_FORM | R_JSONBODY | R_RAWBODY)) {
		cl = req_param(r, "CONTENT_LENGTH");
		/* Size before type: an oversized body is refused without reading it. */
		if (cl && *cl && strspn(cl, "0123456789") == strlen(cl) &&
		    (strlen(cl) > 18 || strtoll(cl, NULL, 10) > config.body_max))
			return req_fail(r, 413, NULL,
					"the request body is larger than the limit of %ld bytes",
					config.body_max);
		if ((flags & R_FORM) &&
		    strcmp(r->content_type, "application/x-www-form-urlencoded"))
			return req_fail(
			    r, 415, NULL,
			    "expected Content-Type application/x-www-form-urlencoded, got '%.64s'",
			    r->content_type);
		if ((flags & R_JSONBODY) && strcmp(r->content_type, "application/json"))
			return req_fail(r, 415, NULL,
					"expected Content-Type application/json, got '%.64s'",
					r->content_type);
		if ((st = req_read_body(r, (size_t)config.body_max)))
			return st;
		if ((flags & R_FORM) && http_parse_form_ex(r->a, "form", r->body, r->body_len,
							   &r->form, &field, &r->err) < 0)
			return parse_failed(r, field);
		if ((flags & R_JSONBODY) &&
		    !(r->json = http_parse_json_ex(r->a, r->body, r->body_len, &field, &r->err)))
			return parse_failed(r, field);
	}

	if (!(flags & R_NODB) && (st = web_authenticate(r)))
		return st;
	if ((flags & (R_AUTH | R_ADMIN)) && !r->user) {
		if (flags & R_JSON)
			return req_fail(r, 401, NULL, "sign in or send an API token");
		return resp_redirect(r, login_location(r));
	}
	if ((flags & R_ADMIN) && !r->user->is_admin) {
		web_audit_denied(r, "admin required");
		return req_fail(r, 403, NULL, "Administrators only.");
	}
	/* A Bearer token cannot be sent by a browser on its own: no CSRF check for it. */
	if ((flags & R_CSRF) && !(r->user && r->user->via_token) && (st = web_csrf_check(r)))
		return st;
	return rt->handler(r);
}

int route_dispatch(struct req *r)
{
	int status = resp_settle(r, dispatch(r));

	/* An error without a body: the HTML error page (JSON errors: resp_finish). */
	if (r->status != status && status >= 400 && !req_wants_json(r))
		page_error(r, status);
	return status;
}
