/* auth.c - argon2id passwords, random tokens and their hashes, email/password rules, users. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "db.h"

#define AUTH_OPSLIMIT 2
#define AUTH_MEMLIMIT (19u * 1024 * 1024)

/* The argon2id hash of a random password nobody knows, with our parameters. */
/* clang-format off */
static const char auth_dummy_hash[] =
	"$argon2id$v=19$m=19456,t=2,p=1$iqkXiK6XNKXGswL/91LImA$"
	"LZuM4uN1CKNjwGvQP+RVDIeGmQFBp3amxJlemzryOpw";
/* clang-format on */

int auth_init(struct err *e)
{
	if (sodium_init() < 0)
		return err_set(e, 500, "libsodium: cannot initialise");
	return 0;
}

int auth_hash_password(const char *pw, char out[AUTH_HASH_MAX], struct err *e)
{
	if (auth_init(e) < 0)
		return -1;
	if (crypto_pwhash_str(out, pw, strlen(pw), AUTH_OPSLIMIT, AUTH_MEMLIMIT) != 0)
		return err_set(e, 500, "password hash: out of memory");
	return 0;
}

int auth_verify_password(const char *hash, const char *pw)
{
	int known = hash != NULL;

	if (sodium_init() < 0)
		return 0;
	if (crypto_pwhash_str_verify(known ? hash : auth_dummy_hash, pw, strlen(pw)) != 0)
		return 0;
	return known;
}

int auth_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= need)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

int auth_check_password(const char *pw, size_t n, struct err *e)
{
	size_t chars = 0;

	if (!pw || n == 0)
		return err_set(e, 422, "password is required");
	if (n > AUTH_PASSWORD_MAX)
		return err_set(e, 422, "password must be at most %d bytes", AUTH_PASSWORD_MAX);
	if (memchr(pw, 0, n) || !auth_utf8_valid(pw, n))
		return err_set(e, 422, "password must be valid UTF-8 text without NUL bytes");
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)pw[i] & 0xc0) != 0x80)
			chars++;
	if (chars < AUTH_PASSWORD_MIN)
		return err_set(e, 422, "password must be at least %d characters",
			       AUTH_PASSWORD_MIN);
	return 0;
}

static int auth_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

static int auth_ldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

int auth_check_email(const char *email, size_t n, struct err *e)
{
	const char *at;
	size_t local, i, label = 0;

	if (!email || n == 0)
		return err_set(e, 422, "email is required");
	if (n < 3 || n > AUTH_EMAIL_MAX || memchr(email, 0, n))
		return err_set(e, 422, "email must be 3 to %d characters", AUTH_EMAIL_MAX);
	at = memchr(email, '@', n);
	if (!at || memchr(at + 1, '@', n - (size_t)(at - email) - 1))
		return err_set(e, 422, "email must look like name@example.com");
	local = (size_t)(at - email);
	if (local == 0 || local > 64 || email[0] == '.' || email[local - 1] == '.')
		return err_set(e, 422, "email must look like name@example.com");
	for (i = 0; i < local; i++) {
		if (email[i] == '.' && email[i + 1] == '.')
			return err_set(e, 422, "email must look like name@example.com");
		if (email[i] != '.' && !auth_atext((unsigned char)email[i]))
			return err_set(e, 422, "email must look like name@example.com");
	}
	for (i = local + 1; i <= n; i++) {
		int c = i < n ? (unsigned char)email[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63 || email[i - 1] == '-')
				return err_set(e, 422, "email must look like name@example.com");
			label = 0;
			continue;
		}
		if (!auth_ldh(c) || (label == 0 && c == '-'))
			return err_set(e, 422, "email must look like name@example.com");
		label++;
	}
	return 0;
}

