/* seal.c - secretbox sealing of store credentials (nonce prepended, bytea hex text). */
#include <string.h>

#include <sodium.h>

#include "seal.h"

/* Box sizes beyond this are not credentials: refuse before allocating. */
#define SEAL_PLAIN_MAX 4096

static int seal_key(const char *key_hex, unsigned char key[crypto_secretbox_KEYBYTES],
		    struct err *e)
{
	size_t n = 0;

	if (sodium_init() < 0)
		return err_set(e, 500, "seal: libsodium cannot initialise");
	if (!key_hex || strlen(key_hex) != 2 * crypto_secretbox_KEYBYTES ||
	    sodium_hex2bin(key, crypto_secretbox_KEYBYTES, key_hex, strlen(key_hex), NULL, &n,
			   NULL) < 0 ||
	    n != crypto_secretbox_KEYBYTES)
		return err_set(e, 500, "seal: secret_key must be %d hex digits",
			       2 * crypto_secretbox_KEYBYTES);
	return 0;
}

int seal_box(const char *key_hex, const char *plain, struct buf *out, struct err *e)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + SEAL_PLAIN_MAX];
	char hex[2 * sizeof(box) + 1];
	size_t len = strlen(plain), total;

	if (seal_key(key_hex, key, e) < 0)
		return -1;
	if (len > SEAL_PLAIN_MAX) {
		sodium_memzero(key, sizeof(key));
		return err_set(e, 500, "seal: value longer than %d bytes", SEAL_PLAIN_MAX);
	}
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, len,
			      box, key);
	sodium_memzero(key, sizeof(key));
	total = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	sodium_bin2hex(hex, sizeof(hex), box, total);
	buf_adds(out, "\\x");
	buf_adds(out, hex);
	if (out->failed)
		return err_set(e, 500, "seal: out of memory");
	return 0;
}

int seal_open(const char *key_hex, const char *sealed, struct buf *plain, struct err *e)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + SEAL_PLAIN_MAX];
	unsigned char msg[SEAL_PLAIN_MAX + 1];
	size_t n = 0, hexlen;
	int rc;

	if (seal_key(key_hex, key, e) < 0)
		return -1;
	if (sealed && sealed[0] == '\\' && sealed[1] == 'x')
		sealed += 2;
	hexlen = sealed ? strlen(sealed) : 0;
	if (!sealed || hexlen > 2 * sizeof(box) ||
	    sodium_hex2bin(box, sizeof(box), sealed, hexlen, NULL, &n, NULL) < 0 ||
	    n != hexlen / 2 || hexlen % 2 ||
	    n < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
		sodium_memzero(key, sizeof(key));
		return err_set(e, 500, "seal: malformed sealed value");
	}
	rc = crypto_secretbox_open_easy(msg, box + crypto_secretbox_NONCEBYTES,
					n - crypto_secretbox_NONCEBYTES, box, key);
	sodium_memzero(key, sizeof(key));
	if (rc < 0)
		return err_set(e, 500, "seal: value does not open with this secret_key");
	n -= crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
	buf_add(plain, msg, n);
	sodium_memzero(msg, sizeof(msg));
	if (plain->failed)
		return err_set(e, 500, "seal: out of memory");
	return 0;
}
