/* page_auth.c - the sign-in pages: GET / , GET/POST /login, GET/POST /register, POST /logout. */
#include <string.h>

#include "config.h"
#include "pages.h"
#include "session.h"
#include "web_account.h"
#include "web_auth.h"

int page_root(struct req *r)
{
	return resp_redirect(r, r->user ? "/stores" : "/login");
}

/* A same-site path to go back to after signing in, or NULL ("//evil" is another site). */
static const char *local_path(const char *p)
{
	if (!p || p[0] != '/' || p[1] == '/' || p[1] == '\\' || strlen(p) > 1024)
		return NULL;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20)
			return NULL;
	return p;
}

/*
 * The sign-in form, with an error or a notice.  After a failure it
 * deliberately does not echo the email back: unknown email and wrong
 * password must produce byte-identical pages.
 */
static int login_form(struct req *r, int status, const char *error, const char *notice)
{
	struct view *v = web_account_page(r, "Sign in");
	const char *next = local_path(r->form ? req_form(r, "next") : req_query_get(r, "next"));

	if (next)
		view_set_str(v, "next", next);
	if (error)
		view_set_str(v, "error", error);
	if (notice)
		view_set_str(v, "flash", notice);
	view_set_bool(v, "registration_open", config.registration_open);
	return resp_html(r, status, "login", v);
}

/*
 * Where a registration leads, whether the address was free or taken
 * (page_register): the same words for both, and they tell the owner of a
 * taken address what to do.
 */
#define REGISTERED_NOTICE                                                                          \
	"If this email address had no account yet, yours is ready: sign in with the password "     \
	"you just chose (we also sent the address a link to confirm it). If it already had one, "  \
	"that account is unchanged: sign in with its existing password."
/* The same, when an account may be used only after its link (email_verification=required). */
#define REGISTERED_VERIFY_NOTICE                                                                   \
	"If this email address had no account yet, we sent it a link: open it to activate your "   \
	"account, then sign in. If it already had one, that account is unchanged, and we sent it " \
	"a note with where to sign in or reset the password."
#define VERIFIED_NOTICE "Your email address is confirmed. Sign in."

/* Where "forgot password" leads, whether or not the address has an account. */
#define FORGOT_NOTICE                                                                              \
	"If an account uses this email address, we sent it a link to choose a new password. "     \
	"The link works once, for 30 minutes."
#define RESET_NOTICE "Your password is changed, and every browser was signed out. Sign in with it."

int page_login_form(struct req *r)
{
	const char *notice = NULL;

	if (req_query_get(r, "registered"))
		notice = strcmp(config.email_verification, "required") ? REGISTERED_NOTICE
								     : REGISTERED_VERIFY_NOTICE;
	else if (req_query_get(r, "verified"))
		notice = VERIFIED_NOTICE;
	else if (req_query_get(r, "forgot"))
		notice = FORGOT_NOTICE;
	else if (req_query_get(r, "reset"))
		notice = RESET_NOTICE;
	return login_form(r, 200, NULL, notice);
}

/* --- password recovery ----------------------------------------------------------------- */

static int forgot_form(struct req *r, int status, const char *error)
{
	struct view *v = web_account_page(r, "Reset your password");

	if (error)
		view_set_str(v, "error", error);
	return resp_html(r, status, "password_forgot", v);
}

int page_password_forgot_form(struct req *r)
{
	return forgot_form(r, 200, NULL);
}

/* The same 303 whether or not the address has an account (web_account_forgot). */
int page_password_forgot(struct req *r)
{
	int status = web_account_forgot(r, req_form(r, "email"), "form");

	if (status == 422 || status == 429)
		return forgot_form(r, status, r->err.msg);
	if (status)
		return status;
	return resp_redirect(r, "/login?forgot=1");
}

static int reset_form(struct req *r, int status, const char *token, const char *error)
{
	struct view *v = web_account_page(r, "Choose a new password");

	/* The page carries a live secret: never cached, never sent on as a Referer. */
	resp_header(r, "Cache-Control", "no-store");
	resp_header(r, "Referrer-Policy", "no-referrer");
	if (token)
		view_set_str(v, "token", token);
	if (error)
		view_set_str(v, "error", error);
	return resp_html(r, status, "password_reset", v);
}

