/* fuzz-dnsname.c - custom domain normalisation on any bytes: a refusal is a 422, an answer is a DNS name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PLATFORM "stores.example.net"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	char *s = malloc(size + 1);
	struct err e = ERR_INIT;
	const char *ascii, *unicode, *again, *u2;

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (dnsname_normalize(a, s, PLATFORM, &ascii, &unicode, &e) < 0) {
		if (e.status != 422 || !e.msg[0] || ascii)
			abort(); /* a refusal is a 422 that says why */
	} else {
		/* lower-case LDH, at most 253, two labels or more, never the platform's */
		if (!ascii || !unicode || strlen(ascii) > DNSNAME_MAX || !strchr(ascii, '.') ||
		    strspn(ascii, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(ascii) ||
		    dnsname_under(ascii, PLATFORM))
			abort();
		/* one spelling: the normal form, and the name for people, normalise to it */
		err_clear(&e);
		if (dnsname_normalize(a, ascii, PLATFORM, &again, &u2, &e) < 0 ||
		    strcmp(again, ascii))
			abort();
		if (dnsname_normalize(a, unicode, PLATFORM, &again, &u2, &e) < 0 ||
		    strcmp(again, ascii))
			abort();
	}
	arena_free(a);
	free(s);
	return 0;
}
