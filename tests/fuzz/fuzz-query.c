/* fuzz-query.c - libFuzzer target: any bytes as a request URI (path percent-decoding + query
 * string). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

/*
 * The input is split at the first '?' like REQUEST_URI: the path goes
 * through http_decode_path, the rest through http_parse_query.  A decoded
 * path is clean text without controls; query results obey the form rules.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	struct err e = ERR_INIT;
	char *s, *q, *path;
	struct kv *kv;
	int n = 0;

	if (!a)
		a = arena_new();
	s = arena_strndup(a, (const char *)data, size); /* params are C strings: cut at NUL */
	q = strchr(s, '?');
	if (q)
		*q++ = '\0';
	path = http_decode_path(a, s, &e);
	if (path) {
		for (const char *p = path; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		if (!http_valid_text(path, strlen(path)) || path[0] != '/')
			abort();
	} else if (e.status != 400 || !e.msg[0]) {
		abort();
	}
	err_clear(&e);
	if (http_parse_query(a, q ? q : "", &kv, &e) < 0) {
		if ((e.status != 400 && e.status != 422) || strncmp(e.msg, "query:", 6))
			abort();
	} else {
		for (; kv; kv = kv->next, n++)
			if (!http_valid_text(kv->key, strlen(kv->key)) ||
			    !http_valid_text(kv->val, kv->vlen))
				abort();
		if (n > HTTP_MAX_FIELDS)
			abort();
	}
	arena_reset(a);
	return 0;
}
