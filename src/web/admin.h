/* admin.h - what administrators read and change: all stores, users, the audit log. */
#ifndef SF_ADMIN_H
#define SF_ADMIN_H

#include "arena.h"
#include "err.h"
#include "view.h"

/*
 * The admin pages and their JSON twins share these functions, so both take
 * the same query parameters as raw strings (NULL or "" = not given) and
 * refuse the same bad values: -1 with e->status 422 and, in the query's
 * `field`, the name of the parameter to report.  Every statement is one
 * fixed text whose filters are optional parameters ($n IS NULL OR ...):
 * no value ever becomes SQL text.  The callers check that the asker is an
 * administrator (route flag R_ADMIN); admin_user_change checks it again
 * inside its transaction, since a role can change between the two.
 */

#define ADMIN_LIST_DEFAULT 50
#define ADMIN_STORES_MAX   100 /* STORE_LIST_MAX */
#define ADMIN_USERS_MAX	   200
#define ADMIN_AUDIT_MAX	   200

/*
 * ?limit=: NULL or "" gives def; else a whole number 1..max, anything else
 * (0, 201, "x", "-1") is -1 with e = 422.
 */
int admin_parse_limit(const char *s, int def, int max, int *out, struct err *e);

/*
 * An ISO 8601 time or date as microseconds since the epoch, for the audit
 * log's from/to.  Accepted: YYYY-MM-DD, then optionally T (or a space)
 * HH:MM, :SS, .fraction (1-6 digits), and Z or +HH:MM / -HH:MM (no zone =
 * UTC).  *lo is the first instant the text names and *hi the first instant
 * after it at the precision given (a date: the next midnight; a minute:
 * the next minute), so "from" uses lo and an inclusive "to" uses hi.
 * 0, or -1 with e = 422 (also for impossible dates such as 2026-02-30).
 */
int admin_parse_time(const char *s, long long *lo, long long *hi, struct err *e);

/*
 * Every tenant's stores.  IN: status, engine, owner (email), sort
 * ("newest" default, or "oldest"), limit (default 50, at most 100),
 * cursor.  OUT: *stores (the API's store views plus "owner"),
 * *next_cursor (NULL at the end).  422 names status, engine, owner, sort,
 * limit or cursor.
 */
struct admin_stores_query {
	const char *status, *engine, *owner, *sort, *limit, *cursor;
	const char *field; /* OUT */
};

int admin_stores_list(struct arena *a, struct admin_stores_query *q, struct view **stores,
		      const char **next_cursor, struct err *e);

/*
 * Users by id (oldest account first).  IN: limit (default 50, at most
 * 200), cursor.  OUT: *users, each {id, email, role, created_at,
 * last_login_at (the newest user.login audit row, or null), disabled,
 * disabled_at, store_count (stores not deleted)}; *next_cursor.
 */
struct admin_users_query {
	const char *limit, *cursor;
	const char *field; /* OUT */
};

int admin_users_list(struct arena *a, struct admin_users_query *q, struct view **users,
		     const char **next_cursor, struct err *e);

/*
 * One user's view as in admin_users_list, or NULL with e = 404.
 */
struct view *admin_user_get(struct arena *a, long long id, struct err *e);

/* Who makes a change: id 0 = the operator at the shell (storefleetctl). */
struct admin_actor {
	long long id;
	const char *email;
	const char *ip; /* may be NULL */
};

/*
 * Change a user's role and/or disabled state.  IN: role ("admin",
 * "tenant" or NULL = unchanged), disable (1 disable, 0 enable, -1
 * unchanged).  In one transaction under an advisory lock that serialises
 * every admin change: the actor must still be an enabled admin (403); the
 * user must exist (404); nobody demotes or disables themselves (409) and
 * the last enabled admin is never demoted or disabled (409); then the row
 * changes, disabling deletes every session of the user (their API tokens
 * stay, refused while disabled by the lookup's join on disabled_at), and
 * each actual change writes an audit row (user.role {from, to},
 * user.disable {sessions}, user.enable).  Asking for the state the user
 * is already in changes and records nothing.  OUT: c->user, the view
 * after the change; c->changed, how many things changed.  Errors: 422 bad
 * role (c->field "role"), 403, 404, 409, 503.
 */
struct admin_change {
	const char *role;
	int disable;
	struct view *user; /* OUT */
	int changed;	   /* OUT */
	const char *field; /* OUT on 422 */
};

int admin_user_change(struct arena *a, const struct admin_actor *who, long long user_id,
		      struct admin_change *c, struct err *e);

/*
 * The audit log, newest first (by time, then id).  IN: actor (email, any case), action,
 * target (exact), from / to (admin_parse_time; both inclusive at the
 * precision given; to before from is a 422), limit (default 50, at most
 * 200), cursor; raw_details = 1 adds "details_text", the details as the
 * database prints them (for the HTML page).  OUT: *entries [{at, actor,
 * ip, action, target, details}], *next_cursor.
 */
struct admin_audit_query {
	const char *actor, *action, *target, *from, *to, *limit, *cursor;
	int raw_details;
	const char *field; /* OUT */
};

int admin_audit_list(struct arena *a, struct admin_audit_query *q, struct view **entries,
		     const char **next_cursor, struct err *e);

#endif
