/* fuzz-medusa.c - libFuzzer target: any bytes as a Medusa store's answer to reconcile's sign-in or
 * api-keys request. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile_medusa.h"

/*
 * data[0] picks the request (even: POST /auth/user/emailpass, odd: GET
 * /admin/api-keys) and the status (200 mostly, else 401, 403 or 500); the
 * rest is the body.  Invariants: an accepted token is 1..4000 characters
 * that can go into a header; an accepted key is "pk_" and 1..MEDUSA_KEY_MAX
 * of [A-Za-z0-9_-]; a refusal leaves the result NULL and says why in one
 * clean line that never repeats the body's bytes past the fixed text.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[8] = {200, 200, 200, 200, 200, 401, 403, 500};

static int clean_line(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	const char *out = (const char *)1;
	char why[300] = "";
	long status;
	size_t n;
	int rc;

	if (!size)
		return 0;
	if (!a)
		a = arena_new();
	status = statuses[(data[0] >> 1) % 8];
	n = size - 1;
	if (data[0] % 2 == 0) {
		rc = medusa_login_answer(a, status, (const char *)data + 1, n, &out, why,
					 sizeof(why));
		if (rc == 0 && (!out || !*out || strlen(out) > 4000 ||
				strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					    "0123456789._-") != strlen(out)))
			abort();
	} else {
		rc = medusa_keys_answer(a, status, (const char *)data + 1, n, &out, why,
					sizeof(why));
		if (rc == 0 &&
		    (!out || strncmp(out, "pk_", 3) || strlen(out) < 4 ||
		     strlen(out) > 3 + MEDUSA_KEY_MAX ||
		     strspn(out + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				     "0123456789_-") != strlen(out) - 3))
			abort();
	}
	if (rc == 0 && status != 200)
		abort();
	if (rc < 0 && (out || !clean_line(why) || strlen(why) > 200))
		abort();
	arena_reset(a);
	return 0;
}
