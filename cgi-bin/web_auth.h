/* web_auth.h - who is asking, and may they: the hooks route_dispatch calls. */
#ifndef SF_WEB_AUTH_H
#define SF_WEB_AUTH_H

struct req;

/*
 * Load r->user from the session cookie or an `Authorization: Bearer` token
 * (looked up by the route's token_join when it has one, which may also set
 * r->preload).  Returns 0 (r->user may stay NULL for anonymous) or an HTTP
 * status with r->err set (503 when the database is down).
 */
int web_authenticate(struct req *r);

/*
 * For R_CSRF routes: the form's csrf_token must match the session's (or the
 * pre-session cookie's on /login and /register), and Origin / Sec-Fetch-Site
 * must say same-origin.  Returns 0 or 403 with r->err set (code "csrf").
 */
int web_csrf_check(struct req *r);

/* The CSRF token to embed in forms on this page (sets a pre-session cookie if needed). */
const char *web_csrf_token(struct req *r);

/* Record an authorization denial in the audit log (best effort). */
void web_audit_denied(struct req *r, const char *why);

#endif