void auth_random_token(char out[AUTH_TOKEN_LEN + 1])
{
	unsigned char raw[32];

	if (sodium_init() < 0)
		BUG("libsodium: cannot initialise");
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, AUTH_TOKEN_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void auth_random_password(char out[25])
{
	unsigned char raw[18];

	if (sodium_init() < 0)
		BUG("libsodium: cannot initialise");
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, 25, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void auth_sha256_hex(const char *s, char out[AUTH_SHA256_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	sodium_bin2hex(out, AUTH_SHA256_HEX, h, sizeof(h));
}

int auth_token_syntax(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		int c = (unsigned char)s[n];

		if (n >= AUTH_TOKEN_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return n >= 16;
}

int auth_equal(const char *a, const char *b)
{
	size_t n;

	if (!a || !b)
		return 0;
	n = strlen(a);
	if (n != strlen(b))
		return 0;
	return sodium_memcmp(a, b, n) == 0;
}

/* --- users ------------------------------------------------------------- */

/* Any constant: serialises "is this the first user?" across processes. */
#define AUTH_FIRST_USER_LOCK "7302001"

/* clang-format off */
static struct db_stmt st_lock = DB_STMT("SELECT pg_advisory_xact_lock(" AUTH_FIRST_USER_LOCK ")", 0);

static struct db_stmt st_insert = DB_STMT(
	"INSERT INTO users (email, password_hash, role) "
	"SELECT $1, $2, CASE WHEN $3::boolean OR NOT EXISTS (SELECT 1 FROM users) "
	"THEN 'admin' ELSE 'tenant' END "
	"ON CONFLICT ((lower(email))) DO NOTHING "
	"RETURNING id, role = 'admin'",
	3);

static struct db_stmt st_find = DB_STMT(
	"SELECT id, email, password_hash, role = 'admin', disabled_at IS NOT NULL, "
	"email_verified_at IS NOT NULL "
	"FROM users WHERE lower(email) = lower($1)",
	1);

/* An operator's account (storefleetctl) needs no link: the operator vouches for it. */
static struct db_stmt st_vouch = DB_STMT(
	"UPDATE users SET email_verified_at = now() WHERE id = $1::bigint", 1);

static struct db_stmt st_count = DB_STMT("SELECT count(*) FROM users", 0);
/* clang-format on */

int auth_user_insert(struct arena *a, const char *email, const char *password_hash, int admin,
		     struct auth_user *u, struct err *e)
{
	const char *p[3] = {email, password_hash, admin ? "true" : "false"};
	PGresult *res;

	memset(u, 0, sizeof(*u));
	if (!db_run(a, &st_lock, NULL, e))
		return -1;
	res = db_run(a, &st_insert, p, e);
	if (!res)
		return -1;
	if (db_rows(res) == 0)
		return 0;
	u->id = db_get_ll(res, 0, 0);
	u->is_admin = db_get_bool(res, 0, 1);
	u->email = arena_strdup(a, email);
	u->password_hash = arena_strdup(a, password_hash);
	return 1;
}

struct auth_create {
	struct arena *a;
	const char *email, *password_hash;
	int admin;
	struct auth_user *u;
};

static int auth_create_tx(void *ctx, struct err *e)
{
	struct auth_create *c = ctx;
	int n = auth_user_insert(c->a, c->email, c->password_hash, c->admin, c->u, e);

	if (n == 0)
		return err_set(e, 409, "an account with this email already exists");
	if (n < 0 ||
	    !db_run(c->a, &st_vouch, (const char *[]){arena_printf(c->a, "%lld", c->u->id)}, e))
		return -1;
	return 0;
}

int auth_user_create(struct arena *a, const char *email, const char *password_hash, int admin,
		     struct auth_user *u, struct err *e)
{
	struct auth_create c = {a, email, password_hash, admin, u};

	memset(u, 0, sizeof(*u));
	if (db_tx(auth_create_tx, &c, e) < 0) {
		memset(u, 0, sizeof(*u));
		return -1;
	}
	return 0;
}

int auth_user_find(struct arena *a, const char *email, struct auth_user *u, struct err *e)
{
	const char *p[1] = {email};
	PGresult *res = db_run(a, &st_find, p, e);

	memset(u, 0, sizeof(*u));
	if (!res)
		return -1;
	if (db_rows(res) == 0)
		return 0;
	u->id = db_get_ll(res, 0, 0);
	u->email = db_get(res, 0, 1);
	u->password_hash = db_get(res, 0, 2);
	u->is_admin = db_get_bool(res, 0, 3);
	u->disabled = db_get_bool(res, 0, 4);
	u->verified = db_get_bool(res, 0, 5);
	return 1;
}

long long auth_user_count(struct arena *a, struct err *e)
{
	PGresult *res = db_run(a, &st_count, NULL, e);

	return res ? db_get_ll(res, 0, 0) : -1;
}
