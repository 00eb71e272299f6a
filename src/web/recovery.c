/* recovery.c - one-use email links stored as SHA-256, and the account updates they lead to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "recovery.h"

/* clang-format off */
static struct db_stmt st_create = DB_STMT(
	"INSERT INTO email_tokens (user_id, purpose, token_sha256, email, expires_at) "
	"VALUES ($1::bigint, $2, decode($3, 'hex'), $4, now() + make_interval(secs => $5::int))",
	5);
static struct db_stmt st_peek = DB_STMT(
	"SELECT t.email FROM email_tokens t JOIN users u ON u.id = t.user_id "
	"WHERE t.token_sha256 = decode($1, 'hex') AND t.purpose = $2 AND t.used_at IS NULL "
	"AND t.expires_at > now() AND u.disabled_at IS NULL",
	2);
static struct db_stmt st_use = DB_STMT(
	"UPDATE email_tokens t SET used_at = now() FROM users u "
	"WHERE u.id = t.user_id AND t.token_sha256 = decode($1, 'hex') AND t.purpose = $2 "
	"AND t.used_at IS NULL AND t.expires_at > now() AND u.disabled_at IS NULL "
	"RETURNING t.user_id, u.email",
	2);
static struct db_stmt st_retire = DB_STMT(
	"UPDATE email_tokens SET used_at = now() "
	"WHERE user_id = $1::bigint AND purpose = $2 AND used_at IS NULL",
	2);
static struct db_stmt st_password = DB_STMT(
	"UPDATE users SET password_hash = $2 WHERE id = $1::bigint", 2);
static struct db_stmt st_end = DB_STMT("DELETE FROM sessions WHERE user_id = $1::bigint", 1);
static struct db_stmt st_end_others = DB_STMT(
	"DELETE FROM sessions WHERE user_id = $1::bigint AND id <> $2::bigint", 2);
static struct db_stmt st_email = DB_STMT(
	"UPDATE users SET email = $2, email_verified_at = NULL WHERE id = $1::bigint", 2);
static struct db_stmt st_verified = DB_STMT(
	"UPDATE users SET email_verified_at = now() "
	"WHERE id = $1::bigint AND email_verified_at IS NULL",
	1);
static struct db_stmt st_prefs = DB_STMT(
	"SELECT notify_store_ready, notify_store_failed, notify_upgrade_rolled_back, "
	"email_verified_at IS NOT NULL FROM users WHERE id = $1::bigint",
	1);
static struct db_stmt st_set_prefs = DB_STMT(
	"UPDATE users SET notify_store_ready = $2::boolean, notify_store_failed = $3::boolean, "
	"notify_upgrade_rolled_back = $4::boolean WHERE id = $1::bigint",
	4);
/* clang-format on */

const char *const recovery_notices[RECOVERY_NOTICES] = {"store_ready", "store_failed",
							"upgrade_rolled_back"};

int recovery_token_create(struct arena *a, long long user_id, const char *purpose,
			  const char *email, int ttl, char token[AUTH_TOKEN_LEN + 1], struct err *e)
{
	char hash[AUTH_SHA256_HEX];
	const char *uid = arena_printf(a, "%lld", user_id), *t = arena_printf(a, "%d", ttl);

	auth_random_token(token);
	auth_sha256_hex(token, hash);
	return db_run(a, &st_create, (const char *[]){uid, purpose, hash, email, t}, e) ? 0 : -1;
}

int recovery_token_peek(struct arena *a, const char *token, const char *purpose, const char **email,
			struct err *e)
{
	char hash[AUTH_SHA256_HEX];
	PGresult *res;

	*email = NULL;
	if (!token || !auth_token_syntax(token))
		return 0;
	auth_sha256_hex(token, hash);
	res = db_run(a, &st_peek, (const char *[]){hash, purpose}, e);
	if (!res)
		return -1;
	if (!db_rows(res))
		return 0;
	*email = db_get(res, 0, 0);
	return 1;
}

int recovery_token_use(struct arena *a, const char *token, const char *purpose, long long *user_id,
		       const char **email, struct err *e)
{
	char hash[AUTH_SHA256_HEX];
	PGresult *res;

	*user_id = 0;
	*email = NULL;
	if (!token || !auth_token_syntax(token))
		return 0;
	auth_sha256_hex(token, hash);
	res = db_run(a, &st_use, (const char *[]){hash, purpose}, e);
	if (!res)
		return -1;
	if (!db_rows(res))
		return 0;
	*user_id = db_get_ll(res, 0, 0);
	*email = db_get(res, 0, 1);
	if (!strcmp(purpose, "reset") &&
	    !db_run(a, &st_retire, (const char *[]){db_get(res, 0, 0), purpose}, e))
		return -1;
	return 1;
}

int recovery_set_password(struct arena *a, long long user_id, const char *hash, struct err *e)
{
	const char *uid = arena_printf(a, "%lld", user_id);

	return db_run(a, &st_password, (const char *[]){uid, hash}, e) ? 0 : -1;
}

int recovery_end_sessions(struct arena *a, long long user_id, long long *n, struct err *e)
{
	const char *uid = arena_printf(a, "%lld", user_id);
	PGresult *res = db_run(a, &st_end, (const char *[]){uid}, e);

	if (!res)
		return -1;
	if (n)
		*n = strtoll(PQcmdTuples(res), NULL, 10);
	return 0;
}

int recovery_end_other_sessions(struct arena *a, long long user_id, long long keep_session_id,
				struct err *e)
{
	const char *uid = arena_printf(a, "%lld", user_id),
		   *keep = arena_printf(a, "%lld", keep_session_id);

	return db_run(a, &st_end_others, (const char *[]){uid, keep}, e) ? 0 : -1;
}

int recovery_set_email(struct arena *a, long long user_id, const char *email, struct err *e)
{
	const char *uid = arena_printf(a, "%lld", user_id);

	return db_run(a, &st_email, (const char *[]){uid, email}, e) ? 0 : -1;
}

int recovery_mark_verified(struct arena *a, long long user_id, struct err *e)
{
	const char *uid = arena_printf(a, "%lld", user_id);

	return db_run(a, &st_verified, (const char *[]){uid}, e) ? 0 : -1;
}

int recovery_prefs_get(struct arena *a, long long user_id, int prefs[RECOVERY_NOTICES],
		       int *verified, struct err *e)
{
	const char *uid = arena_printf(a, "%lld", user_id);
	PGresult *res = db_run(a, &st_prefs, (const char *[]){uid}, e);

	if (!res)
		return -1;
	for (int i = 0; i < RECOVERY_NOTICES; i++)
		prefs[i] = db_rows(res) ? db_get_bool(res, 0, i) : 0;
	*verified = db_rows(res) ? db_get_bool(res, 0, RECOVERY_NOTICES) : 0;
	return 0;
}

int recovery_prefs_set(struct arena *a, long long user_id, const int prefs[RECOVERY_NOTICES],
		       struct err *e)
{
	const char *p[] = {arena_printf(a, "%lld", user_id), prefs[0] ? "true" : "false",
			   prefs[1] ? "true" : "false", prefs[2] ? "true" : "false"};

	return db_run(a, &st_set_prefs, p, e) ? 0 : -1;
}
