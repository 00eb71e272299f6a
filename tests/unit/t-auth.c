/* t-auth.c - the pure parts of auth.c: password and email rules, hashes, tokens, comparisons. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "db.h"
#include "tap.h"

static int pw_ok(const char *pw)
{
	struct err e = ERR_INIT;

	return auth_check_password(pw, strlen(pw), &e) == 0;
}

static int email_ok(const char *s)
{
	struct err e = ERR_INIT;

	return auth_check_email(s, strlen(s), &e) == 0;
}

/*
 * This thread's CPU time: Argon2 is all CPU, so equal parameters mean equal CPU
 * time, and a loaded machine (prove -j2 beside other builds) cannot make one
 * side look twice the other as it could with the wall clock.
 */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_passwords(void)
{
	char big[300];
	struct err e = ERR_INIT;

	ok(!pw_ok(""), "empty password refused");
	ok(!pw_ok("123456789"), "9 characters refused");
	ok(pw_ok("1234567890"), "10 characters accepted");
	/* 10 characters but 20 bytes: the minimum counts characters */
	ok(pw_ok("éééééééééé"), "10 two-byte characters accepted");
	ok(!pw_ok("ééééé"), "5 two-byte characters (10 bytes) refused");
	memset(big, 'a', 256);
	big[256] = 0;
	ok(pw_ok(big), "256 bytes accepted");
	big[256] = 'a';
	big[257] = 0;
	ok(!pw_ok(big), "257 bytes refused");
	ok(!pw_ok("abcdefghij\xff"), "invalid UTF-8 refused");
	ok(!pw_ok("abcdefghij\xc0\xaf"), "overlong UTF-8 refused");
	ok(!pw_ok("abcdefghij\xed\xa0\x80"), "UTF-16 surrogate refused");
	ok(auth_check_password("abcde\0fghijk", 12, &e) < 0 && e.status == 422,
	   "NUL inside refused with 422");
	ok(strstr(e.msg, "NUL") != NULL, "message names the NUL problem: %s", e.msg);
}

static void test_emails(void)
{
	char big[300];

	ok(email_ok("admin@localhost"), "admin@localhost accepted (no dot needed)");
	ok(email_ok("first.last+tag@sub.example.com"), "dots and plus accepted");
	ok(email_ok("O'Brien@example.ie"), "apostrophe accepted");
	ok(!email_ok("plainaddress"), "no @ refused");
	ok(!email_ok("a@b@example.com"), "two @ refused");
	ok(!email_ok("@example.com"), "empty local part refused");
	ok(!email_ok("a@"), "empty domain refused");
	ok(!email_ok(".a@example.com"), "leading dot refused");
	ok(!email_ok("a..b@example.com"), "double dot refused");
	ok(!email_ok("a@-example.com"), "label starting with - refused");
	ok(!email_ok("a@example-.com"), "label ending with - refused");
	ok(!email_ok("a@example..com"), "empty label refused");
	ok(!email_ok("a b@example.com"), "space refused");
	ok(!email_ok("a@exa_mple.com"), "underscore in domain refused");
	ok(!email_ok("<script>@example.com"), "angle brackets refused");
	ok(!email_ok("j\xc3\xa9@example.com"), "non-ASCII refused");
	memset(big, 'a', 250);
	memcpy(big + 250, "@b.c", 5);
	ok(!email_ok(big), "254+ bytes refused");
	memset(big, 'a', 65);
	memcpy(big + 65, "@example.com", 13);
	ok(!email_ok(big), "65-byte local part refused");
}

