/* page_account.c - GET /account, POST /account/tokens, POST /account/tokens/{id}/revoke. */
#include <stdlib.h>
#include <string.h>

#include "apitoken.h"
#include "db.h"
#include "pages.h"
#include "recovery.h"
#include "web_account.h"
#include "web_auth.h"

/* The page, optionally with a token just created (shown this once) or an error. */
static int account_page(struct req *r, int status, const char *new_token, const char *new_name,
			const char *error)
{
	struct view *v = web_account_page(r, "Account"), *list;
	struct err e = ERR_INIT;
	PGresult *res = apitoken_list(r->a, r->user->id, &e);

	if (!res)
		return req_fail_err(r, &e);
	view_set_bool(view_set_obj(v, "nav"), "account", 1);
	{
		static const char *const labels[RECOVERY_NOTICES] = {
		    "a store is ready", "a store failed (with the reason)",
		    "an upgrade was rolled back"};
		int prefs[RECOVERY_NOTICES], verified;
		struct view *n = view_set_arr(v, "notices");

		if (recovery_prefs_get(r->a, r->user->id, prefs, &verified, &e) < 0)
			return req_fail_err(r, &e);
		for (int i = 0; i < RECOVERY_NOTICES; i++) {
			struct view *o = view_push_obj(n);

			view_set_str(o, "name", recovery_notices[i]);
			view_set_str(o, "label", labels[i]);
			view_set_bool(o, "on", prefs[i]);
		}
		view_set_bool(v, "email_verified", verified);
	}
	view_set_str(v, "role", r->user->is_admin ? "admin" : "tenant");
	if (new_token) {
		struct view *n = view_set_obj(v, "new_token");

		view_set_str(n, "token", new_token);
		view_set_str(n, "name", new_name);
	}
	if (error)
		view_set_str(v, "error", error);
	if (!error && req_query_get(r, "revoked"))
		view_set_str(v, "flash", "Token revoked.");
	if (!error && req_query_get(r, "password"))
		view_set_str(v, "flash", "Password changed; your other browsers were signed out.");
	if (!error && req_query_get(r, "email"))
		view_set_str(v, "flash", "Email changed. We sent the new address a link to confirm it.");
	if (!error && req_query_get(r, "notices"))
		view_set_str(v, "flash", "Notifications saved.");
	list = view_set_arr(v, "tokens");
	for (int i = 0; i < db_rows(res); i++) {
		struct view *t = view_push_obj(list);
		const char *expires = db_get(res, i, 4), *revoked = db_get(res, i, 5);

		view_set_int(t, "id", db_get_ll(res, i, 0));
		view_set_str_ref(t, "name", db_get(res, i, 1));
		view_set_str_ref(t, "created_at", db_get(res, i, 2));
		view_set_str_ref(t, "last_used_at",
				 db_get(res, i, 3) ? db_get(res, i, 3) : "never");
		if (expires)
			view_set_str_ref(t, "expires_at", expires);
		if (revoked)
			view_set_str_ref(t, "revoked_at", revoked);
		view_set_bool(t, "active", !revoked);
	}
	view_set_bool(v, "has_tokens", db_rows(res) > 0);
	return resp_html(r, status, "account", v);
}

int page_account(struct req *r)
{
	return account_page(r, 200, NULL, NULL, NULL);
}

int page_account_token_create(struct req *r)
{
	char token[AUTH_TOKEN_LEN + 1];
	const char *name = req_form(r, "name");
	struct err e = ERR_INIT;
	struct view *d;
	long long id;

	if (apitoken_create(r->a, r->user->id, name ? name : "", 0, token, &id, NULL, &e) < 0) {
		if (e.status == 422)
			return account_page(r, 422, NULL, NULL, e.msg);
		return req_fail_err(r, &e);
	}
	d = view_obj(r->a);
	view_set_int(d, "token_id", id);
	view_set_str(d, "name", name);
	web_audit(r, "token.create", r->user->email, d);
	/* Rendered, not redirected: the token must appear exactly once and never in a URL. */
	resp_header(r, "Cache-Control", "no-store");
	return account_page(r, 200, token, name, NULL);
}

int page_account_token_revoke(struct req *r)
{
	const char *s = r->nparams > 0 ? r->params[0] : "";
	struct err e = ERR_INIT;
	struct view *d;
	char *end;
	long long id = strtoll(s, &end, 10);
	int done;

	if (!*s || *end || id <= 0)
		return req_fail(r, 404, "not_found", "no such token");
	done = apitoken_revoke(r->a, r->user->id, id, &e);
	if (done < 0)
		return req_fail_err(r, &e);
	if (!done)
		return req_fail(r, 404, "not_found", "no such token");
	d = view_obj(r->a);
	view_set_int(d, "token_id", id);
	web_audit(r, "token.revoke", r->user->email, d);
	return resp_redirect(r, "/account?revoked=1");
}

int page_account_password(struct req *r)
{
	int status = web_account_change_password(r, req_form(r, "current_password"),
						 req_form(r, "password"));

	if (status == 422 || status == 403 || status == 429)
		return account_page(r, status, NULL, NULL, r->err.msg);
	if (status)
		return status;
	return resp_redirect(r, "/account?password=1");
}

int page_account_email(struct req *r)
{
	int status =
	    web_account_change_email(r, req_form(r, "current_password"), req_form(r, "email"));

	if (status == 422 || status == 403 || status == 429)
		return account_page(r, status, NULL, NULL, r->err.msg);
	if (status)
		return status;
	return resp_redirect(r, "/account?email=1");
}

/* Each checkbox present = that notice on; absent = off (unchecked boxes are not sent). */
int page_account_notices(struct req *r)
{
	int prefs[RECOVERY_NOTICES];
	struct err e = ERR_INIT;
	struct view *d = view_obj(r->a);

	for (int i = 0; i < RECOVERY_NOTICES; i++) {
		prefs[i] = req_form(r, recovery_notices[i]) != NULL;
		view_set_bool(d, recovery_notices[i], prefs[i]);
	}
	if (recovery_prefs_set(r->a, r->user->id, prefs, &e) < 0)
		return req_fail_err(r, &e);
	web_audit(r, "user.notifications", r->user->email, d);
	return resp_redirect(r, "/account?notices=1");
}
