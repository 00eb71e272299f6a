/* admin.c - the administrators' queries: all stores, users with role and disable, the audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "admin.h"
#include "audit.h"
#include "auth.h"
#include "db.h"
#include "store.h"

/*
 * Filters are checked here, before any statement runs, so a bad value is a
 * 422 that names its parameter and costs no round trip.  Lists page by
 * keyset (users by id, audit rows by (at, id), stores by (created_at, id)) with
 * store.c's opaque cursors, so a page never skips or repeats a row while
 * rows are added.
 */

/* clang-format off */
#define AT(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* clang-format on */

/* Any constant: serialises role and disable changes, so "the last admin" stays true. */
#define ADMIN_CHANGE_LOCK "7302006"

#define MICROS 1000000LL

int admin_parse_limit(const char *s, int def, int max, int *out, struct err *e)
{
	*out = def;
	if (!s || !*s)
		return 0;
	if (strspn(s, "0123456789") != strlen(s) || strlen(s) > 9 || atoi(s) < 1 || atoi(s) > max)
		return err_set(e, 422, "limit must be a whole number from 1 to %d", max);
	*out = atoi(s);
	return 0;
}

/* Exactly n decimal digits at s. */
static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

static int bad_time(struct err *e)
{
	return err_set(e, 422,
		       "expected an ISO 8601 date or time such as 2026-11-22 or "
		       "2026-11-22T10:30:00Z");
}

int admin_parse_time(const char *s, long long *lo, long long *hi, struct err *e)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	long long frac = 0, unit = 86400 * MICROS;
	const char *p = s;
	struct tm tm = {0};
	time_t t;

	if (!s || strlen(s) > 40)
		return bad_time(e);
	if (!digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
	    !digits(p + 8, 2, &d))
		return bad_time(e);
	p += 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &mi))
			return bad_time(e);
		p += 5;
		unit = 60 * MICROS;
		if (*p == ':') {
			if (!digits(p + 1, 2, &sec))
				return bad_time(e);
			p += 3;
			unit = MICROS;
			if (*p == '.' || *p == ',') {
				int n = 0;

				for (p++; *p >= '0' && *p <= '9'; p++, n++) {
					if (n == 6)
						return bad_time(e);
					frac = frac * 10 + (*p - '0');
					unit /= 10;
				}
				if (n == 0)
					return bad_time(e);
				for (int k = n; k < 6; k++)
					frac *= 10;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1, oh, om;

			p++;
			if (!digits(p, 2, &oh))
				return bad_time(e);
			p += 2;
			if (*p == ':')
				p++;
			if (!digits(p, 2, &om) || oh > 14 || om > 59)
				return bad_time(e);
			p += 2;
			off = sign * (oh * 60 + om);
		}
	}
	if (*p || y < 1900 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return bad_time(e);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises 2026-02-30 to March 2nd: a moved day means no such date. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return bad_time(e);
	*lo = ((long long)t - off * 60LL) * MICROS + frac;
	*hi = *lo + unit;
	return 0;
}

/* --- stores -------------------------------------------------------------- */

int admin_stores_list(struct arena *a, struct admin_stores_query *q, struct view **stores,
		      const char **next_cursor, struct err *e)
{
	struct store_filter f = {0};
	int limit;

	*stores = NULL;
	*next_cursor = NULL;
	q->field = "limit";
	if (admin_parse_limit(q->limit, ADMIN_LIST_DEFAULT, ADMIN_STORES_MAX, &limit, e) < 0)
		return -1;
	q->field = "sort";
	if (q->sort && *q->sort && strcmp(q->sort, "newest") && strcmp(q->sort, "oldest"))
		return err_set(e, 422, "sort must be newest or oldest");
	f.status = q->status && *q->status ? q->status : NULL;
	f.engine = q->engine && *q->engine ? q->engine : NULL;
	f.owner = q->owner && *q->owner ? q->owner : NULL;
	f.oldest = q->sort && !strcmp(q->sort, "oldest");
	q->field = NULL;
	if (store_list_admin(a, &f, limit, q->cursor && *q->cursor ? q->cursor : NULL, stores,
			     next_cursor, e) < 0) {
		q->field = f.field;
		return -1;
	}
	return 0;
}

/* --- users --------------------------------------------------------------- */

/*
 * The last sign-in is the newest user.login audit row (one probe of the
 * partial index audit_log_login_idx per user): the login path writes that
 * row anyway, so no users column has to be kept in step with it.
 */