int page_password_reset_form(struct req *r)
{
	const char *token = req_query_get(r, "token");
	int status = web_account_reset_check(r, token);

	if (status == 400)
		return reset_form(r, 400, NULL, r->err.msg);
	if (status)
		return status;
	return reset_form(r, 200, token, NULL);
}

int page_password_reset(struct req *r)
{
	const char *token = req_form(r, "token");
	int status = web_account_reset(r, token, req_form(r, "password"), "form");

	if (status == 422 && r->err_fields && view_get(r->err_fields, "password"))
		return reset_form(r, 422, token, r->err.msg);
	if (status == 400 || status == 422)
		return reset_form(r, 400, NULL, r->err.msg);
	if (status)
		return status;
	/* The browser's own session (if any) ended with the others. */
	web_session_cookie(r, NULL);
	return resp_redirect(r, "/login?reset=1");
}

/* Start a new session (never reuse the one the browser brought) and go on. */
static int start_session(struct req *r, const struct auth_user *u, const char *next)
{
	char token[AUTH_TOKEN_LEN + 1];
	struct session_user su;
	struct err e = ERR_INIT;

	if (r->user && r->user->session_id)
		session_delete(r->a, r->user->session_id, &e);
	err_clear(&e);
	if (session_create(r->a, u->id, r->remote_addr, config.session_idle,
			   config.session_absolute, token, &su, &e) < 0)
		return req_fail_err(r, &e);
	web_session_cookie(r, token);
	return resp_redirect(r, next ? next : "/stores");
}

int page_login(struct req *r)
{
	struct auth_user u;
	int status =
	    web_account_login(r, req_form(r, "email"), req_form(r, "password"), "form", &u);

	if (status == 401 || status == 422)
		return login_form(r, status,
				  status == 401 ? "Invalid email or password." : r->err.msg, NULL);
	if (status)
		return status;
	return start_session(r, &u, local_path(req_form(r, "next")));
}

static int register_form(struct req *r, int status, const char *email, const char *error,
			 const char *field)
{
	struct view *v = web_account_page(r, "Create an account");

	if (email)
		view_set_str(v, "email", email);
	if (error)
		view_set_str(v, "error", error);
	if (field) {
		struct view *f = view_set_obj(v, "invalid");

		view_set_bool(f, field, 1);
	}
	return resp_html(r, status, "register", v);
}

int page_register_form(struct req *r)
{
	struct err e = ERR_INIT;
	long long users;

	if (!config.registration_open) {
		users = auth_user_count(r->a, &e);
		if (users < 0)
			return req_fail_err(r, &e);
		if (users > 0)
			return req_fail(
			    r, 403, "forbidden",
			    "registration is closed; ask an administrator for an account");
	}
	return register_form(r, 200, NULL, NULL, NULL);
}

/*
 * A free and a taken address get the same answer (web_account_register):
 * 303 to the sign-in page and its notice, no cookie.  So no sign-in here
 * either: only a new account could have had one.
 */
int page_register(struct req *r)
{
	const char *email = req_form(r, "email");
	int status = web_account_register(r, email, req_form(r, "password"), "form");

	if (status == 422) {
		const char *field = "email";

		if (r->err_fields && view_get(r->err_fields, "password"))
			field = "password";
		return register_form(r, status, email, r->err.msg, field);
	}
	if (status)
		return status;
	return resp_redirect(r, "/login?registered=1");
}

int page_logout(struct req *r)
{
	struct err e = ERR_INIT;

	if (r->user && r->user->session_id) {
		if (session_delete(r->a, r->user->session_id, &e) < 0)
			return req_fail_err(r, &e);
		web_audit(r, "user.logout", r->user->email, NULL);
	}
	web_session_cookie(r, NULL);
	return resp_redirect(r, "/login");
}

/* The link in the verification mail (a GET: mail clients open links that way). */
int page_verify(struct req *r)
{
	int status = web_account_verify(r, req_query_get(r, "token"));

	if (status)
		return status;
	return resp_redirect(r, "/login?verified=1");
}
