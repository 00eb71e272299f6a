/* web_account.c - login and registration rules, shared by the HTML forms and the JSON API. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "config.h"
#include "db.h"
#include "mail.h"
#include "page.h"
#include "ratelimit.h"
#include "recovery.h"
#include "web_account.h"
#include "web_auth.h"

/* clang-format off */
#define RL_ACCOUNT "login.account"
#define RL_ADDRESS "login.address"
#define RL_RESET_EMAIL "reset.email"
#define RL_RESET_ADDRESS "reset.address"
/* clang-format on */

#define WEB_VERIFY_TTL 86400 /* seconds an address-verification link works */

static const char *web_account_link_origin(struct req *r);

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
	/* Unverified while verification is required: refused exactly like a wrong password. */
	if (good && !u->disabled && (u->verified || strcmp(config.email_verification, "required"))) {
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
	const char *email, *hash, *via, *origin;
};

/*
 * Queue the mail that proves an address: a one-use link to /verify (24 h).
 * Without a link origin (production without public_origin) nothing is
 * queued; forgot-password's link verifies too.  0 or -1 with e.
 */
static int web_account_send_verify(struct req *r, const char *origin, long long uid,
				   const char *email, struct err *e)
{
	char token[AUTH_TOKEN_LEN + 1];
	struct view *v;

	if (!origin)
		return 0;
	if (recovery_token_create(r->a, uid, "verify", email, WEB_VERIFY_TTL, token, e) < 0)
		return -1;
	v = view_obj(r->a);
	view_set_str(v, "email", email);
	view_set_bool(v, "required", !strcmp(config.email_verification, "required"));
	view_set_str(v, "link", arena_printf(r->a, "%s/verify?token=%s", origin, token));
	return mail_enqueue(r->a, "verify_email", uid, email, v, e);
}

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
		if (web_account_send_verify(r, c->origin, u.id, u.email, e) < 0)
			return -1;
		return audit_record(r->a, u.id, u.email, r->remote_addr, "user.register", u.email,
				    d, e);
	}
	/*
	 * Taken: that account stays exactly as it was; only the audit log and
	 * its owner's mailbox know (a note with where to sign in or reset, a
	 * few an hour at most: reset_per_email, so nobody floods a mailbox).
	 */
	key = web_account_key(r, c->email);
	if (c->origin) {
		struct auth_user owner;
		int took = ratelimit_take(r->a, "register.notice", key, config.reset_per_email,
					  config.reset_window, NULL, e);
		int found = took == 1 ? auth_user_find(r->a, c->email, &owner, e) : 0;

		if (took < 0 || found < 0)
			return -1;
		if (found && !owner.disabled) {
			struct view *v = view_obj(r->a);

			view_set_str(v, "email", owner.email);
			view_set_str(v, "login", arena_printf(r->a, "%s/login", c->origin));
			view_set_str(v, "forgot", arena_printf(r->a, "%s/password/forgot", c->origin));
			if (mail_enqueue(r->a, "register_existing", owner.id, owner.email, v, e) < 0)
				return -1;
		}
	}
	view_set_str(d, "email", key);
	view_set_str(d, "via", c->via);
	return audit_record(r->a, r->user ? r->user->id : 0, r->user ? r->user->email : NULL,
			    r->remote_addr, "user.register_existing", key, d, e);
}

