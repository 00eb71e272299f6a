/* auth.h - passwords, random tokens, token hashes, input rules, and the users table. */
#ifndef SF_AUTH_H
#define SF_AUTH_H

#include <stddef.h>

#include "arena.h"
#include "err.h"

/*
 * Passwords are argon2id strings from libsodium's crypto_pwhash_str with
 * t = 2 and m = 19 MiB (the OWASP minimum; enough, and a login stays near
 * 50 ms).  Tokens (sessions, API tokens, CSRF) are 32 bytes from
 * randombytes_buf, base64url without padding; the database keeps only
 * their SHA-256.  Verifying against a fixed dummy hash when an email is
 * unknown makes both failures take the same time.
 */
#define AUTH_HASH_MAX	  128 /* crypto_pwhash_STRBYTES */
#define AUTH_TOKEN_LEN	  43  /* base64url of 32 bytes, no padding */
#define AUTH_TOKEN_MAX	  128 /* longest token accepted from outside */
#define AUTH_SHA256_HEX	  65  /* 64 hex digits + NUL */
#define AUTH_EMAIL_MAX	  254
#define AUTH_PASSWORD_MIN 10  /* characters (code points) */
#define AUTH_PASSWORD_MAX 256 /* bytes */

/* Initialise libsodium (idempotent). 0 or -1 with e (500). */
int auth_init(struct err *e);

/* Hash pw (NUL-terminated) into out. 0 or -1 with e (500: out of memory). */
int auth_hash_password(const char *pw, char out[AUTH_HASH_MAX], struct err *e);

/*
 * 1 when pw matches hash.  hash == NULL verifies against the dummy hash
 * (and returns 0), so an unknown account costs the same time as a known one.
 */
int auth_verify_password(const char *hash, const char *pw);

/* Password rules: >= 10 characters, <= 256 bytes, valid UTF-8, no NUL. 0 or 422 + e. */
int auth_check_password(const char *pw, size_t n, struct err *e);

/*
 * Email rules: 3..254 bytes, ASCII, local@domain with a dot-atom local part
 * (<= 64) and LDH labels (no dot needed: admin@localhost is fine).
 * 0 or 422 + e.
 */
int auth_check_email(const char *email, size_t n, struct err *e);

/* 1 when s[0..n) is valid UTF-8 without NUL. */
int auth_utf8_valid(const char *s, size_t n);

/* A fresh random token (AUTH_TOKEN_LEN chars + NUL) into out. */
void auth_random_token(char out[AUTH_TOKEN_LEN + 1]);

/* A readable generated password (24 base64url chars) into out. */
void auth_random_password(char out[25]);

/* Lower-case hex SHA-256 of the string s into out. */
void auth_sha256_hex(const char *s, char out[AUTH_SHA256_HEX]);

/* 1 when s looks like one of our tokens: base64url, 16..AUTH_TOKEN_MAX chars. */
int auth_token_syntax(const char *s);

/* Constant-time string equality (the length is not secret). */
int auth_equal(const char *a, const char *b);

/* --- users ------------------------------------------------------------- */

struct auth_user {
	long long id;
	const char *email;
	const char *password_hash;
	int is_admin;
	int disabled;
	int verified; /* email_verified_at is set (auth_user_find only) */
};

/*
 * Create a user (storefleetctl: the address counts as verified).  The first
 * user ever becomes admin whatever `admin` says
 * (an advisory lock makes "first" race-free).  OUT: *u (arena strings).
 * Errors: 409 when the email exists (case-insensitively), 503, 500.
 */
int auth_user_create(struct arena *a, const char *email, const char *password_hash, int admin,
		     struct auth_user *u, struct err *e);

/*
 * auth_user_create's work inside the caller's transaction (a db_tx
 * callback), for callers that write more in the same commit.  An email
 * that exists is not an error and leaves the transaction usable: the
 * INSERT does nothing (ON CONFLICT DO NOTHING), so a taken address costs
 * the same statements as a free one.  1 created (OUT: *u, arena strings),
 * 0 the email exists (*u zeroed, nothing changed), -1 error in e.
 */
int auth_user_insert(struct arena *a, const char *email, const char *password_hash, int admin,
		     struct auth_user *u, struct err *e);

/* Look up by email (case-insensitive).  1 found, 0 not found, -1 error. */
int auth_user_find(struct arena *a, const char *email, struct auth_user *u, struct err *e);

/* How many users exist. -1 on error. */
long long auth_user_count(struct arena *a, struct err *e);

#endif
