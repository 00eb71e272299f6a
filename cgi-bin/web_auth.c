/* web_auth.c - who is asking (session cookie or Bearer token), CSRF and Origin checks, denials. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "apitoken.h"
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "req.h"
#include "session.h"
#include "web_account.h"
#include "web_auth.h"

/*
 * One database round trip per authenticated request: the session or token
 * lookup is one read-only statement joining the user (last-seen is written
 * only when stale, about once a minute).  A route with a token_join has its
 * data loaded by that same statement when a Bearer token comes with it.
 * Bearer tokens carry no ambient authority (a browser never attaches them by
 * itself), so they skip every CSRF check; anything authenticated by cookie
 * and changing state must come from our own origin.
 */

const char *web_session_cookie_name(void)
{
	return config.cookie_secure ? "__Host-sf_session" : "sf_session";
}

static const char *web_csrf_cookie_name(void)
{
	return config.cookie_secure ? "__Host-sf_csrf" : "sf_csrf";
}

/*
 * Set-Cookie with the attributes every cookie of ours has; the __Host-
 * prefix needs Secure, Path=/ and no Domain.  max_age < 0: until the
 * browser closes; 0: delete.
 */
void web_set_cookie(struct req *r, const char *name, const char *value, long max_age)
{
	char age[40] = "";

	if (max_age >= 0)
		snprintf(age, sizeof(age), "; Max-Age=%ld", max_age);
	resp_header(r, "Set-Cookie", "%s=%s; Path=/%s; HttpOnly; SameSite=Lax%s", name, value, age,
		    config.cookie_secure ? "; Secure" : "");
}

void web_session_cookie(struct req *r, const char *token)
{
	if (token)
		web_set_cookie(r, web_session_cookie_name(), token, -1);
	else
		web_set_cookie(r, web_session_cookie_name(), "", 0);
}

static struct principal *web_principal(struct req *r, const struct session_user *su, int token)
{
	struct principal *p = arena_new_of(r->a, struct principal);

	p->id = su->user_id;
	p->email = su->email;
	p->is_admin = su->is_admin;
	p->via_token = token;
	p->session_id = su->session_id;
	p->csrf_token = su->csrf_token;
	return p;
}

static int web_state_changing(struct req *r)
{
	return strcmp(r->method, "GET") && strcmp(r->method, "HEAD") &&
	       strcmp(r->method, "OPTIONS");
}

/* Origin and Sec-Fetch-Site, when the browser sends them, must say "this site". */
static int web_origin_ok(struct req *r)
{
	const char *origin = req_header(r, "Origin");
	const char *site = req_header(r, "Sec-Fetch-Site");
	const char *host = req_header(r, "Host");

	if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
		return 0;
	if (!origin)
		return 1;
	if (*config.public_origin && !strcmp(origin, config.public_origin))
		return 1;
	if (host && *host) {
		const char *scheme = req_is_https(r) ? "https://" : "http://";
		const char *port = req_param(r, "SERVER_PORT"), *rest;
		size_t sn = strlen(scheme), hn = strlen(host);

		if (strncmp(origin, scheme, sn) || strncmp(origin + sn, host, hn))
			return 0;
		rest = origin + sn + hn;
		if (!*rest)
			return 1;
		/* Debian's fastcgi_params passes $host, without the port the browser used. */
		return !strchr(host, ':') && rest[0] == ':' && port && *port &&
		       !strcmp(rest + 1, port);
	}
	return 0;
}

int web_authenticate(struct req *r)
{
	const char *authz = req_header(r, "Authorization");
	const char *cookie, *token;
	struct session_user su;
	struct err e = ERR_INIT;
	int found;

	r->user = NULL;
	if (authz) {
		/* An Authorization header is never ignored: a bad one is anonymous, not the cookie.
		 */
		if (strncasecmp(authz, "Bearer ", 7))
			return 0;
		token = authz + 7 + strspn(authz + 7, " ");
		/* The route may load its data along with the token (one round trip). */
		if (r->route && r->route->token_join)
			found = r->route->token_join(r, token, &su, &e);
		else
			found = apitoken_lookup(r->a, token, &su, &e);
		if (found < 0)
			return req_fail_err(r, &e);
		if (found)
			r->user = web_principal(r, &su, 1);
		return 0;
	}
	cookie = req_cookie(r, web_session_cookie_name());
	if (!cookie)
		return 0;
	if (r->route && r->route->session_join)
		found = r->route->session_join(r, cookie, &su, &e);
	else
		found = session_lookup(r->a, cookie, config.session_idle, &su, &e);
	if (found < 0)
		return req_fail_err(r, &e);
	if (!found) {
		/*
		 * Expired, logged out elsewhere or forged: stop the browser sending
		 * it.  Only on reads: a POST /login answers with the new cookie.
		 */
		if (!web_state_changing(r))
			web_session_cookie(r, NULL);
		return 0;
	}
	r->user = web_principal(r, &su, 0);
	if (web_state_changing(r) && !web_origin_ok(r)) {
		web_audit_denied(r, "csrf: cross-origin request with a session cookie");
		return req_fail(r, 403, "csrf", "cross-origin request refused");
	}
	return 0;
}

int web_csrf_check(struct req *r)
{
	const char *sent, *want;

	if (r->user && r->user->via_token)
		return 0;
	if (!web_origin_ok(r)) {
		web_audit_denied(r, "csrf: foreign origin");
		return req_fail(r, 403, "csrf", "cross-origin request refused");
	}
	sent = req_form(r, "csrf_token");
	want = r->user ? r->user->csrf_token : req_cookie(r, web_csrf_cookie_name());
	if (!sent || !want || !auth_token_syntax(want) || !auth_equal(sent, want)) {
		web_audit_denied(r, sent ? "csrf: token mismatch" : "csrf: token missing");
		return req_fail(r, 403, "csrf",
				"the form has expired or did not come from this site; "
				"reload the page and try again");
	}
	return 0;
}

const char *web_csrf_token(struct req *r)
{
	const char *c;
	char tok[AUTH_TOKEN_LEN + 1];
	struct kv *kv;

	if (r->user && !r->user->via_token && r->user->csrf_token)
		return r->user->csrf_token;
	c = req_cookie(r, web_csrf_cookie_name());
	if (c && auth_token_syntax(c))
		return c;
	auth_random_token(tok);
	web_set_cookie(r, web_csrf_cookie_name(), tok, -1);
	/* Later calls in this request must see the same token. */
	kv = arena_new_of(r->a, struct kv);
	kv->key = web_csrf_cookie_name();
	kv->val = arena_strdup(r->a, tok);
	kv->vlen = strlen(tok);
	kv->next = r->cookies;
	r->cookies = kv;
	return kv->val;
}

void web_audit(struct req *r, const char *action, const char *target, struct view *details)
{
	struct err e = ERR_INIT;

	if (audit_record(r->a, r->user ? r->user->id : 0, r->user ? r->user->email : NULL,
			 r->remote_addr, action, target, details, &e) < 0)
		log_warn("audit: %s: %s", action, e.msg);
}

void web_audit_denied(struct req *r, const char *why)
{
	struct view *d = view_obj(r->a);

	view_set_str(d, "method", r->method);
	view_set_str(d, "reason", why);
	if (r->route && r->route->name)
		view_set_str(d, "route", r->route->name);
	web_audit(r, "auth.denied", r->path, d);
}