int web_account_register(struct req *r, const char *email, const char *password, const char *via)
{
	char hash[AUTH_HASH_MAX];
	struct err e = ERR_INIT;
	struct web_account_reg c = {r, email, hash, via, web_account_link_origin(r)};

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

/* --- password recovery (docs/accounts.md, "Recovering an account") -------------------- */

/*
 * The origin of links in mail.  public_origin when set; without it only in
 * local plain-HTTP mode (cookie_secure=false) the request's own Host, since
 * anywhere else a forged Host header would send the victim a link to the
 * forger's site carrying the victim's token.  NULL: not configured.
 */
static const char *web_account_link_origin(struct req *r)
{
	const char *host = req_header(r, "Host");

	if (*config.public_origin)
		return config.public_origin;
	if (config.cookie_secure || !host || !*host || strpbrk(host, "/\\@?#\r\n \t"))
		return NULL;
	return arena_printf(r->a, "%s://%s", req_is_https(r) ? "https" : "http", host);
}

struct web_account_forgot {
	struct req *r;
	const char *email, *key, *via, *origin;
};

static int web_account_forgot_tx(void *ctx, struct err *e)
{
	struct web_account_forgot *c = ctx;
	struct req *r = c->r;
	struct view *d = view_obj(r->a), *v;
	struct auth_user u;
	char token[AUTH_TOKEN_LEN + 1];
	const char *outcome = "no_account";
	int found = auth_user_find(r->a, c->email, &u, e);

	if (found < 0)
		return -1;
	if (found && u.disabled) {
		outcome = "disabled";
	} else if (found) {
		if (recovery_token_create(r->a, u.id, "reset", u.email, config.reset_ttl, token, e) <
		    0)
			return -1;
		v = view_obj(r->a);
		view_set_str(v, "email", u.email);
		view_set_int(v, "minutes", config.reset_ttl / 60);
		view_set_str(v, "link",
			     arena_printf(r->a, "%s/password/reset?token=%s", c->origin, token));
		if (mail_enqueue(r->a, "password_reset", u.id, u.email, v, e) < 0)
			return -1;
		outcome = "mailed";
	}
	view_set_str(d, "email", c->key);
	view_set_str(d, "via", c->via);
	view_set_str(d, "outcome", outcome);
	return audit_record(r->a, r->user ? r->user->id : 0, r->user ? r->user->email : NULL,
			    r->remote_addr, "user.password_forgot", c->key, d, e);
}

int web_account_forgot(struct req *r, const char *email, const char *via)
{
	struct err e = ERR_INIT;
	struct ratelimit_state st;
	struct web_account_forgot c = {r, email, NULL, via, NULL};
	const char *ip = r->remote_addr ? r->remote_addr : "";
	int took;

	if (auth_check_email(email, email ? strlen(email) : 0, &e) < 0)
		return req_invalid(r, "email", "%s", e.msg);
	c.origin = web_account_link_origin(r);
	if (!c.origin)
		return req_fail(r, 503, "unavailable",
				"password reset is not configured here (public_origin); ask an "
				"administrator");
	c.key = web_account_key(r, email);
	/* Both limits count every request, for any address, so they say nothing about accounts. */
	took = ratelimit_take(r->a, RL_RESET_ADDRESS, ip, config.reset_per_address,
			      config.reset_window, &st, &e);
	if (took == 1)
		took = ratelimit_take(r->a, RL_RESET_EMAIL, c.key, config.reset_per_email,
				      config.reset_window, &st, &e);
	if (took < 0)
		return req_fail_err(r, &e);
	if (took == 0) {
		struct view *d = view_obj(r->a);

		view_set_str(d, "email", c.key);
		view_set_str(d, "via", via);
		view_set_str(d, "outcome", "rate_limited");
		web_audit(r, "user.password_forgot", c.key, d);
		resp_header(r, "Retry-After", "%d", st.retry_after);
		return req_fail(r, 429, "rate_limited",
				"too many password reset requests; try again in %d seconds",
				st.retry_after);
	}
	if (db_tx(web_account_forgot_tx, &c, &e) < 0)
		return req_fail_err(r, &e);
	return 0;
}

int web_account_reset_check(struct req *r, const char *token)
{
	struct err e = ERR_INIT;
	const char *email;
	int live = recovery_token_peek(r->a, token, "reset", &email, &e);

	if (live < 0)
		return req_fail_err(r, &e);
	return live ? 0 : req_fail(r, 400, "invalid_token",
				   "this link is not valid: it was used already, it expired, or "
				   "it was never issued; ask for a new one");
}

struct web_account_reset {
	struct req *r;
	const char *token, *hash, *via;
	long long ended;
	int used;
};

static int web_account_reset_tx(void *ctx, struct err *e)
{
	struct web_account_reset *c = ctx;
	struct req *r = c->r;
	struct view *d = view_obj(r->a);
	long long uid;
	const char *email;

	c->used = recovery_token_use(r->a, c->token, "reset", &uid, &email, e);
	if (c->used <= 0)
		return c->used;
	/* The link proves the mailbox: that also verifies the address. */
	if (recovery_set_password(r->a, uid, c->hash, e) < 0 ||
	    recovery_end_sessions(r->a, uid, &c->ended, e) < 0 ||
	    recovery_mark_verified(r->a, uid, e) < 0)
		return -1;
	view_set_str(d, "via", c->via);
	view_set_int(d, "sessions_ended", c->ended);
	return audit_record(r->a, uid, email, r->remote_addr, "user.password_reset", email, d, e);
}

int web_account_reset(struct req *r, const char *token, const char *password, const char *via)
{
	char hash[AUTH_HASH_MAX];
	struct err e = ERR_INIT;
	struct web_account_reset c = {r, token, hash, via, 0, 0};

	if (!token || !*token)
		return req_invalid(r, "token", "token is required");
	if (auth_check_password(password, password ? strlen(password) : 0, &e) < 0)
		return req_invalid(r, "password", "%s", e.msg);
	if (auth_hash_password(password, hash, &e) < 0 || db_tx(web_account_reset_tx, &c, &e) < 0)
		return req_fail_err(r, &e);
	if (!c.used) {
		struct view *d = view_obj(r->a);

		view_set_str(d, "via", via);
		view_set_str(d, "reason", "invalid_token");
		web_audit(r, "user.password_reset_refused", NULL, d);
		return req_fail(r, 400, "invalid_token",
				"this link is not valid: it was used already, it expired, or it "
				"was never issued; ask for a new one");
	}
	return 0;
}

/* --- changes on the account page: the current password first ------------------------- */

/*
 * Check the signed-in user's current password, counted like sign-in
 * failures (the same limits per account and per address).  0, or the
 * status with r->err set: 422 missing, 403 wrong (field current_password),
 * 429 limited.
 */
static int web_account_current(struct req *r, const char *current, struct auth_user *u)
{
	struct err e = ERR_INIT;
	struct ratelimit_state acct;
	const char *key = web_account_key(r, r->user->email), *ip = r->remote_addr ? r->remote_addr : "";
	struct view *d;
	int found;

	if (!current || !*current)
		return req_invalid(r, "current_password", "your current password is required");
	if (ratelimit_peek(r->a, RL_ACCOUNT, key, config.login_fail_window, &acct, &e) < 0)
		return req_fail_err(r, &e);
	if (acct.count >= config.login_fail_account) {
		resp_header(r, "Retry-After", "%d", acct.retry_after);
		return req_fail(r, 429, "rate_limited",
				"too many wrong passwords; try again in %d seconds", acct.retry_after);
	}
	found = auth_user_find(r->a, r->user->email, u, &e);
	if (found < 0)
		return req_fail_err(r, &e);
	if (found && strlen(current) <= AUTH_PASSWORD_MAX &&
	    auth_verify_password(u->password_hash, current))
		return 0;
	if (ratelimit_hit(r->a, RL_ACCOUNT, key, config.login_fail_window, NULL, &e) < 0 ||
	    ratelimit_hit(r->a, RL_ADDRESS, ip, config.login_fail_window, NULL, &e) < 0)
		return req_fail_err(r, &e);
	d = view_obj(r->a);
	view_set_str(d, "reason", "wrong current password");
	web_audit(r, "user.change_refused", r->user->email, d);
	r->err_fields = view_obj(r->a);
	view_set_str(r->err_fields, "current_password", "the current password is not right");
	return req_fail(r, 403, "forbidden", "the current password is not right");
}

int web_account_change_password(struct req *r, const char *current, const char *password)
{
	char hash[AUTH_HASH_MAX];
	struct err e = ERR_INIT;
	struct auth_user u;
	int status;

	if (auth_check_password(password, password ? strlen(password) : 0, &e) < 0)
		return req_invalid(r, "password", "%s", e.msg);
	status = web_account_current(r, current, &u);
	if (status)
		return status;
	/* Other browsers signed in as this user are signed out; this one stays. */
	if (auth_hash_password(password, hash, &e) < 0 || db_begin(&e) < 0)
		return req_fail_err(r, &e);
	if (recovery_set_password(r->a, u.id, hash, &e) < 0 ||
	    recovery_end_other_sessions(r->a, u.id, r->user->session_id, &e) < 0 ||
	    audit_record(r->a, u.id, u.email, r->remote_addr, "user.password_change", u.email, NULL,
			 &e) < 0 ||
	    db_commit(&e) < 0) {
		db_rollback();
		return req_fail_err(r, &e);
	}
	return 0;
}

int web_account_change_email(struct req *r, const char *current, const char *email)
{
	struct err e = ERR_INIT;
	struct auth_user u;
	struct view *d;
	int status;

	if (auth_check_email(email, email ? strlen(email) : 0, &e) < 0)
		return req_invalid(r, "email", "%s", e.msg);
	status = web_account_current(r, current, &u);
	if (status)
		return status;
	d = view_obj(r->a);
	view_set_str(d, "from", u.email);
	view_set_str(d, "to", email);
	if (db_begin(&e) < 0)
		return req_fail_err(r, &e);
	if (recovery_set_email(r->a, u.id, email, &e) < 0 ||
	    web_account_send_verify(r, web_account_link_origin(r), u.id, email, &e) < 0 ||
	    audit_record(r->a, u.id, email, r->remote_addr, "user.email_change", email, d, &e) < 0 ||
	    db_commit(&e) < 0) {
		db_rollback();
		if (e.status == 409)
			return req_invalid(r, "email", "this address cannot be used");
		return req_fail_err(r, &e);
	}
	return 0;
}

struct web_account_verify {
	struct req *r;
	const char *token;
	int used;
};

static int web_account_verify_tx(void *ctx, struct err *e)
{
	struct web_account_verify *c = ctx;
	long long uid;
	const char *email;

	c->used = recovery_token_use(c->r->a, c->token, "verify", &uid, &email, e);
	if (c->used <= 0)
		return c->used;
	if (recovery_mark_verified(c->r->a, uid, e) < 0)
		return -1;
	return audit_record(c->r->a, uid, email, c->r->remote_addr, "user.verify", email, NULL, e);
}

int web_account_verify(struct req *r, const char *token)
{
	struct err e = ERR_INIT;
	struct web_account_verify c = {r, token, 0};

	if (db_tx(web_account_verify_tx, &c, &e) < 0)
		return req_fail_err(r, &e);
	if (!c.used)
		return req_fail(r, 400, "invalid_token",
				"this link is not valid: it was used already, it expired, or it was "
				"never issued; the password reset link verifies an address too");
	return 0;
}
