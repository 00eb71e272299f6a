/* fuzz-cookie.c - libFuzzer target: any bytes as a Cookie header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

/*
 * Cookies are parsed leniently (bad pairs skipped), so the parse never
 * fails; what comes out must be usable as-is: a token name, a value of
 * visible ASCII without ';', at most HTTP_MAX_FIELDS pairs.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	struct err e = ERR_INIT;
	struct kv *kv;
	int n = 0;

	if (!a)
		a = arena_new();
	if (http_parse_cookies(a, arena_strndup(a, (const char *)data, size), &kv, &e) < 0)
		abort();
	for (; kv; kv = kv->next, n++) {
		if (!kv->key[0] || strlen(kv->key) > HTTP_KEY_MAX || strlen(kv->val) != kv->vlen)
			abort();
		for (const char *p = kv->key; *p; p++)
			if (!strchr("!#$%&'*+-.^_`|~", *p) && !(*p >= '0' && *p <= '9') &&
			    !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z'))
				abort();
		for (const char *p = kv->val; *p; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == ';')
				abort();
	}
	if (n > HTTP_MAX_FIELDS)
		abort();
	arena_reset(a);
	return 0;
}
