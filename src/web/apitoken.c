/* apitoken.c - API tokens keyed by the SHA-256 of a random token, like sessions. */
#include <stdio.h>
#include <string.h>

#include "apitoken.h"
#include "db.h"

/* clang-format off */
#define AT_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* clang-format on */

/* Creating a token also drops the user's tokens that expired a day ago (API logins). */
/* clang-format off */
static struct db_stmt st_create = DB_STMT(
	"WITH gone AS (DELETE FROM api_tokens WHERE user_id = $1::bigint"
	" AND expires_at < now() - interval '1 day')"
	" INSERT INTO api_tokens (user_id, name, token_sha256, expires_at)"
	" VALUES ($1::bigint, $2, decode($3, 'hex'),"
	" CASE WHEN $4::int > 0 THEN now() + $4::int * interval '1 second' END)"
	" RETURNING id, " AT_TIME("expires_at"),
	4);
/* clang-format on */

/*
 * A read-only lookup: the common case touches nothing.  The row says when
 * last_used_at is over a minute old, and only then does a second statement
 * refresh it (at most one extra round trip per token per minute).  A
 * writable CTE in the same statement measured ~25% slower per request.
 */
/* clang-format off */
static struct db_stmt st_lookup = DB_STMT(APITOKEN_LOOKUP_SQL, 1);

static struct db_stmt st_touch = DB_STMT(
	"UPDATE api_tokens SET last_used_at = now() WHERE id = $1::bigint", 1);

static struct db_stmt st_revoke = DB_STMT(
	"UPDATE api_tokens SET revoked_at = now() "
	"WHERE id = $1::bigint AND user_id = $2::bigint AND revoked_at IS NULL",
	2);

static struct db_stmt st_list = DB_STMT(
	"SELECT id, name, " AT_TIME("created_at") ", " AT_TIME("last_used_at") ", "
	AT_TIME("expires_at") ", " AT_TIME("revoked_at")
	" FROM api_tokens WHERE user_id = $1::bigint"
	" AND (expires_at IS NULL OR expires_at > now()) ORDER BY id DESC LIMIT 200",
	1);
/* clang-format on */

int apitoken_create(struct arena *a, long long user_id, const char *name, int ttl,
		    char token[AUTH_TOKEN_LEN + 1], long long *id, const char **expires_at,
		    struct err *e)
{
	char uid[24], ttl_s[16], hash[AUTH_SHA256_HEX];
	const char *p[4] = {uid, name, hash, ttl_s};
	size_t n = name ? strlen(name) : 0;
	PGresult *res;

	if (n == 0 || n > APITOKEN_NAME_MAX || !auth_utf8_valid(name, n))
		return err_set(e, 422, "name must be 1 to %d characters", APITOKEN_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return err_set(e, 422, "name must not contain control characters");
	auth_random_token(token);
	auth_sha256_hex(token, hash);
	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(ttl_s, sizeof(ttl_s), "%d", ttl > 0 ? ttl : 0);
	res = db_run(a, &st_create, p, e);
	if (!res)
		return -1;
	if (id)
		*id = db_get_ll(res, 0, 0);
	if (expires_at)
		*expires_at = db_get(res, 0, 1);
	return 0;
}

int apitoken_lookup(struct arena *a, const char *token, struct session_user *su, struct err *e)
{
	char hash[AUTH_SHA256_HEX];
	const char *p[1] = {hash};
	PGresult *res;

	memset(su, 0, sizeof(*su));
	if (!auth_token_syntax(token))
		return 0;
	auth_sha256_hex(token, hash);
	res = db_run(a, &st_lookup, p, e);
	if (!res)
		return -1;
	return apitoken_adopt(a, res, su);
}

int apitoken_adopt(struct arena *a, const PGresult *res, struct session_user *su)
{
	int stale;

	if (!session_user_read(res, 1, su, &stale))
		return 0;
	if (stale) {
		struct err ignore = ERR_INIT;
		char id[24];
		const char *tp[1] = {id};

		/* Best effort: a failed touch must not refuse a valid token. */
		snprintf(id, sizeof(id), "%lld", su->token_id);
		db_run(a, &st_touch, tp, &ignore);
	}
	return 1;
}

int apitoken_revoke(struct arena *a, long long user_id, long long id, struct err *e)
{
	char tid[24], uid[24];
	const char *p[2] = {tid, uid};
	PGresult *res;

	snprintf(tid, sizeof(tid), "%lld", id);
	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = db_run(a, &st_revoke, p, e);
	if (!res)
		return -1;
	return PQcmdTuples(res)[0] == '1';
}

PGresult *apitoken_list(struct arena *a, long long user_id, struct err *e)
{
	char uid[24];
	const char *p[1] = {uid};

	snprintf(uid, sizeof(uid), "%lld", user_id);
	return db_run(a, &st_list, p, e);
}
