/* t-seal.c - sealing store credentials: round trip, wrong key, tampering, bad input. */
#include <string.h>

#include "seal.h"
#include "tap.h"

static const char *key1 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char *key2 = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

int main(void)
{
	struct buf a = BUF_INIT, b = BUF_INIT, p = BUF_INIT;
	struct err e = ERR_INIT;
	char tampered[512];

	ok(seal_box(key1, "s3cret pass", &a, &e) == 0, "seal: %s", e.msg);
	ok(!strncmp(a.s, "\\x", 2), "sealed value is bytea hex text");
	ok(!strstr(a.s, "s3cret"), "plaintext not visible");
	ok(seal_box(key1, "s3cret pass", &b, &e) == 0 && strcmp(a.s, b.s), "fresh nonce each time");
	ok(seal_open(key1, a.s, &p, &e) == 0, "open: %s", e.msg);
	is_str(p.s, "s3cret pass", "round trip");
	buf_reset(&p);
	ok(seal_open(key1, a.s + 2, &p, &e) == 0 && !strcmp(p.s, "s3cret pass"),
	   "bare hex accepted");

	err_clear(&e);
	buf_reset(&p);
	ok(seal_open(key2, a.s, &p, &e) < 0 && strstr(e.msg, "does not open"), "wrong key: %s",
	   e.msg);
	ok(p.len == 0, "nothing appended on failure");

	snprintf(tampered, sizeof(tampered), "%s", a.s);
	tampered[strlen(tampered) - 1] = tampered[strlen(tampered) - 1] == '0' ? '1' : '0';
	err_clear(&e);
	ok(seal_open(key1, tampered, &p, &e) < 0, "tampered value refused");
	err_clear(&e);
	ok(seal_open(key1, "\\x0011", &p, &e) < 0 && strstr(e.msg, "malformed"), "truncated");
	err_clear(&e);
	ok(seal_open(key1, "\\xzz", &p, &e) < 0, "not hex");
	err_clear(&e);
	ok(seal_open(key1, NULL, &p, &e) < 0, "NULL");
	err_clear(&e);
	ok(seal_box("abc", "x", &b, &e) < 0 && strstr(e.msg, "64 hex"), "short key: %s", e.msg);
	err_clear(&e);
	ok(seal_box("", "x", &b, &e) < 0, "empty key");
	err_clear(&e);
	buf_reset(&a);
	buf_reset(&p);
	ok(seal_box(key1, "", &a, &e) == 0 && seal_open(key1, a.s, &p, &e) == 0 && p.len == 0,
	   "empty plaintext round trip");

	buf_release(&a);
	buf_release(&b);
	buf_release(&p);
	return done_testing();
}
