/* audit.h - the audit log: who did what to what, from where, when (UTC). */
#ifndef SF_AUDIT_H
#define SF_AUDIT_H

#include "arena.h"
#include "err.h"
#include "view.h"

/*
 * One row in audit_log.  The time is the database's now() (timestamptz,
 * shown in UTC).  actor_id 0 = none (anonymous, or a command-line operator);
 * actor_email may be NULL; ip is the request's remote address as nginx
 * passed it (never a client-supplied header) or NULL; details is an object
 * built with the view API (serialised by view_json, never pasted into SQL)
 * or NULL for {}.  Callers never put a password or a token into details.
 *
 * Actions used so far: user.register, user.login, user.login_failed,
 * user.logout, user.role, token.create, token.revoke, auth.denied,
 * user.password_forgot, user.password_reset, user.password_reset_refused,
 * user.password_change, user.email_change, user.change_refused, mail.test,
 * mail.resend, domain.add, domain.remove, domain.verify, domain.expire, cluster.add,
 * cluster.drain, cluster.undrain, cluster.remove.
 */
int audit_record(struct arena *a, long long actor_id, const char *actor_email, const char *ip,
		 const char *action, const char *target, const struct view *details, struct err *e);

#endif
