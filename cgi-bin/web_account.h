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

/* The layout keys every page needs (req.c's page_view: title, user, csrf_token...). */
struct view *web_account_page(struct req *r, const char *title);

/* {"id","email","role"} of a user. */
struct view *web_account_user_view(struct arena *a, long long id, const char *email, int is_admin);

#endif
