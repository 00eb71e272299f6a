/* web_account.c - login and registration rules, shared by the HTML forms and the JSON API. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "config.h"
#include "db.h"
#include "page.h"
#include "ratelimit.h"
#include "web_account.h"
#include "web_auth.h"

/* clang-format off */
#define RL_ACCOUNT "login.account"
#define RL_ADDRESS "login.address"
/* clang-format on */

/* The rate-limit key for an email: lower-cased, capped (outsiders choose it). */
static const char *web_account_key(struct req *r, const char *email)
{
	size_t n = strnlen(email, AUTH_EMAIL_MAX);
	char *k;

	/* Cut on a character boundary: the key goes into text columns and jsonb. */
	if (email[n])
		while (n > 0 && ((unsigned char)email[n] & 0xc0) == 0x80)
			n--;
	k = arena_strndup(r->a, email, n);

	for (char *p = k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return k;
}

int web_account_login(struct req *r, const char *email, const char *password, const char *via,
		      struct auth_user *u)
{
	struct ratelimit_state acct, addr;
	struct err e = ERR_INIT;
	const char *key, *ip = r->remote_addr ? r->remote_addr : "";
	struct view *d;
	int found, good;

	memset(u, 0, sizeof(*u));
	if (!email || !*email)
		return req_invalid(r, "email", "email is required");
	if (!password || !*password)
		return req_invalid(r, "password", "password is required");
	key = web_account_key(r, email);

	if (ratelimit_peek(r->a, RL_ACCOUNT, key, config.login_fail_window, &acct, &e) < 0 ||
	    ratelimit_peek(r->a, RL_ADDRESS, ip, config.login_fail_window, &addr, &e) < 0)
		return req_fail_err(r, &e);
	if (acct.count >= config.login_fail_account || addr.count >= config.login_fail_address) {
		int wait = 0;

		if (acct.count >= config.login_fail_account)
			wait = acct.retry_after;
		if (addr.count >= config.login_fail_address && addr.retry_after > wait)
			wait = addr.retry_after;
		resp_header(r, "Retry-After", "%d", wait);
		return req_fail(r, 429, "rate_limited",
				"too many failed sign-in attempts; try again in %d seconds", wait);
	}

	found = auth_user_find(r->a, email, u, &e);
	if (found < 0)
		return req_fail_err(r, &e);
	/* Passwords over the limit never verify, but still cost one hash. */
	good = auth_verify_password(
	    found && strlen(password) <= AUTH_PASSWORD_MAX ? u->password_hash : NULL, password);
	if (good && !u->disabled) {
		struct principal *saved = r->user;
		struct principal p = {.id = u->id, .email = u->email, .is_admin = u->is_admin};

		d = view_obj(r->a);
		view_set_str(d, "via", via);
		r->user = &p;
		web_audit(r, "user.login", u->email, d);
		r->user = saved;
		return 0;
	}

	if (ratelimit_hit(r->a, RL_ACCOUNT, key, config.login_fail_window, NULL, &e) < 0 ||
	    ratelimit_hit(r->a, RL_ADDRESS, ip, config.login_fail_window, NULL, &e) < 0)
		return req_fail_err(r, &e);
	/* Old windows are dead rows; sweep them now and then rather than never. */
	if (randombytes_uniform(100) == 0) {
		struct err ignore = ERR_INIT;

		ratelimit_gc(r->a, 86400, &ignore);
	}
	d = view_obj(r->a);
	view_set_str(d, "email", key);
	view_set_str(d, "via", via);
	web_audit(r, "user.login_failed", key, d);
	memset(u, 0, sizeof(*u));
	return req_fail(r, 401, "unauthorized", "invalid email or password");
}

/*
 * Registration must not tell whether an address has an account, by its
 * answer or by its time.  The hash is computed before anything is known
 * about the address, at the same cost either way.  Then one transaction:
 * the INSERT, which does nothing for a taken address (ON CONFLICT DO
 * NOTHING on lower(email)), and the audit row, user.register or
 * user.register_existing; so both run the same statements and end with one
 * commit.  The caller gets 0 for both and nothing to tell them apart.
 */
struct web_account_reg {
	struct req *r;
	const char *email, *hash, *via;
};

static int web_account_register_tx(void *ctx, struct err *e)
{
	struct web_account_reg *c = ctx;
	struct req *r = c->r;
	struct view *d = view_obj(r->a);
	struct auth_user u;
	const char *key;
	int n = auth_user_insert(r->a, c->email, c->hash, 0, &u, e);

	if (n < 0)
		return -1;
	if (n > 0) {
		view_set_str(d, "role", u.is_admin ? "admin" : "tenant");
		view_set_str(d, "via", c->via);
		return audit_record(r->a, u.id, u.email, r->remote_addr, "user.register", u.email,
				    d, e);
	}
	/* Taken: that account stays exactly as it was; only the audit log knows. */
	key = web_account_key(r, c->email);
	view_set_str(d, "email", key);
	view_set_str(d, "via", c->via);
	return audit_record(r->a, r->user ? r->user->id : 0, r->user ? r->user->email : NULL,
			    r->remote_addr, "user.register_existing", key, d, e);
}

int web_account_register(struct req *r, const char *email, const char *password, const char *via)
{
	char hash[AUTH_HASH_MAX];
	struct err e = ERR_INIT;
	struct web_account_reg c = {r, email, hash, via};

	if (!config.registration_open) {
		long long n = auth_user_count(r->a, &e);

		if (n < 0)
			return req_fail_err(r, &e);
		if (n > 0)
			return req_fail(
			    r, 403, "forbidden",
			    "registration is closed; ask an administrator for an account");
	}
	if (auth_check_email(email, email ? strlen(email) : 0, &e) < 0)
		return req_invalid(r, "email", "%s", e.msg);
	/* The form/JSON parsers already refuse NUL; length is what they cannot know. */
	if (auth_check_password(password, password ? strlen(password) : 0, &e) < 0)
		return req_invalid(r, "password", "%s", e.msg);
	if (auth_hash_password(password, hash, &e) < 0 ||
	    db_tx(web_account_register_tx, &c, &e) < 0)
		return req_fail_err(r, &e);
	return 0;
}

struct view *web_account_user_view(struct arena *a, long long id, const char *email, int is_admin)
{
	struct view *v = view_obj(a);

	view_set_int(v, "id", id);
	view_set_str(v, "email", email);
	view_set_str(v, "role", is_admin ? "admin" : "tenant");
	return v;
}

struct view *web_account_page(struct req *r, const char *title)
{
	return page_view(r, title);
}