static void test_hashing(void)
{
	char h[AUTH_HASH_MAX], h2[AUTH_HASH_MAX];
	struct err e = ERR_INIT;
	double t0, t_known, t_unknown;

	ok(auth_hash_password("correct horse battery", h, &e) == 0, "hash made");
	ok(!strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31), "argon2id, m=19 MiB, t=2: %s", h);
	ok(auth_hash_password("correct horse battery", h2, &e) == 0 && strcmp(h, h2),
	   "salted: two hashes of one password differ");
	ok(auth_verify_password(h, "correct horse battery") == 1, "right password verifies");
	ok(auth_verify_password(h, "correct horse batterz") == 0, "wrong password fails");
	ok(auth_verify_password(NULL, "correct horse battery") == 0,
	   "unknown account (dummy hash) fails");
	ok(auth_verify_password("garbage", "x") == 0, "a malformed hash fails");

	/*
	 * The dummy hash must cost what a real one costs: it has the same
	 * parameters (read from auth.c, where it is written), and it takes time
	 * of the same order.  The timing bound is loose on purpose: Argon2 is
	 * memory-bound, and on a busy machine even the fastest of 5 in CPU time
	 * once made one side twice the other; a dummy that skipped the hash
	 * would still be 100 times too fast.
	 */
	{
		static char src[1 << 17];
		const char *root = getenv("SF_ROOT"), *d;
		char path[4096], params[64] = "";
		FILE *f;
		size_t n = 0;

		snprintf(path, sizeof(path), "%s/src/web/auth.c", root ? root : ".");
		if ((f = fopen(path, "r"))) {
			n = fread(src, 1, sizeof(src) - 1, f);
			fclose(f);
		}
		src[n] = '\0';
		if ((d = strstr(src, "auth_dummy_hash[] =")) && (d = strchr(d, '"')))
			snprintf(params, sizeof(params), "%.31s", d + 1);
		is_str(params, "$argon2id$v=19$m=19456,t=2,p=1$",
		       "the dummy hash has a real hash's parameters");
		ok(!strncmp(h, params, 31), "... the ones auth_hash_password uses");
	}
	t_known = t_unknown = 1e9;
	for (int i = 0; i < 5; i++) {
		t0 = cpu_ms();
		auth_verify_password(h, "wrong password!");
		t_known = fmin(t_known, cpu_ms() - t0);
		t0 = cpu_ms();
		auth_verify_password(NULL, "wrong password!");
		t_unknown = fmin(t_unknown, cpu_ms() - t0);
	}
	diag("fastest of 5 verifies: known %.1f ms, unknown %.1f ms", t_known, t_unknown);
	ok(t_unknown > t_known / 3 && t_unknown < t_known * 3,
	   "dummy verification takes time of the same order as a real one");
}

static void test_tokens(void)
{
	char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1], hex[AUTH_SHA256_HEX], pw[25];

	auth_random_token(a);
	auth_random_token(b);
	is_int(strlen(a), 43, "token is 43 base64url characters (256 bits)");
	ok(strcmp(a, b), "two tokens differ");
	ok(auth_token_syntax(a), "our token passes the syntax check");
	ok(!auth_token_syntax("short"), "a short token fails the syntax check");
	ok(!auth_token_syntax("abcdefghijklmnopqrstuvwxyz=="), "padding fails the syntax check");
	ok(!auth_token_syntax("abcdefghijklmnop qrst"), "a space fails the syntax check");
	{
		char big[200];

		memset(big, 'a', 199);
		big[199] = 0;
		ok(!auth_token_syntax(big), "an oversized token fails the syntax check");
	}
	ok(!auth_token_syntax(NULL), "NULL fails the syntax check");

	auth_sha256_hex("abc", hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "SHA-256 of 'abc' (FIPS 180-2 vector)");

	auth_random_password(pw);
	is_int(strlen(pw), 24, "generated password has 24 characters");
	ok(pw_ok(pw), "generated password passes the password rules");

	ok(auth_equal("same", "same"), "equal strings compare equal");
	ok(!auth_equal("same", "samf"), "different strings differ");
	ok(!auth_equal("same", "sam"), "prefix differs");
	ok(!auth_equal(NULL, "x"), "NULL never equal");
}

static void test_sqlstate(void)
{
	is_int(db_status_for_sqlstate("23505"), 409, "unique violation -> 409");
	is_int(db_status_for_sqlstate("40001"), 503, "serialization failure -> 503 (retry)");
	is_int(db_status_for_sqlstate("40P01"), 503, "deadlock -> 503 (retry)");
	is_int(db_status_for_sqlstate("08006"), 503, "connection failure -> 503");
	is_int(db_status_for_sqlstate("57P01"), 503, "admin shutdown -> 503");
	is_int(db_status_for_sqlstate("22P02"), 422, "invalid text representation -> 422");
	is_int(db_status_for_sqlstate("42P01"), 500, "undefined table -> 500");
	is_int(db_status_for_sqlstate(""), 500, "no state -> 500");
}

int main(void)
{
	struct err e = ERR_INIT;

	ok(auth_init(&e) == 0, "libsodium initialised");
	test_passwords();
	test_emails();
	test_hashing();
	test_tokens();
	test_sqlstate();
	return done_testing();
}