/* clang-format off */
#define USER_COLS                                                                          \
	"u.id, u.email, u.role, " AT("u.created_at") ", " AT("u.disabled_at") ", "           \
	"(SELECT " AT("l.at") " FROM audit_log l WHERE l.actor_id = u.id"                    \
	" AND l.action = 'user.login' ORDER BY l.at DESC LIMIT 1), "                         \
	"(SELECT count(*) FROM stores s WHERE s.owner_id = u.id AND s.status <> 'deleted')"

static struct db_stmt st_users = DB_STMT(
	"SELECT " USER_COLS " FROM users u WHERE ($1::bigint IS NULL OR u.id > $1::bigint) "
	"ORDER BY u.id LIMIT $2::int", 2);

static struct db_stmt st_user_one = DB_STMT(
	"SELECT " USER_COLS " FROM users u WHERE u.id = $1::bigint", 1);
/* clang-format on */

static struct view *user_row_view(struct arena *a, const PGresult *res, int i)
{
	struct view *v = view_obj(a);
	const char *disabled_at = db_get(res, i, 4);

	view_set_int(v, "id", db_get_ll(res, i, 0));
	view_set_str_ref(v, "email", db_get(res, i, 1));
	view_set_str_ref(v, "role", db_get(res, i, 2));
	view_set_str_ref(v, "created_at", db_get(res, i, 3));
	view_set_str_ref(v, "last_login_at", db_get(res, i, 5));
	view_set_bool(v, "disabled", disabled_at != NULL);
	view_set_str_ref(v, "disabled_at", disabled_at);
	view_set_int(v, "store_count", db_get_ll(res, i, 6));
	return v;
}

/* A cursor whose tail must be `tail` and whose key is the id to continue after. */
static int id_cursor(struct arena *a, const char *cursor, const char *tail, const char **id,
		     struct err *e)
{
	const char *t;

	*id = NULL;
	if (!cursor || !*cursor)
		return 0;
	if (store_cursor_decode(a, cursor, id, &t, e) < 0)
		return -1;
	if (strcmp(t, tail))
		return err_set(e, 422, "the cursor is not one this API gave out");
	return 0;
}

int admin_users_list(struct arena *a, struct admin_users_query *q, struct view **users,
		     const char **next_cursor, struct err *e)
{
	const char *p[2];
	char lim[16];
	PGresult *res;
	int limit, n;

	*users = NULL;
	*next_cursor = NULL;
	q->field = "limit";
	if (admin_parse_limit(q->limit, ADMIN_LIST_DEFAULT, ADMIN_USERS_MAX, &limit, e) < 0)
		return -1;
	q->field = "cursor";
	if (id_cursor(a, q->cursor, "user", &p[0], e) < 0)
		return -1;
	q->field = NULL;
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	p[1] = lim;
	if (!(res = db_run(a, &st_users, p, e)))
		return -1;
	n = db_rows(res);
	*users = view_arr(a);
	for (int i = 0; i < n && i < limit; i++)
		view_push(*users, user_row_view(a, res, i));
	if (n > limit)
		*next_cursor = store_cursor_encode(a, db_get(res, limit - 1, 0), "user");
	return 0;
}

struct view *admin_user_get(struct arena *a, long long id, struct err *e)
{
	char ids[24];
	const char *p[1] = {ids};
	PGresult *res;

	snprintf(ids, sizeof(ids), "%lld", id);
	if (!(res = db_run(a, &st_user_one, p, e)))
		return NULL;
	if (db_rows(res) != 1) {
		err_set(e, 404, "there is no such user");
		return NULL;
	}
	return user_row_view(a, res, 0);
}

/* --- role and disable ---------------------------------------------------- */

/* clang-format off */
static struct db_stmt st_change_lock = DB_STMT(
	"SELECT pg_advisory_xact_lock(" ADMIN_CHANGE_LOCK ")", 0);

static struct db_stmt st_actor = DB_STMT(
	"SELECT 1 FROM users WHERE id = $1::bigint AND role = 'admin' AND disabled_at IS NULL", 1);

static struct db_stmt st_target = DB_STMT(
	"SELECT email, role, disabled_at IS NOT NULL FROM users WHERE id = $1::bigint FOR UPDATE",
	1);

static struct db_stmt st_admins = DB_STMT(
	"SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL", 0);

static struct db_stmt st_set_role = DB_STMT(
	"UPDATE users SET role = $2 WHERE id = $1::bigint", 2);

