/* recovery.h - one-use links sent by email (password reset, address verification), and the
 * account changes they allow. */
#ifndef SF_RECOVERY_H
#define SF_RECOVERY_H

#include "arena.h"
#include "auth.h"
#include "err.h"

/*
 * A link carries a 256-bit random token (libsodium, base64url); the
 * email_tokens row keeps only its SHA-256, the purpose ("reset", "verify"),
 * the address it was sent to and an expiry on the database clock.  Using a
 * token is one UPDATE that sets used_at only where it is unused and
 * unexpired, so two uses racing cannot both succeed.
 */

/*
 * A new token for user_id, valid ttl seconds.  OUT: token (the link's
 * secret, nowhere else).  0 or -1 with e.
 */
int recovery_token_create(struct arena *a, long long user_id, const char *purpose,
			  const char *email, int ttl, char token[AUTH_TOKEN_LEN + 1],
			  struct err *e);

/*
 * Is token a live token of this purpose (unused, unexpired, its user not
 * disabled)?  1 yes (OUT: *email the address it went to, arena), 0 no,
 * -1 error.  Uses nothing.
 */
int recovery_token_peek(struct arena *a, const char *token, const char *purpose, const char **email,
			struct err *e);

/*
 * Use token (inside the caller's transaction): 1 used (OUT: *user_id,
 * *email of the user now), 0 not a live token of this purpose (malformed,
 * unknown, used, expired, or its user disabled), -1 error.  Using a reset
 * token also retires every other live reset token of that user.
 */
int recovery_token_use(struct arena *a, const char *token, const char *purpose, long long *user_id,
		       const char **email, struct err *e);

/* Set a user's password hash. 0 or -1. */
int recovery_set_password(struct arena *a, long long user_id, const char *hash, struct err *e);

/* Delete every session of a user (API tokens stay).  OUT: *n sessions deleted. 0 or -1. */
int recovery_end_sessions(struct arena *a, long long user_id, long long *n, struct err *e);

/* Delete every session of a user but one (keep_session_id). 0 or -1. */
int recovery_end_other_sessions(struct arena *a, long long user_id, long long keep_session_id,
				struct err *e);

/* Change a user's email (unverified again).  0, or -1 with e (409 when taken). */
int recovery_set_email(struct arena *a, long long user_id, const char *email, struct err *e);

/* Mark a user's address verified (now) if it was not. 0 or -1. */
int recovery_mark_verified(struct arena *a, long long user_id, struct err *e);

/* The notices an owner may turn off, in this order (users.notify_*). */
#define RECOVERY_NOTICES 3
extern const char *const recovery_notices[RECOVERY_NOTICES];

/* OUT: prefs[i] for recovery_notices[i], *verified (address confirmed). 0 or -1. */
int recovery_prefs_get(struct arena *a, long long user_id, int prefs[RECOVERY_NOTICES],
		       int *verified, struct err *e);
int recovery_prefs_set(struct arena *a, long long user_id, const int prefs[RECOVERY_NOTICES],
		       struct err *e);

#endif
