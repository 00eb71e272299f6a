/* api_auth.c - JSON accounts: POST /api/v1/auth/register, POST /api/v1/auth/login, GET
 * /api/v1/auth/me. */
#include <string.h>

#include "apitoken.h"
#include "config.h"
#include "pages.h"
#include "web_account.h"
#include "web_auth.h"

/* A JSON string member or NULL; any other type is a 422 naming the field. */
static int json_field(struct req *r, const char *name, const char **out)
{
	json_t *v = r->json ? json_object_get(r->json, name) : NULL;

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return req_invalid(r, name, "%s must be a string", name);
	*out = json_string_value(v);
	return 0;
}

static int read_credentials(struct req *r, const char **email, const char **password)
{
	int status = json_field(r, "email", email);

	if (!status)
		status = json_field(r, "password", password);
	return status;
}

/*
 * 202 and the same fixed body whether the address was free or taken
 * (web_account_register): nothing in the answer says which, not even the
 * new account's id or role; GET /auth/me tells them after signing in.
 */
int api_auth_register(struct req *r)
{
	const char *email, *password;
	struct view *v;
	int status = read_credentials(r, &email, &password);

	if (!status)
		status = web_account_register(r, email, password, "api");
	if (status)
		return status;
	v = view_obj(r->a);
	view_set_str(v, "status", "accepted");
	if (strcmp(config.email_verification, "required"))
		view_set_str(v, "message",
			     "If this email address had no account yet, it has one now: sign in with "
			     "the password you chose (POST /api/v1/auth/login). If it already had "
			     "one, that account is unchanged.");
	else
		view_set_str(v, "message",
			     "If this email address had no account yet, it was sent a link that "
			     "activates the account; sign in after following it. If it already had "
			     "one, that account is unchanged.");
	return resp_json(r, 202, v);
}

/* The answer carries a token to use as `Authorization: Bearer`, valid session_absolute seconds. */
int api_auth_login(struct req *r)
{
	char token[AUTH_TOKEN_LEN + 1];
	const char *email, *password, *expires = NULL;
	struct err e = ERR_INIT;
	struct auth_user u;
	struct view *v, *d;
	long long id;
	int status = read_credentials(r, &email, &password);

	if (!status)
		status = web_account_login(r, email, password, "api", &u);
	if (status)
		return status;
	if (apitoken_create(r->a, u.id, "login", config.session_absolute, token, &id, &expires,
			    &e) < 0)
		return req_fail_err(r, &e);
	d = view_obj(r->a);
	view_set_int(d, "token_id", id);
	view_set_str(d, "name", "login");
	{
		struct principal *saved = r->user;
		struct principal p = {.id = u.id, .email = u.email, .is_admin = u.is_admin};

		r->user = &p;
		web_audit(r, "token.create", u.email, d);
		r->user = saved;
	}
	v = view_obj(r->a);
	view_set_str(v, "token", token);
	view_set_str(v, "expires_at", expires);
	view_add(v, "user", web_account_user_view(r->a, u.id, u.email, u.is_admin));
	return resp_json(r, 200, v);
}

int api_auth_me(struct req *r)
{
	return resp_json(
	    r, 200, web_account_user_view(r->a, r->user->id, r->user->email, r->user->is_admin));
}

/* 202 and one fixed body whether or not the address has an account (web_account_forgot). */
int api_auth_forgot(struct req *r)
{
	const char *email;
	struct view *v;
	int status = json_field(r, "email", &email);

	if (!status)
		status = web_account_forgot(r, email, "api");
	if (status)
		return status;
	v = view_obj(r->a);
	view_set_str(v, "status", "accepted");
	view_set_str(v, "message",
		     "If an account uses this email address, it was sent a link to choose a new "
		     "password; the link works once, for 30 minutes.");
	return resp_json(r, 202, v);
}

int api_auth_reset(struct req *r)
{
	const char *token, *password;
	struct view *v;
	int status = json_field(r, "token", &token);

	if (!status)
		status = json_field(r, "password", &password);
	if (!status)
		status = web_account_reset(r, token, password, "api");
	if (status)
		return status;
	v = view_obj(r->a);
	view_set_str(v, "status", "reset");
	view_set_str(v, "message",
		     "The password is changed and every session of the account ended; API tokens "
		     "keep working. Sign in with the new password.");
	return resp_json(r, 200, v);
}
