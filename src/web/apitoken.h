/* apitoken.h - API tokens: created once, stored as SHA-256, listed, revoked, checked per request.
 */
#ifndef SF_APITOKEN_H
#define SF_APITOKEN_H

#include <libpq-fe.h>

#include "arena.h"
#include "auth.h"
#include "err.h"
#include "session.h"

#define APITOKEN_NAME_MAX 64

/*
 * Create a token named name (1..64 bytes of UTF-8) for user_id; ttl > 0
 * makes it expire after ttl seconds (tokens from POST /auth/login), 0 keeps
 * it until revoked.  OUT: token (shown to the user once, never stored),
 * *id, and *expires_at (arena string, RFC 3339 UTC, or NULL).
 * 0 or -1 with e (422 for a bad name).
 */
int apitoken_create(struct arena *a, long long user_id, const char *name, int ttl,
		    char token[AUTH_TOKEN_LEN + 1], long long *id, const char **expires_at,
		    struct err *e);

/*
 * Find the user of a live token (not revoked, not expired, user not
 * disabled) in one read-only round trip; last_used_at is refreshed by a
 * second statement at most once a minute.  1 found (*su filled, su->token_id set), 0 not found, -1
 * error.
 */
int apitoken_lookup(struct arena *a, const char *token, struct session_user *su, struct err *e);

/*
 * The lookup statement itself ($1 = auth_sha256_hex of the token), for
 * handlers that answer in one round trip by joining their own query to it
 * (WITH who AS (APITOKEN_LOOKUP_SQL) ...).  Columns: token id, user id,
 * email, is admin, last_used_at stale (session_user_read's order).  Those
 * handlers then call apitoken_adopt on a result whose first five columns
 * are these (NULL when no live token matched): 1 found (*su filled,
 * last_used_at touched when stale), 0 not found.
 */
/* clang-format off */
#define APITOKEN_LOOKUP_SQL                                                            \
	"SELECT t.id, u.id, u.email, u.role = 'admin',"                                    \
	" t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute'"          \
	" FROM api_tokens t JOIN users u ON u.id = t.user_id"                              \
	" WHERE t.token_sha256 = decode($1, 'hex') AND t.revoked_at IS NULL"               \
	" AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.disabled_at IS NULL"
/* clang-format on */
int apitoken_adopt(struct arena *a, const PGresult *res, struct session_user *su);

/* Revoke token id if it belongs to user_id.  1 revoked, 0 no such live token, -1 error. */
int apitoken_revoke(struct arena *a, long long user_id, long long id, struct err *e);

/*
 * The user's unexpired tokens (revoked ones included), newest 200 first: columns id, name,
 * created_at, last_used_at, expires_at, revoked_at (RFC 3339 UTC text or NULL). OUT: result owned
 * by the arena; NULL with e on error.
 */
PGresult *apitoken_list(struct arena *a, long long user_id, struct err *e);

#endif
