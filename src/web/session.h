/* session.h - server-side sessions: create at login, look up per request, delete at logout. */
#ifndef SF_SESSION_H
#define SF_SESSION_H

#include <libpq-fe.h>

#include "arena.h"
#include "auth.h"
#include "err.h"

/*
 * The browser holds a random 256-bit token; the sessions row holds its
 * SHA-256, the user, a per-session CSRF token and three times.  A session
 * is valid while now() < expires_at (absolute limit, set at creation) and
 * now() - last_seen_at < the idle limit - both checked in the lookup
 * query against the database clock, so every worker agrees.  The lookup
 * is one read-only statement joining users (disabled users are refused at
 * once); a second statement refreshes last_seen_at only when it is older
 * than a twentieth of the idle limit (at most a minute), so almost every
 * request costs one round trip and no write.
 */
struct session_user {
	long long session_id; /* 0 for API tokens */
	long long token_id;   /* 0 for sessions */
	long long user_id;
	const char *email;
	int is_admin;
	const char *csrf_token; /* sessions only */
};

/*
 * Create a session for user_id (ip may be NULL).  OUT: token (the cookie
 * value, shown to nobody else) and, in *su, the new session's ids and CSRF
 * token (arena strings).  0 or -1 with e.
 */
int session_create(struct arena *a, long long user_id, const char *ip, int idle, int absolute,
		   char token[AUTH_TOKEN_LEN + 1], struct session_user *su, struct err *e);

/*
 * Find the live session for a cookie token.  1 found (*su filled), 0 no
 * such live session (or a malformed token, or a disabled user), -1 error
 * (503 when the database is down).
 */
int session_lookup(struct arena *a, const char *token, int idle, struct session_user *su,
		   struct err *e);

/*
 * Who a lookup found: row 0 of res, whose first columns are, in this order,
 * the session's (or with via_token the API token's) id, the user's id,
 * email and is-admin, whether the session's or token's last use is stale
 * (to be refreshed), and for sessions the CSRF token.  The one mapping of
 * both lookups (session_lookup, apitoken_lookup and the statements joined
 * to APITOKEN_LOOKUP_SQL).  1 with *su filled (strings borrowed from res)
 * and *stale set, 0 when there is no row or its first column is NULL.
 */
int session_user_read(const PGresult *res, int via_token, struct session_user *su, int *stale);

/*
 * The lookup as SQL, for statements that join what a page needs to it (one
 * round trip on a hot path: store_list_session), its parameters named by the
 * caller: the cookie token's SHA-256 in hex, the idle limit and the touch
 * interval in seconds (session_lookup_params fills them).  Columns: session
 * id, user id, email, is admin, last_seen_at stale, CSRF token
 * (session_user_read's order); session_adopt takes the result.
 */
/* clang-format off */
#define SESSION_LOOKUP_SQL(hash, idle, touch)                                              \
	"SELECT s.id, u.id, u.email, u.role = 'admin',"                                    \
	" s.last_seen_at < now() - " touch "::int * interval '1 second', s.csrf_token"     \
	" FROM sessions s JOIN users u ON u.id = s.user_id"                                \
	" WHERE s.token_sha256 = decode(" hash ", 'hex') AND s.expires_at > now()"         \
	" AND s.last_seen_at > now() - " idle "::int * interval '1 second'"                \
	" AND u.disabled_at IS NULL"
/* clang-format on */
#define SESSION_LOOKUP_COLS 6

/* The lookup's parameters for a cookie token: 1, or 0 when the token is malformed. */
int session_lookup_params(const char *token, int idle, char hash[AUTH_SHA256_HEX],
			  char idle_s[16], char touch_s[16]);

/* A result whose first columns are SESSION_LOOKUP_SQL's: 1 found (*su filled, stale touched). */
int session_adopt(struct arena *a, const PGresult *res, struct session_user *su);

/* Delete one session. 0 or -1. */
int session_delete(struct arena *a, long long session_id, struct err *e);

#endif
