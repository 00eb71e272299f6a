/* fuzz-json.c - libFuzzer target: any bytes as a JSON request body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

/*
 * A successful parse is an object no deeper than HTTP_JSON_DEPTH whose
 * every string (names included) is clean text; a failure is a 400 or a 422
 * naming a field.  The decref is deferred on the arena, so reset frees it
 * (ASan's leak check sees it otherwise).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int depth_ok(json_t *j, int depth)
{
	const char *key;
	json_t *v;
	size_t i;

	if (depth > HTTP_JSON_DEPTH)
		return 0;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		json_object_foreach(j, key, v) if (!http_valid_text(key, strlen(key)) ||
						   !depth_ok(v, depth + 1)) return 0;
		return 1;
	case JSON_ARRAY:
		json_array_foreach(j, i, v) if (!depth_ok(v, depth + 1)) return 0;
		return 1;
	case JSON_STRING:
		return http_valid_text(json_string_value(j), json_string_length(j));
	default:
		return 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	struct err e = ERR_INIT;
	const char *field = NULL;
	json_t *j;

	if (!a)
		a = arena_new();
	j = http_parse_json_ex(a, (const char *)data, size, &field, &e);
	if (j) {
		if (!json_is_object(j) || !depth_ok(j, 1))
			abort();
	} else if ((e.status != 400 && e.status != 422) || !e.msg[0] ||
		   (e.status == 422 && !field)) {
		abort();
	}
	arena_reset(a);
	return 0;
}
