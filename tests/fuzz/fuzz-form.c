/* fuzz-form.c - libFuzzer target: any bytes as an x-www-form-urlencoded body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

/*
 * Beyond "no crash": a successful parse only ever yields clean text (the
 * promise later code relies on), at most HTTP_MAX_FIELDS pairs with names of
 * at most HTTP_KEY_MAX bytes; a failure is a 400 or 422 with a message.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	struct err e = ERR_INIT;
	const char *field = NULL;
	struct kv *kv;
	int n = 0;

	if (!a)
		a = arena_new();
	if (http_parse_form_ex(a, "form", (const char *)data, size, &kv, &field, &e) < 0) {
		if ((e.status != 400 && e.status != 422) || !e.msg[0])
			abort();
		if (e.status == 422 && !field)
			abort();
	} else {
		for (; kv; kv = kv->next, n++) {
			if (!kv->key[0] || strlen(kv->key) > HTTP_KEY_MAX ||
			    !http_valid_text(kv->key, strlen(kv->key)) ||
			    !http_valid_text(kv->val, kv->vlen) || strlen(kv->val) != kv->vlen)
				abort();
		}
		if (n > HTTP_MAX_FIELDS)
			abort();
	}
	arena_reset(a);
	return 0;
}
