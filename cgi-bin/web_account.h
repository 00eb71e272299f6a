/* web_account.h - account logic shared by the HTML pages and the JSON API (login, register). */
#ifndef SF_WEB_ACCOUNT_H
#define SF_WEB_ACCOUNT_H

#include "auth.h"
#include "req.h"
#include "view.h"

/* Cookie helpers (web_auth.c): attributes Path=/, HttpOnly, SameSite=Lax, Secure unless local. */
const char *web_session_cookie_name(void);
void web_set_cookie(struct req *r, const char *name, const char *value, long max_age);
void web_session_cookie(struct req *r, const char *token); /* NULL = clear */

/* Audit row for this request: actor = r->user, ip = r->remote_addr. Best effort (logged). */
void web_audit(struct req *r, const char *action, const char *target, struct view *details);

/*
 * Check email + password and count failures.  Returns 0 with *u filled on
 * success; otherwise the status with r->err set: 422 (field missing), 401
 * (unknown email, wrong password and disabled account answer exactly the
 * same), 429 (rate_limited, Retry-After set), 503.  `via` ("form", "api")
 * goes into the audit details.
 */
int web_account_login(struct req *r, const char *email, const char *password, const char *via,
		      struct auth_user *u);

/*
 * Register email + password after the registration rules (open/closed,
 * first user admin, email and password rules).  Returns 0 ("accepted")
 * both when the account was created and when the address already had one:
 * then nothing about that account changes and only the audit log
 * (user.register_existing) knows.  Both cost one argon2id hash and the same
 * statements, and the caller is told nothing else, so its answer cannot
 * differ either (docs/accounts.md, "Registering").  Otherwise the status
 * with r->err set: 403 closed, 422 (r->err_fields names the field), 503, 500.
 */
int web_account_register(struct req *r, const char *email, const char *password, const char *via);

/*
 * "Forgot password": validate the address (422), count the request per
 * source address and per address (429 rate_limited with Retry-After, the
 * same for any address), then in one transaction, for an enabled account
 * only, a reset token and its mail in the outbox, plus the audit row
 * (user.password_forgot, outcome mailed / no_account / disabled).  Returns
 * 0 ("accepted") whether or not the address has an account; 503 when links
 * cannot be made (no public_origin outside local mode).
 */
int web_account_forgot(struct req *r, const char *email, const char *via);

/* 0 when token is a live reset token, else 400 invalid_token (r->err set). Uses nothing. */
int web_account_reset_check(struct req *r, const char *token);

/*
 * Use a reset token: the new password (rules: 422) replaces the old one,
 * every session of the user ends, API tokens stay, the address counts as
 * verified; audited user.password_reset.  A token that is not live (used,
 * expired, unknown, malformed, user disabled) is 400 invalid_token, audited
 * user.password_reset_refused.  0 or the status with r->err set.
 */
int web_account_reset(struct req *r, const char *token, const char *password, const char *via);

/*
 * Account page changes, each after the signed-in user's current password
 * (wrong: 403 with field current_password, counted with the sign-in
 * failures; 429 at their limit).  A new password signs out the user's other
 * sessions (user.password_change); a new email is unverified again
 * (user.email_change; 422 when it cannot be used).  0 or the status.
 */
int web_account_change_password(struct req *r, const char *current, const char *password);
int web_account_change_email(struct req *r, const char *current, const char *email);

/*
 * Follow an address-verification link: the token is used and the address
 * verified (user.verify).  0, or 400 invalid_token / the status with r->err.
 */
int web_account_verify(struct req *r, const char *token);

/* The layout keys every page needs (req.c's page_view: title, user, csrf_token...). */
struct view *web_account_page(struct req *r, const char *title);

/* {"id","email","role"} of a user. */
struct view *web_account_user_view(struct arena *a, long long id, const char *email, int is_admin);

#endif
