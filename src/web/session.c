/* session.c - sessions keyed by the SHA-256 of a random token, timed by the database clock. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "session.h"

/* Creating a session also drops the user's dead ones, so the table stays small. */
/* clang-format off */
static struct db_stmt st_create = DB_STMT(
	"WITH gone AS (DELETE FROM sessions WHERE user_id = $1::bigint"
	" AND (expires_at <= now() OR last_seen_at <= now() - $6::int * interval '1 second'))"
	" INSERT INTO sessions (user_id, token_sha256, csrf_token, ip, expires_at)"
	" VALUES ($1::bigint, decode($2, 'hex'), $3, $4, now() + $5::int * interval '1 second')"
	" RETURNING id",
	6);
/* clang-format on */

/*
 * One read-only round trip finds the live session and its user, and says
 * whether last_seen_at is stale by more than $3 seconds; only then does a
 * second statement refresh it.  (A writable CTE doing both measured ~25%
 * slower per request, and most requests need no write at all.)
 */
/* clang-format off */
static struct db_stmt st_lookup = DB_STMT(SESSION_LOOKUP_SQL("$1", "$2", "$3"), 3);

static struct db_stmt st_touch = DB_STMT(
	"UPDATE sessions SET last_seen_at = now() WHERE id = $1::bigint", 1);

static struct db_stmt st_delete = DB_STMT("DELETE FROM sessions WHERE id = $1::bigint", 1);
/* clang-format on */

int session_create(struct arena *a, long long user_id, const char *ip, int idle, int absolute,
		   char token[AUTH_TOKEN_LEN + 1], struct session_user *su, struct err *e)
{
	char uid[24], abs_s[16], idle_s[16], hash[AUTH_SHA256_HEX], csrf[AUTH_TOKEN_LEN + 1];
	const char *p[6] = {uid, hash, csrf, ip && *ip ? ip : NULL, abs_s, idle_s};
	PGresult *res;

	memset(su, 0, sizeof(*su));
	auth_random_token(token);
	auth_random_token(csrf);
	auth_sha256_hex(token, hash);
	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(abs_s, sizeof(abs_s), "%d", absolute);
	snprintf(idle_s, sizeof(idle_s), "%d", idle);
	res = db_run(a, &st_create, p, e);
	if (!res)
		return -1;
	su->session_id = db_get_ll(res, 0, 0);
	su->user_id = user_id;
	su->csrf_token = arena_strdup(a, csrf);
	return 0;
}

int session_lookup_params(const char *token, int idle, char hash[AUTH_SHA256_HEX],
			  char idle_s[16], char touch_s[16])
{
	int touch = idle / 20;

	if (!auth_token_syntax(token))
		return 0;
	if (touch > 60)
		touch = 60;
	auth_sha256_hex(token, hash);
	snprintf(idle_s, 16, "%d", idle);
	snprintf(touch_s, 16, "%d", touch);
	return 1;
}

int session_adopt(struct arena *a, const PGresult *res, struct session_user *su)
{
	int stale;

	if (!session_user_read(res, 0, su, &stale))
		return 0;
	if (stale) {
		struct err ignore = ERR_INIT;
		char id[24];
		const char *tp[1] = {id};

		/* Best effort: a failed touch must not sign anyone out. */
		snprintf(id, sizeof(id), "%lld", su->session_id);
		db_run(a, &st_touch, tp, &ignore);
	}
	return 1;
}

int session_lookup(struct arena *a, const char *token, int idle, struct session_user *su,
		   struct err *e)
{
	char hash[AUTH_SHA256_HEX], idle_s[16], touch_s[16];
	const char *p[3] = {hash, idle_s, touch_s};
	PGresult *res;

	memset(su, 0, sizeof(*su));
	if (!session_lookup_params(token, idle, hash, idle_s, touch_s))
		return 0;
	res = db_run(a, &st_lookup, p, e);
	if (!res)
		return -1;
	return session_adopt(a, res, su);
}

int session_user_read(const PGresult *res, int via_token, struct session_user *su, int *stale)
{
	memset(su, 0, sizeof(*su));
	*stale = 0;
	if (db_rows(res) == 0 || !db_get(res, 0, 0))
		return 0;
	if (via_token)
		su->token_id = db_get_ll(res, 0, 0);
	else
		su->session_id = db_get_ll(res, 0, 0);
	su->user_id = db_get_ll(res, 0, 1);
	su->email = db_get(res, 0, 2);
	su->is_admin = db_get_bool(res, 0, 3);
	*stale = db_get_bool(res, 0, 4);
	if (!via_token)
		su->csrf_token = db_get(res, 0, 5);
	return 1;
}

int session_delete(struct arena *a, long long session_id, struct err *e)
{
	char id[24];
	const char *p[1] = {id};

	snprintf(id, sizeof(id), "%lld", session_id);
	return db_run(a, &st_delete, p, e) ? 0 : -1;
}