static struct db_stmt st_set_disabled = DB_STMT(
	"UPDATE users SET disabled_at = CASE WHEN $2::boolean THEN now() END WHERE id = $1::bigint",
	2);

static struct db_stmt st_drop_sessions = DB_STMT(
	"DELETE FROM sessions WHERE user_id = $1::bigint", 1);
/* clang-format on */

struct change_ctx {
	struct arena *a;
	const struct admin_actor *who;
	long long id;
	struct admin_change *c;
};

static int audit_change(struct change_ctx *x, const char *action, const char *target,
			struct view *d, struct err *e)
{
	return audit_record(x->a, x->who->id, x->who->id ? x->who->email : "storefleetctl",
			    x->who->ip, action, target, d, e);
}

static int change_tx(void *ctx, struct err *e)
{
	struct change_ctx *x = ctx;
	struct admin_change *c = x->c;
	char ids[24], actor[24];
	const char *p[2] = {ids, NULL}, *email, *role;
	int was_admin, was_disabled, to_admin, to_disabled;
	PGresult *res;

	c->changed = 0;
	snprintf(ids, sizeof(ids), "%lld", x->id);
	snprintf(actor, sizeof(actor), "%lld", x->who->id);
	if (!db_run(x->a, &st_change_lock, NULL, e))
		return -1;
	if (x->who->id) {
		const char *ap[1] = {actor};

		if (!(res = db_run(x->a, &st_actor, ap, e)))
			return -1;
		if (db_rows(res) != 1)
			return err_set(e, 403, "Administrators only.");
	}
	if (!(res = db_run(x->a, &st_target, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 404, "there is no such user");
	email = db_get(res, 0, 0);
	role = db_get(res, 0, 1);
	was_admin = !strcmp(role, "admin");
	was_disabled = db_get_bool(res, 0, 2);
	to_admin = c->role ? !strcmp(c->role, "admin") : was_admin;
	to_disabled = c->disable >= 0 ? c->disable : was_disabled;

	if (was_admin && !was_disabled && (!to_admin || to_disabled)) {
		if (!(res = db_run(x->a, &st_admins, NULL, e)))
			return -1;
		if (db_get_ll(res, 0, 0) <= 1)
			return err_set(e, 409,
				       "%s is the last administrator: make another user "
				       "an administrator first",
				       email);
	}
	if (to_admin != was_admin) {
		struct view *d = view_obj(x->a);

		p[1] = to_admin ? "admin" : "tenant";
		if (!db_run(x->a, &st_set_role, p, e))
			return -1;
		view_set_str(d, "from", role);
		view_set_str(d, "to", p[1]);
		if (audit_change(x, "user.role", email, d, e) < 0)
			return -1;
		c->changed++;
	}
	if (to_disabled != was_disabled) {
		struct view *d = view_obj(x->a);

		p[1] = to_disabled ? "true" : "false";
		if (!db_run(x->a, &st_set_disabled, p, e))
			return -1;
		if (to_disabled) {
			/* The lookup's join already refuses them; deleting also frees the rows. */
			if (!(res = db_run(x->a, &st_drop_sessions, p, e)))
				return -1;
			view_set_int(d, "sessions", atoll(PQcmdTuples(res)));
		}
		if (audit_change(x, to_disabled ? "user.disable" : "user.enable", email, d, e) < 0)
			return -1;
		c->changed++;
	}
	return 0;
}

int admin_user_change(struct arena *a, const struct admin_actor *who, long long user_id,
		      struct admin_change *c, struct err *e)
{
	struct change_ctx x = {a, who, user_id, c};

	c->user = NULL;
	c->changed = 0;
	c->field = NULL;
	if (c->role && strcmp(c->role, "admin") && strcmp(c->role, "tenant")) {
		c->field = "role";
		return err_set(e, 422, "role must be admin or tenant");
	}
	if (user_id <= 0)
		return err_set(e, 404, "there is no such user");
	if (who->id == user_id && ((c->role && strcmp(c->role, "admin")) || c->disable == 1))
		return err_set(e, 409, "you cannot %s your own account: ask another administrator",
			       c->disable == 1 ? "disable" : "demote");
	if (db_tx(change_tx, &x, e) < 0)
		return -1;
	c->user = admin_user_get(a, user_id, e);
	return c->user ? 0 : -1;
}

/* --- audit log ----------------------------------------------------------- */

/*
 * Newest first by (at, id): the time filters and the page order then use
 * the same index (sql/006_admin.sql), so "to = last March" starts at last
 * March instead of walking every newer row.  $1 $2 cursor (at in
 * microseconds, id), $3 actor, $4 action, $5 target, $6 from, $7 to (both
 * microseconds), $8 limit.
 */
/* clang-format off */
#define MICROS_AT(p) "(timestamptz 'epoch' + " p "::bigint * interval '1 microsecond')"
static struct db_stmt st_audit = DB_STMT(
	"SELECT id, " AT("at") ", actor_email, ip, action, target, details::text, "
	"(extract(epoch FROM at) * 1000000)::bigint FROM audit_log "
	"WHERE ($1::bigint IS NULL OR (at, id) < (" MICROS_AT("$1") ", $2::bigint)) "
	" AND ($3::text IS NULL OR lower(actor_email) = lower($3)) "
	" AND ($4::text IS NULL OR action = $4) "
	" AND ($5::text IS NULL OR target = $5) "
	" AND ($6::bigint IS NULL OR at >= " MICROS_AT("$6") ") "
	" AND ($7::bigint IS NULL OR at < " MICROS_AT("$7") ") "
	"ORDER BY at DESC, id DESC LIMIT $8::int",
	8);
/* clang-format on */

/* A text filter: NULL when not given, else at most max bytes (outsiders choose it). */
static int text_filter(const char *name, const char *s, size_t max, const char **out, struct err *e)
{
	*out = s && *s ? s : NULL;
	if (*out && strlen(s) > max)
		return err_set(e, 422, "%s must be at most %zu characters", name, max);
	return 0;
}

int admin_audit_list(struct arena *a, struct admin_audit_query *q, struct view **entries,
		     const char **next_cursor, struct err *e)
{
	const char *p[8] = {NULL};
	long long from = 0, to = 0, unused;
	char lim[16], from_s[24], to_s[24];
	PGresult *res;
	int limit, n;

	*entries = NULL;
	*next_cursor = NULL;
	q->field = "limit";
	if (admin_parse_limit(q->limit, ADMIN_LIST_DEFAULT, ADMIN_AUDIT_MAX, &limit, e) < 0)
		return -1;
	q->field = "cursor";
	if (q->cursor && *q->cursor) {
		if (store_cursor_decode(a, q->cursor, &p[0], &p[1], e) < 0)
			return -1;
		/* The tail is the row id: digits only (store cursors end in a store id). */
		if (!*p[1] || strlen(p[1]) > 18 || strspn(p[1], "0123456789") != strlen(p[1]))
			return err_set(e, 422, "the cursor is not one this API gave out");
	}
	q->field = "actor";
	if (text_filter("actor", q->actor, AUTH_EMAIL_MAX, &p[2], e) < 0)
		return -1;
	q->field = "action";
	if (text_filter("action", q->action, 64, &p[3], e) < 0)
		return -1;
	q->field = "target";
	if (text_filter("target", q->target, 256, &p[4], e) < 0)
		return -1;
	if (q->from && *q->from) {
		q->field = "from";
		if (admin_parse_time(q->from, &from, &unused, e) < 0)
			return -1;
		snprintf(from_s, sizeof(from_s), "%lld", from);
		p[5] = from_s;
	}
	if (q->to && *q->to) {
		q->field = "to";
		if (admin_parse_time(q->to, &unused, &to, e) < 0)
			return -1;
		if (p[5] && to <= from)
			return err_set(e, 422, "to must not be before from");
		snprintf(to_s, sizeof(to_s), "%lld", to);
		p[6] = to_s;
	}
	q->field = NULL;
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	p[7] = lim;
	if (!(res = db_run(a, &st_audit, p, e)))
		return -1;
	n = db_rows(res);
	*entries = view_arr(a);
	for (int i = 0; i < n && i < limit; i++) {
		struct view *v = view_push_obj(*entries);
		json_t *j = json_loads(db_get(res, i, 6), 0, NULL);

		view_set_str_ref(v, "at", db_get(res, i, 1));
		view_set_str_ref(v, "actor", db_get(res, i, 2));
		view_set_str_ref(v, "ip", db_get(res, i, 3));
		view_set_str_ref(v, "action", db_get(res, i, 4));
		view_set_str_ref(v, "target", db_get(res, i, 5));
		view_set(v, "details", j ? view_from_json(a, j) : view_obj(a));
		json_decref(j);
		if (q->raw_details)
			view_set_str_ref(v, "details_text", db_get(res, i, 6));
	}
	if (n > limit)
		*next_cursor =
		    store_cursor_encode(a, db_get(res, limit - 1, 7), db_get(res, limit - 1, 0));
	return 0;
}
